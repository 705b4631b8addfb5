package cluster

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/socketio"
)

// serverGateway is the Gateway of a process that runs a Socket.IO server:
// an emit is delivered to this node's clients and published once for the
// other nodes; a room operation or disconnect acts here when the sid is
// here and is published otherwise.
type serverGateway struct {
	m      *Manager
	closed atomic.Bool
}

var _ gateway.Gateway = (*serverGateway)(nil)

// EmitToUser implements gateway.Gateway.
func (g *serverGateway) EmitToUser(ctx context.Context, userID, event string, data any, opts ...gateway.Option) error {
	if userID == "" {
		return fmt.Errorf("%w: empty user id", gateway.ErrInvalidArgument)
	}
	return g.EmitToRoom(ctx, g.m.userRoom(userID), event, data, opts...)
}

// EmitToRoom implements gateway.Gateway.
func (g *serverGateway) EmitToRoom(ctx context.Context, room, event string, data any, opts ...gateway.Option) error {
	if room == "" {
		return fmt.Errorf("%w: empty room", gateway.ErrInvalidArgument)
	}
	if g.closed.Load() {
		return gateway.ErrClosed
	}
	// Publishing first validates and encodes: a payload the cluster cannot
	// carry is refused before any client got it.
	if err := g.m.worker.EmitToRoom(ctx, room, event, data, opts...); err != nil {
		return err
	}
	o := gateway.ResolveOptions(opts...)
	return g.local(o, append([]string{room}, o.Rooms...), event, data)
}

// Broadcast implements gateway.Gateway.
func (g *serverGateway) Broadcast(ctx context.Context, event string, data any, opts ...gateway.Option) error {
	if g.closed.Load() {
		return gateway.ErrClosed
	}
	if err := g.m.worker.Broadcast(ctx, event, data, opts...); err != nil {
		return err
	}
	o := gateway.ResolveOptions(opts...)
	return g.local(o, o.Rooms, event, data)
}

// local delivers an emit to this node's clients only.
func (g *serverGateway) local(o gateway.CallOptions, rooms []string, event string, data any) error {
	ns, ok := g.m.srv.Lookup(nsOrRoot(o.Namespace))
	if !ok {
		return nil // not served here: the other nodes got it
	}
	b := ns.Local()
	if len(rooms) > 0 {
		b = b.To(rooms...)
	}
	if len(o.Except) > 0 {
		b = b.Except(o.Except...)
	}
	m := codec.Message{Data: data}
	if err := b.Emit(event, m.Arguments()...); err != nil {
		return fmt.Errorf("cluster: local delivery: %w", err)
	}
	return nil
}

// localSocket returns the socket sid of namespace o.Namespace on this node.
func (g *serverGateway) localSocket(o gateway.CallOptions, sid string) (*socketio.Socket, bool) {
	ns, ok := g.m.srv.Lookup(nsOrRoot(o.Namespace))
	if !ok {
		return nil, false
	}
	return ns.Socket(sid)
}

func (g *serverGateway) checkSidRoom(sid, room string) error {
	if sid == "" {
		return fmt.Errorf("%w: empty sid", gateway.ErrInvalidArgument)
	}
	if room == "" {
		return fmt.Errorf("%w: empty room", gateway.ErrInvalidArgument)
	}
	if g.closed.Load() {
		return gateway.ErrClosed
	}
	return nil
}

// EnterRoom implements gateway.Gateway: a socket on this node joins at
// once; any other sid is published for the node that holds it.
func (g *serverGateway) EnterRoom(ctx context.Context, sid, room string, opts ...gateway.Option) error {
	if err := g.checkSidRoom(sid, room); err != nil {
		return err
	}
	if s, ok := g.localSocket(gateway.ResolveOptions(opts...), sid); ok {
		s.Join(room)
		return nil
	}
	return g.m.worker.EnterRoom(ctx, sid, room, opts...)
}

// LeaveRoom implements gateway.Gateway, like EnterRoom.
func (g *serverGateway) LeaveRoom(ctx context.Context, sid, room string, opts ...gateway.Option) error {
	if err := g.checkSidRoom(sid, room); err != nil {
		return err
	}
	if s, ok := g.localSocket(gateway.ResolveOptions(opts...), sid); ok {
		s.Leave(room)
		return nil
	}
	return g.m.worker.LeaveRoom(ctx, sid, room, opts...)
}

// CloseRoom implements gateway.Gateway: this node's sockets leave room and
// close_room is published for the other nodes.
func (g *serverGateway) CloseRoom(ctx context.Context, room string, opts ...gateway.Option) error {
	if room == "" {
		return fmt.Errorf("%w: empty room", gateway.ErrInvalidArgument)
	}
	if g.closed.Load() {
		return gateway.ErrClosed
	}
	if err := g.m.worker.CloseRoom(ctx, room, opts...); err != nil {
		return err
	}
	if ns, ok := g.m.srv.Lookup(nsOrRoot(gateway.ResolveOptions(opts...).Namespace)); ok {
		ns.CloseRoom(room)
	}
	return nil
}

// Disconnect implements gateway.Gateway: a socket on this node is
// disconnected at once; any other sid is published.
func (g *serverGateway) Disconnect(ctx context.Context, sid string, opts ...gateway.Option) error {
	if sid == "" {
		return fmt.Errorf("%w: empty sid", gateway.ErrInvalidArgument)
	}
	if g.closed.Load() {
		return gateway.ErrClosed
	}
	if s, ok := g.localSocket(gateway.ResolveOptions(opts...), sid); ok {
		s.Disconnect()
		return nil
	}
	return g.m.worker.Disconnect(ctx, sid, opts...)
}

// Flush implements gateway.Gateway: it waits until everything this node
// queued for the broker (its broadcasts included) is published, unreceived or dropped.
func (g *serverGateway) Flush(ctx context.Context) error { return g.m.worker.Flush(ctx) }

// Close implements gateway.Gateway: it flushes until ctx is done; later
// calls return gateway.ErrClosed. The manager's own publishing goes on
// until Manager.Close.
func (g *serverGateway) Close(ctx context.Context) error {
	if g.closed.Swap(true) {
		return nil
	}
	return g.m.worker.Flush(ctx)
}

// Stats implements gateway.Gateway: the publishing counters of this node
// (its broadcasts and gateway calls together). Local deliveries are in the
// server's Stats, received messages in the manager's.
func (g *serverGateway) Stats() gateway.Stats { return g.m.worker.Stats() }
