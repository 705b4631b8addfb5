package metrics_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/metrics"
)

// A worker without a broker drops (and counts) every emit; the collector
// exports those counters with the const labels given.
func ExampleNewCollector() {
	gw, err := gateway.NewWorker(gateway.WorkerConfig{}) // no Publisher: local-only
	if err != nil {
		panic(err)
	}
	defer gw.Close(context.Background())
	ctx := context.Background()
	_ = gw.EmitToUser(ctx, "42", "progress", map[string]int{"pct": 50})
	_ = gw.EmitToUser(ctx, "42", "progress", map[string]int{"pct": 100})

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(gw, metrics.CollectorOptions{
		ConstLabels: prometheus.Labels{"role": "worker"},
	}))
	// An HTTP server would expose reg with promhttp.HandlerFor(reg, ...).

	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
		fmt.Printf("%s{role=%q} %g\n", mf.GetName(), m.GetLabel()[0].GetValue(), v)
	}
	// Output:
	// sockgate_broker_connected{role="worker"} 0
	// sockgate_dropped_total{role="worker"} 2
	// sockgate_emitted_total{role="worker"} 2
	// sockgate_failed_total{role="worker"} 0
	// sockgate_published_total{role="worker"} 0
	// sockgate_queued{role="worker"} 0
	// sockgate_receivers{role="worker"} -1
	// sockgate_reconnects_total{role="worker"} 0
	// sockgate_resent_total{role="worker"} 0
	// sockgate_resume_holds_total{role="worker"} 0
	// sockgate_unconfirmed_total{role="worker"} 0
	// sockgate_unreceived_total{role="worker"} 0
}
