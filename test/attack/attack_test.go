//go:build integration

package attack

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/internal/testenv/wsclient"
	"github.com/sockgate/sockgate/socketio"
)

const (
	conns      = 20        // connections of each kind
	maxRSS     = 150 << 20 // what the server may hold, resident
	maxPayload = 1_000_000 // the server's default MaxPayload
	frameSize  = maxPayload - 1
	secret     = "attack-suite-secret-0123456789abcdef"
	waitFor    = 30 * time.Second
)

// bomb is the header of the attachment bomb (Engine.IO "4", then a
// BINARY_EVENT announcing 1000 attachments), as found in issue 12.
const bomb = `451000-["echo",{"_placeholder":true,"num":0}]`

var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "attackserver")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "attackserver")
	build := exec.Command("go", "build", "-o", serverBin, "./attackserver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build attackserver:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// target is a running attackserver.
type target struct {
	t    *testing.T
	proc *testenv.Proc
	addr string
	pid  int

	stop    chan struct{}
	sampled chan struct{}
	maxRSS  atomic.Int64
}

func startServer(t *testing.T, args ...string) *target {
	t.Helper()
	p := testenv.Start(t, testenv.Cmd{
		Name: "attackserver",
		Argv: append([]string{serverBin, "-secret", secret}, args...),
	})
	_, ln := p.Out.WaitFor(t, "the listening line", 0, func(l testenv.Line) bool { return l.Has("addr") })
	pid, _ := ln.JSON["pid"].(float64)
	s := &target{t: t, proc: p, addr: ln.Str("addr"), pid: int(pid), stop: make(chan struct{}), sampled: make(chan struct{})}
	go s.sample()
	t.Cleanup(s.stopSampling)
	return s
}

// procStatus reads a kB field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return -1
}

// sample records the largest VmRSS seen, every 20 ms, until stopSampling.
func (s *target) sample() {
	defer close(s.sampled)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if v := procStatus(s.pid, "VmRSS"); v > s.maxRSS.Load() {
			s.maxRSS.Store(v)
		}
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
	}
}

func (s *target) stopSampling() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.sampled
}

// checkRSS logs the memory figures and fails above maxRSS.
func (s *target) checkRSS(what string) {
	s.t.Helper()
	s.stopSampling()
	peak, hwm := s.maxRSS.Load(), procStatus(s.pid, "VmHWM")
	s.t.Logf("%s: server VmRSS peak %.1f MB (VmHWM %.1f MB)", what, float64(peak)/(1<<20), float64(hwm)/(1<<20))
	if peak <= 0 || peak > maxRSS {
		s.t.Fatalf("%s: server VmRSS reached %d bytes, bound %d", what, peak, maxRSS)
	}
}

type serverStats struct {
	Stats       socketio.Stats `json:"stats"`
	SlowStarted int64          `json:"slow_started"`
}

func (s *target) stats() serverStats {
	s.t.Helper()
	resp, err := http.Get("http://" + s.addr + "/stats")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st serverStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		s.t.Fatal(err)
	}
	return st
}

// waitStats polls /stats until cond holds (a counter in another process:
// nothing to await but the counter itself).
func (s *target) waitStats(what string, cond func(serverStats) bool) serverStats {
	s.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		st := s.stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: stats never matched: %+v", what, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the value of one series of /metrics.
func (s *target) metric(series string) float64 {
	s.t.Helper()
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				s.t.Fatal(err)
			}
			return f
		}
	}
	s.t.Fatalf("no series %s in /metrics", series)
	return 0
}

func token(t *testing.T, user string) string {
	t.Helper()
	h, err := auth.NewHMAC([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.Mint(user, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// wsConn is a raw websocket client of the server.
type wsConn struct {
	nc net.Conn
	br *bufio.Reader
}

func dialWS(t *testing.T, addr string) *wsConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(waitFor))
	br, err := wsclient.Upgrade(nc, nc, addr, "/socket.io/?EIO=4&transport=websocket", 4096)
	if err != nil {
		t.Fatal(err)
	}
	w := &wsConn{nc: nc, br: br}
	if m := w.read(t); !strings.HasPrefix(m, "0{") {
		t.Fatalf("open packet %q", m)
	}
	_ = nc.SetDeadline(time.Time{})
	return w
}

func (w *wsConn) read(t *testing.T) string {
	t.Helper()
	m, err := wsclient.ReadMessage(w.br, nil, 1<<20, nil)
	if err != nil {
		t.Fatalf("websocket read: %v", err)
	}
	return string(m)
}

func (w *wsConn) write(op byte, p []byte, timeout time.Duration) error {
	return w.writeFrame(wsclient.AppendFrame(nil, op, p), timeout)
}

// writeFrame writes a frame built once (masking a megabyte per write
// would cost the attacker more than the server).
func (w *wsConn) writeFrame(frame []byte, timeout time.Duration) error {
	_ = w.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := w.nc.Write(frame)
	return err
}

// signIn connects to "/" with a valid token and waits for the answer.
func (w *wsConn) signIn(t *testing.T, user string) {
	t.Helper()
	if err := w.write(wsclient.OpText, []byte(`40{"token":"`+token(t, user)+`"}`), waitFor); err != nil {
		t.Fatal(err)
	}
	_ = w.nc.SetReadDeadline(time.Now().Add(waitFor))
	if m := w.read(t); !strings.HasPrefix(m, `40{"sid":`) {
		t.Fatalf("CONNECT answer %q", m)
	}
	_ = w.nc.SetReadDeadline(time.Time{})
}

// parallel runs fn for each of the conns connections at once.
func parallel(fn func(i int)) {
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	wg.Wait()
}

// TestAttachmentBombWebsocket: 20 websocket clients announce 1000
// attachments and send binary frames just under MaxPayload until the
// server stops them. Before a namespace connection the header alone is
// refused; on a signed-in socket the frame that takes the attachments
// above MaxPayload in total is.
func TestAttachmentBombWebsocket(t *testing.T) {
	for _, signedIn := range []bool{false, true} {
		name := map[bool]string{false: "no token", true: "signed in"}[signedIn]
		t.Run(name, func(t *testing.T) {
			srv := startServer(t)
			frame := wsclient.AppendFrame(nil, wsclient.OpBinary, bytes.Repeat([]byte{0xAB}, frameSize))
			var sent atomic.Int64
			parallel(func(i int) {
				w := dialWS(t, srv.addr)
				if signedIn {
					w.signIn(t, fmt.Sprintf("bomber-%d", i))
				}
				if err := w.write(wsclient.OpText, []byte(bomb), waitFor); err != nil {
					t.Error(err)
					return
				}
				for range 999 {
					if w.writeFrame(frame, 5*time.Second) != nil {
						return // the server closed the connection
					}
					sent.Add(1)
				}
				t.Errorf("connection %d: all 999 frames taken", i)
			})
			st := srv.waitStats("refusals", func(s serverStats) bool {
				if signedIn {
					return s.Stats.AttachmentsRefused == conns && s.Stats.Clients == 0
				}
				return s.Stats.EarlyBinary == conns && s.Stats.Clients == 0
			})
			srv.checkRSS("websocket attachment bomb, " + name)
			reason := map[bool]string{false: "binary_before_connect", true: "attachments_too_large"}[signedIn]
			if v := srv.metric(`sockgate_server_clients_closed_total{reason="` + reason + `"}`); v != conns {
				t.Fatalf("metric %s = %v, want %d", reason, v, conns)
			}
			t.Logf("%d clients wrote %d frames of %d bytes before their connections failed (kernel buffers "+
				"included); refused: early binary %d, attachments %d",
				conns, sent.Load(), frameSize, st.Stats.EarlyBinary, st.Stats.AttachmentsRefused)
		})
	}
}

// pollSession is a raw polling client of the server.
type pollSession struct {
	base string
	sid  string
	hc   *http.Client
}

func dialPolling(t *testing.T, addr string) *pollSession {
	t.Helper()
	p := &pollSession{base: "http://" + addr + "/socket.io/?EIO=4&transport=polling", hc: &http.Client{Timeout: waitFor}}
	resp, err := p.hc.Get(p.base)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var open struct{ Sid string }
	if resp.StatusCode != 200 || len(body) < 2 || json.Unmarshal(body[1:], &open) != nil {
		t.Fatalf("polling handshake: %d %q", resp.StatusCode, body)
	}
	p.sid = open.Sid
	return p
}

func (p *pollSession) post(body string) (int, error) {
	resp, err := p.hc.Post(p.base+"&sid="+p.sid, "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (p *pollSession) get(t *testing.T) string {
	t.Helper()
	resp, err := p.hc.Get(p.base + "&sid=" + p.sid)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestAttachmentBombPolling is the bomb over long-polling: one POST per
// attachment ("b" and base64, the body just under MaxPayload), after a
// CONNECT refused for an invalid token, or after a signed-in one.
func TestAttachmentBombPolling(t *testing.T) {
	for _, signedIn := range []bool{false, true} {
		name := map[bool]string{false: "invalid token", true: "signed in"}[signedIn]
		t.Run(name, func(t *testing.T) {
			srv := startServer(t)
			att := "b" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xCD}, 740_000)) // 986,668 bytes
			var posted atomic.Int64
			parallel(func(i int) {
				p := dialPolling(t, srv.addr)
				tok := "not-a-token"
				if signedIn {
					tok = token(t, fmt.Sprintf("poller-%d", i))
				}
				if code, err := p.post(`40{"token":"` + tok + `"}`); err != nil || code != 200 {
					t.Errorf("CONNECT post: %d %v", code, err)
					return
				}
				if m := p.get(t); signedIn != strings.HasPrefix(m, `40{"sid":`) {
					t.Errorf("CONNECT answer %q", m)
					return
				}
				if code, err := p.post(bomb); err != nil || code != 200 {
					return // refused at the header: the session is gone
				}
				for range 999 {
					if code, err := p.post(att); err != nil || code != 200 {
						return
					}
					posted.Add(1)
				}
				t.Errorf("session %d: all 999 attachments taken", i)
			})
			st := srv.waitStats("refusals", func(s serverStats) bool {
				if signedIn {
					return s.Stats.AttachmentsRefused == conns
				}
				return s.Stats.EarlyBinary == conns
			})
			srv.checkRSS("polling attachment bomb, " + name)
			// Refused at the header (invalid token: no attachment POST is
			// answered ok), or at the second attachment (740,000 + 740,000 >
			// MaxPayload: that POST is answered, its attachment dropped and
			// the session closed, so the next POST fails).
			want := int64(0)
			if signedIn {
				want = 2 * conns
			}
			if n := posted.Load(); n != want {
				t.Fatalf("%d attachment POSTs answered ok, want %d", n, want)
			}
			t.Logf("%d sessions had %d attachment POSTs answered ok; refused: early binary %d, attachments %d",
				conns, posted.Load(), st.Stats.EarlyBinary, st.Stats.AttachmentsRefused)
		})
	}
}

// TestSlowHandler: 20 signed-in sockets send 1,024 events of almost
// MaxPayload each to a handler that takes 20 s. The server takes a few
// per socket (EventQueueBytes: 2*MaxPayload, the running one included),
// then stops reading; the clients' writes stall.
func TestSlowHandler(t *testing.T) {
	srv := startServer(t, "-slow", "20s")
	pad := strings.Repeat("x", frameSize-len(`42["slow",""]`)-1)
	ev := []byte(`42["slow","` + pad + `"]`)
	frame := wsclient.AppendFrame(nil, wsclient.OpText, ev)
	var written atomic.Int64
	parallel(func(i int) {
		w := dialWS(t, srv.addr)
		w.signIn(t, fmt.Sprintf("slow-%d", i))
		for range 1024 {
			// A write that cannot finish in 3 s: the server stopped reading.
			if w.writeFrame(frame, 3*time.Second) != nil {
				return
			}
			written.Add(1)
		}
		t.Errorf("socket %d: all 1,024 events written; nothing held it back", i)
	})
	st := srv.waitStats("readers paused", func(s serverStats) bool { return s.Stats.EventQueueWaits >= conns })
	srv.checkRSS("slow handler")
	if st.SlowStarted > conns {
		t.Fatalf("%d slow handlers started, want at most one per socket (%d)", st.SlowStarted, conns)
	}
	if v := srv.metric("sockgate_server_event_queue_waits_total"); v < conns {
		t.Fatalf("event_queue_waits_total %v", v)
	}
	t.Logf("%d sockets wrote %d events of %d bytes before their writes stalled (kernel buffers included); "+
		"handlers started %d, reader pauses %d", conns, written.Load(), len(ev), st.SlowStarted, st.Stats.EventQueueWaits)
}

// TestHandshakeFlood: 20 connections from one address open polling
// sessions as fast as they can for 3 s. With the defaults (100/s, burst
// 1000) at most the burst plus the refill is opened; with a cap of 200
// sessions per address, at most 200.
func TestHandshakeFlood(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{{"rate", nil}, {"sessions", []string{"-max-sessions", "200"}}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.args...)
			hc := &http.Client{Timeout: waitFor, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
			defer hc.CloseIdleConnections()
			var ok, limited, other atomic.Int64
			start := time.Now()
			end := start.Add(3 * time.Second)
			parallel(func(int) {
				for time.Now().Before(end) {
					resp, err := hc.Get("http://" + srv.addr + "/socket.io/?EIO=4&transport=polling")
					if err != nil {
						other.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						ok.Add(1)
					case http.StatusTooManyRequests:
						limited.Add(1)
					default:
						other.Add(1)
					}
				}
			})
			elapsed := time.Since(start)
			st := srv.stats()
			srv.checkRSS("handshake flood, " + tc.name)
			bound := int64(200)
			refused := st.Stats.SessionsLimited
			if tc.name == "rate" {
				bound = 1000 + int64(100*elapsed.Seconds()) + 1
				refused = st.Stats.HandshakesLimited
			}
			if ok.Load() > bound || ok.Load() != int64(st.Stats.Clients) {
				t.Fatalf("%d sessions opened (server: %d open), bound %d", ok.Load(), st.Stats.Clients, bound)
			}
			if limited.Load() == 0 || uint64(limited.Load()) != refused || other.Load() != 0 {
				t.Fatalf("429s %d, server counted %d; other answers or errors %d", limited.Load(), refused, other.Load())
			}
			if v := srv.metric(`sockgate_server_handshakes_refused_total{reason="` + tc.name + `"}`); v != float64(refused) {
				t.Fatalf("metric %v, stats %d", v, refused)
			}
			t.Logf("%d handshakes in %v: %d opened (bound %d), %d refused with 429",
				ok.Load()+limited.Load(), elapsed.Round(time.Millisecond), ok.Load(), bound, limited.Load())
		})
	}
}
