package socketio

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/sockgate/sockgate/internal/protocol"
)

// CORS configures the answers to cross-origin requests. The zero value
// sends no CORS headers.
type CORS struct {
	AllowOrigins     []string // exact origins, or "*" for any
	AllowCredentials bool
	AllowHeaders     []string
}

// Config configures a Server. Zero fields take the defaults noted.
type Config struct {
	// PingInterval is the Engine.IO heartbeat interval; default 25s.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take; default 20s.
	PingTimeout time.Duration
	// MaxPayload is the largest message (and polling request body) a
	// client may send, in bytes; default 1e6.
	MaxPayload int
	// ConnectTimeout is how long a client has, after the Engine.IO
	// handshake, to connect to a namespace before it is closed; default 45s.
	ConnectTimeout time.Duration
	// CORS configures cross-origin answers; the zero value sends none.
	CORS CORS
	// SendQueue is the most packets a client may have waiting to be
	// written; a client that falls further behind is disconnected with
	// reason "send queue full" and counted in Stats.SlowDisconnects.
	// Default 1024.
	SendQueue int
	// UserRoom names the room of a user set with Handshake.SetUser;
	// default "user:"+id (the gateway's convention).
	UserRoom func(userID string) string
	// Logger receives the server's background events; nil discards them.
	Logger *slog.Logger

	// MaxAttachmentBytes caps the total size of one client packet's binary
	// attachments; a client going beyond it is closed (websocket status
	// 1009) and counted in Stats.AttachmentsRefused. Default MaxPayload.
	MaxAttachmentBytes int
	// MaxAttachments caps how many attachments one client packet may
	// announce (the protocol parser's own limit is 1000); beyond it the
	// client is closed and counted in Stats.AttachmentsRefused. Default
	// 1000.
	MaxAttachments int
	// EventQueueBytes bounds, in bytes of received arguments, the events
	// of one socket waiting for (or running in) its handlers, beside the
	// bound of 1024 events: while either is reached the server stops
	// reading from the client (backpressure, counted in
	// Stats.EventQueueWaits). An event arriving at an empty queue is
	// always taken. Default 2*MaxPayload.
	EventQueueBytes int
	// SendQueueBytes bounds the bytes waiting to be written to a client
	// (beside SendQueue, in packets); beyond it the client is disconnected
	// like beyond SendQueue. Default 16*MaxPayload.
	SendQueueBytes int
	// HandshakeRate is how many Engine.IO handshakes per second one client
	// address may make on average (token bucket of HandshakeBurst); beyond
	// it they get HTTP 429, counted in Stats.HandshakesLimited. Default
	// 100 per second; negative turns the limit off.
	HandshakeRate float64
	// HandshakeBurst is the handshakes an address may make at once;
	// default 1000.
	HandshakeBurst int
	// MaxSessionsPerAddr caps the Engine.IO sessions open at once from one
	// client address (HTTP 429 beyond it, counted in
	// Stats.SessionsLimited); default 0, no cap.
	MaxSessionsPerAddr int
	// ClientAddr names the address a handshake is accounted to by the
	// limits above; default the peer's IP (IPv6 by /64). Behind a trusted
	// reverse proxy return the client address the proxy reports; "" exempts
	// the request from the limits.
	ClientAddr func(r *http.Request) string
}

func (c Config) withDefaults() (Config, error) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"PingInterval", c.PingInterval}, {"PingTimeout", c.PingTimeout}, {"ConnectTimeout", c.ConnectTimeout}} {
		if d.v < 0 {
			return c, fmt.Errorf("%w: %s is negative (%s)", ErrConfig, d.name, d.v)
		}
	}
	if c.MaxPayload < 0 {
		return c, fmt.Errorf("%w: MaxPayload is negative (%d)", ErrConfig, c.MaxPayload)
	}
	if c.SendQueue < 0 {
		return c, fmt.Errorf("%w: SendQueue is negative (%d)", ErrConfig, c.SendQueue)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"MaxAttachmentBytes", c.MaxAttachmentBytes}, {"MaxAttachments", c.MaxAttachments},
		{"EventQueueBytes", c.EventQueueBytes}, {"SendQueueBytes", c.SendQueueBytes},
		{"HandshakeBurst", c.HandshakeBurst}, {"MaxSessionsPerAddr", c.MaxSessionsPerAddr}} {
		if f.v < 0 {
			return c, fmt.Errorf("%w: %s is negative (%d)", ErrConfig, f.name, f.v)
		}
	}
	if c.MaxAttachments > maxAttachments {
		return c, fmt.Errorf("%w: MaxAttachments %d is above the protocol limit %d", ErrConfig, c.MaxAttachments, maxAttachments)
	}
	if math.IsNaN(c.HandshakeRate) || math.IsInf(c.HandshakeRate, 0) {
		return c, fmt.Errorf("%w: HandshakeRate is %v", ErrConfig, c.HandshakeRate)
	}
	if c.PingInterval == 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = 1e6
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.SendQueue == 0 {
		c.SendQueue = 1024
	}
	if c.MaxAttachmentBytes == 0 {
		c.MaxAttachmentBytes = c.MaxPayload
	}
	if c.MaxAttachments == 0 {
		c.MaxAttachments = maxAttachments
	}
	if c.EventQueueBytes == 0 {
		c.EventQueueBytes = 2 * c.MaxPayload
	}
	if c.UserRoom == nil {
		c.UserRoom = protocol.UserRoom
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// Stats are a server's counters. Counters only grow; Connected and Clients
// are gauges.
type Stats struct {
	Clients         int64  // Engine.IO connections open now
	Connected       int64  // namespace sockets connected now
	Connects        uint64 // namespace connections accepted
	Disconnects     uint64 // namespace sockets disconnected
	Refused         uint64 // namespace connections refused (middleware, unknown namespace)
	SlowDisconnects uint64 // clients closed because their send queue was full
	ConnectTimeouts uint64 // clients closed for not connecting within ConnectTimeout
	ProtocolErrors  uint64 // clients closed for sending malformed packets
	EmitErrors      uint64 // emits refused (payload cannot be encoded, reserved name)
	SendErrors      uint64 // deliveries refused by a closed or full connection
	AckTimeouts     uint64 // EmitWithAck calls whose context ended first
	Unhandled       uint64 // events received with no handler registered
	HandlerPanics   uint64 // panics recovered from application handlers
	Broadcasts      uint64 // namespace/room emits
	Deliveries      uint64 // packets handed to connections by broadcasts

	// The bounds on what one client can make the server hold (see
	// docs/server.md, "Bounded memory").

	// AttachmentsRefused counts clients closed for a binary packet whose
	// attachments exceed MaxAttachmentBytes or MaxAttachments.
	AttachmentsRefused uint64
	// EarlyBinary counts clients closed for sending a binary packet
	// before connecting to any namespace.
	EarlyBinary uint64
	// EventQueueWaits counts the times reading from a client paused
	// because one of its sockets had EventQueueBytes or 1024 events
	// waiting for its handlers.
	EventQueueWaits uint64
	// PayloadTooBig counts clients closed for a message or polling body
	// above MaxPayload.
	PayloadTooBig uint64
	// HandshakesLimited counts handshakes refused (HTTP 429) by the
	// per-address rate limit (HandshakeRate, HandshakeBurst).
	HandshakesLimited uint64
	// SessionsLimited counts handshakes refused (HTTP 429) by
	// MaxSessionsPerAddr.
	SessionsLimited uint64

	// Token expiry and refresh (TokenAuthWith; see docs/server.md, "Token
	// expiry and refresh").

	// TokenExpiries counts sockets disconnected because their token
	// expired (TokenAuthConfig.Expire, reason ReasonTokenExpired).
	TokenExpiries uint64
	// TokenRefreshes counts tokens accepted on TokenRefreshEvent.
	TokenRefreshes uint64
	// TokenRefreshRefused counts tokens refused on TokenRefreshEvent (not
	// a string, not valid, or naming another user); those sockets kept
	// their old token.
	TokenRefreshRefused uint64
}
