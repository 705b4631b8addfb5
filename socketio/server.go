package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockgate/sockgate/internal/engineio"
	"github.com/sockgate/sockgate/internal/ratelog"
)

// engineConn is what the server needs of an Engine.IO connection; the
// real one is *engineio.Conn, the unit tests use an in-memory fake.
type engineConn interface {
	ID() string
	Request() *http.Request
	Send(pkts ...*engineio.Packet) error
	Close()
	CloseWithStatus(code uint16, text string)
}

// Server is a Socket.IO v5 server. It is an http.Handler to mount at the
// client's path (by default "/socket.io/"). Its methods are safe for
// concurrent use.
type Server struct {
	cfg       Config
	log       *slog.Logger
	refuseLog *ratelog.Logger  // clients closed for going beyond a bound
	waitLog   *ratelog.Logger  // readers paused for slow handlers
	eng       *engineio.Server // nil in unit tests over fake connections

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	closed atomic.Bool

	mu      sync.Mutex
	nsps    map[string]*Namespace
	clients map[*client]struct{}

	st      counters
	workers tracker // running socket handler queues

	cluster atomic.Pointer[clusterRef] // nil: no cluster
}

// tracker counts running goroutines and lets Close wait for none.
type tracker struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0; nil while n == 0
}

func (t *tracker) add() {
	t.mu.Lock()
	if t.n == 0 {
		t.zero = make(chan struct{})
	}
	t.n++
	t.mu.Unlock()
}

func (t *tracker) done() {
	t.mu.Lock()
	t.n--
	if t.n == 0 {
		close(t.zero)
		t.zero = nil
	}
	t.mu.Unlock()
}

// wait waits until no goroutine runs or ctx ends.
func (t *tracker) wait(ctx context.Context) error {
	for {
		t.mu.Lock()
		ch := t.zero
		t.mu.Unlock()
		if ch == nil {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

type counters struct {
	clients, connected                                              atomic.Int64
	connects, disconnects, refused, slow, connectTimeouts, protocol atomic.Uint64
	emitErrors, sendErrors, ackTimeouts, unhandled, panics          atomic.Uint64
	broadcasts, deliveries                                          atomic.Uint64
	attsRefused, earlyBinary, queueWaits                            atomic.Uint64
	tokenExpiries, tokenRefreshes, tokenRefreshRefused              atomic.Uint64
}

// NewServer returns a server for cfg with the main namespace "/" created.
func NewServer(cfg Config) (*Server, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	eng, err := engineio.NewServer(engineio.Config{
		Handler:      engineHandler{s},
		PingInterval: s.cfg.PingInterval,
		PingTimeout:  s.cfg.PingTimeout,
		MaxPayload:   s.cfg.MaxPayload,
		CORS: engineio.CORS{
			AllowOrigins:     s.cfg.CORS.AllowOrigins,
			AllowCredentials: s.cfg.CORS.AllowCredentials,
			AllowHeaders:     s.cfg.CORS.AllowHeaders,
		},
		SendQueue:          s.cfg.SendQueue,
		SendQueueBytes:     s.cfg.SendQueueBytes,
		HandshakeRate:      s.cfg.HandshakeRate,
		HandshakeBurst:     s.cfg.HandshakeBurst,
		MaxSessionsPerAddr: s.cfg.MaxSessionsPerAddr,
		ClientAddr:         s.cfg.ClientAddr,
		Logger:             s.cfg.Logger,
	})
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("socketio: engine: %w", err)
	}
	s.eng = eng
	return s, nil
}

// newServer builds a server without its engine.
func newServer(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, refuseLog: ratelog.New(cfg.Logger, time.Second),
		waitLog: ratelog.New(cfg.Logger, time.Second),
		nsps:    map[string]*Namespace{}, clients: map[*client]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.Of("/")
	return s, nil
}

// ServeHTTP serves the Engine.IO transports (polling, websocket).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.eng == nil {
		http.Error(w, "socketio: no engine", http.StatusServiceUnavailable)
		return
	}
	s.eng.ServeHTTP(w, r)
}

// Of returns the namespace name ("/" is the main one; a missing leading
// slash is added), creating it on first use. Clients can connect only to
// namespaces created this way; others get CONNECT_ERROR "Invalid
// namespace". A name cannot contain a comma (the protocol's separator):
// Of panics on one, as it is a programming error.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	if strings.Contains(name, ",") {
		panic(fmt.Sprintf("socketio: namespace name %q contains a comma", name))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nsps[name]
	if n == nil {
		n = newNamespace(s, name)
		s.nsps[name] = n
	}
	return n
}

func (s *Server) lookup(name string) *Namespace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nsps[name]
}

// Close disconnects every client with reason "server shutting down" and
// refuses new ones; it waits for the disconnect handlers to return or ctx
// to end. It is idempotent.
func (s *Server) Close(ctx context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	var err error
	if s.eng != nil {
		err = s.eng.Close(ctx)
	}
	s.mu.Lock()
	rest := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		rest = append(rest, c)
	}
	s.mu.Unlock()
	for _, c := range rest { // connections the engine did not close (fakes)
		c.onClose(engineio.ReasonServerShutdown)
	}
	if err == nil {
		err = s.workers.wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("socketio: close: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	var es engineio.Stats
	if s.eng != nil {
		es = s.eng.Stats()
	}
	return Stats{
		Clients:         s.st.clients.Load(),
		Connected:       s.st.connected.Load(),
		Connects:        s.st.connects.Load(),
		Disconnects:     s.st.disconnects.Load(),
		Refused:         s.st.refused.Load(),
		SlowDisconnects: s.st.slow.Load(),
		ConnectTimeouts: s.st.connectTimeouts.Load(),
		ProtocolErrors:  s.st.protocol.Load() + es.ProtocolErrors,
		EmitErrors:      s.st.emitErrors.Load(),
		SendErrors:      s.st.sendErrors.Load(),
		AckTimeouts:     s.st.ackTimeouts.Load(),
		Unhandled:       s.st.unhandled.Load(),
		HandlerPanics:   s.st.panics.Load(),
		Broadcasts:      s.st.broadcasts.Load(),
		Deliveries:      s.st.deliveries.Load(),

		AttachmentsRefused:  s.st.attsRefused.Load(),
		EarlyBinary:         s.st.earlyBinary.Load(),
		EventQueueWaits:     s.st.queueWaits.Load(),
		PayloadTooBig:       es.TooBig,
		HandshakesLimited:   es.HandshakesLimited,
		SessionsLimited:     es.SessionsLimited,
		TokenExpiries:       s.st.tokenExpiries.Load(),
		TokenRefreshes:      s.st.tokenRefreshes.Load(),
		TokenRefreshRefused: s.st.tokenRefreshRefused.Load(),
	}
}

// engineHandler adapts the server to engineio.Handler without exporting
// the callbacks on Server.
type engineHandler struct{ s *Server }

func (h engineHandler) OnOpen(c *engineio.Conn) { c.SetValue(h.s.open(c)) }

func (h engineHandler) OnMessage(c *engineio.Conn, data []byte, binary bool) {
	if cl, ok := c.Value().(*client); ok {
		cl.onMessage(data, binary)
	}
}

func (h engineHandler) OnClose(c *engineio.Conn, reason string) {
	if cl, ok := c.Value().(*client); ok {
		cl.onClose(reason)
	}
}

// open registers a new Engine.IO connection.
func (s *Server) open(conn engineConn) *client {
	c := &client{s: s, conn: conn, sockets: map[string]*Socket{}}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		c.closing.Store(true)
		c.ended = true // never registered: onClose has nothing to undo
		conn.Close()
		return c
	}
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	s.st.clients.Add(1)
	c.timer = time.AfterFunc(s.cfg.ConnectTimeout, c.connectTimeout)
	return c
}

// client is one Engine.IO connection and the namespace sockets on it.
type client struct {
	s    *Server
	conn engineConn

	mu      sync.Mutex
	sockets map[string]*Socket // by namespace
	timer   *time.Timer
	ended   bool
	reason  string // our own close reason, overriding the engine's "forced close"
	closing atomic.Bool

	// Binary reassembly; touched only by onMessage (sequential per conn).
	pending  *packet
	atts     [][]byte
	attGot   int  // attachments received so far for pending
	attBytes int  // their total size
	discard  bool // pending is for a namespace not connected: count, do not keep
}

// resetPending forgets the binary packet being reassembled.
func (c *client) resetPending() {
	c.pending, c.atts, c.attGot, c.attBytes, c.discard = nil, nil, 0, 0, false
}

func (c *client) connectTimeout() {
	c.mu.Lock()
	none := len(c.sockets) == 0 && !c.ended
	if none {
		c.reason = "connect timeout"
	}
	c.mu.Unlock()
	if none {
		c.s.st.connectTimeouts.Add(1)
		c.s.log.Info("socketio: client did not connect to a namespace in time", "sid", c.conn.ID(), "timeout", c.s.cfg.ConnectTimeout)
		c.closing.Store(true)
		c.conn.Close()
	}
}

// fail closes the client for a protocol violation.
func (c *client) fail(err error) {
	if c.closing.Swap(true) {
		return
	}
	c.s.st.protocol.Add(1)
	c.s.log.Warn("socketio: closing client after malformed packet", "sid", c.conn.ID(), "err", err)
	c.mu.Lock()
	c.reason = engineio.ReasonParseError
	c.mu.Unlock()
	c.conn.Close()
}

// refuse closes the client for going beyond a bound: the websocket close
// frame tells it why (code, text), the log says it at a rate limit, and
// the caller has counted it.
func (c *client) refuse(code uint16, why string, args ...any) {
	if c.closing.Swap(true) {
		return
	}
	c.s.refuseLog.Log(slog.LevelWarn, "socketio: closing client: "+why, append([]any{"sid", c.conn.ID()}, args...)...)
	c.mu.Lock()
	c.reason = engineio.ReasonPayloadTooBig
	if code == engineio.StatusPolicyViolation {
		c.reason = engineio.ReasonParseError
	}
	c.mu.Unlock()
	c.conn.CloseWithStatus(code, why)
}

// send hands packets to the connection, counting refusals.
func (c *client) send(pkts ...*engineio.Packet) error {
	err := c.conn.Send(pkts...)
	if err != nil {
		c.s.st.sendErrors.Add(1)
		if errors.Is(err, engineio.ErrQueueFull) {
			c.noteSlow()
		}
	}
	return err
}

// noteSlow records that the engine refused a packet for a full queue.
func (c *client) noteSlow() {
	c.mu.Lock()
	if c.reason == "" {
		c.reason = engineio.ReasonSlowClient
	}
	c.mu.Unlock()
}

func (c *client) onMessage(data []byte, binary bool) {
	if c.closing.Load() {
		return
	}
	if binary {
		if c.pending == nil {
			c.fail(fmt.Errorf("%w: unexpected binary message", ErrMalformed))
			return
		}
		c.attBytes += len(data)
		c.attGot++
		if c.attBytes > c.s.cfg.MaxAttachmentBytes {
			c.s.st.attsRefused.Add(1)
			c.refuse(engineio.StatusMessageTooBig, fmt.Sprintf("attachments above %d bytes", c.s.cfg.MaxAttachmentBytes),
				"attachments", c.pending.attachments, "received", c.attGot)
			c.resetPending()
			return
		}
		if !c.discard {
			c.atts = append(c.atts, data)
		}
		if c.attGot < c.pending.attachments {
			return
		}
		p, atts, discard := c.pending, c.atts, c.discard
		c.resetPending()
		if !discard {
			c.dispatch(*p, atts)
		}
		return
	}
	if c.pending != nil {
		c.fail(fmt.Errorf("%w: text message while %d attachments were expected", ErrMalformed, c.pending.attachments-c.attGot))
		return
	}
	p, err := decodePacket(data)
	if err != nil {
		c.fail(err)
		return
	}
	if p.attachments > 0 {
		if p.attachments > c.s.cfg.MaxAttachments {
			c.s.st.attsRefused.Add(1)
			c.refuse(engineio.StatusMessageTooBig, fmt.Sprintf("more than %d attachments", c.s.cfg.MaxAttachments),
				"attachments", p.attachments)
			return
		}
		c.mu.Lock()
		connected, here := len(c.sockets) > 0, c.sockets[p.nsp] != nil
		c.mu.Unlock()
		if !connected {
			c.s.st.earlyBinary.Add(1)
			c.refuse(engineio.StatusPolicyViolation, "binary packet before connecting to a namespace", "nsp", p.nsp)
			return
		}
		c.pending = &p
		// A packet for a namespace the client is not connected to is
		// ignored (see dispatch); its attachments are counted, not kept.
		c.discard = !here
		if !c.discard {
			c.atts = make([][]byte, 0, p.attachments)
		}
		return
	}
	c.dispatch(p, nil)
}

func (c *client) dispatch(p packet, atts [][]byte) {
	if p.typ == typeConnect {
		c.connect(p)
		return
	}
	c.mu.Lock()
	sock := c.sockets[p.nsp]
	c.mu.Unlock()
	if sock == nil {
		// socket.io ignores packets for namespaces the client is not
		// connected to (e.g. sent just before a server disconnect).
		c.s.log.Debug("socketio: packet for a namespace not connected", "sid", c.conn.ID(), "nsp", p.nsp, "type", string(p.typ))
		return
	}
	switch p.typ {
	case typeDisconnect:
		sock.disconnect("client namespace disconnect", false)
	case typeEvent, typeBinaryEvent:
		elems, err := splitArray(p.payload)
		if err == nil && len(elems) == 0 {
			err = fmt.Errorf("%w: EVENT without a name", ErrMalformed)
		}
		var name string
		if err == nil {
			name, err = eventName(elems[0])
		}
		var args *Args
		if err == nil {
			args, err = newArgs(elems[1:], atts)
		}
		if err != nil {
			c.fail(err)
			return
		}
		sock.onEvent(name, args, p.id)
	case typeAck, typeBinaryAck:
		elems, err := splitArray(p.payload)
		var args *Args
		if err == nil {
			args, err = newArgs(elems, atts)
		}
		if err != nil {
			c.fail(err)
			return
		}
		sock.onAck(p.id, args)
	}
}

// connect handles a CONNECT packet: middlewares, then the socket.
func (c *client) connect(p packet) {
	nsp := c.s.lookup(p.nsp)
	if nsp == nil {
		c.s.st.refused.Add(1)
		c.sendConnectError(p.nsp, &ConnectError{Message: "Invalid namespace"})
		return
	}
	c.mu.Lock()
	existing := c.sockets[p.nsp]
	c.mu.Unlock()
	if existing != nil {
		c.s.log.Debug("socketio: CONNECT for a namespace already connected", "sid", c.conn.ID(), "nsp", p.nsp)
		c.send(existing.connectPacket())
		return
	}
	hs := &Handshake{Namespace: p.nsp, Auth: json.RawMessage(p.payload), Request: c.conn.Request(), log: c.s.log}
	ctx, cancel := context.WithTimeout(c.s.ctx, c.s.cfg.ConnectTimeout)
	err := nsp.runMiddlewares(ctx, hs)
	cancel()
	if err != nil {
		c.s.st.refused.Add(1)
		var ce *ConnectError
		if !errors.As(err, &ce) {
			ce = &ConnectError{Message: err.Error()}
		}
		c.s.log.Debug("socketio: connection refused", "sid", c.conn.ID(), "nsp", p.nsp, "err", err)
		c.sendConnectError(p.nsp, ce)
		return
	}
	sock := newSocket(nsp, c, hs)
	c.mu.Lock()
	if c.ended || c.closing.Load() {
		c.mu.Unlock()
		return
	}
	c.sockets[p.nsp] = sock
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	c.s.st.connects.Add(1)
	c.s.st.connected.Add(1)
	// The CONNECT answer goes first, so that nothing the socket is sent as
	// a room member can precede it, and the socket is registered before
	// anyone can look it up after the client saw that answer.
	var sendErr error
	if !nsp.add(sock, func() error {
		sendErr = c.send(sock.connectPacket())
		return sendErr
	}) {
		if sendErr != nil {
			sock.disconnect(engineio.ReasonTransportClose, false)
		}
		return // disconnected meanwhile
	}
	sock.hs.token.start(sock)
	nsp.connected(sock)
}

func (c *client) sendConnectError(nsp string, ce *ConnectError) {
	body := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{ce.Message, ce.Data}
	js, err := json.Marshal(body)
	if err != nil {
		c.s.log.Error("socketio: CONNECT_ERROR data cannot be encoded; sending the message only", "err", err)
		body.Data = nil
		js, _ = json.Marshal(body)
	}
	b := appendHeader(make([]byte, 0, len(nsp)+len(js)+2), typeConnectError, 0, nsp, noAck)
	c.send(engineio.NewTextPacket(append(b, js...)))
}

// onClose ends the client: every socket disconnects with the reason.
func (c *client) onClose(reason string) {
	c.closing.Store(true)
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.reason != "" && (reason == engineio.ReasonForcedClose || reason == engineio.ReasonSlowClient) {
		reason = c.reason
	}
	socks := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		socks = append(socks, s)
	}
	c.mu.Unlock()
	if reason == engineio.ReasonSlowClient {
		c.s.st.slow.Add(1)
	}
	for _, s := range socks {
		s.disconnect(reason, false)
	}
	c.s.mu.Lock()
	delete(c.s.clients, c)
	c.s.mu.Unlock()
	c.s.st.clients.Add(-1)
}

func (c *client) remove(s *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sockets[s.nsp.name] != s {
		return false
	}
	delete(c.sockets, s.nsp.name)
	return true
}
