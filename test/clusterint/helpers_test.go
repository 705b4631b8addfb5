//go:build integration

package clusterint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/transport/redispubsub"
	"github.com/sockgate/sockgate/transport/redisurl"
)

// deadline bounds every wait for something a process should print.
const deadline = testenv.Deadline

type (
	line       = testenv.Line
	proc       = testenv.Proc
	syncBuffer = testenv.Buffer
)

// requirePython skips the test (fails it with CI=true) when the python side
// is not installed.
func requirePython(t *testing.T) {
	t.Helper()
	testenv.RequirePython(t, "socketio", "aiohttp", "redis", "engineio")
}

func randHex(n int) string { return testenv.RandHex(n) }

// uniqueChannel returns a channel name no other test (or -count repetition)
// uses.
func uniqueChannel(t *testing.T) string { return testenv.UniqueName(t, "sockgate-clusterint:") }

// pyClientScript is the python-socketio client both integration packages
// drive.
var pyClientScript = testenv.PythonPeer("py_client.py")

// startPython runs test/peers/python/<script> with args (see testenv.StartPython).
func startPython(t *testing.T, name, script string, args ...string) *proc {
	t.Helper()
	return testenv.StartPython(t, name, testenv.PythonPeer(script), args...)
}

// runPython runs test/peers/python/<script> to its end and returns its JSON lines.
func runPython(t *testing.T, script string, args ...string) []line {
	t.Helper()
	p := startPython(t, script, script, args...)
	select {
	case <-p.Done():
	case <-time.After(deadline):
		t.Fatalf("%s did not finish within %v;\nstdout:\n%sstderr:\n%s", script, deadline, p.Out.Dump(), p.Stderr())
	}
	require.Equal(t, 0, p.Cmd.ProcessState.ExitCode(), "%s failed;\nstdout:\n%sstderr:\n%s", script, p.Out.Dump(), p.Stderr())
	// The reader has seen EOF once the process was reaped (Wait drains).
	return p.Out.Snapshot()
}

// pyServer is test/peers/python/py_server.py: a python-socketio 5.7.2 AsyncServer on
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
	_, ready := p.Out.WaitFor(t, `{"ready": port}`, 0, func(l line) bool { return l.JSON["ready"] != nil })
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
	from := s.Out.Len()
	s.Send(t, map[string]any{"cmd": "emit", "id": id, "event": event, "data": data, "room": room})
	s.Out.WaitFor(t, "emitted "+event, from, func(l line) bool { return numEq(l.JSON["emitted"], id) })
}

// rooms returns the rooms sid is in on the python server, or nil (and false)
// when sid is not connected there.
func (s *pyServer) rooms(t *testing.T, sid string) ([]string, bool) {
	t.Helper()
	s.cmds++
	id := s.cmds
	from := s.Out.Len()
	s.Send(t, map[string]any{"cmd": "rooms", "id": id, "sid": sid})
	_, l := s.Out.WaitFor(t, "rooms of "+sid, from, func(l line) bool { return l.Has("rooms") && numEq(l.JSON["id"], id) })
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

// numEq reports whether a JSON number equals n.
func numEq(v any, n int) bool {
	num, ok := v.(json.Number)
	return ok && num.String() == strconv.Itoa(n)
}

// pyClient is test/peers/python/py_client.py, a python-socketio 5.7.2 AsyncClient on
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
	c := &pyClient{proc: testenv.StartPython(t, name, pyClientScript, "--url", url, "--auth", string(a), "--ns", "/")}
	_, l := c.Out.WaitFor(t, "connected", 0, func(l line) bool { return l.Str("connected") != "" })
	c.sid = l.Str("connected")
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
		out = append(out, event{Event: l.Str("event"), Args: norm(l.JSON["args"])})
	}
	return out
}

// count returns how many times the client received event.
func (c *pyClient) count(name string) int {
	n := 0
	for _, e := range events(c.Out.Snapshot()) {
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
	i, l := c.Out.WaitFor(t, "event "+name, from, func(l line) bool { return l.Str("event") == name })
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

// norm makes decoded JSON comparable with exact numbers (testenv.Norm).
func norm(v any) any { return testenv.Norm(v) }

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
