package socketio

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sockgate/sockgate/auth"
)

// The token refresh protocol of sockets authenticated by TokenAuth or
// TokenAuthWith (docs/server.md, "Token expiry and refresh").
const (
	// TokenRefreshEvent is the reserved event by which a connected client
	// replaces its token without reconnecting: it emits
	// TokenRefreshEvent with the new token (a string) as the only
	// argument, and an ack callback. The ack's argument is
	// {"ok": true, "expires": <the new token's "exp", Unix seconds>}, or
	// {"ok": false, "error": "<what is wrong>"} when the token is refused:
	// not valid (malformed, bad signature, expired; see auth.Verifier)
	// or naming another user than the socket's. A refused token changes
	// nothing: the socket keeps its old expiry. An accepted one's expiry
	// replaces the old one, earlier or later. The event never reaches the
	// socket's handlers (Socket.On), and it is handled as soon as it
	// arrives, ahead of the events waiting for their handlers.
	TokenRefreshEvent = "sockgate:refresh"
	// TokenExpiredEvent is the event a socket gets just before it is
	// disconnected for an expired token (TokenAuthConfig.Expire), with
	// one argument {"reason": "token expired", "expires": <Unix seconds>}.
	// socket.io-client then reports the disconnect reason
	// "io server disconnect" and does not reconnect by itself.
	TokenExpiredEvent = "sockgate:expired"
	// ReasonTokenExpired is the disconnect reason (Socket.OnDisconnect) of
	// a socket whose token expired (TokenAuthConfig.Expire).
	ReasonTokenExpired = "token expired"
)

// TokenAuthConfig configures TokenAuthWith.
type TokenAuthConfig struct {
	// Verifier checks the handshake's and the refreshes' tokens, and
	// sets the socket's user (the token's user claim); required. An
	// *auth.HMAC verifies HS256 tokens with a secret, an *auth.KeySet
	// the RS256, ES256 and EdDSA tokens of an identity provider.
	Verifier auth.Verifier
	// Expire disconnects a socket when its token expires: at its "exp"
	// claim plus auth.Leeway (the moment Verify stops accepting it), as
	// read by Verifier's clock (Verifier.Now), unless the client sent a new token
	// on TokenRefreshEvent before. The socket gets TokenExpiredEvent, then
	// a DISCONNECT; its disconnect handlers get ReasonTokenExpired, and
	// Stats.TokenExpiries counts it. Each such socket holds one runtime
	// timer, stopped when it disconnects. Default false: the token is
	// checked when the socket connects and when it is refreshed, and a
	// socket may outlive it (the behaviour of TokenAuth).
	Expire bool

	// afterFunc replaces time.AfterFunc (tests).
	afterFunc func(time.Duration, func()) tokenTimer
}

// tokenTimer is the part of *time.Timer a socket's expiry needs.
type tokenTimer interface{ Stop() bool }

// TokenAuth returns a middleware that verifies the token of the handshake
// auth {"token": "..."} with v and sets the socket's user to the token's
// user. A missing or invalid token refuses the connection with
// CONNECT_ERROR {"message": "unauthorized"}; the reason is logged at
// debug level, never sent to the client. The socket's token can be
// replaced with TokenRefreshEvent; it is not enforced after the connect
// (see TokenAuthWith and TokenAuthConfig.Expire for that).
// It panics when v is nil.
func TokenAuth(v auth.Verifier) Middleware {
	if v == nil {
		panic("socketio: TokenAuth needs a non-nil auth.Verifier")
	}
	return TokenAuthWith(TokenAuthConfig{Verifier: v})
}

// TokenAuthWith is TokenAuth configured by cfg: with cfg.Expire, a socket
// is disconnected when its token expires unless the client refreshed it
// (TokenRefreshEvent). It panics when cfg.Verifier is nil.
func TokenAuthWith(cfg TokenAuthConfig) Middleware {
	if cfg.Verifier == nil {
		panic("socketio: TokenAuthWith needs a non-nil TokenAuthConfig.Verifier")
	}
	if cfg.afterFunc == nil {
		cfg.afterFunc = func(d time.Duration, f func()) tokenTimer { return time.AfterFunc(d, f) }
	}
	conf := &cfg
	return func(_ context.Context, hs *Handshake) error {
		var a struct {
			Token string `json:"token"`
		}
		err := hs.BindAuth(&a)
		if err == nil && a.Token == "" {
			err = fmt.Errorf("socketio: handshake auth has no \"token\"")
		}
		var claims auth.Claims
		if err == nil {
			claims, err = conf.Verifier.Verify(a.Token)
		}
		if err != nil {
			if hs.log != nil {
				hs.log.Debug("socketio: token refused", "nsp", hs.Namespace, "remote", remoteAddr(hs.Request), "err", err)
			}
			return &ConnectError{Message: "unauthorized"}
		}
		hs.SetUser(claims.User)
		hs.token = &socketToken{cfg: conf, user: claims.User, expires: claims.Expires}
		return nil
	}
}

// TokenExpires returns the "exp" claim of the socket's token (the last
// one refreshed), or the zero Time when the socket was not authenticated
// by TokenAuth or TokenAuthWith.
func (s *Socket) TokenExpires() time.Time {
	t := s.hs.token
	if t == nil {
		return time.Time{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.expires
}

// socketToken is the token state of one socket authenticated by
// TokenAuthWith: the user, the expiry, and with Expire the timer.
type socketToken struct {
	cfg  *TokenAuthConfig
	user string // the socket's user; a refresh must name the same

	mu      sync.Mutex
	expires time.Time
	sock    *Socket    // set by start
	timer   tokenTimer // nil without Expire, before start and once ended
	gen     uint64     // incremented at every arming; a stale firing is ignored
	ended   bool       // disconnected or expired: never armed again
}

// start arms the expiry of s, which has just been registered. It does
// nothing on a nil t or without Expire.
func (t *socketToken) start(s *Socket) {
	if t == nil || !t.cfg.Expire {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sock = s
	t.armLocked()
}

// armLocked (re)starts the timer for t.expires. t.mu is held.
func (t *socketToken) armLocked() {
	if t.ended || t.sock == nil {
		return
	}
	if t.timer != nil {
		t.timer.Stop()
	}
	t.gen++
	gen := t.gen
	d := t.expires.Add(auth.Leeway).Sub(t.cfg.Verifier.Now())
	t.timer = t.cfg.afterFunc(d, func() { t.fire(gen) })
}

// stop ends t when its socket disconnects: the timer is stopped and never
// armed again. It is safe on a nil t and more than once.
func (t *socketToken) stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended = true
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}

// fire disconnects the socket when the timer of arming gen is still the
// current one (no refresh came in between).
func (t *socketToken) fire(gen uint64) {
	t.mu.Lock()
	if t.ended || gen != t.gen {
		t.mu.Unlock()
		return
	}
	t.ended = true
	t.timer = nil
	s, exp := t.sock, t.expires
	t.mu.Unlock()

	srv := s.nsp.s
	srv.st.tokenExpiries.Add(1)
	srv.log.Debug("socketio: token expired; disconnecting the socket", "nsp", s.nsp.name, "socket", s.id, "user", t.user, "expires", exp)
	// The event goes first: packets to one socket keep their order.
	if pkts, err := s.nsp.encodeEvent(TokenExpiredEvent, noAck, []any{tokenExpired{ReasonTokenExpired, exp.Unix()}}); err == nil {
		_ = s.send(pkts)
	}
	s.disconnect(ReasonTokenExpired, true)
}

// tokenExpired is the argument of TokenExpiredEvent.
type tokenExpired struct {
	Reason  string `json:"reason"`
	Expires int64  `json:"expires"`
}

// tokenRefreshAck is the ack argument of TokenRefreshEvent.
type tokenRefreshAck struct {
	OK      bool   `json:"ok"`
	Expires int64  `json:"expires,omitempty"`
	Error   string `json:"error,omitempty"`
}

// refresh handles TokenRefreshEvent from s's client (in the connection's
// reader, ahead of the queued events) and answers its ack, if asked for.
func (t *socketToken) refresh(s *Socket, args *Args, ackID uint64) {
	srv := s.nsp.s
	exp, err := t.replace(args)
	ack := tokenRefreshAck{OK: true, Expires: exp.Unix()}
	if err != nil {
		srv.st.tokenRefreshRefused.Add(1)
		srv.log.Debug("socketio: token refresh refused", "nsp", s.nsp.name, "socket", s.id, "user", t.user, "err", err)
		ack = tokenRefreshAck{Error: err.Error()}
	} else {
		srv.st.tokenRefreshes.Add(1)
	}
	if ackID == noAck {
		return
	}
	e := &Event{Name: TokenRefreshEvent, Socket: s, Args: args, ackID: ackID}
	_ = e.Ack(ack) // fails only when the client is gone; its connection counts that
}

// replace verifies the token in args and, when it is valid and names the
// socket's user, makes its expiry the socket's and re-arms the timer.
func (t *socketToken) replace(args *Args) (time.Time, error) {
	var token string
	if args.Len() != 1 || args.Bind(&token) != nil {
		return time.Time{}, fmt.Errorf("%w: want one argument, the new token as a string", ErrTokenRefused)
	}
	claims, err := t.cfg.Verifier.Verify(token)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrTokenRefused, err)
	}
	if claims.User != t.user {
		return time.Time{}, fmt.Errorf("%w: the token names user %q, the socket's user is %q", ErrTokenRefused, claims.User, t.user)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return time.Time{}, fmt.Errorf("%w: the socket is disconnecting", ErrTokenRefused)
	}
	t.expires = claims.Expires
	t.armLocked()
	return claims.Expires, nil
}
