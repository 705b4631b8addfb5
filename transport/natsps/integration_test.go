//go:build integration

package natsps_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/natsps"
	"github.com/sockgate/sockgate/transport/transporttest"
)

// TestRealConformance runs the suite on the nats-server at
// SOCKGATE_TEST_NATS_URL (make integration: nats://127.0.0.1:4222).
func TestRealConformance(t *testing.T) {
	url := os.Getenv("SOCKGATE_TEST_NATS_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SOCKGATE_TEST_NATS_URL is not set")
		}
		t.Skip("SOCKGATE_TEST_NATS_URL is not set")
	}
	t.Parallel()
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		ps, err := natsps.New(natsps.Config{Conn: connect(t, url)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = ps.Close() })
		return ps, ps
	}, transporttest.Features{})
}
