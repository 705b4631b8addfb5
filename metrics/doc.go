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
// NewClusterCollector reports a server node's cluster manager
// (cluster.Manager: its Health and Stats):
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
// A server process registers it beside NewCollector(manager.Gateway(), ...),
// which reports the node's publishing side.
//
// The package is separate from gateway so that importing the gateway does
// not pull in the Prometheus client.
package metrics
