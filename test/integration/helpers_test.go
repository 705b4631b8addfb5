//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
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
	line = testenv.Line
	proc = testenv.Proc
)

// requirePython skips the test (fails it with CI=true) when the python side
// is not installed.
func requirePython(t *testing.T) {
	t.Helper()
	testenv.RequirePython(t, "socketio", "aiohttp", "redis", "engineio")
}

// uniqueChannel returns a channel name no other test (or -count repetition)
// uses.
func uniqueChannel(t *testing.T) string { return testenv.UniqueName(t, "sockgate-it:") }

// pyClientScript is the python-socketio client both integration packages
// drive.
var pyClientScript = testenv.PythonPeer("py_client.py")

// startPython runs test/peers/python/<script> with args (see testenv.StartPython).
func startPython(t *testing.T, name, script string, args ...string) *proc {
	t.Helper()
	return testenv.StartPython(t, name, testenv.PythonPeer(script), args...)
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
	_, ready := p.Out.WaitFor(t, `{"ready": port}`, 0, func(l line) bool { return l.JSON["ready"] != nil })
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
	c := &pyClient{proc: testenv.StartPython(t, name, pyClientScript, args...), sids: map[string]string{}}
	for _, ns := range namespaces {
		_, l := c.Out.WaitFor(t, "connected to "+ns, 0, func(l line) bool {
			return l.Str("ns") == ns && l.Str("connected") != ""
		})
		c.sids[ns] = l.Str("connected")
		// The server prints the connect after joining the auth rooms; wait
		// for it too so no emit can race the room setup.
		srv.Out.WaitFor(t, "server connect of "+name+" on "+ns, 0, func(l line) bool {
			return l.Str("connect") == c.sids[ns]
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
		out = append(out, event{NS: l.Str("ns"), Event: l.Str("event"), Args: norm(l.JSON["args"])})
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

// norm makes decoded JSON comparable with exact numbers (testenv.Norm).
func norm(v any) any { return testenv.Norm(v) }

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
