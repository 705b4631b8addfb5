//go:build integration

package redispubsub_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/redispubsub"
	"github.com/sockgate/sockgate/transport/transporttest"
)

// TestRealConformance runs the transport suite on the Redis at
// SOCKGATE_TEST_REDIS_ADDR.
func TestRealConformance(t *testing.T) {
	t.Parallel()
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		ps, err := redispubsub.New(redispubsub.Config{Client: realClient(t)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = ps.Close() })
		return ps, ps
	}, transporttest.Features{})
}
