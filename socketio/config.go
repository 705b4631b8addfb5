package socketio

import (
	"fmt"
	"io"
	"log/slog"
	"time"
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
	if c.UserRoom == nil {
		c.UserRoom = func(id string) string { return "user:" + id }
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
