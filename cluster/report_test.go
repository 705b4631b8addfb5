package cluster_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/transport"
)

// reportingBus is a memBus that also offers
// transport.SubscriptionReporter, and lets the test tell the manager's
// subscription that it was lost and restored behind its open Go channel.
type reportingBus struct {
	*memBus
	mu     sync.Mutex
	report func(bool, error)
}

var _ transport.SubscriptionReporter = (*reportingBus)(nil)

func (b *reportingBus) SubscribeReport(ctx context.Context, channel string, report func(bool, error)) (<-chan []byte, error) {
	ch, err := b.memBus.Subscribe(ctx, channel)
	if err == nil {
		b.mu.Lock()
		b.report = report
		b.mu.Unlock()
	}
	return ch, err
}

func (b *reportingBus) tell(up bool, err error) {
	b.mu.Lock()
	r := b.report
	b.mu.Unlock()
	r(up, err)
}

// TestHealthFollowsTheTransportsReports: a manager built with nothing but
// Server, Publisher and Subscriber subscribes through SubscribeReport, and
// its Health and counters follow what the transport reports.
func TestHealthFollowsTheTransportsReports(t *testing.T) {
	t.Parallel()
	bus := &reportingBus{memBus: newBus()}
	srv, _, _ := newServer(t)
	m := startManager(t, cluster.Config{Server: srv, Publisher: bus, Subscriber: bus})
	require.True(t, m.Health().Subscribed)
	bus.mu.Lock()
	require.NotNil(t, bus.report, "the manager subscribed through SubscribeReport")
	bus.mu.Unlock()

	bus.tell(false, errors.New("connection reset"))
	h := m.Health()
	assert.False(t, h.Subscribed)
	assert.Equal(t, "connection reset", h.LastError)
	assert.Equal(t, uint64(1), m.Stats().SubscribeFails)

	bus.tell(true, nil)
	assert.True(t, m.Health().Subscribed)
	assert.Equal(t, uint64(1), m.Stats().Resubscribes)
	require.Eventually(t, func() bool { return bus.numSubs() == 1 }, wait, time.Millisecond,
		"the Go channel stayed open: no second subscription")
}
