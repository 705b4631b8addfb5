package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/sockgate/sockgate/codec"
)

// The JSON form of a decoded message is what a Socket.IO client receives,
// in the shape of the wire vectors' NAME.json files plus host_id. Each
// method kind has its own struct so that field order follows the vectors.

// emitMeaning renders an emit: args is always a list ([] for no argument),
// rooms and except_sids are null when absent.
type emitMeaning struct {
	Method     codec.Method `json:"method"`
	Event      string       `json:"event"`
	Args       []any        `json:"args"`
	Namespace  string       `json:"namespace"`
	Rooms      []string     `json:"rooms"`
	ExceptSIDs []string     `json:"except_sids"`
	Callback   *callback    `json:"callback,omitempty"`
	HostID     string       `json:"host_id,omitempty"`
}

// callback is an emit's acknowledgement request.
type callback struct {
	SID       string `json:"sid"`
	Namespace string `json:"namespace"`
	ID        int64  `json:"id"`
}

// roomMeaning renders disconnect, enter_room, leave_room and close_room.
type roomMeaning struct {
	Method    codec.Method `json:"method"`
	SID       string       `json:"sid,omitempty"`
	Room      string       `json:"room,omitempty"`
	Rooms     []string     `json:"rooms,omitempty"` // only when not exactly one room
	Namespace string       `json:"namespace"`
	HostID    string       `json:"host_id,omitempty"`
}

// callbackMeaning renders a callback (an acknowledgement going back to the
// host that asked for it).
type callbackMeaning struct {
	Method    codec.Method `json:"method"`
	HostID    string       `json:"host_id,omitempty"`
	SID       string       `json:"sid"`
	Namespace string       `json:"namespace"`
	ID        int64        `json:"id"`
	Args      []any        `json:"args"`
}

// newMeaning returns the value whose JSON encoding is m's meaning.
func newMeaning(m *codec.Message) any {
	ns := m.Namespace
	if ns == "" {
		ns = "/"
	}
	args := make([]any, 0, len(m.Arguments()))
	for _, v := range m.Arguments() {
		args = append(args, jsonValue(v))
	}
	switch m.Method {
	case codec.MethodEmit:
		out := emitMeaning{
			Method: m.Method, Event: m.Event, Args: args, Namespace: ns,
			Rooms: m.Rooms, ExceptSIDs: m.Skip, HostID: m.HostID,
		}
		if cb := m.Callback; cb != nil {
			out.Callback = &callback{SID: cb.SID, Namespace: cb.Namespace, ID: cb.ID}
		}
		return out
	case codec.MethodCallback:
		return callbackMeaning{
			Method: m.Method, HostID: m.HostID, SID: m.SID, Namespace: ns,
			ID: m.CallbackID, Args: args,
		}
	default:
		out := roomMeaning{Method: m.Method, SID: m.SID, Namespace: ns, HostID: m.HostID}
		if out.Room = m.Room(); out.Room == "" {
			out.Rooms = m.Rooms
		}
		return out
	}
}

// jsonValue converts a decoded value for encoding/json: []byte becomes
// {"$bytes": base64}, containers are converted recursively, json.Number
// stays verbatim.
func jsonValue(v any) any {
	switch v := v.(type) {
	case []byte:
		return map[string]string{"$bytes": base64.StdEncoding.EncodeToString(v)}
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	case codec.Args:
		return jsonValue([]any(v))
	default:
		return v
	}
}

// marshalMeaning renders m's meaning as JSON: one line, or indented when
// indent is set. HTML characters are not escaped.
func marshalMeaning(m *codec.Message, indent bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(newMeaning(m)); err != nil {
		return nil, fmt.Errorf("render %s message: %w", m.Method, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
