//go:build integration

package clusterint

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport/redispubsub"
	"github.com/sockgate/sockgate/transport/redisurl"
)

// deadline bounds every wait for something a process should print or a
// node should do.
const deadline = 20 * time.Second

// pythonBin is the interpreter with Debian's python3-socketio (5.7.2).
func pythonBin() string {
	if p := os.Getenv("SOCKGATE_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

var pythonCheck = sync.OnceValues(func() (string, error) {
	out, err := exec.Command(pythonBin(), "-c",
		"import socketio, aiohttp, redis, engineio; print(socketio.AsyncRedisManager.__module__)").CombinedOutput()
	return string(out), err
})

// requirePython skips the test (fails it with CI=true) when the python side
// is not installed.
func requirePython(t *testing.T) {
	t.Helper()
	out, err := pythonCheck()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s with python-socketio is not usable (%v: %s); install with: apt-get install python3-socketio python3-aiohttp python3-redis python3-websocket",
		pythonBin(), err, strings.TrimSpace(out))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// randHex returns n random bytes as hex.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// uniqueChannel returns a channel name no other test (or -count repetition)
// uses.
func uniqueChannel(t *testing.T) string {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return "sockgate-clusterint:" + name + ":" + randHex(6)
}

// line is one JSON line a python helper printed, with when it was read.
type line struct {
	At   time.Time
	Raw  string
	JSON map[string]any // numbers are json.Number
}

// str returns a string field of the line ("" when absent).
func (l line) str(key string) string {
	s, _ := l.JSON[key].(string)
	return s
}

// lineLog collects the JSON lines of a process's stdout.
type lineLog struct {
	name    string
	mu      sync.Mutex
	lines   []line
	eof     bool
	changed chan struct{} // closed and replaced on every change
}

func newLineLog(name string, r io.Reader) *lineLog {
	l := &lineLog{name: name, changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			ln := line{At: time.Now(), Raw: sc.Text()}
			dec := json.NewDecoder(strings.NewReader(ln.Raw))
			dec.UseNumber()
			if dec.Decode(&ln.JSON) != nil {
				ln.JSON = nil // not JSON: kept for the failure dump only
			}
			l.mu.Lock()
			l.lines = append(l.lines, ln)
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.eof = true
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}()
	return l
}

// snapshot returns the lines read so far.
func (l *lineLog) snapshot() []line {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]line(nil), l.lines...)
}

// len returns the number of lines read so far.
func (l *lineLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// waitFor waits until a line at index >= from satisfies match and returns
// its index. It fails the test after deadline or when the output ends.
func (l *lineLog) waitFor(t *testing.T, what string, from int, match func(line) bool) (int, line) {
	t.Helper()
	return l.waitForWithin(t, deadline, what, from, match)
}

func (l *lineLog) waitForWithin(t *testing.T, d time.Duration, what string, from int, match func(line) bool) (int, line) {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		l.mu.Lock()
		for i := from; i < len(l.lines); i++ {
			if l.lines[i].JSON != nil && match(l.lines[i]) {
				ln := l.lines[i]
				l.mu.Unlock()
				return i, ln
			}
		}
		from = max(from, len(l.lines))
		eof, ch := l.eof, l.changed
		l.mu.Unlock()
		if eof {
			t.Fatalf("%s: output ended while waiting for %s;\n%s", l.name, what, l.dump())
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("%s: no %s within %v;\n%s", l.name, what, d, l.dump())
		}
	}
}

func (l *lineLog) dump() string {
	var b strings.Builder
	for i, ln := range l.snapshot() {
		s := ln.Raw
		if len(s) > 2000 {
			s = s[:2000] + "...(truncated)"
		}
		fmt.Fprintf(&b, "  %3d %s\n", i, s)
	}
	return b.String()
}

// proc is a python helper process speaking JSON lines.
type proc struct {
	name   string
	out    *lineLog
	stdin  io.WriteCloser
	stderr *syncBuffer
	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex // serializes writes to stdin
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startPython runs testdata/<script> with args. The process is stopped when
// the test ends (stdin closed, then terminated, then killed if it lingers);
// its output is logged when the test failed.
func startPython(t *testing.T, name, script string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(pythonBin(), append([]string{"-u", filepath.Join("testdata", script)}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	cmd.SysProcAttr = procAttr()
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &proc{name: name, stdin: stdin, stderr: &syncBuffer{}, cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	p.out = newLineLog(name, stdout)
	require.NoError(t, cmd.Start(), "start %s", script)
	go func() {
		// Wait until stdout is drained before reaping (StdoutPipe's rule).
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s stdout:\n%s%s stderr:\n%s", name, p.out.dump(), name, p.stderr.String())
		}
	})
	return p
}

// runPython runs testdata/<script> to its end and returns its JSON lines.
func runPython(t *testing.T, script string, args ...string) []line {
	t.Helper()
	p := startPython(t, script, script, args...)
	select {
	case <-p.done:
	case <-time.After(deadline):
		t.Fatalf("%s did not finish within %v;\nstdout:\n%sstderr:\n%s", script, deadline, p.out.dump(), p.stderr.String())
	}
	require.Equal(t, 0, p.cmd.ProcessState.ExitCode(), "%s failed;\nstdout:\n%sstderr:\n%s", script, p.out.dump(), p.stderr.String())
	// The reader has seen EOF once the process was reaped (Wait drains).
	return p.out.snapshot()
}

// send writes one JSON command line to the process.
func (p *proc) send(t *testing.T, cmd map[string]any) {
	t.Helper()
	b, err := json.Marshal(cmd)
	require.NoError(t, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err = p.stdin.Write(append(b, '\n'))
	require.NoError(t, err, "%s: write command", p.name)
}

// stop closes stdin (the helper's signal to leave), then terminates and
// finally kills the process, waiting for it to exit. Idempotent.
func (p *proc) stop() {
	p.mu.Lock()
	_ = p.stdin.Close()
	p.mu.Unlock()
	select {
	case <-p.done:
		return
	case <-time.After(3 * time.Second):
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(3 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// pyServer is testdata/py_server.py: a python-socketio 5.7.2 AsyncServer on
// AsyncRedisManager.
type pyServer struct {
	*proc
	url  string
	cmds int // command ids handed out
}

// startPyServer starts py_server.py on a free port and waits until it listens
// and its queue listener is subscribed to channel.
func startPyServer(t *testing.T, rdb *redis.Client, redisURL, channel string) *pyServer {
	t.Helper()
	p := startPython(t, "py_server", "py_server.py", "--port", "0", "--redis-url", redisURL, "--channel", channel)
	_, ready := p.out.waitFor(t, `{"ready": port}`, 0, func(l line) bool { return l.JSON["ready"] != nil })
	s := &pyServer{proc: p, url: "http://127.0.0.1:" + ready.JSON["ready"].(json.Number).String()}
	waitSubscribers(t, rdb, channel, 1)
	return s
}

// emit makes the python server emit event with data to room (sio.emit, which
// goes through its AsyncRedisManager) and waits until it has published it.
func (s *pyServer) emit(t *testing.T, room, event string, data any) {
	t.Helper()
	s.cmds++
	id := s.cmds
	from := s.out.len()
	s.send(t, map[string]any{"cmd": "emit", "id": id, "event": event, "data": data, "room": room})
	s.out.waitFor(t, "emitted "+event, from, func(l line) bool { return numEq(l.JSON["emitted"], id) })
}

// rooms returns the rooms sid is in on the python server, or nil (and false)
// when sid is not connected there.
func (s *pyServer) rooms(t *testing.T, sid string) ([]string, bool) {
	t.Helper()
	s.cmds++
	id := s.cmds
	from := s.out.len()
	s.send(t, map[string]any{"cmd": "rooms", "id": id, "sid": sid})
	_, l := s.out.waitFor(t, "rooms of "+sid, from, func(l line) bool { return l.has("rooms") && numEq(l.JSON["id"], id) })
	list, ok := l.JSON["rooms"].([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		out = append(out, r.(string))
	}
	return out, true
}

func (l line) has(key string) bool {
	_, ok := l.JSON[key]
	return ok
}

// numEq reports whether a JSON number equals n.
func numEq(v any, n int) bool {
	num, ok := v.(json.Number)
	return ok && num.String() == strconv.Itoa(n)
}

// pyClient is testdata/py_client.py, a python-socketio 5.7.2 AsyncClient on
// namespace "/" over websocket.
type pyClient struct {
	*proc
	sid string
}

// startPyClient connects a python-socketio client to url with auth and
// waits until it is connected.
func startPyClient(t *testing.T, name, url string, auth map[string]any) *pyClient {
	t.Helper()
	a, err := json.Marshal(auth)
	require.NoError(t, err)
	c := &pyClient{proc: startPython(t, name, "py_client.py", "--url", url, "--auth", string(a), "--ns", "/")}
	_, l := c.out.waitFor(t, "connected", 0, func(l line) bool { return l.str("connected") != "" })
	c.sid = l.str("connected")
	return c
}

// event is one event a client received: its name and arguments (normalized,
// see norm).
type event struct {
	Event string
	Args  any
}

func (e event) String() string {
	b, _ := json.Marshal(e.Args)
	return fmt.Sprintf("%s %s", e.Event, b)
}

// events returns the events among lines, in order.
func events(lines []line) []event {
	var out []event
	for _, l := range lines {
		if l.JSON == nil || l.JSON["event"] == nil {
			continue
		}
		out = append(out, event{Event: l.str("event"), Args: norm(l.JSON["args"])})
	}
	return out
}

// count returns how many times the client received event.
func (c *pyClient) count(name string) int {
	n := 0
	for _, e := range events(c.out.snapshot()) {
		if e.Event == name {
			n++
		}
	}
	return n
}

// waitEvent waits for event name at or after line from and returns the
// line's index and the event.
func (c *pyClient) waitEvent(t *testing.T, name string, from int) (int, event, line) {
	t.Helper()
	i, l := c.out.waitFor(t, "event "+name, from, func(l line) bool { return l.str("event") == name })
	return i, events([]line{l})[0], l
}

// ev builds an expected event; args is the Go value the python client must
// print (JSON-marshalled and normalized like the received side).
func ev(t *testing.T, name string, args ...any) event {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	b, err := json.Marshal(args)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	return event{Event: name, Args: norm(v)}
}

// norm makes decoded JSON comparable with exact numbers: an integer literal
// becomes "int:<digits>", any other number "float:<shortest float64 form>".
// Python prints ints without a fraction and floats with one or an
// exponent, so the two never mix.
func norm(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, ok := new(big.Int).SetString(s, 10); ok {
				return "int:" + n.String()
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "badnumber:" + s
		}
		return "float:" + strconv.FormatFloat(f, 'g', -1, 64)
	case string:
		return "str:" + x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = norm(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = norm(e)
		}
		return out
	default:
		return v // bool, nil
	}
}

// waitSubscribers polls PUBSUB NUMSUB until channel has at least n
// subscribers (there is no event for another process's SUBSCRIBE).
func waitSubscribers(t *testing.T, rdb *redis.Client, channel string, n int64) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got, err := rdb.PubSubNumSub(ctx, channel).Result()
		cancel()
		if err == nil && got[channel] >= n {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("channel %q has %d subscribers, not %d, after %v (last error %v)", channel, got[channel], n, deadline, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newRedisClient returns a go-redis client for addr, closed at cleanup.
func newRedisClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// legacy is the codec python-socketio 5.7.2 accepts (JSON without the
// "binary" key of 5.14.2 and later).
func legacy() codec.Codec { return codec.NewPython(codec.PythonConfig{Dialect: codec.Legacy}) }

// newLegacyWorker returns a gateway.Worker that publishes on channel in the
// Legacy dialect, closed at cleanup. It takes the production path: redisurl
// builds the go-redis client from the URL and redispubsub publishes.
func newLegacyWorker(t *testing.T, redisURL, channel string) *gateway.Worker {
	t.Helper()
	rdb, err := redisurl.NewClient(redisURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	ps, err := redispubsub.New(redispubsub.Config{Client: rdb})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	w, err := gateway.NewWorker(gateway.WorkerConfig{Publisher: ps, Channel: channel, Codec: legacy()})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}

// flush waits until everything g queued is published (or dropped).
func flush(t *testing.T, g gateway.Gateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	require.NoError(t, g.Flush(ctx))
}

// waitUntil polls cond (every 10 ms) until it holds; for state with no
// event to wait on (counters, health). It fails the test after deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not reached within %v", what, deadline)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
