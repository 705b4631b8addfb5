// Package gateway is sockgate's emitting API: one Gateway interface for
// emitting Socket.IO events to users, rooms and namespaces from any process.
//
// A Worker is the write-only Gateway for processes without a Socket.IO
// server: it encodes each emit in the caller (so bad payloads fail there),
// queues it in a bounded queue and returns; a background writer batches
// queued messages into pipelined publishes and retries with capped backoff
// while the broker is down. Emits never block on the broker and never fail
// because of it; what cannot be delivered is dropped and counted in Stats.
//
// Two call forms address the same messages. The data form keeps
// python-socketio's emit(event, data): EmitToUser, EmitToRoom and
// Broadcast take one data value (Args for several arguments). The builder
// form is socketio's: To(g, rooms...).Except(sids...).Emit(ctx, event,
// args...), each variadic value one argument (see Emitter and
// docs/server.md).
package gateway
