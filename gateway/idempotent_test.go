package gateway_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport"
)

// lossyPub is an IdempotentPublisher whose broker stores by number, like
// JetStream's duplicate window. While lose > 0, a call stores its first
// lose messages and then fails as if the broker died before confirming.
type lossyPub struct {
	mu        sync.Mutex
	producers map[string]bool
	last      uint64   // the highest number stored
	stored    [][]byte // what a subscriber would read
	calls     []transport.Sequence
	lose      int
	failed    int // index in calls of the call that lost its confirmations; -1 before
}

func (p *lossyPub) Publish(context.Context, string, [][]byte) (int, error) {
	return 0, errors.New("lossyPub: Publish used instead of PublishIdempotent")
}

func (p *lossyPub) PublishIdempotent(_ context.Context, _ string, seq transport.Sequence, msgs [][]byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.producers[seq.Producer] = true
	p.calls = append(p.calls, seq)
	for i, m := range msgs {
		if n := seq.First + uint64(i); n > p.last {
			p.stored = append(p.stored, m)
			p.last = n
		}
		if p.lose > 0 && i+1 == p.lose {
			p.lose = 0
			p.failed = len(p.calls) - 1
			return 0, errors.New("lossyPub: connection lost before the confirmations")
		}
	}
	return len(msgs), nil
}

func (p *lossyPub) Close() error { return nil }

func TestRetryAfterLostConfirmationStoresNothingTwice(t *testing.T) {
	pub := &lossyPub{producers: map[string]bool{}, lose: 3, failed: -1}
	w := newWorker(t, gateway.WorkerConfig{Publisher: pub, BatchSize: 8})
	ctx := context.Background()
	for i := range 20 {
		require.NoError(t, w.EmitToRoom(ctx, "r", "seq", i, gateway.WaitIfFull()))
	}
	fctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	require.NoError(t, w.Flush(fctx))

	pub.mu.Lock()
	defer pub.mu.Unlock()
	require.Len(t, pub.producers, 1, "one producer name per worker")
	for p := range pub.producers {
		require.NotEmpty(t, p)
	}
	require.GreaterOrEqual(t, pub.failed, 0, "a confirmation was lost")
	require.Equal(t, pub.calls[pub.failed], pub.calls[pub.failed+1], "the retry carries the same numbers")
	require.Len(t, pub.stored, 20, "each event stored once")
	require.Equal(t, uint64(20), pub.last, "numbers are consecutive from 1")
	st := w.Stats()
	require.Equal(t, uint64(20), st.Published)
	require.Zero(t, st.Dropped)
}
