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

	// Flush waits until everything queued before the call is published,
	// unreceived or dropped, or ctx is done.
	Flush(ctx context.Context) error
	// Close flushes until ctx is done, then drops (and counts) what is
	// left and stops. It is idempotent; later emits return ErrClosed.
	Close(ctx context.Context) error
	// Stats returns a snapshot of the gateway's counters.
	Stats() Stats
}

// Stats are a gateway's counters since it was created.
//
// Every accepted emit ends as exactly one of Published, Unreceived or
// Dropped; until then it is Queued. So in every snapshot
//
//	Emitted == Published + Unreceived + Dropped + Queued
//
// Unconfirmed is a part of Dropped and Resent a count of sends, not of
// messages: neither is a term of that sum. What each transport can say is
// in docs/reliability.md.
type Stats struct {
	Emitted uint64 // messages accepted by an emit or room call
	// Published counts messages the broker confirmed: stored (persistent
	// transports), accepted (NATS core: no receiver count), or, on Redis
	// pub/sub, received by at least one subscriber.
	Published uint64
	// Unreceived counts messages the broker confirmed but that reached no
	// subscriber (Redis pub/sub's PUBLISH answered 0): they are lost.
	Unreceived uint64
	Dropped    uint64 // messages given up (queue full, no broker configured, closed with messages left, Unconfirmed)
	// Unconfirmed counts the messages of Dropped that were given up with
	// an unknown outcome under AtMostOnce: some may have been delivered.
	Unconfirmed uint64
	// Resent counts messages sent again after a failure with an unknown
	// outcome under AtLeastOnce: at most this many were delivered twice.
	Resent     uint64
	Failed     uint64 // publish attempts that failed (each message retried is counted again)
	Queued     uint64 // messages not settled yet: in the queue, in flight or held
	Reconnects uint64 // times publishing resumed after a broker failure
	// Holds counts the resume holds: times the backlog waited for the
	// subscribers to resubscribe, after the broker came back or after
	// PUBLISH answered 0 where it had answered more.
	Holds uint64
	// Receivers is the number of subscribers the last published message
	// reached; -1 when the transport does not tell (or nothing was
	// published yet).
	Receivers int64
	Connected bool // whether the last publish attempt succeeded
}

// Confirmed returns Published + Unreceived: the messages the broker
// confirmed, whether or not a subscriber received them (what Published
// counted before receivers were counted).
func (s Stats) Confirmed() uint64 { return s.Published + s.Unreceived }

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
