package redispubsub_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport/redispubsub"
)

// BenchmarkPublish measures Publish against in-process miniredis (which
// dominates the time; see the integration build tag for real Redis).
// allocs/op are per Publish call; msgs/s is the throughput.
func BenchmarkPublish(b *testing.B) {
	mr := miniredis.RunT(b)
	client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	b.Cleanup(func() { _ = client.Close() })
	benchPublish(b, client)
}

// benchPublish runs the Publish benchmarks on client, with nobody
// subscribed (the cost of the publishing side only).
func benchPublish(b *testing.B, client redis.UniversalClient) {
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	require.NoError(b, err)
	b.Cleanup(func() { _ = ps.Close() })
	ctx := context.Background()
	channel := fmt.Sprintf("bench-%d", time.Now().UnixNano())

	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d/size=200", batch), func(b *testing.B) {
			msgs := make([][]byte, batch)
			for i := range msgs {
				msgs[i] = make([]byte, 200)
			}
			b.ReportAllocs()
			b.SetBytes(int64(batch * 200))
			start := time.Now()
			for b.Loop() {
				if n, err := ps.Publish(ctx, channel, msgs); err != nil || n != batch {
					b.Fatalf("Publish: n=%d err=%v", n, err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
