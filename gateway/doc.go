// Package gateway is sockgate's emitting API: one Gateway interface for
// emitting Socket.IO events to users, rooms and namespaces from any process.
//
// A Worker is the write-only Gateway for processes without a Socket.IO
// server: it encodes each emit in the caller (so bad payloads fail there),
// queues it in a bounded queue and returns; a background writer batches
// queued messages into pipelined publishes and retries with capped backoff
// while the broker is down. Emits never block on the broker and never fail
// because of it; what cannot be delivered is dropped and counted in Stats.
package gateway
