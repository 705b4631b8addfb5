package servermetrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/metrics"
	"github.com/sockgate/sockgate/metrics/servermetrics"
)

type fakeCluster struct {
	h cluster.Health
	s cluster.Stats
}

func (f *fakeCluster) Health() cluster.Health { return f.h }
func (f *fakeCluster) Stats() cluster.Stats   { return f.s }

func TestClusterCollector(t *testing.T) {
	t.Parallel()
	src := &fakeCluster{
		h: cluster.Health{Subscribed: true},
		s: cluster.Stats{Received: 9, Applied: 4, OwnSkipped: 2, Malformed: 1, Unsafe: 1, Unknown: 1,
			SubscribeFails: 3, Resubscribes: 1, AcksReturned: 5, Duplicates: 7, TransportMalformed: 2,
			SeqDuplicates: 6, SeqUnchecked: 8, NonFinite: 11},
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(servermetrics.NewClusterCollector(src, metrics.CollectorOptions{ConstLabels: prometheus.Labels{"role": "server"}}))
	want := `
# HELP sockgate_cluster_subscribed 1 while the node receives the cluster channel, 0 while it serves local clients only.
# TYPE sockgate_cluster_subscribed gauge
sockgate_cluster_subscribed{role="server"} 1
# HELP sockgate_cluster_received_total Messages read from the cluster channel.
# TYPE sockgate_cluster_received_total counter
sockgate_cluster_received_total{role="server"} 9
# HELP sockgate_cluster_resubscribes_total Times the subscription came back after a failure.
# TYPE sockgate_cluster_resubscribes_total counter
sockgate_cluster_resubscribes_total{role="server"} 1
# HELP sockgate_cluster_duplicates_total Redeliveries of a persistent transport dropped by ID (not applied twice).
# TYPE sockgate_cluster_duplicates_total counter
sockgate_cluster_duplicates_total{role="server"} 7
# HELP sockgate_cluster_transport_malformed_total Stream entries or JetStream messages the transport could not read and skipped.
# TYPE sockgate_cluster_transport_malformed_total counter
sockgate_cluster_transport_malformed_total{role="server"} 2
# HELP sockgate_cluster_seq_unchecked_total Messages whose sequence number was too far behind their host's newest to be checked for a duplicate (applied).
# TYPE sockgate_cluster_seq_unchecked_total counter
sockgate_cluster_seq_unchecked_total{role="server"} 8
# HELP sockgate_cluster_nonfinite_total Received messages whose NaN or infinite numbers were delivered as null.
# TYPE sockgate_cluster_nonfinite_total counter
sockgate_cluster_nonfinite_total{role="server"} 11
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"sockgate_cluster_subscribed", "sockgate_cluster_received_total", "sockgate_cluster_resubscribes_total",
		"sockgate_cluster_duplicates_total", "sockgate_cluster_transport_malformed_total",
		"sockgate_cluster_seq_unchecked_total", "sockgate_cluster_nonfinite_total"); err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(reg, "sockgate_cluster_messages_total", "sockgate_cluster_acks_total")
	if err != nil || n != 9+3 {
		t.Fatalf("messages and acks series: %d, %v", n, err)
	}
	src.h.Subscribed = false
	down := `
# HELP sockgate_cluster_subscribed 1 while the node receives the cluster channel, 0 while it serves local clients only.
# TYPE sockgate_cluster_subscribed gauge
sockgate_cluster_subscribed{role="server"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(down), "sockgate_cluster_subscribed"); err != nil {
		t.Fatal(err)
	}
}
