package socketio

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockgate/sockgate/internal/engineio"
)

const waitFor = 10 * time.Second

// fakeConn is an in-memory Engine.IO connection: it records what the
// server sends and plays the engine's part on Close and a full queue.
type fakeConn struct {
	id    string
	req   *http.Request
	limit int // most packets ever accepted; 0 = unlimited
	cl    *client
	ready chan struct{} // closed once cl is set

	mu       sync.Mutex
	sent     []*engineio.Packet
	read     int
	closed   bool
	closedCh chan struct{}
	signal   chan struct{}
	accepted int
	// status and statusText are what CloseWithStatus was given.
	status     uint16
	statusText string
	// onSend, when set before the client connects, sees every packet
	// accepted, in the sender's goroutine, after it was recorded.
	onSend func(*engineio.Packet)
}

var fakeIDs atomic.Int64

func newFakeConn() *fakeConn {
	return &fakeConn{
		id:       fmt.Sprintf("eio%d", fakeIDs.Add(1)),
		req:      httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil),
		closedCh: make(chan struct{}),
		signal:   make(chan struct{}, 1),
		ready:    make(chan struct{}),
	}
}

func (f *fakeConn) ID() string             { return f.id }
func (f *fakeConn) Request() *http.Request { return f.req }

func (f *fakeConn) Send(pkts ...*engineio.Packet) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return engineio.ErrClosed
	}
	if f.limit > 0 && f.accepted+len(pkts) > f.limit {
		f.mu.Unlock()
		f.end(engineio.ReasonSlowClient)
		return engineio.ErrQueueFull
	}
	f.accepted += len(pkts)
	f.sent = append(f.sent, pkts...)
	onSend := f.onSend
	f.mu.Unlock()
	if onSend != nil {
		for _, p := range pkts {
			onSend(p)
		}
	}
	select {
	case f.signal <- struct{}{}:
	default:
	}
	return nil
}

func (f *fakeConn) Close() { f.end(engineio.ReasonForcedClose) }

// CloseWithStatus records the status and closes like Close.
func (f *fakeConn) CloseWithStatus(code uint16, text string) {
	f.mu.Lock()
	if !f.closed {
		f.status, f.statusText = code, text
	}
	f.mu.Unlock()
	f.end(engineio.ReasonForcedClose)
}

// end closes the connection like the engine: OnClose from another goroutine.
func (f *fakeConn) end(reason string) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.mu.Unlock()
	go func() {
		<-f.ready
		f.cl.onClose(reason)
		close(f.closedCh)
	}()
}

// fake is a test client over a fakeConn.
type fake struct {
	t    testing.TB
	s    *Server
	conn *fakeConn
}

func newTestServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := newServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dial(t testing.TB, s *Server) *fake {
	t.Helper()
	return dialConn(t, s, newFakeConn())
}

// dialConn is dial over a fake connection the test prepared.
func dialConn(t testing.TB, s *Server, c *fakeConn) *fake {
	t.Helper()
	c.cl = s.open(c)
	close(c.ready)
	return &fake{t: t, s: s, conn: c}
}

func (f *fake) text(s string) { f.conn.cl.onMessage([]byte(s), false) }
func (f *fake) bin(b []byte)  { f.conn.cl.onMessage(b, true) }

// next returns the next packet the server sent, waiting for it.
func (f *fake) next() *engineio.Packet {
	f.t.Helper()
	deadline := time.After(waitFor)
	for {
		f.conn.mu.Lock()
		if f.conn.read < len(f.conn.sent) {
			p := f.conn.sent[f.conn.read]
			f.conn.read++
			f.conn.mu.Unlock()
			return p
		}
		f.conn.mu.Unlock()
		select {
		case <-f.conn.signal:
		case <-deadline:
			f.t.Fatalf("no packet within %s", waitFor)
			return nil
		}
	}
}

// nextText returns the next packet, which must be text.
func (f *fake) nextText() string {
	f.t.Helper()
	p := f.next()
	if p.Binary() {
		f.t.Fatalf("got binary packet %x, want text", p.Data())
	}
	return string(p.Data())
}

func (f *fake) expect(want string) {
	f.t.Helper()
	if got := f.nextText(); got != want {
		f.t.Fatalf("got packet %q, want %q", got, want)
	}
}

// pending returns how many sent packets were not read yet.
func (f *fake) pending() int {
	f.conn.mu.Lock()
	defer f.conn.mu.Unlock()
	return len(f.conn.sent) - f.conn.read
}

// connect connects to nsp and returns the socket id.
func (f *fake) connect(nsp, auth string) string {
	f.t.Helper()
	pfx := ""
	if nsp != "/" {
		pfx = nsp + ","
	}
	f.text("0" + pfx + auth)
	got := f.nextText()
	want := "0" + pfx + `{"sid":"`
	if len(got) < len(want)+3 || got[:len(want)] != want || got[len(got)-2:] != `"}` {
		f.t.Fatalf("CONNECT answer %q", got)
	}
	sid := got[len(want) : len(got)-2]
	return sid
}

func (f *fake) waitClosed() {
	f.t.Helper()
	select {
	case <-f.conn.closedCh:
	case <-time.After(waitFor):
		f.t.Fatalf("connection not closed within %s", waitFor)
	}
}

// await receives from ch with the generous deadline.
func await[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("nothing within %s", waitFor)
		var zero T
		return zero
	}
}
