package redisstream_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/redisstream"
	"github.com/sockgate/sockgate/transport/transporttest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newPubSub(t *testing.T, addr, consumer string) *redisstream.PubSub {
	t.Helper()
	// Each subscription holds a connection during its blocking reads:
	// the suite runs 50 at once.
	client := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64})
	ps, err := redisstream.New(redisstream.Config{Client: client, Consumer: consumer, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = ps.Close()
		_ = client.Close()
	})
	return ps
}

// TestConformance runs the suite on miniredis, which covers XADD, XREAD,
// XREADGROUP, XACK and XGROUP. Each pair is a fresh node: its consumer is
// durable across the subscriptions of one test.
func TestConformance(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		ps := newPubSub(t, mr.Addr(), "node-"+transporttest.Channel(t))
		return ps, ps
	}, transporttest.Features{Persistent: true})
}

func TestConfig(t *testing.T) {
	t.Parallel()
	_, err := redisstream.New(redisstream.Config{})
	require.ErrorIs(t, err, redisstream.ErrConfig)
	_, err = redisstream.New(redisstream.Config{Client: redis.NewClient(&redis.Options{}), MaxLen: -1})
	require.ErrorIs(t, err, redisstream.ErrConfig)
	ps := newPubSub(t, miniredis.RunT(t).Addr(), "")
	_, err = ps.SubscribeAck(context.Background(), "c")
	require.ErrorIs(t, err, redisstream.ErrConfig, "a durable consumer name is required")
}

// TestEveryNodeSeesEveryEntry: two nodes (two consumers) each get all
// entries: one consumer group per node.
func TestEveryNodeSeesEveryEntry(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	a := newPubSub(t, mr.Addr(), "node-a")
	b := newPubSub(t, mr.Addr(), "node-b")
	ctx := context.Background()
	ch := transporttest.Channel(t)
	da, err := a.SubscribeAck(ctx, ch)
	require.NoError(t, err)
	db, err := b.SubscribeAck(ctx, ch)
	require.NoError(t, err)
	n, err := a.Publish(ctx, ch, [][]byte{[]byte("x"), []byte("y")})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for _, sub := range []<-chan transport.Delivery{da, db} {
		for _, want := range []string{"x", "y"} {
			d := <-sub
			require.Equal(t, want, string(d.Data))
			d.Ack()
		}
	}
}
