package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockgate/sockgate/internal/ratelog"
)

const (
	transportPolling   = "polling"
	transportWebsocket = "websocket"
)

// Engine.IO error codes (the JSON body of an HTTP 400/403 answer).
const (
	codeTransportUnknown   = 0
	codeUnknownSID         = 1
	codeBadHandshakeMethod = 2
	codeBadRequest         = 3
	codeForbidden          = 4
	codeUnsupportedVersion = 5
)

var codeMessages = [...]string{
	codeTransportUnknown:   "Transport unknown",
	codeUnknownSID:         "Session ID unknown",
	codeBadHandshakeMethod: "Bad handshake method",
	codeBadRequest:         "Bad request",
	codeForbidden:          "Forbidden",
	codeUnsupportedVersion: "Unsupported protocol version",
}

type server struct {
	cfg        Config
	log        *slog.Logger
	hsLog      *ratelog.Logger // handshakes refused by the limits
	closeLog   *ratelog.Logger // connections closed for oversized or malformed input
	limiter    *addrLimiter
	transports map[string]bool
	upgrades   []string // advertised in the open packet of polling sessions

	mu     sync.Mutex
	conns  map[string]*conn
	closed bool

	open     atomic.Int64
	opened   atomic.Uint64
	closedN  atomic.Uint64
	slow     atomic.Uint64
	upgraded atomic.Uint64
	tooBig   atomic.Uint64
	hsLimit  atomic.Uint64
	sessCap  atomic.Uint64
	protoErr atomic.Uint64
}

func newServer(cfg Config) (*server, error) {
	if cfg.Handler == nil {
		return nil, errors.New("engineio: Config.Handler is required")
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 25 * time.Second
	}
	if cfg.PingTimeout == 0 {
		cfg.PingTimeout = 20 * time.Second
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = 1e6
	}
	if cfg.UpgradeTimeout == 0 {
		cfg.UpgradeTimeout = 10 * time.Second
	}
	if cfg.SendQueue == 0 {
		cfg.SendQueue = 1024
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.SendQueueBytes == 0 {
		cfg.SendQueueBytes = 16 * cfg.MaxPayload
	}
	if cfg.HandshakeRate == 0 {
		cfg.HandshakeRate = DefaultHandshakeRate
	}
	if cfg.HandshakeBurst == 0 {
		cfg.HandshakeBurst = DefaultHandshakeBurst
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = RemoteIP
	}
	if cfg.PingInterval < 0 || cfg.PingTimeout < 0 || cfg.MaxPayload < 0 || cfg.UpgradeTimeout < 0 ||
		cfg.SendQueue < 0 || cfg.WriteTimeout < 0 || cfg.SendQueueBytes < 0 || cfg.HandshakeBurst < 0 ||
		cfg.MaxSessionsPerAddr < 0 {
		return nil, errors.New("engineio: negative durations or sizes in Config")
	}
	if math.IsNaN(cfg.HandshakeRate) || math.IsInf(cfg.HandshakeRate, 0) {
		return nil, fmt.Errorf("engineio: Config.HandshakeRate is %v", cfg.HandshakeRate)
	}
	if len(cfg.Transports) == 0 {
		cfg.Transports = []string{transportPolling, transportWebsocket}
	}
	s := &server{cfg: cfg, log: cfg.Logger, transports: map[string]bool{}, conns: map[string]*conn{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.hsLog = ratelog.New(s.log, time.Second)
	s.closeLog = ratelog.New(s.log, time.Second)
	s.limiter = newAddrLimiter(cfg.HandshakeRate, cfg.HandshakeBurst, cfg.MaxSessionsPerAddr)
	for _, t := range cfg.Transports {
		if t != transportPolling && t != transportWebsocket {
			return nil, fmt.Errorf("engineio: unknown transport %q in Config.Transports", t)
		}
		s.transports[t] = true
	}
	s.upgrades = []string{}
	if !cfg.DisableUpgrades && s.transports[transportWebsocket] {
		s.upgrades = []string{transportWebsocket}
	}
	return s, nil
}

func (s *server) stats() Stats {
	return Stats{
		Open:       s.open.Load(),
		Opened:     s.opened.Load(),
		Closed:     s.closedN.Load(),
		SlowClosed: s.slow.Load(),
		Upgrades:   s.upgraded.Load(),

		TooBig:            s.tooBig.Load(),
		HandshakesLimited: s.hsLimit.Load(),
		SessionsLimited:   s.sessCap.Load(),
		ProtocolErrors:    s.protoErr.Load(),
	}
}

// writeError answers with Engine.IO's JSON error body.
func writeError(w http.ResponseWriter, status, code int, msg string) {
	if msg == "" {
		msg = codeMessages[code]
	}
	b, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// cors sets the CORS headers for r when its origin is allowed.
func (s *server) cors(w http.ResponseWriter, r *http.Request) {
	c := s.cfg.CORS
	if len(c.AllowOrigins) == 0 {
		return
	}
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin")
	if origin == "" {
		return
	}
	any := slices.Contains(c.AllowOrigins, "*")
	if !any && !slices.Contains(c.AllowOrigins, origin) {
		return
	}
	if any && !c.AllowCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if len(c.AllowHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ", "))
		} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		h.Set("Access-Control-Max-Age", "86400")
	}
}

func (s *server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := r.URL.Query()
	transport := q.Get("transport")
	if !s.transports[transport] {
		writeError(w, http.StatusBadRequest, codeTransportUnknown, "")
		return
	}
	if q.Get("EIO") != "4" {
		writeError(w, http.StatusBadRequest, codeUnsupportedVersion, "")
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		s.handshake(w, r, transport)
		return
	}
	s.mu.Lock()
	c := s.conns[sid]
	s.mu.Unlock()
	if c == nil {
		writeError(w, http.StatusBadRequest, codeUnknownSID, "")
		return
	}
	if transport == transportWebsocket {
		if s.cfg.DisableUpgrades {
			writeError(w, http.StatusBadRequest, codeBadRequest, "upgrades are disabled")
			return
		}
		if err := checkUpgrade(r); err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		c.upgrade(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		c.pollGET(w, r)
	case http.MethodPost:
		c.pollPOST(w, r)
	default:
		writeError(w, http.StatusBadRequest, codeBadRequest, "polling takes GET or POST")
	}
}

func newSID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// openPacket is the handshake answer.
func (s *server) openPacket(sid string, upgrades []string) *Packet {
	b, _ := json.Marshal(struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int      `json:"maxPayload"`
	}{sid, upgrades, s.cfg.PingInterval.Milliseconds(), s.cfg.PingTimeout.Milliseconds(), s.cfg.MaxPayload})
	return controlPacket(typeOpen, string(b))
}

func (s *server) handshake(w http.ResponseWriter, r *http.Request, transport string) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusBadRequest, codeBadHandshakeMethod, "")
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		writeError(w, http.StatusServiceUnavailable, codeBadRequest, "server is shutting down")
		return
	}
	if s.cfg.AllowRequest != nil {
		if err := s.cfg.AllowRequest(r); err != nil {
			writeError(w, http.StatusForbidden, codeForbidden, err.Error())
			return
		}
	}
	if transport == transportWebsocket {
		if err := checkUpgrade(r); err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
	}
	addr, ok := s.admit(w, r)
	if !ok {
		return
	}
	if transport == transportWebsocket {
		nc, pre, err := hijackWebsocket(w, r)
		if err != nil {
			s.limiter.release(addr)
			s.log.Debug("engineio: websocket handshake failed", "err", err)
			return
		}
		c := s.newConn(r, addr)
		c.ws = true
		c.nc = nc
		c.mu.Lock()
		c.enqueueLocked(s.openPacket(c.id, []string{}))
		c.mu.Unlock()
		s.start(c)
		// A fresh goroutine reads, so that this one returns and net/http
		// frees its per-connection buffers and deep stack.
		go c.readLoop(newWSReader(nc, pre, s.cfg.MaxPayload))
		return
	}
	c := s.newConn(r, addr)
	open := s.openPacket(c.id, s.upgrades)
	s.start(c)
	writePayload(w, []*Packet{open})
}

// admit applies the per-address handshake limits to r; a refused
// handshake has been answered (429) and counted. It returns the address
// the session is accounted to.
func (s *server) admit(w http.ResponseWriter, r *http.Request) (string, bool) {
	if !s.limiter.on() {
		return "", true
	}
	addr := s.cfg.ClientAddr(r)
	if addr == "" {
		return "", true
	}
	why, retry := s.limiter.admit(addr, time.Now())
	switch why {
	case refusedRate:
		s.hsLimit.Add(1)
		s.hsLog.Log(slog.LevelWarn, "engineio: handshake refused: too many handshakes from this address",
			"addr", addr, "rate", s.cfg.HandshakeRate, "burst", s.cfg.HandshakeBurst)
		writeTooMany(w, retry, "Too many handshakes from this address")
		return "", false
	case refusedSessions:
		s.sessCap.Add(1)
		s.hsLog.Log(slog.LevelWarn, "engineio: handshake refused: too many sessions from this address",
			"addr", addr, "max", s.cfg.MaxSessionsPerAddr)
		writeTooMany(w, 0, "Too many sessions from this address")
		return "", false
	}
	return addr, true
}

func (s *server) newConn(r *http.Request, addr string) *conn {
	c := &conn{s: s, id: newSID(), addr: addr, req: trimRequest(r), done: make(chan struct{})}
	c.pub = &Conn{impl: c}
	s.open.Add(1)
	s.opened.Add(1)
	return c
}

// start calls OnOpen, registers c and starts its heartbeat.
func (s *server) start(c *conn) {
	c.hmu.Lock()
	s.cfg.Handler.OnOpen(c.pub)
	c.hmu.Unlock()
	s.mu.Lock()
	c.mu.Lock()
	srvClosed := s.closed
	if !c.closed && !srvClosed {
		s.conns[c.id] = c
		c.timerDue = time.Now().Add(s.cfg.PingInterval)
		c.timer = time.AfterFunc(s.cfg.PingInterval, c.onTimer)
	}
	c.mu.Unlock()
	s.mu.Unlock()
	if srvClosed {
		c.closeWith(ReasonServerShutdown, true, closeGoingAway, "")
	}
}

func (s *server) remove(c *conn) {
	s.mu.Lock()
	if s.conns[c.id] == c {
		delete(s.conns, c.id)
	}
	s.mu.Unlock()
}

func (s *server) close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(ReasonServerShutdown, true, closeGoingAway, "")
	}
	for _, c := range conns {
		select {
		case <-c.done:
		case <-ctx.Done():
			return fmt.Errorf("engineio: close: %w", ctx.Err())
		}
	}
	return nil
}

// writePayload answers a polling GET with packets joined by the record
// separator.
func writePayload(w http.ResponseWriter, pkts []*Packet) {
	n := len(pkts) - 1
	for _, p := range pkts {
		n += len(p.polling())
	}
	b := make([]byte, 0, n)
	for i, p := range pkts {
		if i > 0 {
			b = append(b, 0x1e)
		}
		b = append(b, p.polling()...)
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// readBody reads a POST body of at most max bytes.
func readBody(r *http.Request, max int) ([]byte, error) {
	if r.ContentLength > int64(max) {
		return nil, errTooBig
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, errTooBig
	}
	return b, nil
}

var errTooBig = errors.New("engineio: payload too large")

// trimRequest keeps what a session needs of its handshake request, so that
// the server's connection state is not retained.
func trimRequest(r *http.Request) *http.Request {
	t := &http.Request{
		Method:     r.Method,
		URL:        r.URL,
		Proto:      r.Proto,
		ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor,
		Header:     r.Header,
		Body:       http.NoBody,
		Host:       r.Host,
		RemoteAddr: r.RemoteAddr,
		RequestURI: r.RequestURI,
		TLS:        r.TLS,
	}
	return t.WithContext(context.Background())
}
