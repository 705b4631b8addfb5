package servermetrics_test

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockgate/sockgate/metrics"
	"github.com/sockgate/sockgate/metrics/servermetrics"
	"github.com/sockgate/sockgate/socketio"
)

func Example() {
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(servermetrics.NewCollector(srv, metrics.CollectorOptions{
		ConstLabels: prometheus.Labels{"role": "server"},
	}))
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	fmt.Println("ready")
	// Output: ready
}
