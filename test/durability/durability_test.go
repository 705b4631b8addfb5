//go:build integration

package durability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/socketio"
	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/jetstream"
	"github.com/sockgate/sockgate/transport/redisstream"
)

// events is how many events the worker emits while the node is cut off.
const events = 10_000

// proxy forwards TCP connections to target until Cut, which closes the
// listener and every connection; Restore listens again on the same port.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.Cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
}

// Cut closes the listener and every forwarded connection.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// Restore accepts connections again on the same address.
func (p *proxy) Restore() {
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(p.t, err)
	p.serve(ln)
}

// node is a Go server node: socketio with a user from the auth payload
// ({"user": id}), a cluster.Manager on sub/pub, an HTTP listener.
type node struct {
	url string
	srv *socketio.Server
	mgr *cluster.Manager
}

func startNode(t *testing.T, ps interface {
	transport.Publisher
	transport.Subscriber
}) *node {
	t.Helper()
	// A node that returns from an outage delivers what it missed as fast
	// as it reads it (with packing, 10,000 events in well under a second);
	// a python client takes them more slowly, and with the default
	// SendQueue (1,024 packets) the server would close it as slow, which
	// is its policy, tested in socketio. The queue is sized for the burst.
	srv, err := socketio.NewServer(socketio.Config{SendQueue: 2 * events})
	require.NoError(t, err)
	srv.Of("/").Use(func(_ context.Context, hs *socketio.Handshake) error {
		var a struct{ User string }
		if err := hs.BindAuth(&a); err != nil {
			return err
		}
		hs.SetUser(a.User)
		return nil
	})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := cluster.New(cluster.Config{Server: srv, Publisher: ps, Subscriber: ps, Logger: log})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.Close(ctx)
		_ = srv.Close(ctx)
		_ = hs.Close()
	})
	return &node{url: "http://" + ln.Addr().String(), srv: srv, mgr: m}
}

func seqOf(l testenv.Line) int64 {
	if l.Str("event") != "seq" {
		return -1
	}
	args, _ := l.JSON["args"].([]any)
	if len(args) != 1 {
		return -1
	}
	n, err := args[0].(json.Number).Int64()
	if err != nil {
		return -1
	}
	return n
}

// scenario is what happens to the broker around the emits; every step is
// optional.
type scenario struct {
	before  func() // before the first event
	mid     func() // once the first half is emitted and 1,000 are published
	emitted func() // once every event is emitted (the worker may be retrying)
	flushed func() // once the worker has published everything
	// stored, when set, replays the channel from the broker: on a
	// failure the test reports which events the broker holds, to tell a
	// broker that lost them from a node that skipped them.
	stored transport.Replayer
}

// run is the test: a client of the node in the user's room; 10,000 events
// emitted by a worker in two halves around the scenario's steps; the client
// gets them all, in order, once.
func run(t *testing.T, n *node, sc scenario, w *gateway.Worker) {
	testenv.RequirePython(t, "socketio", "aiohttp")
	c := testenv.StartPython(t, "client", testenv.PythonPeer("py_client.py"),
		"--url", n.url, "--auth", `{"user": "u1"}`, "--ns", "/")
	c.Out.WaitFor(t, "connected", 0, func(l testenv.Line) bool { return l.Str("connected") != "" })
	ctx := context.Background()
	flush := func() {
		fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		require.NoError(t, w.Flush(fctx))
	}
	step := func(f func()) {
		if f != nil {
			f()
		}
	}
	emit := func(from, to int) {
		for i := from; i < to; i++ {
			require.NoError(t, w.EmitToUser(ctx, "u1", "seq", i, gateway.WaitIfFull()))
		}
	}

	require.NoError(t, w.EmitToUser(ctx, "u1", "ready", "x"))
	flush()
	c.Out.WaitFor(t, "the ready event", 0, func(l testenv.Line) bool { return l.Str("event") == "ready" })
	base := w.Stats().Published

	step(sc.before)
	start := time.Now()
	emit(0, events/2)
	waitPublished(t, w, base+1000)
	step(sc.mid)
	emit(events/2, events)
	step(sc.emitted)
	flush()
	t.Logf("worker published %d events in %v; health %+v; worker %+v",
		events, time.Since(start).Round(time.Millisecond), n.mgr.Health(), w.Stats())
	step(sc.flushed)
	back := time.Now()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server %+v", n.srv.Stats())
		}
	})
	_, last := c.Out.WaitForWithin(t, 60*time.Second, "the last event", 0,
		func(l testenv.Line) bool { return seqOf(l) == events-1 })
	t.Logf("all %d events at the client %v after the broker or the connection returned; manager %+v",
		events, last.At.Sub(back).Round(time.Millisecond), n.mgr.Stats())

	next := int64(0)
	for _, l := range c.Out.Snapshot() {
		s := seqOf(l)
		if s < 0 {
			continue
		}
		if s != next {
			if sc.stored != nil {
				t.Logf("the broker holds: %s", storedEvents(t, sc.stored, next))
			}
			t.Fatalf("event %d arrived where %d was due (lost, reordered or twice)", s, next)
		}
		next++
	}
	require.Equal(t, int64(events), next)
}

// storedEvents replays the channel and summarises the seq events the
// broker holds as ranges, with the stored IDs at their edges.
func storedEvents(t *testing.T, r transport.Replayer, missing int64) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch, err := r.SubscribeFrom(ctx, "socketio", "")
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	start, last, startID, lastID := int64(-2), int64(-2), "", ""
	flush := func() {
		if start >= 0 {
			fmt.Fprintf(&b, "[%d..%d] (%s..%s) ", start, last, startID, lastID)
		}
	}
	for {
		select {
		case d, ok := <-ch:
			if !ok {
				return b.String()
			}
			var m struct {
				Event string `json:"event"`
				Data  []any  `json:"data"`
			}
			if json.Unmarshal(d.Data, &m) != nil || m.Event != "seq" || len(m.Data) != 1 {
				continue
			}
			n := int64(m.Data[0].(float64))
			if n == missing {
				fmt.Fprintf(&b, "(the first missing event, %d, is stored as %s) ", n, d.ID)
			}
			if n != last+1 {
				flush()
				start, startID = n, d.ID
			}
			last, lastID = n, d.ID
		case <-time.After(2 * time.Second): // the end of the stream: no event marks it
			flush()
			return b.String()
		}
	}
}

// waitPublished waits until the worker has published n messages in all.
// The worker has no event for it, so its counter is polled.
func waitPublished(t *testing.T, w *gateway.Worker, n uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for w.Stats().Published < n {
		if time.Now().After(deadline) {
			t.Fatalf("the worker published %d of %d within 60 s", w.Stats().Published, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func newWorker(t *testing.T, pub transport.Publisher) *gateway.Worker {
	t.Helper()
	w, err := gateway.NewWorker(gateway.WorkerConfig{Publisher: pub})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	return w
}

func TestRedisStreamsNodeCutOff(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t, testenv.WithRedisArgs("--appendonly", "yes"))
	px := startProxy(t, rs.Addr())
	nodeClient := redis.NewClient(&redis.Options{Addr: px.addr, PoolSize: 8, DialTimeout: time.Second})
	t.Cleanup(func() { _ = nodeClient.Close() })
	nodePS, err := redisstream.New(redisstream.Config{Client: nodeClient, Consumer: "node-1"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = nodePS.Close() })
	workerClient := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = workerClient.Close() })
	workerPS, err := redisstream.New(redisstream.Config{Client: workerClient})
	require.NoError(t, err)
	run(t, startNode(t, nodePS), scenario{before: px.Cut, flushed: px.Restore, stored: workerPS}, newWorker(t, workerPS))
}

func TestJetStreamNodeCutOff(t *testing.T) {
	t.Parallel()
	ns := testenv.StartNATS(t)
	px := startProxy(t, ns.Addr())
	nodeConn, err := nats.Connect("nats://"+px.addr, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.ReconnectBufSize(-1))
	require.NoError(t, err)
	t.Cleanup(nodeConn.Close)
	nodePS, err := jetstream.New(jetstream.Config{Conn: nodeConn, Consumer: "node-1"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = nodePS.Close() })
	workerConn, err := nats.Connect(ns.URL(), nats.ReconnectBufSize(-1))
	require.NoError(t, err)
	t.Cleanup(workerConn.Close)
	workerPS, err := jetstream.New(jetstream.Config{Conn: workerConn})
	require.NoError(t, err)
	run(t, startNode(t, nodePS), scenario{before: px.Cut, flushed: px.Restore, stored: workerPS}, newWorker(t, workerPS))
}

// The broker restarts (SIGKILL, then the same port and data) while the
// worker publishes: batches whose confirmations died with the broker are
// retried with the same numbers, so Redis keeps each event once; the node
// resumes from its pending entries.
func TestRedisStreamsBrokerRestart(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t, testenv.WithRedisArgs("--appendonly", "yes", "--appendfsync", "always"))
	opts := func() *redis.Options {
		return &redis.Options{Addr: rs.Addr(), PoolSize: 8, DialTimeout: time.Second, MaxRetries: -1}
	}
	nodeClient := redis.NewClient(opts())
	t.Cleanup(func() { _ = nodeClient.Close() })
	nodePS, err := redisstream.New(redisstream.Config{Client: nodeClient, Consumer: "node-1"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = nodePS.Close() })
	workerClient := redis.NewClient(opts())
	t.Cleanup(func() { _ = workerClient.Close() })
	workerPS, err := redisstream.New(redisstream.Config{Client: workerClient})
	require.NoError(t, err)
	w := newWorker(t, workerPS)
	run(t, startNode(t, nodePS), scenario{mid: rs.Kill, emitted: func() { waitRetrying(t, w); rs.Restart() }, stored: workerPS}, w)
	requireRetried(t, w, workerPS)
}

// waitRetrying waits until the worker has seen a publish fail, so that the
// broker comes back while the worker retries.
func waitRetrying(t *testing.T, w *gateway.Worker) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for w.Stats().Failed == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the worker saw no failed publish within 60 s of the broker's death")
		}
		time.Sleep(time.Millisecond) // the worker's counter has no event to await
	}
}

// requireRetried logs how many retried messages the broker already held.
func requireRetried(t *testing.T, _ *gateway.Worker, pub interface{ Repeats() uint64 }) {
	t.Helper()
	t.Logf("retried messages the broker already held (not stored again): %d", pub.Repeats())
}

// As TestRedisStreamsBrokerRestart, on JetStream: the retried messages
// carry the same Nats-Msg-Id, which the restarted server recognises.
func TestJetStreamBrokerRestart(t *testing.T) {
	t.Parallel()
	ns := testenv.StartNATS(t)
	connect := func() *nats.Conn {
		c, err := nats.Connect(ns.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
			nats.ReconnectBufSize(-1))
		require.NoError(t, err)
		t.Cleanup(c.Close)
		return c
	}
	var logs testenv.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node transport log:\n%s", logs.String())
		}
	})
	nodePS, err := jetstream.New(jetstream.Config{Conn: connect(), Consumer: "node-1",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = nodePS.Close() })
	workerPS, err := jetstream.New(jetstream.Config{Conn: connect()})
	require.NoError(t, err)
	w := newWorker(t, workerPS)
	run(t, startNode(t, nodePS), scenario{mid: ns.Kill, emitted: func() { waitRetrying(t, w); ns.Restart() }, stored: workerPS}, w)
	requireRetried(t, w, workerPS)
}
