package redisstream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/transporttest"
)

func next(t *testing.T, ch <-chan transport.Delivery) transport.Delivery {
	t.Helper()
	select {
	case d, ok := <-ch:
		require.True(t, ok, "subscription ended")
		return d
	case <-t.Context().Done():
	}
	t.Fatal("test ended while waiting")
	return transport.Delivery{}
}

// A batch is stored as few entries (packs of at most 64 KB); messages
// arrive in order with IDs "<entry>-<i>"; a retried batch is stored once;
// SubscribeFrom can start inside a pack.
func TestBatchIsPackedRetriedOnceAndReplayable(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	ps := newPubSub(t, mr.Addr(), "node-"+transporttest.Channel(t))
	channel := transporttest.Channel(t)
	ctx, cancel := context.WithTimeout(context.Background(), transporttest.Wait)
	defer cancel()
	ch, err := ps.SubscribeAck(ctx, channel)
	require.NoError(t, err)
	msgs := make([][]byte, 2000)
	for i := range msgs {
		msgs[i] = []byte(strings.Repeat("x", 100) + string(rune('a'+i%26)))
	}
	seq := transport.Sequence{Producer: "p", First: 1}
	for range 2 { // the second call is a retry whose reply was lost
		n, err := ps.PublishIdempotent(ctx, channel, seq, msgs)
		require.NoError(t, err)
		require.Equal(t, len(msgs), n)
	}
	require.Equal(t, uint64(len(msgs)), ps.Repeats())
	entries := map[string]bool{}
	var ids []string
	for i := range msgs {
		d := next(t, ch)
		require.Equal(t, string(msgs[i]), string(d.Data), "message %d", i)
		parts := strings.Split(d.ID, "-")
		require.Len(t, parts, 3, "packed ID %q", d.ID)
		entries[parts[0]+"-"+parts[1]] = true
		ids = append(ids, d.ID)
		d.Ack()
	}
	require.Greater(t, len(entries), 1, "2000 x 101 bytes fit in no single 64 KB pack")
	require.Less(t, len(entries), 10, "but in a few")
	n, err := redis.NewClient(&redis.Options{Addr: mr.Addr()}).XLen(ctx, channel).Result()
	require.NoError(t, err)
	require.Equal(t, int64(len(entries)), n, "one entry per pack")

	from, err := ps.SubscribeFrom(ctx, channel, ids[1000])
	require.NoError(t, err)
	for i := 1001; i < 1010; i++ {
		d := next(t, from)
		require.Equal(t, string(msgs[i]), string(d.Data), "replay from inside a pack: message %d", i)
		require.Equal(t, ids[i], d.ID)
	}
}

// An entry that is neither a message nor a valid pack is logged, counted,
// acknowledged and skipped; the next one is delivered.
func TestMalformedEntryIsCountedAndSkipped(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	ps := newPubSub(t, mr.Addr(), "node-"+transporttest.Channel(t))
	channel := transporttest.Channel(t)
	ctx, cancel := context.WithTimeout(context.Background(), transporttest.Wait)
	defer cancel()
	ch, err := ps.SubscribeAck(ctx, channel)
	require.NoError(t, err)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	for _, values := range [][]any{{"n", "2", "p", "\x7f"}, {"other", "x"}, {"n", "x", "p", ""}} {
		require.NoError(t, c.XAdd(ctx, &redis.XAddArgs{Stream: channel, Values: values}).Err())
	}
	_, err = ps.Publish(ctx, channel, [][]byte{[]byte("good")})
	require.NoError(t, err)
	d := next(t, ch)
	require.Equal(t, "good", string(d.Data))
	d.Ack()
	require.Equal(t, uint64(3), ps.Malformed())
}
