//go:build integration

package redispubsub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport/redispubsub"
)

// Run against a real Redis (or Valkey):
//
//	SOCKGATE_TEST_REDIS_ADDR=127.0.0.1:6379 go test -tags integration -run Real -bench Real ./transport/redispubsub/
//
// Without the variable these tests and benchmarks skip.

func realClient(tb testing.TB) *redis.Client {
	tb.Helper()
	addr := os.Getenv("SOCKGATE_TEST_REDIS_ADDR")
	if addr == "" {
		tb.Skip("SOCKGATE_TEST_REDIS_ADDR is not set")
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	tb.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(tb, client.Ping(ctx).Err(), "Redis at %s", addr)
	return client
}

func BenchmarkPublishReal(b *testing.B) {
	benchPublish(b, realClient(b))
}

func TestRealRoundTrip(t *testing.T) {
	t.Parallel()
	client := realClient(t)
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ps.Close()) })
	ctx := testCtx(t)
	ch := channelName(t)

	sub, err := ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	all := append(msgs("m", 10_000), []byte{0, 0}, big)
	received := collect(t, sub, len(all))
	n, err := ps.Publish(ctx, ch, all)
	require.NoError(t, err)
	require.Equal(t, len(all), n)
	got := <-received
	require.Len(t, got, len(all))
	for i := range all {
		require.True(t, bytes.Equal(all[i], got[i]), "message %d", i)
	}
}

// TestRealSubscriberSurvivesClientKill kills the subscriber's connection
// (only this test's, the Redis may be shared) with CLIENT KILL ID: go-redis
// reconnects and resubscribes.
func TestRealSubscriberSurvivesClientKill(t *testing.T) {
	t.Parallel()
	base := realClient(t)
	name := fmt.Sprintf("sockgate-test-%d", time.Now().UnixNano())
	client := redis.NewClient(&redis.Options{Addr: base.Options().Addr, ClientName: name})
	t.Cleanup(func() { _ = client.Close() })
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ps.Close()) })
	ctx := testCtx(t)
	ch := channelName(t)

	sub, err := ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	list, err := base.ClientList(ctx).Result()
	require.NoError(t, err)
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		fields := strings.Fields(line)
		if slices.Contains(fields, "name="+name) && slices.Contains(fields, "cmd=subscribe") {
			id := strings.TrimPrefix(fields[0], "id=")
			require.NoError(t, base.Do(ctx, "CLIENT", "KILL", "ID", id).Err())
			killed++
		}
	}
	require.Equal(t, 1, killed, "subscriber connection not found in CLIENT LIST:\n%s", list)

	deadline := time.Now().Add(wait)
	for {
		_, err := ps.Publish(ctx, ch, [][]byte{[]byte("after kill")})
		require.NoError(t, err)
		select {
		case m := <-sub:
			require.Equal(t, "after kill", string(m))
			return
		case <-time.After(100 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "no message after CLIENT KILL")
	}
}
