package socketio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sockgate/sockgate/internal/engineio"
)

// Socket is one client's connection to one namespace. Its methods are safe
// for concurrent use. Packets emitted to one socket reach the client in
// the order the Emit calls returned.
type Socket struct {
	id     string
	nsp    *Namespace
	client *client
	hs     *Handshake

	// Guarded by nsp.ad.mu.
	live  bool // registered in the adapter
	dead  bool // removed; never to be registered again
	rooms map[string]struct{}

	mu           sync.Mutex
	data         any // Socket.SetData's value
	handlers     map[string]func(*Event)
	onDisconnect []func(string)
	reason       string // why it disconnected, once gone
	acks         map[uint64]chan *Args
	nextAck      uint64
	done         chan struct{}
	gone         atomic.Bool

	// The handler queue: events (and finally the disconnect handlers) run
	// in order in one worker goroutine that exists while there is work.
	work      []workItem
	workBytes int // the sizes of the items in work and of the one running
	working   bool
	workSpace *sync.Cond // on mu: signalled when work shrinks
}

// workItem is one queued handler call and the bytes it holds.
type workItem struct {
	fn   func()
	size int
}

// maxPendingEvents is how many received events may wait for their
// handlers before the connection's reader stops reading (backpressure);
// Config.EventQueueBytes bounds their bytes.
const maxPendingEvents = 1024

func newSocket(nsp *Namespace, c *client, hs *Handshake) *Socket {
	var b [15]byte
	rand.Read(b[:])
	s := &Socket{
		id: base64.RawURLEncoding.EncodeToString(b[:]), nsp: nsp, client: c, hs: hs,
		handlers: map[string]func(*Event){}, acks: map[uint64]chan *Args{}, done: make(chan struct{}),
	}
	s.workSpace = sync.NewCond(&s.mu)
	return s
}

// enqueueLocked adds fn, holding size bytes, to the socket's handler
// queue; when the queue is full in count or in bytes (and block is set)
// it waits for room, slowing the connection's reader (counted in
// Stats.EventQueueWaits). s.mu is held.
func (s *Socket) enqueueLocked(fn func(), size int, block bool) {
	waited := false
	limit := s.nsp.s.cfg.EventQueueBytes
	for block && (len(s.work) >= maxPendingEvents || (s.workBytes > 0 && s.workBytes+size > limit)) {
		if !waited {
			waited = true
			srv := s.nsp.s
			srv.st.queueWaits.Add(1)
			srv.waitLog.Log(slog.LevelInfo, "socketio: reading from a client paused: its handlers are behind",
				"nsp", s.nsp.name, "socket", s.id, "events", len(s.work), "bytes", s.workBytes,
				"max_events", maxPendingEvents, "max_bytes", limit)
		}
		s.workSpace.Wait()
	}
	s.work = append(s.work, workItem{fn, size})
	s.workBytes += size
	if !s.working {
		s.working = true
		s.nsp.s.workers.add()
		go s.runWork()
	}
}

// runWork runs the queued handlers in order, then exits.
func (s *Socket) runWork() {
	defer s.nsp.s.workers.done()
	for {
		s.mu.Lock()
		if len(s.work) == 0 {
			s.working = false
			s.work = nil
			s.mu.Unlock()
			return
		}
		it := s.work[0]
		s.work[0] = workItem{}
		s.work = s.work[1:]
		s.workSpace.Signal()
		s.mu.Unlock()
		it.fn()
		if it.size > 0 {
			s.mu.Lock()
			s.workBytes -= it.size
			s.workSpace.Signal()
			s.mu.Unlock()
		}
	}
}

// ID returns the socket id sent to the client in the CONNECT answer (not
// the Engine.IO session id). The socket is a member of the room named by
// its id.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns the handshake the socket connected with.
func (s *Socket) Handshake() *Handshake { return s.hs }

// UserID returns the user set by a middleware with Handshake.SetUser, or "".
func (s *Socket) UserID() string { return s.hs.user }

// SetData attaches the application's value to the socket (socket.io's
// socket.data). Features that carry it past this process (FetchSockets on
// other nodes, recovery on another node) encode it with encoding/json, so
// a value meant to travel should marshal to JSON.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// Data returns the value set with SetData, or nil.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// DataAs returns the socket's data as a T, and whether it holds one.
func DataAs[T any](s *Socket) (T, bool) {
	v, ok := s.Data().(T)
	return v, ok
}

// On sets the handler of event, replacing any previous one. A socket's
// handlers run one at a time, in the order the client sent the events, in
// a goroutine of the socket's own (not the connection's reader), so a
// handler may wait for an EmitWithAck to the same client. A slow handler
// delays only this socket's next events; when 1024 events or
// Config.EventQueueBytes of their arguments wait, the server stops
// reading from the client until they drain.
func (s *Socket) On(event string, h func(e *Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[event] = h
}

// OnDisconnect adds a handler called once when the socket disconnects,
// after the handlers of the events received before, with the reason: "client namespace disconnect", "server namespace
// disconnect", "transport close", "transport error", "ping timeout",
// "parse error", "server shutting down", "send queue full",
// "payload too large" (a message, polling body or attachments above their
// bound), "connect timeout" or "token expired" (ReasonTokenExpired).
// Registered after the socket disconnected (e.g. by a
// connection handler of a client that left at once), fn is still called,
// in the socket's handler goroutine.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone.Load() {
		reason := s.reason
		s.enqueueLocked(func() { s.nsp.s.safely("disconnect handler", func() { fn(reason) }) }, 0, false)
		return
	}
	s.onDisconnect = append(s.onDisconnect, fn)
}

// Emit sends an event to this client. []byte arguments, at any depth,
// travel as binary attachments. It returns an error, and sends nothing,
// when the event name is reserved or an argument cannot be encoded (NaN,
// Inf, a channel, a cycle), and ErrDisconnected (or the engine's error)
// when the client is gone.
func (s *Socket) Emit(event string, args ...any) error {
	pkts, err := s.nsp.encodeEvent(event, noAck, args)
	if err != nil {
		return err
	}
	return s.send(pkts)
}

func (s *Socket) send(pkts []*engineio.Packet) error {
	if s.gone.Load() {
		return ErrDisconnected
	}
	if err := s.client.send(pkts...); err != nil {
		return fmt.Errorf("%w: %w", ErrDisconnected, err)
	}
	return nil
}

// EmitWithAck sends an event and waits for the client's acknowledgement,
// returning its arguments. It fails with ErrAckTimeout (wrapping ctx's
// error) when ctx ends first and with ErrDisconnected when the socket
// disconnects first; either way nothing stays registered.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (*Args, error) {
	ch := make(chan *Args, 1)
	s.mu.Lock()
	if s.gone.Load() {
		s.mu.Unlock()
		return nil, ErrDisconnected
	}
	id := s.nextAck
	s.nextAck++
	s.acks[id] = ch
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
	}
	pkts, err := s.nsp.encodeEvent(event, id, args)
	if err == nil {
		err = s.send(pkts)
	}
	if err != nil {
		forget()
		return nil, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-s.done:
		forget()
		return nil, fmt.Errorf("%w: waiting for the ack of %q", ErrDisconnected, event)
	case <-ctx.Done():
		forget()
		s.nsp.s.st.ackTimeouts.Add(1)
		return nil, fmt.Errorf("%w: %q: %w", ErrAckTimeout, event, context.Cause(ctx))
	}
}

// pendingAcks returns how many acknowledgements are awaited (tests).
func (s *Socket) pendingAcks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acks)
}

// Join adds the socket to rooms. Only server code can join rooms; clients
// have no way to. It does nothing on a disconnected socket.
func (s *Socket) Join(rooms ...string) { s.nsp.ad.join(s, rooms) }

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...string) { s.nsp.ad.leave(s, rooms) }

// Rooms returns the rooms the socket is in, sorted (its own id room
// included); none once disconnected.
func (s *Socket) Rooms() []string { return s.nsp.ad.socketRooms(s) }

// To returns a broadcast to the sockets in rooms, excluding this socket.
func (s *Socket) To(rooms ...string) *Broadcast {
	return &Broadcast{n: s.nsp, rooms: slices.Clone(rooms), except: []string{s.id}}
}

// Disconnect disconnects the socket from its namespace: the client gets a
// DISCONNECT packet and the disconnect handlers get "server namespace
// disconnect". The Engine.IO connection stays open for other namespaces.
func (s *Socket) Disconnect() { s.disconnect("server namespace disconnect", true) }

func (s *Socket) connectPacket() *engineio.Packet {
	b := appendHeader(make([]byte, 0, 40+len(s.nsp.name)), typeConnect, 0, s.nsp.name, noAck)
	b = append(b, `{"sid":"`...)
	b = append(b, s.id...)
	return engineio.NewTextPacket(append(b, `"}`...))
}

func (s *Socket) disconnect(reason string, notify bool) {
	if !s.client.remove(s) {
		return
	}
	s.hs.token.stop()
	if notify {
		b := appendHeader(nil, typeDisconnect, 0, s.nsp.name, noAck)
		s.client.send(engineio.NewTextPacket(b))
	}
	s.nsp.ad.removeSocket(s)
	s.mu.Lock()
	s.reason = reason
	s.gone.Store(true)
	close(s.done)
	clear(s.acks)
	fns := s.onDisconnect
	s.onDisconnect = nil
	if len(fns) > 0 {
		// after the events received before the disconnect
		s.enqueueLocked(func() {
			for _, fn := range fns {
				s.nsp.s.safely("disconnect handler", func() { fn(reason) })
			}
		}, 0, false)
	}
	s.mu.Unlock()
	st := &s.nsp.s.st
	st.connected.Add(-1)
	st.disconnects.Add(1)
}

func (s *Socket) onEvent(name string, args *Args, id uint64) {
	if name == TokenRefreshEvent && s.hs.token != nil {
		s.hs.token.refresh(s, args, id)
		return
	}
	e := &Event{Name: name, Socket: s, Args: args, ackID: id}
	s.mu.Lock()
	s.enqueueLocked(func() { s.dispatch(e) }, args.size(), true)
	s.mu.Unlock()
}

// dispatch runs the handler of e, looked up now so that handlers set by
// the connection handlers (queued before) are found.
func (s *Socket) dispatch(e *Event) {
	s.mu.Lock()
	h := s.handlers[e.Name]
	s.mu.Unlock()
	if h == nil {
		s.nsp.s.st.unhandled.Add(1)
		s.nsp.s.log.Debug("socketio: event without a handler", "nsp", s.nsp.name, "socket", s.id, "event", e.Name)
		return
	}
	s.nsp.s.safely("event handler", func() { h(e) })
}

func (s *Socket) onAck(id uint64, args *Args) {
	s.mu.Lock()
	ch := s.acks[id]
	delete(s.acks, id)
	s.mu.Unlock()
	if ch == nil {
		s.nsp.s.log.Debug("socketio: ack for no pending emit (late or unknown)", "nsp", s.nsp.name, "socket", s.id, "id", id)
		return
	}
	ch <- args
}

// safely runs an application callback, recovering and logging a panic.
func (s *Server) safely(what string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			s.st.panics.Add(1)
			s.log.Error("socketio: "+what+" panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// Event is an event received from a client.
type Event struct {
	Name   string  // the event name
	Socket *Socket // the socket it came on
	Args   *Args   // its arguments (the ack callback excluded)

	ackID uint64
	acked atomic.Bool
}

// WantsAck reports whether the client asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.ackID != noAck }

// Ack answers the client's acknowledgement request with args (encoded like
// Emit's). It may be called once, from any goroutine; it returns ErrNoAck
// when the client asked for none or it was already called.
func (e *Event) Ack(args ...any) error {
	if e.ackID == noAck {
		return fmt.Errorf("%w: event %q", ErrNoAck, e.Name)
	}
	pkts, err := encodePackets(typeAck, e.Socket.nsp.name, e.ackID, "", false, args)
	if err != nil {
		e.Socket.nsp.s.st.emitErrors.Add(1)
		return fmt.Errorf("socketio: ack %q: %w", e.Name, err)
	}
	if e.acked.Swap(true) {
		return fmt.Errorf("%w: event %q already acknowledged", ErrNoAck, e.Name)
	}
	return e.Socket.send(pkts)
}

// Args are the arguments of a received event or acknowledgement.
// Binary attachments, at any depth, decode into []byte destinations; Raw
// shows them as base64 strings (encoding/json's form of []byte).
type Args struct {
	raw  []json.RawMessage
	bin  []int // bin[i] is the attachment number when raw[i] is exactly one, else -1
	atts [][]byte
}

func newArgs(raw []json.RawMessage, atts [][]byte) (*Args, error) {
	a := &Args{raw: raw, atts: atts}
	if len(atts) == 0 {
		return a, nil
	}
	a.bin = make([]int, len(raw))
	used := make([]bool, len(atts))
	for i, r := range raw {
		a.bin[i] = -1
		if n, ok := topPlaceholder(r); ok {
			if n < 0 || n >= len(atts) {
				return nil, fmt.Errorf("%w: placeholder %d, only %d attachments", ErrMalformed, n, len(atts))
			}
			a.bin[i] = n
			used[n] = true
		}
		b, err := bindAttachments(r, atts, used)
		if err != nil {
			return nil, err
		}
		a.raw[i] = b
	}
	for n, u := range used {
		if !u {
			return nil, fmt.Errorf("%w: attachment %d is not referenced", ErrMalformed, n)
		}
	}
	return a, nil
}

// size is the bytes the arguments hold (JSON and attachments).
func (a *Args) size() int {
	n := 0
	for _, r := range a.raw {
		n += len(r)
	}
	for _, b := range a.atts {
		n += len(b)
	}
	return n
}

// Len returns the number of arguments.
func (a *Args) Len() int { return len(a.raw) }

// Raw returns argument i as JSON, or nil when there is no argument i.
func (a *Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Bytes returns argument i when it is a binary attachment.
func (a *Args) Bytes(i int) ([]byte, bool) {
	if i < 0 || i >= len(a.bin) || a.bin[i] < 0 {
		return nil, false
	}
	return a.atts[a.bin[i]], true
}

// Bind decodes argument i into dst[i] with encoding/json (a nil dst[i]
// skips the argument). A *[]byte destination takes a binary attachment
// as it is. It fails with ErrArgs when there are fewer arguments than
// destinations or one does not decode.
func (a *Args) Bind(dst ...any) error {
	if len(dst) > len(a.raw) {
		return fmt.Errorf("%w: want %d arguments, got %d", ErrArgs, len(dst), len(a.raw))
	}
	for i, d := range dst {
		if d == nil {
			continue
		}
		if p, ok := d.(*[]byte); ok {
			if b, ok := a.Bytes(i); ok {
				*p = b
				continue
			}
		}
		if err := json.Unmarshal(a.raw[i], d); err != nil {
			return fmt.Errorf("%w: argument %d: %w", ErrArgs, i, err)
		}
	}
	return nil
}
