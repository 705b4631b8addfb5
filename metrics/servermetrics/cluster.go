package servermetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/metrics"
)

// ClusterSource is what NewClusterCollector reads: a *cluster.Manager
// satisfies it. Both methods must be safe for concurrent use.
type ClusterSource interface {
	Health() cluster.Health
	Stats() cluster.Stats
}

var _ ClusterSource = (*cluster.Manager)(nil)

type clusterCollector struct {
	src          ClusterSource
	subscribed   *prometheus.Desc
	received     *prometheus.Desc
	messages     *prometheus.Desc
	subFailures  *prometheus.Desc
	resubscribes *prometheus.Desc
	acks         *prometheus.Desc
	pubErrors    *prometheus.Desc
	duplicates   *prometheus.Desc
	tMalformed   *prometheus.Desc
	seqUnchecked *prometheus.Desc
	nonFinite    *prometheus.Desc
}

var _ prometheus.Collector = (*clusterCollector)(nil)

// NewClusterCollector returns a prometheus.Collector reporting a cluster
// manager's subscription state and counters under the sockgate_cluster_*
// names listed in the package documentation. A server process registers it
// beside metrics.NewCollector(manager.Gateway(), ...), which reports the
// publishing side, and NewCollector(server, ...).
func NewClusterCollector(src ClusterSource, opts metrics.CollectorOptions) prometheus.Collector {
	desc := describer(opts)
	return &clusterCollector{
		src: src,
		subscribed: desc("sockgate_cluster_subscribed",
			"1 while the node receives the cluster channel, 0 while it serves local clients only."),
		received: desc("sockgate_cluster_received_total",
			"Messages read from the cluster channel."),
		messages: desc("sockgate_cluster_messages_total",
			"Received messages by outcome.", "result"),
		subFailures: desc("sockgate_cluster_subscribe_failures_total",
			"Subscription attempts that failed or subscriptions that ended unexpectedly."),
		resubscribes: desc("sockgate_cluster_resubscribes_total",
			"Times the subscription came back after a failure."),
		acks: desc("sockgate_cluster_acks_total",
			"Client acknowledgements asked for by other hosts, by outcome.", "result"),
		pubErrors: desc("sockgate_cluster_publish_errors_total",
			"Local broadcasts that could not be encoded for the cluster."),
		duplicates: desc("sockgate_cluster_duplicates_total",
			"Redeliveries of a persistent transport dropped by ID (not applied twice)."),
		tMalformed: desc("sockgate_cluster_transport_malformed_total",
			"Stream entries or JetStream messages the transport could not read and skipped."),
		seqUnchecked: desc("sockgate_cluster_seq_unchecked_total",
			"Messages whose sequence number was too far behind their host's newest to be checked for a duplicate (applied)."),
		nonFinite: desc("sockgate_cluster_nonfinite_total",
			"Received messages whose NaN or infinite numbers were delivered as null."),
	}
}

// Describe implements prometheus.Collector.
func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.subscribed, c.received, c.messages, c.subFailures, c.resubscribes, c.acks, c.pubErrors, c.duplicates, c.tMalformed,
		c.seqUnchecked, c.nonFinite} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	h, s := c.src.Health(), c.src.Stats()
	up := 0.0
	if h.Subscribed {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.subscribed, prometheus.GaugeValue, up)
	counter := counterSender(ch)
	counter(c.received, s.Received)
	for _, r := range []struct {
		name string
		v    uint64
	}{
		{"applied", s.Applied}, {"own_skipped", s.OwnSkipped}, {"malformed", s.Malformed},
		{"unsafe", s.Unsafe}, {"unknown", s.Unknown}, {"not_served", s.NotServed},
		{"ignored", s.Ignored}, {"apply_error", s.ApplyErrors}, {"seq_duplicate", s.SeqDuplicates},
	} {
		counter(c.messages, r.v, r.name)
	}
	counter(c.subFailures, s.SubscribeFails)
	counter(c.resubscribes, s.Resubscribes)
	counter(c.acks, s.AcksReturned, "returned")
	counter(c.acks, s.AckFailures, "failed")
	counter(c.acks, s.AcksDropped, "dropped")
	counter(c.pubErrors, s.PublishErrors)
	counter(c.duplicates, s.Duplicates)
	counter(c.tMalformed, s.TransportMalformed)
	counter(c.seqUnchecked, s.SeqUnchecked)
	counter(c.nonFinite, s.NonFinite)
}
