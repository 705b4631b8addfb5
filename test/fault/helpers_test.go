//go:build integration

package fault

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/socketio"
	"github.com/sockgate/sockgate/transport/redispubsub"
	"github.com/sockgate/sockgate/transport/redisurl"
)

// deadline bounds every wait for something a process should do.
const deadline = testenv.Deadline

type line = testenv.Line

// testSecret signs the tokens our server accepts.
var testSecret = []byte("fault-suite-secret-0123456789abcdefghij")

// legacy is the codec python-socketio 5.7.2 accepts.
func legacy() codec.Codec { return codec.NewPython(codec.PythonConfig{Dialect: codec.Legacy}) }

func requirePeers(t *testing.T) {
	t.Helper()
	testenv.RequirePython(t, "socketio", "aiohttp", "redis", "engineio")
}

// testLogger returns a logger writing to the test log (until the test
// ends) and to buf.
func testLogger(t *testing.T, buf *testenv.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.MultiWriter(buf, testenv.LogWriter(t)), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// newRedisClient returns a go-redis client built from url the way an
// application builds it (redisurl), closed at cleanup.
func newRedisClient(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	rdb, err := redisurl.NewClient(url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// goNode is our server as a cluster node on one channel, with token auth.
type goNode struct {
	srv *socketio.Server
	mgr *cluster.Manager
	url string
}

func startGoNode(t *testing.T, redisURL, channel string) *goNode {
	t.Helper()
	log := testLogger(t, &testenv.Buffer{}).With("role", "go-node")
	srv, err := socketio.NewServer(socketio.Config{Logger: log, SendQueue: 20000})
	require.NoError(t, err)
	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	srv.Of("/").Use(socketio.TokenAuth(h))

	ps, err := redispubsub.New(redispubsub.Config{Client: newRedisClient(t, redisURL), Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	mgr, err := cluster.New(cluster.Config{
		Server: srv, Publisher: ps, Subscriber: ps, Channel: channel, Codec: legacy(), Logger: log,
	})
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = mgr.Close(ctx)
		_ = srv.Close(ctx)
		_ = hs.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	require.NoError(t, mgr.Start(ctx))
	go func() { _ = hs.Serve(ln) }()
	waitUntil(t, "go node subscribed", func() bool { return mgr.Health().Subscribed })
	return &goNode{srv: srv, mgr: mgr, url: "http://" + ln.Addr().String()}
}

// token returns a token for user, valid for an hour.
func token(t *testing.T, user string) string {
	t.Helper()
	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	tok, err := h.Mint(user, time.Hour)
	require.NoError(t, err)
	return tok
}

// pyServer is the python-socketio 5.7.2 AsyncServer on AsyncRedisManager
// that the cluster integration tests use.
type pyServer struct {
	*testenv.Proc
	url string
}

func startPyServer(t *testing.T, rdb redis.UniversalClient, redisURL, channel string) *pyServer {
	t.Helper()
	p := testenv.StartPython(t, "py_server", testenv.PythonPeer("py_server.py"),
		"--port", "0", "--redis-url", redisURL, "--channel", channel)
	_, ready := p.Out.WaitFor(t, `{"ready": port}`, 0, func(l line) bool { return l.JSON["ready"] != nil })
	s := &pyServer{Proc: p, url: "http://127.0.0.1:" + ready.JSON["ready"].(json.Number).String()}
	waitSubscribers(t, rdb, channel, 1)
	return s
}

// pyClient is test/peers/python/py_client.py connected over websocket.
type pyClient struct{ *testenv.Proc }

func startPyClient(t *testing.T, name, url string, authData map[string]any) *pyClient {
	t.Helper()
	a, err := json.Marshal(authData)
	require.NoError(t, err)
	c := &pyClient{testenv.StartPython(t, name, testenv.PythonPeer("py_client.py"),
		"--url", url, "--auth", string(a), "--ns", "/")}
	c.Out.WaitFor(t, "connected", 0, func(l line) bool { return l.Str("connected") != "" })
	return c
}

// seqN returns the n of a "seq" event line, or 0.
func seqN(l line) int64 {
	if l.Str("event") != "seq" {
		return 0
	}
	args, _ := l.JSON["args"].([]any)
	if len(args) != 1 {
		return 0
	}
	num, ok := args[0].(json.Number)
	if !ok {
		return 0
	}
	n, _ := num.Int64()
	return n
}

// tally is what a sequence-checking client received of events 1..total.
type tally struct {
	total      int64
	received   int     // distinct events
	duplicates int     // events received more than once (extra copies)
	reordered  int     // events received after a later one
	missing    int64   // events never received
	firstGap   int64   // the first missing event, 0 if none
	gaps       []int64 // the missing events
}

func count(c *pyClient, total int64) tally {
	seen := make(map[int64]int, total)
	tl := tally{total: total}
	var last int64
	for _, l := range c.Out.Snapshot() {
		n := seqN(l)
		if n == 0 {
			continue
		}
		seen[n]++
		if seen[n] > 1 {
			tl.duplicates++
			continue
		}
		if n < last {
			tl.reordered++
		}
		last = max(last, n)
	}
	tl.received = len(seen)
	for n := int64(1); n <= total; n++ {
		if seen[n] == 0 {
			tl.missing++
			tl.gaps = append(tl.gaps, n)
			if tl.firstGap == 0 {
				tl.firstGap = n
			}
		}
	}
	return tl
}

// emitter emits "seq" n (n = 1..total) to a user through g at rate per
// second, from one goroutine.
type emitter struct {
	sent atomic.Int64 // the last n handed to the gateway
	errs atomic.Int64
	done chan struct{}
}

func startEmitter(t *testing.T, g gateway.Gateway, user string, total int64, rate int) *emitter {
	t.Helper()
	e := &emitter{done: make(chan struct{})}
	stop := make(chan struct{})
	go func() {
		defer close(e.done)
		interval := time.Second / time.Duration(rate)
		start := time.Now()
		for n := int64(1); n <= total; n++ {
			// Paced against the start, so a slow step is caught up.
			if d := time.Until(start.Add(time.Duration(n) * interval)); d > 0 {
				select {
				case <-time.After(d):
				case <-stop:
					return
				}
			}
			if err := g.EmitToUser(context.Background(), user, "seq", n); err != nil {
				e.errs.Add(1)
			}
			e.sent.Store(n)
		}
	}()
	t.Cleanup(func() { close(stop); <-e.done })
	return e
}

// waitSent waits until the emitter has handed n events to its gateway.
func (e *emitter) waitSent(t *testing.T, n int64) {
	t.Helper()
	waitUntil(t, "emitted", func() bool { return e.sent.Load() >= n })
}

// waitSubscribers polls PUBSUB NUMSUB until channel has at least n
// subscribers (there is no event for another process's SUBSCRIBE).
func waitSubscribers(t *testing.T, rdb redis.UniversalClient, channel string, n int64) {
	t.Helper()
	waitUntil(t, "subscribers on "+channel, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		got, err := rdb.PubSubNumSub(ctx, channel).Result()
		return err == nil && got[channel] >= n
	})
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
