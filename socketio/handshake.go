package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sockgate/sockgate/auth"
)

// Handshake is what a client sent to connect to a namespace. Middlewares
// read it and decide the socket's user and rooms; the client itself can
// choose neither.
type Handshake struct {
	// Namespace is the namespace connected to, e.g. "/".
	Namespace string
	// Auth is the CONNECT packet's auth payload (a JSON object), or nil.
	Auth json.RawMessage
	// Request is the Engine.IO handshake request (headers, query, remote
	// address); its body has been consumed.
	Request *http.Request

	log   *slog.Logger
	user  string
	rooms []string
}

// BindAuth decodes the auth payload into v; ErrNoAuth when there is none.
func (h *Handshake) BindAuth(v any) error {
	if len(h.Auth) == 0 {
		return ErrNoAuth
	}
	if err := json.Unmarshal(h.Auth, v); err != nil {
		return fmt.Errorf("socketio: handshake auth: %w", err)
	}
	return nil
}

// SetUser sets the socket's user: once connected, the socket joins
// Config.UserRoom(id) and Socket.UserID returns id. An empty id clears it.
func (h *Handshake) SetUser(id string) { h.user = id }

// User returns the user set with SetUser.
func (h *Handshake) User() string { return h.user }

// Join adds rooms for the socket to join once connected.
func (h *Handshake) Join(rooms ...string) { h.rooms = append(h.rooms, rooms...) }

// TokenAuth returns a middleware that verifies the token of the handshake
// auth {"token": "..."} with v and sets the socket's user to the token's
// user. A missing or invalid token refuses the connection with
// CONNECT_ERROR {"message": "unauthorized"}; the reason is logged at
// debug level, never sent to the client.
// It panics when v is nil.
func TokenAuth(v *auth.HMAC) Middleware {
	if v == nil {
		panic("socketio: TokenAuth needs a non-nil *auth.HMAC")
	}
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
			claims, err = v.Verify(a.Token)
		}
		if err != nil {
			if hs.log != nil {
				hs.log.Debug("socketio: token refused", "nsp", hs.Namespace, "remote", remoteAddr(hs.Request), "err", err)
			}
			return &ConnectError{Message: "unauthorized"}
		}
		hs.SetUser(claims.User)
		return nil
	}
}

func remoteAddr(r *http.Request) string {
	if r == nil {
		return ""
	}
	return r.RemoteAddr
}
