package redispubsub_test

import (
	"testing"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/transporttest"
)

// TestConformance runs the transport suite on an embedded Redis
// (miniredis covers PUBLISH and SUBSCRIBE); the integration tier runs it on
// a real Redis (TestRealConformance).
func TestConformance(t *testing.T) {
	t.Parallel()
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		e := newEnv(t)
		return e.ps, e.ps
	}, transporttest.Features{})
}
