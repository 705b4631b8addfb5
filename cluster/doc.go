// Package cluster makes a socketio.Server a node of a Socket.IO cluster
// that speaks python-socketio's pub/sub format, so that sockgate servers,
// sockgate workers and python-socketio servers and write-only managers
// share one broker channel (default "socketio").
//
// A Manager, once started, does what python-socketio's AsyncPubSubManager
// does:
//
//   - Every broadcast made on the server (Namespace.Emit, To, Except,
//     Socket.To, Broadcast.Emit, but not Local ones) is delivered to the
//     local clients once and then published once, with this node's
//     host_id, through a queue that never blocks the emitter
//     (gateway.Worker: batching, retries, stats).
//   - Every message on the channel is decoded (JSON of every dialect, and
//     pickle through the codec's safe decoder) and applied to the local
//     clients: emit (rooms, room lists, skip_sid as Except), enter_room,
//     leave_room, close_room, disconnect, and emits asking for a callback
//     (the client's acknowledgement is published back to the asking host
//     as a "callback" message). Messages carrying our own host_id are
//     skipped: they were delivered when emitted.
//   - Bad input (garbage, truncated JSON, unsafe pickles, oversized or
//     ill-typed messages, unknown methods) is counted in Stats, logged at
//     most once a second, and skipped; the listener goes on.
//   - A message a sockgate process published twice (the same host_id and
//     sockgate_seq, as after a publish retried when its reply was lost)
//     is applied once. NaN and infinite numbers from the bus are
//     delivered as null; an emit with an empty event name is delivered,
//     as python-socketio servers do.
//   - A broker that is down at Start, or a subscription that ends, is
//     logged at error level and retried every 25-50 ms; meanwhile the
//     node serves its own clients. Health shows the state, also while
//     the transport reconnects behind an open subscription.
//
// Gateway returns the server-mode gateway.Gateway: the interface workers
// use, acting on this node's clients and publishing for the others.
//
// See docs/cluster.md for the rules and limits.
package cluster
