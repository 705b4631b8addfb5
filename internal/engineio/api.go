// Package engineio is an Engine.IO protocol v4 server: the transport layer
// under sockgate's Socket.IO server. It speaks HTTP long-polling and
// websocket (with the polling-to-websocket upgrade), runs the ping/pong
// heartbeat, enforces the maximum payload, answers CORS, gives each
// connection a send queue bounded in packets and bytes, and limits the
// handshakes (and optionally the sessions) per client address.
//
// Package socketio is its only user: it gives NewServer a Handler, serves
// the Server's ServeHTTP under its path, and sends Socket.IO packets with
// Conn.Send. api.go holds the exported API (Server, Conn, Handler,
// Config, Stats, Packet in packet.go); the engine is in server.go (the
// handshake, the session table, the limits of limit.go), conn.go (one
// connection: polling, the upgrade, the heartbeat), queue.go (the bounded
// send queue) and ws.go (RFC 6455 framing). docs/engineio.md describes the
// protocol as served, and the bounds and their counters.
package engineio

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// Errors returned by Conn.Send.
var (
	// ErrClosed: the connection is closed; nothing was queued.
	ErrClosed = errors.New("engineio: connection closed")
	// ErrQueueFull: the connection's send queue was full. The connection has
	// been closed with ReasonSlowClient and counted; nothing was queued.
	ErrQueueFull = errors.New("engineio: send queue full")
)

// Close reasons given to Handler.OnClose.
const (
	ReasonTransportClose = "transport close"      // the client closed the transport or sent a close packet
	ReasonTransportError = "transport error"      // a read or write failed
	ReasonPingTimeout    = "ping timeout"         // no pong within PingInterval+PingTimeout
	ReasonParseError     = "parse error"          // the client sent something that is not Engine.IO
	ReasonForcedClose    = "forced close"         // Conn.Close was called
	ReasonServerShutdown = "server shutting down" // Server.Close
	ReasonSlowClient     = "send queue full"      // the client could not keep up (see Config.SendQueue)
	ReasonPayloadTooBig  = "payload too large"    // a message above Config.MaxPayload
)

// Websocket close status codes for Conn.CloseWithStatus (RFC 6455 7.4.1).
const (
	StatusPolicyViolation uint16 = 1008 // the client broke a rule of the application
	StatusMessageTooBig   uint16 = 1009 // the client sent more than the application takes
)

// Handler receives a server's connections. Calls for one connection are
// sequential: OnOpen first, then OnMessage in the order the client sent,
// then OnClose exactly once. Calls for different connections run
// concurrently.
type Handler interface {
	// OnOpen is called once the handshake is done, before any message.
	OnOpen(c *Conn)
	// OnMessage is called for each message packet. data belongs to the
	// callee (it is not reused); binary tells a binary frame from text.
	OnMessage(c *Conn, data []byte, binary bool)
	// OnClose is called once when the connection ends, with its reason.
	OnClose(c *Conn, reason string)
}

// CORS configures the answers to cross-origin requests. The zero value
// sends no CORS headers.
type CORS struct {
	AllowOrigins     []string // exact origins, or "*" for any
	AllowCredentials bool
	AllowHeaders     []string
}

// Config configures a Server. Zero fields take the defaults noted.
type Config struct {
	Handler        Handler       // required
	PingInterval   time.Duration // default 25s
	PingTimeout    time.Duration // default 20s
	MaxPayload     int           // bytes per message and per polling request body; default 1e6
	UpgradeTimeout time.Duration // default 10s
	// Transports allowed, in "polling", "websocket"; default both.
	Transports []string
	// DisableUpgrades stops polling clients from upgrading to websocket.
	DisableUpgrades bool
	CORS            CORS
	// AllowRequest, when set, can refuse a handshake (HTTP 403 with the
	// error's text).
	AllowRequest func(r *http.Request) error
	// SendQueue is the most packets a connection may have waiting to be
	// written; beyond it the connection is closed with ReasonSlowClient.
	// Default 1024.
	SendQueue int
	// WriteTimeout bounds one websocket write; a client that does not
	// take the bytes in time is closed with ReasonSlowClient. Default 10s.
	WriteTimeout time.Duration
	Logger       *slog.Logger // default slog.Default()
	// SendQueueBytes is the most bytes of message packets a connection
	// may have waiting to be written (each packet counted at the size of
	// its payload, shared or not); beyond it the connection is closed
	// with ReasonSlowClient, like beyond SendQueue. A batch sent to an
	// empty queue is always taken. Default 16*MaxPayload.
	SendQueueBytes int
	// HandshakeRate is how many handshakes per second one client address
	// (see ClientAddr) may make on average: a token bucket holding
	// HandshakeBurst tokens, refilled at this rate. A handshake without a
	// token gets HTTP 429 with a Retry-After header and is counted in
	// Stats.HandshakesLimited. Default DefaultHandshakeRate (100);
	// negative turns the rate limit off (e.g. behind a proxy that limits,
	// when ClientAddr cannot tell clients apart).
	HandshakeRate float64
	// HandshakeBurst is the bucket's size: the handshakes an address may
	// make at once. Default DefaultHandshakeBurst (1000).
	HandshakeBurst int
	// MaxSessionsPerAddr caps the sessions open at once from one client
	// address; a handshake beyond it gets HTTP 429 and is counted in
	// Stats.SessionsLimited. Default 0: no cap.
	MaxSessionsPerAddr int
	// ClientAddr names the client address a handshake is accounted to by
	// the limits above. Default RemoteIP (the peer's IP, IPv6 by /64).
	// Behind a trusted reverse proxy return the address it reports (e.g.
	// the entry it appended to X-Forwarded-For); never trust a header a
	// client can set directly. An empty string exempts the request from
	// both limits.
	ClientAddr func(r *http.Request) string
}

// Stats are a server's counters.
type Stats struct {
	Open       int64  // connections open now
	Opened     uint64 // connections opened since start
	Closed     uint64 // connections closed since start
	SlowClosed uint64 // of Closed, closed because their send queue was full
	Upgrades   uint64 // polling connections upgraded to websocket
	// TooBig counts connections closed for a message or polling body
	// above MaxPayload (ReasonPayloadTooBig).
	TooBig uint64
	// HandshakesLimited counts handshakes refused (HTTP 429) by the
	// per-address rate limit (HandshakeRate, HandshakeBurst).
	HandshakesLimited uint64
	// SessionsLimited counts handshakes refused (HTTP 429) because their
	// address had MaxSessionsPerAddr sessions open.
	SessionsLimited uint64
	// ProtocolErrors counts connections closed for input that is not
	// Engine.IO or not RFC 6455 (ReasonParseError).
	ProtocolErrors uint64
}

// Server is an Engine.IO server; it is an http.Handler for one path.
type Server struct{ impl *server }

// NewServer returns a server; it starts nothing until requests arrive.
func NewServer(cfg Config) (*Server, error) {
	impl, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	return &Server{impl: impl}, nil
}

// ServeHTTP handles handshakes, polling requests and websocket upgrades.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.impl.serveHTTP(w, r) }

// Close closes every connection with ReasonServerShutdown and refuses new
// ones; it waits for OnClose calls to return or ctx to end.
func (s *Server) Close(ctx context.Context) error { return s.impl.close(ctx) }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats { return s.impl.stats() }

// Conn is one Engine.IO session. Its methods are safe for concurrent use.
type Conn struct{ impl *conn }

// ID is the session id (the "sid" of the handshake).
func (c *Conn) ID() string { return c.impl.id }

// Request is the handshake request (headers, query, RemoteAddr). Its Body
// has been consumed.
func (c *Conn) Request() *http.Request { return c.impl.req }

// Transport is "polling" or "websocket" (after an upgrade, "websocket").
func (c *Conn) Transport() string {
	c.impl.mu.Lock()
	defer c.impl.mu.Unlock()
	if c.impl.ws {
		return transportWebsocket
	}
	return transportPolling
}

// Send queues packets to be written in order, all or none, and returns at
// once. It returns ErrClosed on a closed connection and ErrQueueFull (and
// closes the connection) when they do not fit in the send queue. The
// packets may be shared with other connections.
func (c *Conn) Send(pkts ...*Packet) error { return c.impl.send(pkts) }

// Close closes the connection with ReasonForcedClose after writing what is
// queued (on websocket, best effort within a short deadline).
func (c *Conn) Close() { c.impl.closeWith(ReasonForcedClose, true, closeNormal, "") }

// CloseWithStatus is Close with a reason for the client: on websocket the
// close frame carries code (a valid RFC 6455 status, e.g.
// StatusPolicyViolation; an invalid one is sent as 1008) and text (cut to
// 123 bytes). On polling the client gets the close packet, which carries
// no reason. OnClose gets ReasonForcedClose.
func (c *Conn) CloseWithStatus(code uint16, text string) {
	if !validCloseCode(code) {
		code = StatusPolicyViolation
	}
	c.impl.closeWith(ReasonForcedClose, true, code, text)
}

// SetValue attaches the owner's state to the connection; Value returns it.
func (c *Conn) SetValue(v any) {
	c.impl.mu.Lock()
	c.impl.value = v
	c.impl.mu.Unlock()
}

// Value returns what SetValue attached, or nil.
func (c *Conn) Value() any {
	c.impl.mu.Lock()
	defer c.impl.mu.Unlock()
	return c.impl.value
}
