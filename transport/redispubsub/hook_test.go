package redispubsub_test

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport/redispubsub"
)

// subEvent is one call of the OnSubscription hook.
type subEvent struct {
	channel    string
	subscribed bool
	err        error
}

// TestOnSubscription: the hook sees the first subscription, its loss when
// the server goes away, and the resubscription when it returns.
func TestOnSubscription(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	addr := mr.Addr()
	var (
		mu     sync.Mutex
		events []subEvent
	)
	last := func() (subEvent, int) {
		mu.Lock()
		defer mu.Unlock()
		if len(events) == 0 {
			return subEvent{}, 0
		}
		return events[len(events)-1], len(events)
	}
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	logs := &logRecorder{}
	ps, err := redispubsub.New(redispubsub.Config{
		Client: client, Logger: slog.New(logs),
		OnSubscription: func(channel string, subscribed bool, err error) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, subEvent{channel, subscribed, err})
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, ps.Close())
		_ = client.Close()
	})
	ctx := testCtx(t)
	ch := channelName(t)
	_, err = ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	ev, n := last()
	require.Equal(t, 1, n)
	require.Equal(t, subEvent{ch, true, nil}, ev, "told at Subscribe")

	mr.Close()
	require.Eventually(t, func() bool { ev, _ := last(); return !ev.subscribed }, wait, 5*time.Millisecond,
		"loss not reported; logs:\n%s", logs)
	ev, _ = last()
	require.Equal(t, ch, ev.channel)
	require.Error(t, ev.err)

	mr2 := miniredis.NewMiniRedis()
	require.NoError(t, mr2.StartAddr(addr))
	t.Cleanup(mr2.Close)
	require.Eventually(t, func() bool { ev, _ := last(); return ev.subscribed }, wait, 5*time.Millisecond,
		"resubscription not reported; logs:\n%s", logs)
	require.Eventually(t, func() bool { return numSub(mr2, ch) == 1 }, wait, 5*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(events); i++ {
		require.NotEqual(t, events[i-1].subscribed, events[i].subscribed, "state changes only: %v", events)
	}
}
