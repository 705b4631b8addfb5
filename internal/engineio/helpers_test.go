package engineio

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const waitFor = 10 * time.Second

type msgEvent struct {
	c      *Conn
	data   string
	binary bool
}

type closeEvent struct {
	c      *Conn
	reason string
}

// recorder is a Handler that reports every call on channels; with echo it
// sends each message back.
type recorder struct {
	echo   bool
	opens  chan *Conn
	msgs   chan msgEvent
	closes chan closeEvent

	mu     sync.Mutex
	active map[*Conn]int // handler calls in progress, to check they are sequential
	t      testing.TB
}

func newRecorder(t testing.TB, echo bool) *recorder {
	return &recorder{echo: echo, opens: make(chan *Conn, 100), msgs: make(chan msgEvent, 10000),
		closes: make(chan closeEvent, 100), active: map[*Conn]int{}, t: t}
}

func (h *recorder) enter(c *Conn) {
	h.mu.Lock()
	h.active[c]++
	if h.active[c] > 1 {
		h.t.Errorf("concurrent handler calls for %s", c.ID())
	}
	h.mu.Unlock()
}

func (h *recorder) leave(c *Conn) {
	h.mu.Lock()
	h.active[c]--
	h.mu.Unlock()
}

func (h *recorder) OnOpen(c *Conn) {
	h.enter(c)
	defer h.leave(c)
	h.opens <- c
}

func (h *recorder) OnMessage(c *Conn, data []byte, binary bool) {
	h.enter(c)
	defer h.leave(c)
	if h.echo {
		p := NewTextPacket(data)
		if binary {
			p = NewBinaryPacket(data)
		}
		_ = c.Send(p)
	}
	h.msgs <- msgEvent{c, string(data), binary}
}

func (h *recorder) OnClose(c *Conn, reason string) {
	h.enter(c)
	defer h.leave(c)
	h.closes <- closeEvent{c, reason}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// testServer starts an engine behind httptest.
func testServer(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = s.Close(ctx)
		hs.Close()
	})
	return s, hs
}

func eioURL(hs *httptest.Server, transport, sid string) string {
	q := url.Values{"EIO": {"4"}, "transport": {transport}}
	if sid != "" {
		q.Set("sid", sid)
	}
	return hs.URL + "/engine.io/?" + q.Encode()
}

type openInfo struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func parseOpen(t *testing.T, s string) openInfo {
	t.Helper()
	if !strings.HasPrefix(s, "0") {
		t.Fatalf("open packet %q does not start with 0", s)
	}
	var o openInfo
	if err := json.Unmarshal([]byte(s[1:]), &o); err != nil {
		t.Fatalf("open packet %q: %v", s, err)
	}
	return o
}

func httpDo(t *testing.T, method, u, body string, hdr http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func pollHandshake(t *testing.T, hs *httptest.Server) openInfo {
	t.Helper()
	code, _, body := httpDo(t, "GET", eioURL(hs, "polling", ""), "", nil)
	if code != 200 {
		t.Fatalf("handshake: %d %s", code, body)
	}
	return parseOpen(t, body)
}

func pollGet(t *testing.T, hs *httptest.Server, sid string) []string {
	t.Helper()
	code, _, body := httpDo(t, "GET", eioURL(hs, "polling", sid), "", nil)
	if code != 200 {
		t.Fatalf("GET: %d %s", code, body)
	}
	return strings.Split(body, "\x1e")
}

func pollPost(t *testing.T, hs *httptest.Server, sid, body string) (int, string) {
	t.Helper()
	code, _, b := httpDo(t, "POST", eioURL(hs, "polling", sid), body, nil)
	return code, b
}

type errBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// wsClient is a raw RFC 6455 client: masked frames out, frames in.
type wsClient struct {
	nc net.Conn
	br *bufio.Reader
}

func wsDial(t *testing.T, hs *httptest.Server, sid string) *wsClient {
	t.Helper()
	return wsDialTB(t, hs, sid)
}

// wsDialB dials for a benchmark.
func wsDialB(b *testing.B, hs *httptest.Server) *wsClient { return wsDialTB(b, hs, "") }

func wsDialTB(t testing.TB, hs *httptest.Server, sid string) *wsClient {
	t.Helper()
	u, _ := url.Parse(eioURL(hs, "websocket", sid))
	nc, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("websocket handshake: %d %v", resp.StatusCode, resp.Header)
	}
	return &wsClient{nc: nc, br: br}
}

// frameBytes builds a masked client frame.
func frameBytes(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	n := len(payload)
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

func (w *wsClient) write(t *testing.T, op byte, payload string) {
	t.Helper()
	if _, err := w.nc.Write(frameBytes(true, op, []byte(payload))); err != nil {
		t.Fatalf("websocket write: %v", err)
	}
}

func (w *wsClient) text(t *testing.T, s string) { t.Helper(); w.write(t, opText, s) }

// read returns the next frame from the server.
func (w *wsClient) read() (byte, []byte, error) {
	_ = w.nc.SetReadDeadline(time.Now().Add(waitFor))
	var h [8]byte
	if _, err := io.ReadFull(w.br, h[:2]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		return 0, nil, fmt.Errorf("server frame is masked")
	}
	if h[0]&0x80 == 0 {
		return 0, nil, fmt.Errorf("server frame not final")
	}
	op := h[0] & 0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		io.ReadFull(w.br, h[:2])
		n = uint64(binary.BigEndian.Uint16(h[:2]))
	case 127:
		io.ReadFull(w.br, h[:8])
		n = binary.BigEndian.Uint64(h[:8])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(w.br, p); err != nil {
		return 0, nil, err
	}
	return op, p, nil
}

func (w *wsClient) mustRead(t *testing.T) (byte, string) {
	t.Helper()
	op, p, err := w.read()
	if err != nil {
		t.Fatalf("websocket read: %v", err)
	}
	return op, string(p)
}

// readText returns the next text frame, answering pings on the way.
func (w *wsClient) readText(t *testing.T) string {
	t.Helper()
	for {
		op, p := w.mustRead(t)
		if op == opText && p == "2" {
			w.text(t, "3")
			continue
		}
		if op != opText {
			t.Fatalf("want a text frame, got opcode %d %q", op, short(p))
		}
		return p
	}
}

// short trims s for failure messages.
func short(s string) string {
	if len(s) > 80 {
		return s[:80] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}
