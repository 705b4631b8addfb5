// Package socketio is a Socket.IO protocol v5 server (the protocol of the
// socket.io 3.x and 4.x JavaScript clients and python-socketio 5), built
// on sockgate's Engine.IO v4 engine (HTTP long-polling, websocket and the
// upgrade between them).
//
// A Server is an http.Handler; mount it where clients look for it, by
// default "/socket.io/". Clients connect to namespaces (Server.Of); each
// namespace runs its middlewares (Namespace.Use) on the handshake, then its
// connection handlers (Namespace.OnConnection) with the new *Socket.
// Middlewares decide who the user is (Handshake.SetUser, e.g. with
// TokenAuth) and which rooms the socket joins; a client can never pick its
// user nor join a room itself.
// TokenAuthWith with Expire also disconnects a socket when its token
// expires, unless the client sent a new one on TokenRefreshEvent.
//
// # Guarantees
//
//   - Order: packets sent to one socket (Emit, Ack, broadcasts that include
//     it) reach it in the order the calls returned. A socket's events are
//     handled one at a time, in the order sent, after its connection
//     handlers returned and before its disconnect handlers run; handlers
//     run in a goroutine of the socket's own, so one may wait for an
//     EmitWithAck to its own client.
//   - Broadcasts (Namespace.Emit, To, Except) encode the packet once and
//     hand the same engine packets to every recipient; they never block on
//     a recipient.
//   - Slow clients: each connection has a bounded send queue
//     (Config.SendQueue packets, Config.SendQueueBytes bytes). A client
//     that falls further behind is disconnected with reason "send queue
//     full" and counted in Stats.SlowDisconnects; the others are not
//     slowed.
//   - Bounded memory: what a client sends is bounded before and after it
//     connects to a namespace (MaxPayload per message, MaxAttachmentBytes
//     and MaxAttachments per packet, no binary packet before a namespace,
//     EventQueueBytes of events waiting for a socket's handlers), and
//     handshakes are limited per client address (HandshakeRate,
//     HandshakeBurst, MaxSessionsPerAddr). Every refusal is counted in
//     Stats and logged at a rate limit.
//   - Nothing malformed reaches the wire: an argument that is not JSON
//     (NaN, Inf, a channel, a function, a cycle) makes Emit return
//     ErrPayload and nothing is sent. A client that sends a malformed
//     packet is disconnected ("parse error") and counted.
//   - Room membership is exact under concurrent Join and Leave.
//
// []byte arguments, at any depth, travel as binary attachments; received
// attachments decode into []byte destinations of Args.Bind.
//
// # Clusters
//
// Server.SetCluster hands every broadcast, after local delivery, to a
// Cluster (package cluster publishes it for the other nodes); Local
// broadcasts stay on this server. Server.Lookup, Namespace.Socket,
// Namespace.CloseRoom and Broadcast.Sockets let a cluster manager apply
// what other nodes sent.
package socketio
