package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/transport"
)

// WorkerConfig configures a write-only Gateway. The zero value of every
// field but Publisher is a usable default.
type WorkerConfig struct {
	// Publisher carries messages to the broker. Nil means no broker is
	// configured: the gateway runs local-only, logs a warning once and
	// counts every emit as dropped (emits do not return errors).
	Publisher transport.Publisher
	// Channel is the broker channel; default "socketio" (python-socketio's).
	Channel string
	// Codec encodes messages; default codec.NewPython with the Current
	// dialect.
	Codec codec.Codec
	// UserRoom maps a user id to its room; nil means DefaultUserRoom
	// ("user:" + id).
	UserRoom func(userID string) string
	// QueueSize bounds the messages waiting to be published; default 16384.
	QueueSize int
	// BatchSize bounds the messages sent in one pipelined round trip;
	// default 512.
	BatchSize int
	// RetryMin and RetryMax bound the backoff between publish attempts
	// while the broker is unreachable; defaults 10ms and 250ms.
	RetryMin, RetryMax time.Duration
	// PublishTimeout, when positive, bounds one publish attempt (and one
	// query of the subscribers during a resume hold) with a context
	// deadline. The default, zero, adds none: the transport's own timeouts
	// bound an attempt (go-redis: ReadTimeout and WriteTimeout, 5 s by
	// default, so a publish to a Redis that stopped answering fails after
	// about 5 s) and Close cancels an attempt in flight.
	PublishTimeout time.Duration
	// ResumeGrace bounds how long, after the broker answers again following
	// an outage, the worker holds its backlog while fewer subscribers are
	// subscribed than the last message published before the outage reached
	// (one, when the worker started with the broker down and published
	// nothing yet; asked every ResumePoll), so that the backlog is not published to a
	// Redis no server has resubscribed to yet. It needs a Publisher that is
	// a transport.ReceiverCounter (Redis pub/sub); others publish at once.
	// Emits never wait for the hold: the queue fills meanwhile, and what
	// does not fit is dropped and counted. After the grace the backlog is
	// published, and what reaches no subscriber is counted Unreceived.
	// The same hold follows subscribers that left while the broker stayed
	// up (PUBLISH answered 0 right after it answered more): the messages
	// that reached no one are sent again once they are back, which
	// duplicates none. Close ends a hold. Default (zero) DefaultResumeGrace, 5 s;
	// NoResumeGrace (any negative value) holds nothing.
	ResumeGrace time.Duration
	// Delivery decides what happens to a batch whose publish failed with an
	// unknown outcome (see Delivery); default AtLeastOnce.
	Delivery Delivery
	// HostID identifies this process in messages (python-socketio's
	// host_id); default 32 random hex characters. Receivers drop a message
	// whose (HostID, Seq) they have applied already, so two live Workers
	// must not share one.
	HostID string
	// Logger receives background events (broker lost and resumed, local-only
	// mode); nil discards them.
	Logger *slog.Logger
}

// Worker is the write-only Gateway for processes without a Socket.IO server
// (background workers). It starts lazily: nothing runs and no connection is
// made until the first emit. Create it with NewWorker.
type Worker struct {
	codec    codec.Codec
	userRoom func(string) string
	hostID   string
	w        *writer
	// seq is the last codec.Message.Seq given out; it starts from the
	// clock, so that a restarted process reusing a HostID numbers above
	// its earlier messages.
	seq atomic.Uint64

	mu      sync.RWMutex // held for reading while enqueueing, for writing by Close
	closed  atomic.Bool
	closing chan struct{}
	closeMu sync.Mutex
}

var _ Gateway = (*Worker)(nil)

// NewWorker returns a write-only Gateway.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Channel == "" {
		cfg.Channel = "socketio"
	}
	if cfg.Codec == nil {
		cfg.Codec = codec.NewPython(codec.PythonConfig{})
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 16384
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 512
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = 10 * time.Millisecond
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 250 * time.Millisecond
	}
	if cfg.QueueSize < 0 || cfg.BatchSize < 0 || cfg.RetryMin < 0 || cfg.RetryMax < cfg.RetryMin || cfg.PublishTimeout < 0 {
		return nil, fmt.Errorf("%w: negative queue size, batch size or durations, or RetryMax < RetryMin", ErrInvalidArgument)
	}
	if cfg.ResumeGrace == 0 {
		cfg.ResumeGrace = DefaultResumeGrace
	}
	if cfg.Delivery != AtLeastOnce && cfg.Delivery != AtMostOnce {
		return nil, fmt.Errorf("%w: unknown %v", ErrInvalidArgument, cfg.Delivery)
	}
	if cfg.HostID == "" {
		cfg.HostID = NewHostID()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Publisher == nil {
		log.Warn("sockgate: no broker configured (REDIS_URL unset); running local-only, emits are dropped and counted")
	}
	g := &Worker{
		codec:    cfg.Codec,
		userRoom: cfg.UserRoom,
		hostID:   cfg.HostID,
		w: newWriter(writerConfig{
			pub: cfg.Publisher, channel: cfg.Channel, size: cfg.QueueSize, batch: cfg.BatchSize,
			retryMin: cfg.RetryMin, retryMax: cfg.RetryMax, timeout: cfg.PublishTimeout,
			grace: cfg.ResumeGrace, delivery: cfg.Delivery, log: log,
		}),
		closing: make(chan struct{}),
	}
	g.seq.Store(uint64(time.Now().UnixNano()))
	return g, nil
}

const defaultUserRoomPrefix = "user:"

// DefaultUserRoom is the default user-room naming: "user:" + userID.
func DefaultUserRoom(userID string) string { return defaultUserRoomPrefix + userID }

// NewHostID returns 32 random hex characters, the form of python-socketio's
// host_id.
func NewHostID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// HostID returns the host_id this gateway writes into its messages.
func (g *Worker) HostID() string { return g.hostID }

// EmitToUser implements Gateway.
func (g *Worker) EmitToUser(ctx context.Context, userID, event string, data any, opts ...Option) error {
	if userID == "" {
		return fmt.Errorf("%w: empty user id", ErrInvalidArgument)
	}
	if g.userRoom != nil {
		return g.emit(ctx, newState(), g.userRoom(userID), event, data, opts)
	}
	// The default room name is built in pooled scratch space: it lives only
	// while the message is encoded (a Codec never retains a Message).
	st := newState()
	st.scratch = append(append(st.scratch[:0], defaultUserRoomPrefix...), userID...)
	return g.emit(ctx, st, unsafe.String(unsafe.SliceData(st.scratch), len(st.scratch)), event, data, opts)
}

// EmitToRoom implements Gateway.
func (g *Worker) EmitToRoom(ctx context.Context, room, event string, data any, opts ...Option) error {
	if room == "" {
		return fmt.Errorf("%w: empty room", ErrInvalidArgument)
	}
	return g.emit(ctx, newState(), room, event, data, opts)
}

// Broadcast implements Gateway.
func (g *Worker) Broadcast(ctx context.Context, event string, data any, opts ...Option) error {
	return g.emit(ctx, newState(), "", event, data, opts)
}

func (g *Worker) emit(ctx context.Context, st *encodeState, room, event string, data any, opts []Option) error {
	if err := checkEvent(event); err != nil {
		st.release()
		return err
	}
	o := &st.opts
	for _, opt := range opts {
		opt(o)
	}
	st.m = codec.Message{
		Method:    codec.MethodEmit,
		Event:     event,
		Data:      data,
		Namespace: o.namespace,
		Skip:      o.except,
		HostID:    g.hostID,
	}
	switch {
	case room != "" && len(o.rooms) == 0:
		st.room[0] = room
		st.m.Rooms = st.room[:]
	case room != "":
		st.m.Rooms = append([]string{room}, o.rooms...)
	default:
		st.m.Rooms = o.rooms
	}
	return g.send(ctx, st, o.waitIfFull)
}

// EnterRoom implements Gateway.
func (g *Worker) EnterRoom(ctx context.Context, sid, room string, opts ...Option) error {
	return g.roomOp(ctx, codec.MethodEnterRoom, sid, room, opts)
}

// LeaveRoom implements Gateway.
func (g *Worker) LeaveRoom(ctx context.Context, sid, room string, opts ...Option) error {
	return g.roomOp(ctx, codec.MethodLeaveRoom, sid, room, opts)
}

// CloseRoom implements Gateway.
func (g *Worker) CloseRoom(ctx context.Context, room string, opts ...Option) error {
	if room == "" {
		return fmt.Errorf("%w: empty room", ErrInvalidArgument)
	}
	return g.roomOp(ctx, codec.MethodCloseRoom, "", room, opts)
}

// Disconnect implements Gateway.
func (g *Worker) Disconnect(ctx context.Context, sid string, opts ...Option) error {
	return g.roomOp(ctx, codec.MethodDisconnect, sid, "", opts)
}

func (g *Worker) roomOp(ctx context.Context, method codec.Method, sid, room string, opts []Option) error {
	if method != codec.MethodCloseRoom && sid == "" {
		return fmt.Errorf("%w: empty sid", ErrInvalidArgument)
	}
	if (method == codec.MethodEnterRoom || method == codec.MethodLeaveRoom) && room == "" {
		return fmt.Errorf("%w: empty room", ErrInvalidArgument)
	}
	st := newState()
	o := &st.opts
	for _, opt := range opts {
		opt(o)
	}
	st.m = codec.Message{Method: method, SID: sid, Namespace: o.namespace, HostID: g.hostID}
	if room != "" {
		st.room[0] = room
		st.m.Rooms = st.room[:]
	}
	return g.send(ctx, st, o.waitIfFull)
}

// encodeState is the per-call scratch space of an emit, pooled so that the
// message, its one-room list and the encoding buffer cost no allocation.
type encodeState struct {
	m       codec.Message
	opts    callOptions
	room    [1]string
	scratch []byte // the default user room's name
	buf     []byte
}

func newState() *encodeState { return statePool.Get().(*encodeState) }

const maxPooledBuf = 64 << 10

var statePool = sync.Pool{New: func() any { return &encodeState{buf: make([]byte, 0, 1024)} }}

// send encodes st.m and queues it, then returns st to the pool. Encoding
// happens here, in the caller, so a payload that cannot be encoded is
// reported to the caller and nothing is published.
func (g *Worker) send(ctx context.Context, st *encodeState, wait bool) error {
	if g.closed.Load() {
		st.release()
		return ErrClosed
	}
	st.m.Seq = g.seq.Add(1)
	buf, err := g.codec.Encode(st.buf[:0], &st.m)
	if err != nil {
		err = fmt.Errorf("gateway: %s %q: %w", st.m.Method, st.m.Event, err)
		st.release()
		return err
	}
	msg := make([]byte, len(buf))
	copy(msg, buf)
	if cap(buf) <= maxPooledBuf {
		st.buf = buf
	}
	st.release()
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed.Load() {
		return ErrClosed
	}
	return g.w.enqueue(ctx, msg, wait, g.closing)
}

// release clears references to the caller's data and returns st to the pool.
func (st *encodeState) release() {
	st.m = codec.Message{}
	st.opts = callOptions{}
	st.room[0] = ""
	statePool.Put(st)
}

// Flush implements Gateway.
func (g *Worker) Flush(ctx context.Context) error { return g.w.flush(ctx) }

// Close implements Gateway.
func (g *Worker) Close(ctx context.Context) error {
	g.closeMu.Lock()
	defer g.closeMu.Unlock()
	if g.closed.Swap(true) {
		return nil
	}
	close(g.closing)
	g.w.endHold()
	g.mu.Lock() // wait for emits already past the closed check
	//lint:ignore SA2001 the empty section is the point: it waits for emits already past the closed check
	g.mu.Unlock()
	err := g.w.flush(ctx)
	g.w.shutdown()
	if err != nil {
		return fmt.Errorf("gateway: close: %d messages dropped: %w", g.w.emitted.Load()-g.w.settled(), err)
	}
	return nil
}

// Stats implements Gateway. Every snapshot satisfies Emitted == Published +
// Unreceived + Dropped + Queued exactly: the settled counters are read
// before Emitted, and a message is counted emitted before it settles.
func (g *Worker) Stats() Stats {
	w := g.w
	pub, unrec, drop := w.published.Load(), w.unreceived.Load(), w.dropped.Load()
	unconf, resent := w.unconfirmed.Load(), w.resent.Load()
	emitted := w.emitted.Load()
	var queued uint64
	if s := pub + unrec + drop; emitted > s {
		queued = emitted - s
	}
	return Stats{
		Emitted:     emitted,
		Published:   pub,
		Unreceived:  unrec,
		Dropped:     drop,
		Unconfirmed: unconf,
		Resent:      resent,
		Failed:      w.failed.Load(),
		Queued:      queued,
		Reconnects:  w.reconnects.Load(),
		Holds:       w.holds.Load(),
		Receivers:   w.receivers.Load(),
		Connected:   w.pub != nil && w.up.Load(),
	}
}

// reserved are the event names Socket.IO uses itself; a client never
// receives an application event with these names.
var reserved = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

func checkEvent(event string) error {
	if event == "" {
		return fmt.Errorf("%w: empty event name", ErrInvalidArgument)
	}
	if reserved[event] {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	return nil
}

func wrapQueueFull(err error) error { return fmt.Errorf("%w: %w", ErrQueueFull, err) }
