//go:build integration

package integration

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

// deadline bounds every wait for something a process should print.
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

// uniqueChannel returns a channel name no other test (or -count repetition)
// uses.
func uniqueChannel(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return "sockgate-it:" + name + ":" + hex.EncodeToString(b[:])
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

// waitFor waits until a line at index >= from satisfies match and returns
// its index. It fails the test after deadline or when the output ends.
func (l *lineLog) waitFor(t *testing.T, what string, from int, match func(line) bool) (int, line) {
	t.Helper()
	timeout := time.NewTimer(deadline)
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
			t.Fatalf("%s: no %s within %v;\n%s", l.name, what, deadline, l.dump())
		}
	}
}

func (l *lineLog) dump() string {
	var b strings.Builder
	for i, ln := range l.snapshot() {
		fmt.Fprintf(&b, "  %3d %s\n", i, ln.Raw)
	}
	return b.String()
}

// proc is a python helper process.
type proc struct {
	out    *lineLog
	stdin  io.WriteCloser
	stderr *syncBuffer
	cmd    *exec.Cmd
	done   chan struct{}
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
// the test ends (stdin closed, then killed if it lingers); its stderr is
// logged when the test failed.
func startPython(t *testing.T, name, script string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(pythonBin(), append([]string{"-u", filepath.Join("testdata", script)}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	cmd.SysProcAttr = procAttr()
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &proc{stdin: stdin, stderr: &syncBuffer{}, cmd: cmd, done: make(chan struct{})}
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

// stop closes stdin (the client's signal to leave), then terminates and
// finally kills the process, waiting for it to exit.
func (p *proc) stop() {
	_ = p.stdin.Close()
	select {
	case <-p.done:
		return
	case <-time.After(2 * time.Second):
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

// pyServer is py_server.py: a python-socketio AsyncServer on AsyncRedisManager.
type pyServer struct {
	*proc
	url string
}

// startPyServer starts py_server.py on a free port and waits until it listens
// and its queue listener is subscribed to channel.
func startPyServer(t *testing.T, rdb *redis.Client, redisURL, channel string, extra ...string) *pyServer {
	t.Helper()
	p := startPython(t, "py_server", "py_server.py",
		append([]string{"--port", "0", "--redis-url", redisURL, "--channel", channel}, extra...)...)
	_, ready := p.out.waitFor(t, `{"ready": port}`, 0, func(l line) bool { return l.JSON["ready"] != nil })
	s := &pyServer{proc: p, url: "http://127.0.0.1:" + ready.JSON["ready"].(json.Number).String()}
	waitSubscribed(t, rdb, channel)
	return s
}

// pyClient is py_client.py connected to a pyServer.
type pyClient struct {
	*proc
	sids map[string]string // namespace -> sid
}

// startPyClient connects a python-socketio client with auth on namespaces
// and waits until every namespace is connected.
func startPyClient(t *testing.T, name string, srv *pyServer, auth map[string]any, namespaces ...string) *pyClient {
	t.Helper()
	a, err := json.Marshal(auth)
	require.NoError(t, err)
	args := []string{"--url", srv.url, "--auth", string(a)}
	for _, ns := range namespaces {
		args = append(args, "--ns", ns)
	}
	c := &pyClient{proc: startPython(t, name, "py_client.py", args...), sids: map[string]string{}}
	for _, ns := range namespaces {
		_, l := c.out.waitFor(t, "connected to "+ns, 0, func(l line) bool {
			return l.str("ns") == ns && l.str("connected") != ""
		})
		c.sids[ns] = l.str("connected")
		// The server prints the connect after joining the auth rooms; wait
		// for it too so no emit can race the room setup.
		srv.out.waitFor(t, "server connect of "+name+" on "+ns, 0, func(l line) bool {
			return l.str("connect") == c.sids[ns]
		})
	}
	return c
}

// event is one event a client received: its namespace, name and arguments
// (normalized, see norm).
type event struct {
	NS    string
	Event string
	Args  any
}

func (e event) String() string {
	b, _ := json.Marshal(e.Args)
	return fmt.Sprintf("%s %s %s", e.NS, e.Event, b)
}

// events returns the events among lines, in order.
func events(lines []line) []event {
	var out []event
	for _, l := range lines {
		if l.JSON == nil || l.JSON["event"] == nil {
			continue
		}
		out = append(out, event{NS: l.str("ns"), Event: l.str("event"), Args: norm(l.JSON["args"])})
	}
	return out
}

// ev builds an expected event; args is the Go value the python client must
// print (JSON-marshalled and normalized like the received side).
func ev(t *testing.T, ns, name string, args ...any) event {
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
	return event{NS: ns, Event: name, Args: norm(v)}
}

// norm makes decoded JSON comparable with exact numbers: an integer literal
// becomes "int:<digits>" (any size, exact), any other number
// "float:<shortest float64 form>" (so 1e300 and 1e+300 compare equal, and
// 0.1 must be exactly the float64 0.1). Python prints ints without a
// fraction and floats with one or an exponent, so the two never mix.
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

// waitSubscribed polls PUBSUB NUMSUB until channel has a subscriber.
func waitSubscribed(t *testing.T, rdb *redis.Client, channel string) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		n, err := rdb.PubSubNumSub(ctx, channel).Result()
		cancel()
		if err == nil && n[channel] >= 1 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("channel %q has no subscriber after %v (last error %v)", channel, deadline, err)
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

// newLegacyWorker returns a gateway.Worker that publishes on channel in the
// Legacy dialect (python-socketio before 5.14), closed at cleanup. It takes
// the production path: redisurl builds the go-redis client from the URL,
// with the client options an application gets, and redispubsub publishes.
func newLegacyWorker(t *testing.T, redisURL, channel string) *gateway.Worker {
	t.Helper()
	rdb, err := redisurl.NewClient(redisURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	ps, err := redispubsub.New(redispubsub.Config{Client: rdb})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	w, err := gateway.NewWorker(gateway.WorkerConfig{
		Publisher: ps,
		Channel:   channel,
		Codec:     codec.NewPython(codec.PythonConfig{Dialect: codec.Legacy}),
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}

// tap subscribes to channel with its own connection and counts what is
// published there, so a test can check that nothing beyond the expected
// messages reached the broker.
type tap struct {
	mu   sync.Mutex
	msgs [][]byte
	ps   *redis.PubSub
	done chan struct{}
}

func startTap(t *testing.T, rdb *redis.Client, channel string) *tap {
	t.Helper()
	ctx := context.Background()
	ps := rdb.Subscribe(ctx, channel)
	_, err := ps.Receive(ctx) // the subscription confirmation
	require.NoError(t, err)
	tp := &tap{ps: ps, done: make(chan struct{})}
	go func() {
		defer close(tp.done)
		for {
			m, err := ps.ReceiveMessage(ctx)
			if err != nil {
				return
			}
			tp.mu.Lock()
			tp.msgs = append(tp.msgs, []byte(m.Payload))
			tp.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ps.Close()
		<-tp.done
	})
	return tp
}

func (tp *tap) count() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.msgs)
}
