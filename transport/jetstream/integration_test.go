//go:build integration

package jetstream_test

import (
	"os"
	"testing"

	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/transporttest"
)

// TestRealConformance runs the suite on the test's own nats-server,
// restarted (its JetStream store kept) in NothingLostAcrossRestart, and on
// the shared one at SOCKGATE_TEST_NATS_URL when set.
func TestRealConformance(t *testing.T) {
	t.Parallel()
	ns := testenv.StartNATS(t)
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		ps := newPubSub(t, ns.URL(), "TT", nodeName(t))
		return ps, ps
	}, transporttest.Features{Persistent: true, Restart: func(*testing.T) { ns.Restart() }})

	if url := os.Getenv("SOCKGATE_TEST_NATS_URL"); url != "" {
		t.Run("shared", func(t *testing.T) {
			transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
				ps := newPubSub(t, url, "SOCKGATETEST", nodeName(t))
				return ps, ps
			}, transporttest.Features{Persistent: true})
		})
	}
}
