package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sockgate/sockgate/gateway"
)

// StatsSource is what the collector reads: a gateway.Worker or any
// gateway.Gateway satisfies it. Stats must be safe for concurrent use; it is
// called once per scrape.
type StatsSource interface {
	Stats() gateway.Stats
}

// CollectorOptions configures NewCollector. The zero value is usable.
type CollectorOptions struct {
	// ConstLabels are attached to every metric, for example
	// prometheus.Labels{"role": "worker", "channel": "socketio"}. They
	// tell several collectors in one registry apart; default none.
	ConstLabels prometheus.Labels
}

// collector is the prometheus.Collector NewCollector returns; it is safe
// for concurrent scrapes.
type collector struct {
	src StatsSource

	emitted    *prometheus.Desc
	published  *prometheus.Desc
	dropped    *prometheus.Desc
	failed     *prometheus.Desc
	reconnects *prometheus.Desc
	queued     *prometheus.Desc
	connected  *prometheus.Desc

	unreceived  *prometheus.Desc
	unconfirmed *prometheus.Desc
	resent      *prometheus.Desc
	holds       *prometheus.Desc
	receivers   *prometheus.Desc
}

var _ prometheus.Collector = (*collector)(nil)

// NewCollector returns a prometheus.Collector reporting src's Stats under the
// sockgate_* metric names listed in the package documentation. Register it
// with a prometheus.Registerer.
func NewCollector(src StatsSource, opts CollectorOptions) prometheus.Collector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, nil, opts.ConstLabels)
	}
	return &collector{
		src: src,
		emitted: desc("sockgate_emitted_total",
			"Messages accepted by an emit or room call."),
		published: desc("sockgate_published_total",
			"Messages the broker confirmed."),
		dropped: desc("sockgate_dropped_total",
			"Messages given up: queue full, no broker configured, or closed with messages left."),
		failed: desc("sockgate_failed_total",
			"Publish attempts that failed; a message retried is counted again."),
		reconnects: desc("sockgate_reconnects_total",
			"Times publishing resumed after a broker failure."),
		queued: desc("sockgate_queued",
			"Messages waiting in the queue now."),
		connected: desc("sockgate_broker_connected",
			"1 when the last publish attempt succeeded, 0 otherwise."),
		unreceived: desc("sockgate_unreceived_total",
			"Messages the broker confirmed that reached no subscriber (Redis pub/sub: PUBLISH answered 0)."),
		unconfirmed: desc("sockgate_unconfirmed_total",
			"Messages of sockgate_dropped_total given up after a publish with an unknown outcome (at-most-once); some may have been delivered."),
		resent: desc("sockgate_resent_total",
			"Messages sent again after a publish with an unknown outcome (at-least-once); at most this many were delivered twice."),
		holds: desc("sockgate_resume_holds_total",
			"Times the backlog waited for the subscribers to resubscribe (after the broker came back, or after they left)."),
		receivers: desc("sockgate_receivers",
			"Subscribers the last published message reached; -1 when the transport does not tell."),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.emitted
	ch <- c.published
	ch <- c.dropped
	ch <- c.failed
	ch <- c.reconnects
	ch <- c.queued
	ch <- c.connected
	ch <- c.unreceived
	ch <- c.unconfirmed
	ch <- c.resent
	ch <- c.holds
	ch <- c.receivers
}

// Collect implements prometheus.Collector. It reads one Stats snapshot, so
// the values of one scrape are consistent with each other.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.emitted, s.Emitted)
	counter(c.published, s.Published)
	counter(c.dropped, s.Dropped)
	counter(c.failed, s.Failed)
	counter(c.reconnects, s.Reconnects)
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(s.Queued))
	connected := 0.0
	if s.Connected {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, connected)
	counter(c.unreceived, s.Unreceived)
	counter(c.unconfirmed, s.Unconfirmed)
	counter(c.resent, s.Resent)
	counter(c.holds, s.Holds)
	ch <- prometheus.MustNewConstMetric(c.receivers, prometheus.GaugeValue, float64(s.Receivers))
}
