package socketio

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/sockgate/sockgate/internal/engineio"
	"github.com/sockgate/sockgate/internal/protocol"
)

// Middleware runs when a client connects to a namespace, before the
// socket exists. Returning an error refuses the connection: the client
// gets CONNECT_ERROR {"message": err.Error()}, or the Message and Data of
// a *ConnectError. ctx ends after Config.ConnectTimeout or at Server.Close.
type Middleware func(ctx context.Context, hs *Handshake) error

// Namespace is a Socket.IO namespace: its middlewares, connection handlers,
// sockets and rooms. Its methods are safe for concurrent use.
type Namespace struct {
	s    *Server
	name string

	hmu         sync.RWMutex
	middlewares []Middleware
	onConn      []func(*Socket)

	ad *adapter
}

func newNamespace(s *Server, name string) *Namespace {
	n := &Namespace{s: s, name: name}
	n.ad = newAdapter()
	return n
}

// Name returns the namespace's name, e.g. "/" or "/admin".
func (n *Namespace) Name() string { return n.name }

// Use appends a middleware; middlewares run in the order added, and the
// first error stops the chain.
func (n *Namespace) Use(mw Middleware) {
	n.hmu.Lock()
	defer n.hmu.Unlock()
	n.middlewares = append(n.middlewares, mw)
}

// OnConnection adds a handler called for every socket that connects, after
// the client was told it is connected and after the socket joined its
// rooms. Connection handlers run in the socket's handler goroutine (see
// Socket.On) before any of its events, so handlers registered with
// Socket.On here see every event.
func (n *Namespace) OnConnection(fn func(s *Socket)) {
	n.hmu.Lock()
	defer n.hmu.Unlock()
	n.onConn = append(n.onConn, fn)
}

func (n *Namespace) runMiddlewares(ctx context.Context, hs *Handshake) (err error) {
	n.hmu.RLock()
	mws := n.middlewares
	n.hmu.RUnlock()
	defer func() {
		if r := recover(); r != nil {
			n.s.st.panics.Add(1)
			n.s.log.Error("socketio: middleware panicked", "nsp", n.name, "panic", r, "stack", string(debug.Stack()))
			err = &ConnectError{Message: "internal error"}
		}
	}()
	for _, mw := range mws {
		if err := mw(ctx, hs); err != nil {
			return err
		}
	}
	return nil
}

// add sends the CONNECT answer (announce) and registers the socket and its
// initial rooms, atomically with respect to broadcasts and look-ups; false
// when the socket was disconnected first or announce failed.
func (n *Namespace) add(s *Socket, announce func() error) bool {
	rooms := make([]string, 0, 2+len(s.hs.rooms))
	rooms = append(rooms, s.id)
	if s.hs.user != "" {
		rooms = append(rooms, n.s.cfg.UserRoom(s.hs.user))
	}
	rooms = append(rooms, s.hs.rooms...)
	return n.ad.addSocket(s, rooms, announce)
}

// connected queues the connection handlers ahead of the socket's events.
func (n *Namespace) connected(s *Socket) {
	n.hmu.RLock()
	fns := n.onConn
	n.hmu.RUnlock()
	if len(fns) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueLocked(func() {
		for _, fn := range fns {
			n.s.safely("connection handler", func() { fn(s) })
		}
	}, 0, false)
}

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return n.broadcast(nil, nil, false, event, args)
}

// To returns a broadcast to the sockets in any of rooms.
func (n *Namespace) To(rooms ...string) *Broadcast {
	return (&Broadcast{n: n}).To(rooms...)
}

// Except returns a broadcast to every socket of the namespace except those
// in any of rooms.
func (n *Namespace) Except(rooms ...string) *Broadcast {
	return (&Broadcast{n: n}).Except(rooms...)
}

// RoomSize returns how many sockets are in room.
func (n *Namespace) RoomSize(room string) int { return n.ad.roomSize(room) }

// Broadcast is an emit to a set of rooms (none means the whole namespace)
// minus the sockets in the Except rooms. A socket in several of the rooms
// gets the event once. A Broadcast is a value to build and use at once;
// To and Except return a new one and leave the receiver as it was.
type Broadcast struct {
	n      *Namespace
	rooms  []string
	except []string
	local  bool // not handed to the Cluster
}

// To adds rooms to the recipients.
func (b *Broadcast) To(rooms ...string) *Broadcast {
	return &Broadcast{n: b.n, rooms: append(slices.Clip(b.rooms), rooms...), except: b.except, local: b.local}
}

// Except excludes the sockets in rooms.
func (b *Broadcast) Except(rooms ...string) *Broadcast {
	return &Broadcast{n: b.n, rooms: b.rooms, except: append(slices.Clip(b.except), rooms...), local: b.local}
}

// Emit sends the event to the broadcast's sockets. The packet is encoded
// once and the same engine packets are handed to every recipient; a
// recipient whose send queue is full is disconnected without slowing the
// others. It returns an error only when the event cannot be encoded.
//
// With a Cluster set (Server.SetCluster) and unless the broadcast is
// Local, the event is then handed to the Cluster once, for the other
// nodes.
func (b *Broadcast) Emit(event string, args ...any) error {
	return b.n.broadcast(b.rooms, b.except, b.local, event, args)
}

func (n *Namespace) broadcast(rooms, except []string, local bool, event string, args []any) error {
	pkts, err := n.encodeEvent(event, noAck, args)
	if err != nil {
		return err
	}
	n.s.st.broadcasts.Add(1)
	sent, failed := n.ad.broadcast(pkts, rooms, except)
	n.s.st.deliveries.Add(uint64(sent))
	if failed > 0 {
		n.s.st.sendErrors.Add(uint64(failed))
	}
	if !local {
		if c := n.s.cluster.Load(); c != nil {
			c.c.Publish(Outbound{Namespace: n.name, Rooms: rooms, Except: except, Event: event, Args: args})
		}
	}
	return nil
}

// encodeEvent builds the engine packets of an EVENT (or BINARY_EVENT).
func (n *Namespace) encodeEvent(event string, id uint64, args []any) ([]*engineio.Packet, error) {
	if protocol.Reserved(event) {
		n.s.st.emitErrors.Add(1)
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	pkts, err := encodePackets(typeEvent, n.name, id, event, true, args)
	if err != nil {
		n.s.st.emitErrors.Add(1)
		return nil, fmt.Errorf("socketio: emit %q: %w", event, err)
	}
	return pkts, nil
}

// encodePackets encodes an EVENT or ACK with its attachments.
func encodePackets(typ byte, nsp string, id uint64, event string, hasName bool, args []any) ([]*engineio.Packet, error) {
	body, atts, err := encodeArgs(make([]byte, 0, 64), event, hasName, args)
	if err != nil {
		return nil, err
	}
	if len(atts) > 0 {
		typ += typeBinaryEvent - typeEvent // 2->5, 3->6
	}
	out := appendHeader(make([]byte, 0, 24+len(nsp)+len(body)), typ, len(atts), nsp, id)
	out = append(out, body...)
	pkts := make([]*engineio.Packet, 0, 1+len(atts))
	pkts = append(pkts, engineio.NewTextPacket(out))
	for _, a := range atts {
		pkts = append(pkts, engineio.NewBinaryPacket(a))
	}
	return pkts, nil
}

// adapter holds a namespace's sockets and rooms and delivers broadcasts.
// Every broadcast goes through it, so a cluster manager can wrap it: it
// would deliver locally once and publish once.
type adapter struct {
	mu      sync.RWMutex
	sockets map[*Socket]struct{}
	rooms   map[string]map[*Socket]struct{}
}

func newAdapter() *adapter {
	return &adapter{sockets: map[*Socket]struct{}{}, rooms: map[string]map[*Socket]struct{}{}}
}

// addSocket registers s as connected and joins it to rooms; it refuses
// (false) a socket already removed.
func (a *adapter) addSocket(s *Socket, rooms []string, announce func() error) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.dead {
		return false
	}
	// Announcing under the lock orders the CONNECT answer before any
	// broadcast the socket receives as a member, and makes the socket
	// findable (Namespace.Socket, room emits) before the client can act on
	// that answer: readers wait for this lock.
	if announce != nil && announce() != nil {
		return false
	}
	a.sockets[s] = struct{}{}
	s.live = true
	for _, r := range rooms {
		a.joinLocked(s, r)
	}
	return true
}

// removeSocket leaves every room and unregisters s; it reports whether s
// was registered.
func (a *adapter) removeSocket(s *Socket) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.dead = true
	if !s.live {
		return false
	}
	s.live = false
	for r := range s.rooms {
		a.leaveLocked(s, r)
	}
	delete(a.sockets, s)
	return true
}

func (a *adapter) join(s *Socket, rooms []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !s.live {
		return
	}
	for _, r := range rooms {
		a.joinLocked(s, r)
	}
}

func (a *adapter) leave(s *Socket, rooms []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range rooms {
		a.leaveLocked(s, r)
	}
}

func (a *adapter) joinLocked(s *Socket, room string) {
	m := a.rooms[room]
	if m == nil {
		m = map[*Socket]struct{}{}
		a.rooms[room] = m
	}
	m[s] = struct{}{}
	if s.rooms == nil {
		s.rooms = map[string]struct{}{}
	}
	s.rooms[room] = struct{}{}
}

func (a *adapter) leaveLocked(s *Socket, room string) {
	m := a.rooms[room]
	if m == nil {
		return
	}
	delete(m, s)
	if len(m) == 0 {
		delete(a.rooms, room)
	}
	delete(s.rooms, room)
}

func (a *adapter) socketRooms(s *Socket) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(s.rooms))
	for r := range s.rooms {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

func (a *adapter) roomSize(room string) int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.rooms[room])
}

// broadcast hands pkts to every socket in any of rooms (all sockets when
// rooms is empty) that is in none of except. It allocates nothing per
// recipient and holds the read lock while sending: Send never blocks.
// It returns how many sockets took the packets and how many refused.
func (a *adapter) broadcast(pkts []*engineio.Packet, rooms, except []string) (sent, failed int) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.eachLocked(rooms, except, func(s *Socket) {
		if s.client.send(pkts...) != nil {
			failed++
			return
		}
		sent++
	})
	return sent, failed
}

// eachLocked calls f once for every socket in any of rooms (all sockets
// when rooms is empty) that is in none of except. a.mu must be held.
func (a *adapter) eachLocked(rooms, except []string, f func(*Socket)) {
	visit := func(s *Socket) {
		for _, ex := range except {
			if _, in := a.rooms[ex][s]; in {
				return
			}
		}
		f(s)
	}
	if len(rooms) == 0 {
		for s := range a.sockets {
			visit(s)
		}
		return
	}
	for i, r := range rooms {
		if slices.Index(rooms[:i], r) >= 0 {
			continue
		}
	members:
		for s := range a.rooms[r] {
			for _, prev := range rooms[:i] {
				if _, in := a.rooms[prev][s]; in {
					continue members // already visited for an earlier room
				}
			}
			visit(s)
		}
	}
}
