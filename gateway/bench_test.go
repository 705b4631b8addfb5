package gateway_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

// The benchmarks below measure what an emit costs the caller: validating,
// encoding into python-socketio's wire format and queueing. They are the
// figures behind docs/benchmarks.md ("< 1 µs and <= 3 allocs per emit when
// the queue has room"); bench/benchcmp runs and parses them.
//
//	go test -run '^$' -bench BenchmarkEmitToUser -benchmem ./gateway/
//
// Allocation counts are process-wide, so the background writer's own
// per-batch allocations are included, amortised over the batch.

// benchProgress is the small struct payload of the "struct" benchmarks: what
// a background job typically reports.
type benchProgress struct {
	Job string `json:"job"`
	Pct int    `json:"pct"`
}

// benchQueueSize is large enough that the discarding publisher's writer never
// lets the queue fill, so every emit takes the "queue has room" path.
const benchQueueSize = 1 << 16

// discardPub is a transport.Publisher that confirms every message at once
// and keeps nothing, so a benchmark measures the emitting side only.
type discardPub struct {
	msgs atomic.Uint64
}

func (p *discardPub) Publish(_ context.Context, _ string, msgs [][]byte) (int, error) {
	p.msgs.Add(uint64(len(msgs)))
	return len(msgs), nil
}

func (p *discardPub) Close() error { return nil }

var _ transport.Publisher = (*discardPub)(nil)

// newBenchWorker returns a Worker over pub with a queue the writer keeps
// from filling; it is closed when the benchmark ends.
func newBenchWorker(b *testing.B, pub transport.Publisher) *gateway.Worker {
	b.Helper()
	g, err := gateway.NewWorker(gateway.WorkerConfig{
		Publisher: pub,
		QueueSize: benchQueueSize,
		BatchSize: 512,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Close(ctx)
	})
	// Start the lazy writer outside the timed region.
	if err := g.EmitToUser(context.Background(), "warm", "progress", benchProgress{Job: "warm"}); err != nil {
		b.Fatal(err)
	}
	return g
}

// finish flushes g outside the timed region and reports the messages dropped
// per emit (0 when every emit found room, which is what the ns/op and
// allocs/op figures assume).
func finish(b *testing.B, g *gateway.Worker) {
	b.Helper()
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.Flush(ctx); err != nil {
		b.Fatalf("flush: %v", err)
	}
	b.ReportMetric(float64(g.Stats().Dropped)/float64(b.N), "dropped/op")
}

// BenchmarkEmitToUser measures EmitToUser from the caller's side (encode and
// queue) with a publisher that discards, plus one end-to-end case over
// go-redis and an in-process miniredis.
func BenchmarkEmitToUser(b *testing.B) {
	ctx := context.Background()

	// struct: the headline figure. The payload is built in the loop the way
	// callers write it, so boxing it into the data argument is counted.
	b.Run("struct", func(b *testing.B) {
		g := newBenchWorker(b, &discardPub{})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := g.EmitToUser(ctx, "42", "progress", benchProgress{Job: "resize-42", Pct: i % 100}); err != nil {
				b.Fatal(err)
			}
		}
		finish(b, g)
	})

	// map: the same payload as map[string]any, the other common shape.
	b.Run("map", func(b *testing.B) {
		g := newBenchWorker(b, &discardPub{})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := g.EmitToUser(ctx, "42", "progress", map[string]any{"job": "resize-42", "pct": i % 100}); err != nil {
				b.Fatal(err)
			}
		}
		finish(b, g)
	})

	// struct-wait: the struct case with WaitIfFull, as producers that must
	// not lose messages call it.
	b.Run("struct-wait", func(b *testing.B) {
		g := newBenchWorker(b, &discardPub{})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := g.EmitToUser(ctx, "42", "progress", benchProgress{Job: "resize-42", Pct: i % 100}, gateway.WaitIfFull()); err != nil {
				b.Fatal(err)
			}
		}
		finish(b, g)
	})

	// struct-parallel: GOMAXPROCS producers sharing one Worker (one queue,
	// one writer); ns/op is wall time per emit across all of them.
	b.Run("struct-parallel", func(b *testing.B) {
		g := newBenchWorker(b, &discardPub{})
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if err := g.EmitToUser(ctx, "42", "progress", benchProgress{Job: "resize-42", Pct: i % 100}); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
		finish(b, g)
	})

	// miniredis: end to end through redispubsub, go-redis and an in-process
	// miniredis, timed until everything is published (Flush returned).
	// miniredis is much slower than redis-server; bench/benchcmp measures
	// the real server.
	b.Run("miniredis", func(b *testing.B) {
		mr := miniredis.RunT(b)
		client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		b.Cleanup(func() { _ = client.Close() })
		pub, err := redispubsub.New(redispubsub.Config{Client: client})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = pub.Close() })
		g := newBenchWorker(b, pub)
		if err := g.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := g.EmitToUser(ctx, "42", "progress", benchProgress{Job: "resize-42", Pct: i % 100}, gateway.WaitIfFull()); err != nil {
				b.Fatal(err)
			}
		}
		// Flush is inside the timed region: ns/op is per published message.
		if err := g.Flush(ctx); err != nil {
			b.Fatalf("flush: %v", err)
		}
		finish(b, g)
	})
}
