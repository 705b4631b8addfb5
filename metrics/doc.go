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
//	sockgate_unreceived_total  counter  messages confirmed that reached no subscriber (Redis pub/sub)
//	sockgate_unconfirmed_total counter  of dropped: given up with an unknown outcome (at-most-once)
//	sockgate_resent_total      counter  messages sent again after an unknown outcome (at-least-once)
//	sockgate_resume_holds_total counter times the backlog waited after a reconnect for the subscribers
//	sockgate_receivers         gauge    subscribers the last published message reached; -1 unknown
//
// Every accepted emit ends as exactly one of published, unreceived or
// dropped, so emitted = published + unreceived + dropped + queued in every
// scrape (one Stats snapshot). docs/reliability.md says what each transport
// can count.
//
// The collector describes its metrics up front, so a registry rejects a
// second collector with the same const labels. To export several gateways
// from one process, give each its own const labels (for example role or
// channel).
//
// The package is separate from gateway so that importing the gateway does
// not pull in the Prometheus client, and it imports neither the Socket.IO
// server nor the cluster manager, so that a worker exporting metrics does
// not link them: their collectors are in package metrics/servermetrics.
package metrics
