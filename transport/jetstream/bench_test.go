package jetstream_test

import (
	"context"
	"testing"

	"github.com/sockgate/sockgate/gateway"
)

// BenchmarkWorkerEmit is the emit rate of a gateway.Worker over JetStream
// on an in-process server (file store), timed until Flush returns: what
// packing a batch into one stored message buys (docs/transports.md,
// Throughput; bench/transportbench measures it against a real server).
func BenchmarkWorkerEmit(b *testing.B) {
	url := embedded(b)
	ps := newPubSub(b, url, "BENCH", "")
	w, err := gateway.NewWorker(gateway.WorkerConfig{Publisher: ps})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = w.Close(context.Background()) }()
	ctx := context.Background()
	type progress struct {
		Job string `json:"job"`
		Pct int    `json:"pct"`
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := w.EmitToUser(ctx, "1000", "progress", progress{"resize-42", i % 100}, gateway.WaitIfFull()); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emits/s")
}
