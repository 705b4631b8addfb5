// Package durability holds the integration tests (build tag integration)
// of issue 5's persistent transports end to end: a Go server node
// (socketio.Server + cluster.Manager) on Redis Streams or JetStream, a
// real python-socketio client connected to it, and a Go worker. Either the
// node's connection to the broker is cut by a TCP proxy while the worker
// emits, or the broker process itself is killed and restarted (with
// persistence on) while the worker publishes; the client must still
// receive every event, in order, once.
package durability
