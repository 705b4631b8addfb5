package gateway

import (
	"context"
	"fmt"
	"slices"
)

// Emitter is an emit in socketio's builder form, over any Gateway:
//
//	gateway.To(g, "team:7").Except(sid).Emit(ctx, "message", "alice", "hello")
//
// reads like socketio's Namespace.To("team:7").Except(sid).Emit("message",
// "alice", "hello") and publishes the same message as
//
//	g.EmitToRoom(ctx, "team:7", "message", gateway.Args{"alice", "hello"}, gateway.Except(sid))
//
// An Emitter is a value to build and use at once: To, Except, Of and
// WaitIfFull return a changed copy and leave the receiver as it was. Its
// zero value emits through From(ctx) to the whole namespace "/".
type Emitter struct {
	g          Gateway
	namespace  string
	rooms      []string
	except     []string
	waitIfFull bool
}

// To starts an Emitter on g to the clients in any of rooms (a client in
// several gets the event once); no rooms means every client of the
// namespace. A nil g is resolved when Emit runs: From(ctx).
func To(g Gateway, rooms ...string) Emitter {
	return Emitter{g: g, rooms: slices.Clone(rooms)}
}

// To adds rooms to the recipients.
func (e Emitter) To(rooms ...string) Emitter {
	e.rooms = append(slices.Clip(e.rooms), rooms...)
	return e
}

// Except keeps the connections with these sids from receiving the event
// (python-socketio's skip_sid; a sid is also its connection's own room, so
// this matches socketio's Except of a sid).
func (e Emitter) Except(sids ...string) Emitter {
	e.except = append(slices.Clip(e.except), sids...)
	return e
}

// Of addresses namespace ns instead of "/" (WithNamespace).
func (e Emitter) Of(ns string) Emitter {
	e.namespace = ns
	return e
}

// WaitIfFull makes Emit wait for room in a full queue (the WaitIfFull
// option).
func (e Emitter) WaitIfFull() Emitter {
	e.waitIfFull = true
	return e
}

// Emit sends event with args, each one argument of the client's handler,
// as socketio's Broadcast.Emit does: no args is an event without data, and
// a single Args or nil is one argument (a list, a null), never spread.
// It is EmitToRoom (Broadcast with no rooms) with the built options, so
// its guarantees and errors are the Gateway's; an empty room or sid is
// ErrInvalidArgument.
func (e Emitter) Emit(ctx context.Context, event string, args ...any) error {
	g := e.g
	if g == nil {
		g = From(ctx)
	}
	for _, r := range e.rooms {
		if r == "" {
			return fmt.Errorf("%w: empty room", ErrInvalidArgument)
		}
	}
	for _, sid := range e.except {
		if sid == "" {
			return fmt.Errorf("%w: empty sid", ErrInvalidArgument)
		}
	}
	opts := make([]Option, 0, 4)
	if e.namespace != "" {
		opts = append(opts, WithNamespace(e.namespace))
	}
	if len(e.except) > 0 {
		opts = append(opts, Except(e.except...))
	}
	if e.waitIfFull {
		opts = append(opts, WaitIfFull())
	}
	data := ArgsData(args...)
	if len(e.rooms) == 0 {
		return g.Broadcast(ctx, event, data, opts...)
	}
	if len(e.rooms) > 1 {
		opts = append(opts, ToRooms(e.rooms[1:]...))
	}
	return g.EmitToRoom(ctx, e.rooms[0], event, data, opts...)
}

// ArgsData is the data value of the Gateway methods that stands for args,
// each one argument: nil for none, the value itself for one (except nil
// and an Args, which are wrapped so that they stay one argument), Args for
// several. It is how the variadic form maps onto the data form.
func ArgsData(args ...any) any {
	switch len(args) {
	case 0:
		return nil
	case 1:
		switch args[0].(type) {
		case nil, Args:
			return Args{args[0]}
		}
		return args[0]
	}
	return Args(args)
}

// To starts an Emitter on g to the clients in any of rooms: g.To("team:7").
// Except(sid).Emit(ctx, "message", "alice", "hello"). See Emitter.
func (g *Worker) To(rooms ...string) Emitter { return To(g, rooms...) }
