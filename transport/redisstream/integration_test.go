//go:build integration

package redisstream_test

import (
	"testing"

	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/transporttest"
)

// TestRealConformance runs the suite on a real redis-server of the test's
// own, with persistence on (appendonly, fsync always), restarted in the
// middle of NothingLostAcrossRestart.
func TestRealConformance(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t, testenv.WithRedisArgs("--appendonly", "yes", "--appendfsync", "always"))
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		ps := newPubSub(t, rs.Addr(), "node-"+transporttest.Channel(t))
		return ps, ps
	}, transporttest.Features{
		Persistent: true,
		Restart: func(t *testing.T) {
			rs.Kill()
			rs.Restart()
		},
	})
}
