// Package metrics exports a gateway's counters to Prometheus.
//
// NewCollector wraps anything with a Stats method (a gateway.Worker, or any
// gateway.Gateway) in a prometheus.Collector that reads one Stats snapshot
// per scrape and reports it as:
//
//	sockgate_emitted_total     counter  messages accepted by an emit or room call
//	sockgate_published_total   counter  messages the broker confirmed
//	sockgate_dropped_total     counter  messages given up (queue full, no broker, closed)
//	sockgate_failed_total      counter  publish attempts that failed (retries count again)
//	sockgate_reconnects_total  counter  times publishing resumed after a broker failure
//	sockgate_queued            gauge    messages waiting in the queue now
//	sockgate_broker_connected  gauge    1 when the last publish attempt succeeded, else 0
//
// Every accepted emit ends as exactly one of published or dropped, so
// emitted = published + dropped + queued at any quiet moment.
//
// The collector describes its metrics up front, so a registry rejects a
// second collector with the same const labels. To export several gateways
// from one process, give each its own const labels (for example role or
// channel).
//
// The package is separate from gateway so that importing the gateway does
// not pull in the Prometheus client.
package metrics
