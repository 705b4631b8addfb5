// Package servermetrics exports the counters of sockgate's Socket.IO
// server (socketio.Server.Stats) and of its cluster manager
// (cluster.Manager: Health and Stats) to Prometheus. It is apart from
// package metrics, which workers import, so that a worker does not link the
// server.
//
// NewCollector reads one Stats snapshot per scrape and reports it as:
//
//	sockgate_server_clients                        gauge    Engine.IO connections open now
//	sockgate_server_sockets                        gauge    namespace sockets connected now
//	sockgate_server_connects_total                 counter  namespace connections accepted
//	sockgate_server_connects_refused_total         counter  refused by a middleware or for an unknown namespace
//	sockgate_server_disconnects_total              counter  namespace sockets disconnected
//	sockgate_server_clients_closed_total{reason}   counter  clients the server closed, by reason: send_queue_full,
//	                                                        connect_timeout, protocol_error, payload_too_large,
//	                                                        attachments_too_large, binary_before_connect
//	sockgate_server_handshakes_refused_total{reason} counter handshakes answered 429: rate, sessions
//	sockgate_server_event_queue_waits_total        counter  times reading a client paused for its slow handlers
//	sockgate_server_emit_errors_total              counter  emits refused (payload cannot be encoded, reserved name)
//	sockgate_server_send_errors_total              counter  deliveries refused by a closed or full connection
//	sockgate_server_ack_timeouts_total             counter  EmitWithAck calls whose context ended first
//	sockgate_server_unhandled_events_total         counter  events received with no handler
//	sockgate_server_handler_panics_total           counter  panics recovered from handlers and middlewares
//	sockgate_server_broadcasts_total               counter  namespace and room emits
//	sockgate_server_deliveries_total               counter  packets handed to connections by broadcasts
//	sockgate_server_token_expiries_total           counter  sockets disconnected for an expired token
//	sockgate_server_token_refreshes_total{result}  counter  tokens sent on sockgate:refresh: accepted, refused
//
// Every refusal of the server's memory bounds is in clients_closed_total
// or handshakes_refused_total (docs/server.md, "Bounded memory").
//
// NewClusterCollector reports a server node's cluster manager:
//
//	sockgate_cluster_subscribed                gauge    1 while the node receives the channel, 0 while local-only
//	sockgate_cluster_received_total            counter  messages read from the channel
//	sockgate_cluster_messages_total{result}    counter  by outcome: applied, own_skipped, malformed, unsafe,
//	                                                    unknown, not_served, ignored, apply_error,
//	                                                    seq_duplicate (sent twice by its host, dropped)
//	sockgate_cluster_subscribe_failures_total  counter  failed attempts and unexpected ends
//	sockgate_cluster_resubscribes_total        counter  times the subscription came back
//	sockgate_cluster_acks_total{result}        counter  acks for other hosts: returned, failed, dropped
//	sockgate_cluster_publish_errors_total      counter  local broadcasts that could not be encoded
//	sockgate_cluster_duplicates_total          counter  persistent-transport redeliveries dropped by ID
//	sockgate_cluster_transport_malformed_total counter  entries/messages the transport could not read
//	sockgate_cluster_seq_unchecked_total       counter  messages too old to check for a duplicate (applied)
//	sockgate_cluster_nonfinite_total           counter  messages whose NaN/±Infinity were delivered as null
//
// A server process registers both beside metrics.NewCollector
// (manager.Gateway(), ...), which reports the node's publishing side.
package servermetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sockgate/sockgate/metrics"
	"github.com/sockgate/sockgate/socketio"
)

// StatsSource is what NewCollector reads: a *socketio.Server satisfies it.
// Stats must be safe for concurrent use.
type StatsSource interface {
	Stats() socketio.Stats
}

var _ StatsSource = (*socketio.Server)(nil)

type collector struct {
	src                                            StatsSource
	clients, sockets                               *prometheus.Desc
	connects, refused, disconnects                 *prometheus.Desc
	closed, handshakes, waits                      *prometheus.Desc
	emitErrors, sendErrors, ackTimeouts, unhandled *prometheus.Desc
	panics, broadcasts, deliveries                 *prometheus.Desc
	expiries, refreshes                            *prometheus.Desc
}

var _ prometheus.Collector = (*collector)(nil)

// NewCollector returns a prometheus.Collector reporting src's Stats under
// the sockgate_server_* names listed in the package documentation, with
// opts.ConstLabels on every series.
func NewCollector(src StatsSource, opts metrics.CollectorOptions) prometheus.Collector {
	desc := describer(opts)
	return &collector{
		src:         src,
		clients:     desc("sockgate_server_clients", "Engine.IO connections open now."),
		sockets:     desc("sockgate_server_sockets", "Namespace sockets connected now."),
		connects:    desc("sockgate_server_connects_total", "Namespace connections accepted."),
		refused:     desc("sockgate_server_connects_refused_total", "Namespace connections refused by a middleware or for an unknown namespace."),
		disconnects: desc("sockgate_server_disconnects_total", "Namespace sockets disconnected."),
		closed: desc("sockgate_server_clients_closed_total",
			"Clients the server closed for going beyond a bound or breaking the protocol, by reason.", "reason"),
		handshakes: desc("sockgate_server_handshakes_refused_total",
			"Handshakes refused with HTTP 429 by the per-address limits, by limit.", "reason"),
		waits: desc("sockgate_server_event_queue_waits_total",
			"Times reading from a client paused because its handlers were behind (backpressure)."),
		emitErrors:  desc("sockgate_server_emit_errors_total", "Emits refused: payload cannot be encoded or reserved event name."),
		sendErrors:  desc("sockgate_server_send_errors_total", "Deliveries refused by a closed or full connection."),
		ackTimeouts: desc("sockgate_server_ack_timeouts_total", "EmitWithAck calls whose context ended before the acknowledgement."),
		unhandled:   desc("sockgate_server_unhandled_events_total", "Events received with no handler registered."),
		panics:      desc("sockgate_server_handler_panics_total", "Panics recovered from handlers and middlewares."),
		broadcasts:  desc("sockgate_server_broadcasts_total", "Namespace and room emits."),
		deliveries:  desc("sockgate_server_deliveries_total", "Packets handed to connections by broadcasts."),
		expiries:    desc("sockgate_server_token_expiries_total", "Sockets disconnected because their token expired."),
		refreshes: desc("sockgate_server_token_refreshes_total",
			"Tokens sent on the sockgate:refresh event, by result: accepted or refused.", "result"),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.clients, c.sockets, c.connects, c.refused, c.disconnects, c.closed,
		c.handshakes, c.waits, c.emitErrors, c.sendErrors, c.ackTimeouts, c.unhandled, c.panics, c.broadcasts, c.deliveries,
		c.expiries, c.refreshes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(s.Clients))
	ch <- prometheus.MustNewConstMetric(c.sockets, prometheus.GaugeValue, float64(s.Connected))
	counter := counterSender(ch)
	counter(c.connects, s.Connects)
	counter(c.refused, s.Refused)
	counter(c.disconnects, s.Disconnects)
	for _, r := range []struct {
		name string
		v    uint64
	}{
		{"send_queue_full", s.SlowDisconnects}, {"connect_timeout", s.ConnectTimeouts},
		{"protocol_error", s.ProtocolErrors}, {"payload_too_large", s.PayloadTooBig},
		{"attachments_too_large", s.AttachmentsRefused}, {"binary_before_connect", s.EarlyBinary},
	} {
		counter(c.closed, r.v, r.name)
	}
	counter(c.handshakes, s.HandshakesLimited, "rate")
	counter(c.handshakes, s.SessionsLimited, "sessions")
	counter(c.waits, s.EventQueueWaits)
	counter(c.emitErrors, s.EmitErrors)
	counter(c.sendErrors, s.SendErrors)
	counter(c.ackTimeouts, s.AckTimeouts)
	counter(c.unhandled, s.Unhandled)
	counter(c.panics, s.HandlerPanics)
	counter(c.broadcasts, s.Broadcasts)
	counter(c.deliveries, s.Deliveries)
	counter(c.expiries, s.TokenExpiries)
	counter(c.refreshes, s.TokenRefreshes, "accepted")
	counter(c.refreshes, s.TokenRefreshRefused, "refused")
}

// describer returns the Desc constructor of a collector: every Desc
// carries opts.ConstLabels.
func describer(opts metrics.CollectorOptions) func(name, help string, labels ...string) *prometheus.Desc {
	return func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, opts.ConstLabels)
	}
}

// counterSender returns the function that sends one counter value to ch.
func counterSender(ch chan<- prometheus.Metric) func(d *prometheus.Desc, v uint64, labels ...string) {
	return func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
}
