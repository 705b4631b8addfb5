package socketio

// A small Engine.IO v4 test client over polling and websocket, for the
// end-to-end tests over real HTTP.

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// eioMsg is a message received by a test client ("4" packets only; pings
// are answered by the client itself).
type eioMsg struct {
	data   string
	binary bool
}

type eioClient struct {
	t      testing.TB
	base   string // http://host/socket.io/
	sid    string
	ws     net.Conn
	wmu    sync.Mutex
	msgs   chan eioMsg
	closed chan struct{} // closed when the transport ended
	once   sync.Once
	paused atomic.Bool // polling: stop the GET loop (upgrading)
}

func (c *eioClient) end() { c.once.Do(func() { close(c.closed) }) }

// handleEIO handles one Engine.IO packet (text form; binary already split).
func (c *eioClient) handleEIO(p string) {
	switch {
	case p == "2":
		c.sendRaw("3")
	case p == "1":
		c.end()
	case strings.HasPrefix(p, "4"):
		c.msgs <- eioMsg{data: p[1:]}
	case strings.HasPrefix(p, "b"): // polling binary
		b, err := base64.StdEncoding.DecodeString(p[1:])
		if err != nil {
			c.t.Errorf("bad base64 binary %q", p)
			return
		}
		c.msgs <- eioMsg{data: string(b), binary: true}
	}
}

func (c *eioClient) isWS() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws != nil
}

func (c *eioClient) sendRaw(p string) {
	if c.isWS() {
		c.wsWrite(0x1, []byte(p))
		return
	}
	c.post(p)
}

// text sends a Socket.IO packet as an Engine.IO message.
func (c *eioClient) text(p string) { c.sendRaw("4" + p) }

// bin sends a binary message.
func (c *eioClient) bin(b []byte) {
	if c.isWS() {
		c.wsWrite(0x2, b)
		return
	}
	c.post("b" + base64.StdEncoding.EncodeToString(b))
}

func (c *eioClient) post(body string) {
	resp, err := http.Post(c.base+"?EIO=4&transport=polling&sid="+url.QueryEscape(c.sid), "text/plain", strings.NewReader(body))
	if err != nil {
		return // the session may be gone; the test's assertions tell
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func (c *eioClient) next() eioMsg {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(waitFor):
		c.t.Fatalf("no message within %s", waitFor)
		return eioMsg{}
	}
}

func (c *eioClient) expect(want string) {
	c.t.Helper()
	if m := c.next(); m.binary || m.data != want {
		c.t.Fatalf("got %q (binary %v), want %q", m.data, m.binary, want)
	}
}

// connect sends CONNECT and returns the CONNECT answer.
func (c *eioClient) connect(nsp, auth string) string {
	c.t.Helper()
	pfx := ""
	if nsp != "/" {
		pfx = nsp + ","
	}
	c.text("0" + pfx + auth)
	return c.next().data
}

func (c *eioClient) waitClosed() {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(waitFor):
		c.t.Fatalf("transport not closed within %s", waitFor)
	}
}

// dialPolling opens a polling session and starts its GET loop.
func dialPolling(t testing.TB, base string) *eioClient {
	t.Helper()
	c := &eioClient{t: t, base: base, msgs: make(chan eioMsg, 4096), closed: make(chan struct{})}
	resp, err := http.Get(base + "?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var open struct{ Sid string }
	if resp.StatusCode != 200 || len(body) < 2 || body[0] != '0' || json.Unmarshal(body[1:], &open) != nil {
		t.Fatalf("handshake: %d %q", resp.StatusCode, body)
	}
	c.sid = open.Sid
	go func() {
		for {
			if c.paused.Load() {
				return
			}
			resp, err := http.Get(base + "?EIO=4&transport=polling&sid=" + url.QueryEscape(c.sid))
			if err != nil {
				c.end()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				if !c.paused.Load() {
					c.end()
				}
				return
			}
			for _, p := range strings.Split(string(body), "\x1e") {
				c.handleEIO(p)
				if p == "1" {
					return
				}
			}
		}
	}()
	return c
}

// dialWS opens a websocket session directly.
func dialWS(t testing.TB, base string, read bool) *eioClient {
	t.Helper()
	c := &eioClient{t: t, base: base, msgs: make(chan eioMsg, 4096), closed: make(chan struct{})}
	br := c.openWS("")
	op, data, err := readFrame(br)
	var open struct{ Sid string }
	if err != nil || op != 1 || len(data) < 2 || data[0] != '0' || json.Unmarshal(data[1:], &open) != nil {
		t.Fatalf("open packet: %q %v", data, err)
	}
	c.sid = open.Sid
	if read {
		go c.readWS(br)
	}
	return c
}

// upgrade moves a polling session to websocket (probe, then upgrade).
func (c *eioClient) upgrade() {
	c.t.Helper()
	c.paused.Store(true)
	br := c.openWS(c.sid)
	c.wsWrite(0x1, []byte("2probe"))
	if op, data, err := readFrame(br); err != nil || op != 1 || string(data) != "3probe" {
		c.t.Fatalf("probe answer %q %v", data, err)
	}
	c.wsWrite(0x1, []byte("5"))
	go c.readWS(br)
}

func (c *eioClient) openWS(sid string) *bufio.Reader {
	t := c.t
	u, _ := url.Parse(c.base)
	nc, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	q := "EIO=4&transport=websocket"
	if sid != "" {
		q += "&sid=" + url.QueryEscape(sid)
	}
	var k [16]byte
	rand.Read(k[:])
	fmt.Fprintf(nc, "GET %s?%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.Path, q, u.Host, base64.StdEncoding.EncodeToString(k[:]))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("websocket upgrade: %v %v", resp, err)
	}
	c.wmu.Lock()
	c.ws = nc
	c.wmu.Unlock()
	return br
}

func (c *eioClient) readWS(br *bufio.Reader) {
	defer c.end()
	for {
		op, data, err := readFrame(br)
		if err != nil {
			return
		}
		switch op {
		case 0x1:
			c.handleEIO(string(data))
		case 0x2:
			c.msgs <- eioMsg{data: string(data), binary: true}
		case 0x8:
			return
		}
	}
}

func (c *eioClient) wsWrite(op byte, payload []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var hdr []byte
	hdr = append(hdr, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	c.ws.Write(append(hdr, masked...))
}

// readFrame reads one unmasked server frame (no fragmentation expected).
func readFrame(br *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(br, data); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0f, data, nil
}
