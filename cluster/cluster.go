package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/internal/backoff"
	"github.com/sockgate/sockgate/internal/protocol"
	"github.com/sockgate/sockgate/internal/ratelog"
	"github.com/sockgate/sockgate/socketio"
	"github.com/sockgate/sockgate/transport"
)

// Config configures a Manager. Every field but Server has a usable zero
// value.
type Config struct {
	// Server is the local Socket.IO server the manager applies messages to
	// and whose broadcasts it publishes (required).
	Server *socketio.Server
	// Publisher carries this node's messages to the other nodes. Nil: they
	// are delivered locally only (counted as dropped in the gateway stats).
	Publisher transport.Publisher
	// Subscriber receives the other nodes' messages. Nil: nothing is
	// received. With both nil the node is local-only; this is logged.
	Subscriber transport.Subscriber
	// Channel is the broker channel; default "socketio" (python-socketio's).
	Channel string
	// Codec encodes what this node publishes and decodes what it receives;
	// default codec.NewPython(codec.PythonConfig{}) (dialect Current; its
	// Decode reads JSON of every dialect and pickle, refusing unsafe
	// pickles, and bounds a message to 16 MiB).
	Codec codec.Codec
	// HostID identifies this node in messages; default 32 random hex
	// characters, like python's uuid4().hex. Messages carrying it are not
	// applied (they were delivered locally when emitted).
	HostID string
	// UserRoom maps a user id to its room for Gateway().EmitToUser; default
	// gateway.DefaultUserRoom. Keep it equal to the server's UserRoom.
	UserRoom func(userID string) string
	// AckTimeout bounds how long a local client may take to answer an emit
	// that another host sent with a callback; default 60 s.
	AckTimeout time.Duration
	// MaxPendingAcks bounds the acknowledgements awaited at once for other
	// hosts; more are refused and counted in Stats.AcksDropped. Default 1024.
	MaxPendingAcks int
	// Logger receives background events; nil discards them.
	Logger *slog.Logger
}

// Health is the state of the manager's subscription.
type Health struct {
	// Subscribed is true while the manager receives the channel's messages.
	Subscribed bool
	// Since is when Subscribed last changed (or the manager started).
	Since time.Time
	// LastError describes the last subscription failure; "" if none.
	LastError string
}

// Stats are a manager's counters since it was created.
//
// Every received message ends as exactly one of Applied, OwnSkipped,
// SeqDuplicates, Malformed, Unsafe, Unknown, NotServed, Ignored or
// ApplyErrors.
type Stats struct {
	Received    uint64 // messages read from the channel
	Applied     uint64 // messages applied to this node (an emit counts once, whatever it reached; a callback that resolved an EmitWithAck)
	OwnSkipped  uint64 // messages carrying our own host_id (already delivered locally)
	Malformed   uint64 // messages that do not decode (garbage, truncated, wrong types, too large)
	Unsafe      uint64 // pickles asking to import or call something, refused
	Unknown     uint64 // messages with a method python-socketio does not define
	NotServed   uint64 // messages for a namespace this server does not serve
	Ignored     uint64 // callbacks for other hosts, or for us with no EmitWithAck waiting
	ApplyErrors uint64 // valid messages the server refused (e.g. a reserved event name)

	NotHere        uint64 // room operations and disconnects for sids not on this node (part of Applied)
	AcksReturned   uint64 // client acknowledgements published back to the asking host
	AckFailures    uint64 // acknowledgements not received (timeout, disconnect) or not published
	AcksDropped    uint64 // emits with a callback not awaited: MaxPendingAcks reached
	PublishErrors  uint64 // local broadcasts not queued for the cluster (the dialect cannot carry them, or after Close)
	SubscribeFails uint64 // subscription attempts that failed or ended unexpectedly
	Duplicates     uint64 // redeliveries of a persistent transport dropped by ID (not applied twice)
	Resubscribes   uint64 // times the subscription came back after a failure
	// TransportMalformed counts what the Subscriber itself could not read
	// and skipped (a stream entry or JetStream message that is not a
	// valid pack), when it reports that (a Malformed() uint64 method).
	TransportMalformed uint64
	// SeqDuplicates counts messages dropped because their host already
	// sent one with the same codec.Message.Seq and it was applied (a
	// publish retried after its reply was lost delivers the same bytes
	// twice). The window is 4096 numbers per host, for the 1024 hosts
	// heard from last.
	SeqDuplicates uint64
	// SeqUnchecked counts messages whose Seq was too far behind their
	// host's newest to be checked; they were handled as new.
	SeqUnchecked uint64
	// NonFinite counts messages that carried NaN, Infinity or -Infinity
	// (python's json.dumps literals, or pickled floats): each such value
	// was delivered as null, as JavaScript's JSON.stringify writes it.
	NonFinite uint64
}

// Manager makes a socketio.Server a node of a python-socketio-compatible
// cluster: it publishes the server's broadcasts and applies the messages
// other nodes (python-socketio servers and write-only managers, sockgate
// workers and servers) publish on the channel. Create it with New, then
// Start it before serving.
type Manager struct {
	srv        *socketio.Server
	sub        transport.Subscriber
	pub        transport.Publisher
	channel    string
	codec      codec.Codec
	hostID     string
	userRoom   func(string) string
	ackTimeout time.Duration
	acks       chan struct{} // semaphore of pending acknowledgements
	log        *slog.Logger
	badLog     *ratelog.Logger // hostile input
	warnLog    *ratelog.Logger // other recurring problems
	noteLog    *ratelog.Logger // what was made of valid input: duplicates dropped, NaN made null

	worker  *gateway.Worker
	gw      *serverGateway
	pending pendingAcks // EmitWithAck calls waiting for another node

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the listener and ack goroutines

	lifeMu  sync.Mutex // held by Start; Close waits for a Start in progress
	started atomic.Bool
	closed  atomic.Bool

	hmu    sync.Mutex
	health Health
	tried  bool // a subscription was attempted

	// lastID is the ID of the last acknowledged delivery applied (persistent
	// transports); only the listen goroutine uses it.
	lastID string
	// seqs drops the messages a host sent twice (codec.Message.Seq).
	seqs seqFilter
	// subGen numbers the subscriptions; a subscription's background
	// reports count only while it is the current one.
	subGen atomic.Uint64

	st counters
}

type counters struct {
	received, applied, own, malformed, unsafe, unknown, notServed, ignored, applyErrors atomic.Uint64
	notHere, acksReturned, ackFailures, acksDropped, publishErrors, subFails, resubs    atomic.Uint64
	duplicates, seqDuplicates, seqUnchecked, nonFinite                                  atomic.Uint64
}

var _ socketio.Cluster = (*Manager)(nil)

// New returns a manager for cfg. It makes no connection; Start does.
func New(cfg Config) (*Manager, error) {
	if cfg.Server == nil {
		return nil, fmt.Errorf("%w: Server is nil", ErrConfig)
	}
	if cfg.AckTimeout < 0 || cfg.MaxPendingAcks < 0 {
		return nil, fmt.Errorf("%w: negative AckTimeout or MaxPendingAcks", ErrConfig)
	}
	if cfg.Channel == "" {
		cfg.Channel = protocol.DefaultChannel
	}
	if cfg.Codec == nil {
		cfg.Codec = codec.NewPython(codec.PythonConfig{})
	}
	if cfg.HostID == "" {
		cfg.HostID = gateway.NewHostID()
	}
	if cfg.UserRoom == nil {
		cfg.UserRoom = gateway.DefaultUserRoom
	}
	if cfg.AckTimeout == 0 {
		cfg.AckTimeout = 60 * time.Second
	}
	if cfg.MaxPendingAcks == 0 {
		cfg.MaxPendingAcks = 1024
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("channel", cfg.Channel, "host_id", cfg.HostID)
	w, err := gateway.NewWorker(gateway.WorkerConfig{
		Publisher: cfg.Publisher,
		Channel:   cfg.Channel,
		Codec:     cfg.Codec,
		UserRoom:  cfg.UserRoom,
		HostID:    cfg.HostID,
		Logger:    log,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: publisher: %w", err)
	}
	m := &Manager{
		srv: cfg.Server, sub: cfg.Subscriber, pub: cfg.Publisher, channel: cfg.Channel,
		codec: cfg.Codec, hostID: cfg.HostID, userRoom: cfg.UserRoom, ackTimeout: cfg.AckTimeout,
		acks:    make(chan struct{}, cfg.MaxPendingAcks),
		log:     log,
		badLog:  ratelog.New(log, time.Second),
		warnLog: ratelog.New(log, time.Second),
		noteLog: ratelog.New(log, time.Second),
		worker:  w,
		health:  Health{Since: time.Now()},
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.gw = &serverGateway{m: m}
	return m, nil
}

// HostID returns the host_id this node writes into its messages.
func (m *Manager) HostID() string { return m.hostID }

// Start hands the server's broadcasts to the manager (Server.SetCluster)
// and subscribes to the channel. It never fails because the broker is
// down: it logs an error, the node serves its own clients, and a
// background loop retries every 25-50 ms until it is subscribed.
// The first attempt is made before Start returns, so with the broker up
// every message published after Start returns is received. Start returns
// ErrClosed after Close; a second Start does nothing.
func (m *Manager) Start(ctx context.Context) error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.closed.Load() {
		return ErrClosed
	}
	if m.started.Swap(true) {
		return nil
	}
	m.srv.SetCluster(m)
	if m.sub == nil {
		if m.pub == nil {
			m.log.Warn("cluster: no broker configured; serving local clients only")
		} else {
			m.log.Warn("cluster: no subscriber configured; this node publishes but receives nothing")
		}
		m.setHealth(false, errors.New("no subscriber configured"))
		return nil
	}
	// The first attempt is bounded by ctx as well as by Close.
	sctx, stop := context.WithCancel(m.ctx)
	unhook := context.AfterFunc(ctx, stop)
	ch, err := m.subscribeOnce(sctx)
	if !unhook() && err == nil {
		// ctx ended while subscribing: the subscription dies with sctx;
		// the loop starts over with one of its own.
		ch, err = subscription{}, fmt.Errorf("cluster: start: %w", context.Cause(ctx))
	}
	if err != nil {
		stop()
		m.subscribeFailed(err)
	} else {
		m.subscribed()
	}
	m.wg.Add(1)
	go m.listen(ch, stop)
	return nil
}

// retry is the wait between subscription attempts: 25-50 ms, jittered so
// that the nodes of a cluster do not all retry in the same instant after a
// broker outage. It does not grow: an attempt on a broker that is down
// costs one refused connection, and a node must be back within 100 ms of
// its broker, however long the outage was.
var retry = backoff.Policy{Min: 50 * time.Millisecond, Max: 50 * time.Millisecond, Jitter: true}

// subscription is one subscription to the channel: plain (at most once)
// or, when the Subscriber offers transport.AckSubscriber (a persistent
// transport), acknowledged.
type subscription struct {
	plain <-chan []byte
	acked <-chan transport.Delivery
}

func (c subscription) active() bool { return c.plain != nil || c.acked != nil }

// subscribeOnce subscribes once, preferring the acknowledged form, then
// the reporting one.
func (m *Manager) subscribeOnce(ctx context.Context) (subscription, error) {
	gen := m.subGen.Add(1)
	if as, ok := m.sub.(transport.AckSubscriber); ok {
		ch, err := as.SubscribeAck(ctx, m.channel)
		return subscription{acked: ch}, err
	}
	if rs, ok := m.sub.(transport.SubscriptionReporter); ok {
		ch, err := rs.SubscribeReport(ctx, m.channel, func(up bool, err error) {
			if m.subGen.Load() == gen && ctx.Err() == nil {
				m.reported(up, err)
			}
		})
		return subscription{plain: ch}, err
	}
	ch, err := m.sub.Subscribe(ctx, m.channel)
	return subscription{plain: ch}, err
}

// drain handles the subscription's messages until it ends. Acknowledged
// deliveries are applied once: a delivery whose ID is not after the last
// one applied (a redelivery after a reconnect) is counted as a duplicate
// and acknowledged again without being applied. Every delivery is
// acknowledged after it was handled, refused ones included, so a poison
// message is not redelivered forever.
func (m *Manager) drain(c subscription) {
	if c.plain != nil {
		for data := range c.plain {
			m.handle(data)
		}
		return
	}
	for d := range c.acked {
		if after(d.ID, m.lastID) {
			m.handle(d.Data)
			m.lastID = d.ID
		} else {
			m.st.duplicates.Add(1)
		}
		if d.Ack != nil {
			d.Ack()
		}
	}
}

// after reports whether delivery ID a comes after b. IDs are up to three
// dash-separated numbers compared in order: Redis stream IDs ("<ms>-<seq>",
// "<ms>-<seq>-<i>" in a pack) or JetStream sequences ("<n>", "<n>-<i>" in
// a pack). An ID that is not of that form, or an empty b, counts as after
// (delivered).
func after(a, b string) bool {
	if b == "" {
		return true
	}
	x, okA := parseID(a)
	y, okB := parseID(b)
	if !okA || !okB {
		return true
	}
	for i := range x {
		if x[i] != y[i] {
			return x[i] > y[i]
		}
	}
	return false
}

// parseID reads up to three dash-separated numbers; missing ones are 0.
func parseID(id string) (n [3]uint64, ok bool) {
	parts := strings.Split(id, "-")
	if len(parts) > len(n) {
		return n, false
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return n, false
		}
		n[i] = v
	}
	return n, true
}

// listen reads the subscription, resubscribing whenever it fails or ends,
// until Close. ch may be inactive (not subscribed yet); stop cancels ch's
// ctx.
func (m *Manager) listen(ch subscription, stop context.CancelFunc) {
	defer m.wg.Done()
	for {
		if ch.active() {
			m.drain(ch)
			stop()
			ch = subscription{}
			if m.ctx.Err() != nil {
				return
			}
			m.subscribeFailed(errors.New("subscription ended unexpectedly"))
		}
		if !backoff.Sleep(m.ctx, nil, retry.Delay(1)) {
			return
		}
		sctx, cancel := context.WithCancel(m.ctx)
		c, err := m.subscribeOnce(sctx)
		if err != nil {
			cancel()
			if m.ctx.Err() != nil {
				return
			}
			m.subscribeFailed(err)
			continue
		}
		ch, stop = c, cancel
		m.subscribed()
	}
}

func (m *Manager) subscribeFailed(err error) {
	m.st.subFails.Add(1)
	m.hmu.Lock()
	was, first := m.health.Subscribed, !m.tried
	m.tried = true
	if was {
		m.health.Since = time.Now()
	}
	m.health.Subscribed = false
	m.health.LastError = err.Error()
	m.hmu.Unlock()
	if was || first {
		m.log.Error("cluster: not subscribed to the broker; serving local clients only and retrying", "error", err)
		return
	}
	m.warnLog.Log(slog.LevelDebug, "cluster: subscribe retry failed", "error", err)
}

func (m *Manager) subscribed() {
	m.hmu.Lock()
	if m.health.Subscribed {
		m.hmu.Unlock()
		return
	}
	tried := m.tried
	m.tried = true
	if tried {
		m.st.resubs.Add(1) // before Health shows it
	}
	m.health.Subscribed = true
	m.health.Since = time.Now()
	m.hmu.Unlock()
	if tried {
		m.log.Info("cluster: subscribed to the broker again; receiving cluster messages")
	} else {
		m.log.Info("cluster: subscribed to the broker")
	}
}

// reported applies a background report on the subscription.
func (m *Manager) reported(subscribed bool, err error) {
	if m.closed.Load() {
		return
	}
	if subscribed {
		m.subscribed()
		return
	}
	if err == nil {
		err = errors.New("subscription lost")
	}
	m.subscribeFailed(err)
}

func (m *Manager) setHealth(up bool, err error) {
	m.hmu.Lock()
	defer m.hmu.Unlock()
	if m.health.Subscribed != up {
		m.health.Since = time.Now()
	}
	m.health.Subscribed = up
	if err != nil {
		m.health.LastError = err.Error()
	}
}

// Health returns the subscription state.
func (m *Manager) Health() Health {
	m.hmu.Lock()
	defer m.hmu.Unlock()
	return m.health
}

// Stats returns a snapshot of the counters.
func (m *Manager) Stats() Stats {
	s := &m.st
	return Stats{
		Received: s.received.Load(), Applied: s.applied.Load(), OwnSkipped: s.own.Load(),
		Malformed: s.malformed.Load(), Unsafe: s.unsafe.Load(), Unknown: s.unknown.Load(),
		NotServed: s.notServed.Load(), Ignored: s.ignored.Load(), ApplyErrors: s.applyErrors.Load(),
		NotHere: s.notHere.Load(), AcksReturned: s.acksReturned.Load(), AckFailures: s.ackFailures.Load(),
		AcksDropped: s.acksDropped.Load(), PublishErrors: s.publishErrors.Load(),
		SubscribeFails: s.subFails.Load(), Resubscribes: s.resubs.Load(), Duplicates: s.duplicates.Load(),
		TransportMalformed: transportMalformed(m.sub),
		SeqDuplicates:      s.seqDuplicates.Load(), SeqUnchecked: s.seqUnchecked.Load(), NonFinite: s.nonFinite.Load(),
	}
}

func transportMalformed(sub transport.Subscriber) uint64 {
	if r, ok := sub.(interface{ Malformed() uint64 }); ok {
		return r.Malformed()
	}
	return 0
}

// Gateway returns the server-mode gateway: every call acts on this node's
// clients and is published once for the other nodes.
func (m *Manager) Gateway() gateway.Gateway { return m.gw }

// Publish implements socketio.Cluster: it encodes a broadcast the server
// just delivered locally and queues it for the broker. It never blocks;
// a broadcast that cannot be encoded (e.g. several arguments in the Legacy
// dialect) is logged and counted in Stats.PublishErrors, and a full queue
// drops it (counted in the gateway stats).
func (m *Manager) Publish(o socketio.Outbound) {
	err := m.worker.Broadcast(context.Background(), o.Event, dataOf(o.Args),
		gateway.WithNamespace(o.Namespace), gateway.ToRooms(o.Rooms...), gateway.Except(o.Except...))
	if err != nil {
		m.st.publishErrors.Add(1)
		if errors.Is(err, gateway.ErrClosed) {
			return // a broadcast racing Close
		}
		m.warnLog.Log(slog.LevelWarn, "cluster: broadcast delivered locally but not published", "event", o.Event, "nsp", o.Namespace, "error", err)
	}
}

// dataOf turns an argument list into codec's Data convention.
func dataOf(args []any) any {
	switch len(args) {
	case 0:
		return nil
	case 1:
		if _, several := args[0].(codec.Args); !several {
			return args[0]
		}
	}
	return codec.Args(args)
}

// Close stops the subscription, stops handing broadcasts to the manager,
// waits for acknowledgements in flight to end, and flushes what is queued
// for the broker until ctx is done (the rest is dropped and counted). It
// never closes the injected Publisher or Subscriber. Idempotent.
func (m *Manager) Close(ctx context.Context) error {
	if m.closed.Swap(true) {
		return nil
	}
	m.cancel()
	// The empty critical section waits until a Start in progress has
	// returned (its Subscribe was cancelled).
	m.lifeMu.Lock()
	//lint:ignore SA2001 see above
	m.lifeMu.Unlock()
	if m.srv.Cluster() == socketio.Cluster(m) {
		m.srv.SetCluster(nil)
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("cluster: close: listener still running: %w", context.Cause(ctx)))
	}
	if err := m.worker.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("cluster: close: %w", err))
	}
	m.setHealth(false, nil)
	return errors.Join(errs...)
}
