package socketio

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
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
	token *socketToken // set by TokenAuthWith
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

func remoteAddr(r *http.Request) string {
	if r == nil {
		return ""
	}
	return r.RemoteAddr
}
