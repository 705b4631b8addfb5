package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

// TestWorkerOverRedisSurvivesOutage runs the worker on the real Redis
// transport against an embedded Redis: emits reach a subscriber, the Redis
// goes away (emits keep returning at once and are retried), comes back on
// the same address, and publishing resumes by itself once a subscriber is
// back, with nothing lost from the queue and the books balanced.
func TestWorkerOverRedisSurvivesOutage(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	addr := mr.Addr()
	client := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })

	channel := "sockgate-test-" + t.Name()
	g := newWorker(t, gateway.WorkerConfig{Publisher: ps, Channel: channel, RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond})
	ctx := context.Background()

	// miniredis hands messages to subscribers on an unbuffered channel while
	// holding its lock, so each subscriber is drained at once into got.
	got := make(chan miniredis.PubsubMessage, 64)
	drain := func(s *miniredis.Subscriber) {
		go func() {
			for m := range s.Messages() {
				got <- m
			}
		}()
	}
	sub := mr.NewSubscriber()
	sub.Subscribe(channel)
	drain(sub)
	expect := func(want int) {
		t.Helper()
		select {
		case m := <-got:
			msg, err := codec.NewPython(codec.PythonConfig{}).Decode([]byte(m.Message))
			require.NoError(t, err)
			assert.Equal(t, []any{json.Number(fmt.Sprint(want))}, msg.Arguments())
		case <-time.After(wait):
			t.Fatalf("message %d did not arrive", want)
		}
	}

	require.NoError(t, g.EmitToUser(ctx, "42", "seq", 0))
	expect(0)

	mr.Close()
	for i := 1; i <= 20; i++ {
		start := time.Now()
		require.NoError(t, g.EmitToUser(ctx, "42", "seq", i))
		assert.Less(t, time.Since(start), time.Second, "an emit must not wait on the broker")
	}
	require.Eventually(t, func() bool { return !g.Stats().Connected }, wait, time.Millisecond)

	// The worker holds its backlog until a subscriber is back (the first
	// message reached one). It asks with PUBSUB NUMSUB meanwhile, which
	// races with miniredis's own Subscriber API, so this subscriber comes
	// through a client.
	mr2 := miniredis.NewMiniRedis()
	require.NoError(t, mr2.StartAddr(addr))
	t.Cleanup(mr2.Close)
	subClient := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = subClient.Close() })
	sub2 := subClient.Subscribe(ctx, channel)
	t.Cleanup(func() { _ = sub2.Close() })
	_, err = sub2.Receive(ctx) // the confirmation
	require.NoError(t, err)
	go func() {
		for m := range sub2.Channel() {
			got <- miniredis.PubsubMessage{Channel: m.Channel, Message: m.Payload}
		}
	}()

	flush(t, g)
	for i := 1; i <= 20; i++ {
		expect(i)
	}
	s := g.Stats()
	assert.Equal(t, uint64(21), s.Published)
	assert.Equal(t, s.Emitted, s.Published+s.Unreceived+s.Dropped)
	assert.GreaterOrEqual(t, s.Reconnects, uint64(1))
	assert.True(t, s.Connected)
}
