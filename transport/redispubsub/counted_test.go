package redispubsub_test

import (
	"net"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2/server"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

// TestPublishCountedReportsReceivers publishes with no subscriber, then with
// two: every count is what PUBLISH answered, and Receivers agrees with
// PUBSUB NUMSUB.
func TestPublishCountedReportsReceivers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	ch := channelName(t)

	recv := []int64{-7, -7, -7, -7}
	n, err := e.ps.PublishCounted(ctx, ch, msgs("a", 3), recv)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	assert.Equal(t, []int64{0, 0, 0, -7}, recv, "no subscriber yet; the slot past the batch is untouched")
	r, err := e.ps.Receivers(ctx, ch)
	require.NoError(t, err)
	assert.Zero(t, r)

	sub1, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	sub2, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	n, err = e.ps.PublishCounted(ctx, ch, msgs("b", 2), recv)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	assert.Equal(t, []int64{2, 2}, recv[:2])
	r, err = e.ps.Receivers(ctx, ch)
	require.NoError(t, err)
	assert.Equal(t, int64(2), r)
	for _, sub := range []<-chan []byte{sub1, sub2} {
		assert.Equal(t, "b-0", string(next(t, sub)))
		assert.Equal(t, "b-1", string(next(t, sub)))
	}
}

// TestPublishCountedNeedsRoom: a receivers slice shorter than the batch is
// a programming error, caught before anything is sent.
func TestPublishCountedNeedsRoom(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	assert.Panics(t, func() {
		_, _ = e.ps.PublishCounted(testCtx(t), channelName(t), msgs("a", 3), make([]int64, 2))
	})
}

// TestUnreachableIsNotSent: when no connection can be made, nothing was
// written, and the error says so (a retry cannot duplicate); so does a
// context that ended first.
func TestUnreachableIsNotSent(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	client := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })

	n, err := ps.PublishCounted(testCtx(t), channelName(t), msgs("m", 5), make([]int64, 5))
	require.Error(t, err)
	assert.Zero(t, n)
	assert.ErrorIs(t, err, transport.ErrNotSent)
	_, err = ps.Receivers(testCtx(t), channelName(t))
	assert.Error(t, err)
}

// TestBrokenConnectionIsNotNotSent: a connection that breaks after the
// batch was written leaves the outcome unknown, so the error does not claim
// the rest was not sent.
func TestBrokenConnectionIsNotNotSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const k = 10
	publishHook(e.mr, k, 30, func(p *server.Peer) { p.Close() })
	n, err := e.ps.Publish(testCtx(t), channelName(t), msgs("m", 30))
	require.Error(t, err)
	require.Equal(t, k-1, n)
	assert.NotErrorIs(t, err, transport.ErrNotSent)
}
