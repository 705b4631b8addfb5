package gateway

import (
	"context"

	"github.com/sockgate/sockgate/codec"
)

// Args carries several event arguments: EmitToUser(ctx, "42", "e",
// gateway.Args{1, "two"}) calls the client's handler with two arguments.
// Any other data value is exactly one argument; nil is none.
type Args = codec.Args

// Gateway emits Socket.IO events to clients wherever they are connected.
//
// Every method is safe for concurrent use. Emits from one goroutine are
// published in call order. A worker Gateway never blocks the caller on the
// broker: an emit is encoded, queued and returns; when the queue is full the
// emit is dropped and counted (or, with WaitIfFull, waits for room until ctx
// is done). Errors are returned only for what the caller can fix: a payload
// that cannot be encoded, a reserved event name, a closed gateway, a full
// queue when WaitIfFull was asked for. Broker outages are logged and counted,
// never returned.
type Gateway interface {
	// EmitToUser sends event to every connection of user userID (the room
	// named by the configured user-room format, "user:<id>" by default).
	EmitToUser(ctx context.Context, userID, event string, data any, opts ...Option) error
	// EmitToRoom sends event to every client in room.
	EmitToRoom(ctx context.Context, room, event string, data any, opts ...Option) error
	// Broadcast sends event to every client of the namespace.
	Broadcast(ctx context.Context, event string, data any, opts ...Option) error

	// EnterRoom puts connection sid into room on whichever server holds it.
	EnterRoom(ctx context.Context, sid, room string, opts ...Option) error
	// LeaveRoom removes connection sid from room.
	LeaveRoom(ctx context.Context, sid, room string, opts ...Option) error
	// CloseRoom removes every connection from room.
	CloseRoom(ctx context.Context, room string, opts ...Option) error
	// Disconnect closes connection sid.
	Disconnect(ctx context.Context, sid string, opts ...Option) error

	// Flush waits until everything queued before the call is published or
	// dropped, or ctx is done.
	Flush(ctx context.Context) error
	// Close flushes until ctx is done, then drops (and counts) what is
	// left and stops. It is idempotent; later emits return ErrClosed.
	Close(ctx context.Context) error
	// Stats returns a snapshot of the gateway's counters.
	Stats() Stats
}

// Stats are a gateway's counters since it was created.
//
// Every accepted emit ends as exactly one of published or dropped, so
// Emitted == Published + Dropped + Queued at any quiet moment.
type Stats struct {
	Emitted    uint64 // messages accepted by an emit or room call
	Published  uint64 // messages the broker confirmed
	Dropped    uint64 // messages given up (queue full, no broker configured, closed with messages left)
	Failed     uint64 // publish attempts that failed (each message retried is counted again)
	Queued     uint64 // messages waiting in the queue now
	Reconnects uint64 // times publishing resumed after a broker failure
	Connected  bool   // whether the last publish attempt succeeded
}

// Option adjusts one call.
type Option func(*callOptions)

type callOptions struct {
	namespace  string
	rooms      []string
	except     []string
	waitIfFull bool
}

// WithNamespace addresses namespace ns instead of "/" (every call).
func WithNamespace(ns string) Option {
	return func(o *callOptions) { o.namespace = ns }
}

// ToRooms adds rooms to an emit's recipients (a client in several of them
// receives the event once). With Broadcast it narrows the broadcast to rooms.
func ToRooms(rooms ...string) Option {
	return func(o *callOptions) { o.rooms = append(o.rooms, rooms...) }
}

// Except keeps the connections with these sids from receiving an emit.
func Except(sids ...string) Option {
	return func(o *callOptions) { o.except = append(o.except, sids...) }
}

// WaitIfFull makes a call wait for room in a full queue until ctx is done,
// instead of dropping the message; it then returns ErrQueueFull wrapped with
// ctx's error.
func WaitIfFull() Option {
	return func(o *callOptions) { o.waitIfFull = true }
}
