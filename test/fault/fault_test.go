//go:build integration

package fault

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/internal/peertest"
	"github.com/sockgate/sockgate/internal/redisserver"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

// The figures: 10,000 events per fault at 1,000 a second.
const (
	total = 10000
	rate  = 1000
	// faultAt is the event after which the fault is injected.
	faultAt = 2000
)

// receiver is one channel of the rig: a worker publishing to it, one
// server subscribed to it, and a sequence-checking client of that server.
type receiver struct {
	name    string
	channel string
	worker  *gateway.Worker
	client  *pyClient
	emit    *emitter
	checker *identityChecker
}

// rig is one redis-server with a python-socketio server and a Go node, each
// on its own channel with its own worker, so that what each client misses
// can be compared with what its worker counted.
type rig struct {
	rs    *redisserver.Server
	admin redis.UniversalClient
	py    *receiver
	gon   *receiver
}

func newRig(t *testing.T, mode gateway.Delivery) *rig {
	t.Helper()
	requirePeers(t)
	rs := redisserver.Start(t)
	r := &rig{rs: rs, admin: newRedisClient(t, rs.URL())}
	user := "u-" + peertest.RandHex(4)

	pyCh := peertest.UniqueName(t, "sockgate-fault-py:")
	ps := startPyServer(t, r.admin, rs.URL(), pyCh)
	r.py = &receiver{name: "python-socketio 5.7.2", channel: pyCh,
		worker: newWorker(t, rs.URL(), pyCh, mode),
		client: startPyClient(t, "client-on-python", ps.url, map[string]any{"user": user})}

	goCh := peertest.UniqueName(t, "sockgate-fault-go:")
	gn := startGoNode(t, rs.URL(), goCh)
	r.gon = &receiver{name: "go node", channel: goCh,
		worker: newWorker(t, rs.URL(), goCh, mode),
		client: startPyClient(t, "client-on-go", gn.url, map[string]any{"token": token(t, user)})}

	for _, rc := range []*receiver{r.py, r.gon} {
		rc.checker = checkIdentity(t, rc.worker)
		rc.emit = startEmitter(t, rc.worker, user, total, rate)
	}
	return r
}

// newWorker returns the production path: redisurl's client, redispubsub,
// a Worker in python-socketio 5.7.2's dialect.
func newWorker(t *testing.T, redisURL, channel string, mode gateway.Delivery) *gateway.Worker {
	t.Helper()
	log := testLogger(t, &peertest.Buffer{}).With("role", "worker", "channel", channel)
	ps, err := redispubsub.New(redispubsub.Config{Client: newRedisClient(t, redisURL), Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	w, err := gateway.NewWorker(gateway.WorkerConfig{
		Publisher: ps, Channel: channel, Codec: legacy(), Logger: log, Delivery: mode,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}

// identityChecker samples a worker's Stats while it runs and records every
// snapshot where Emitted != Published + Unreceived + Dropped + Queued.
type identityChecker struct {
	mu      sync.Mutex
	samples int
	bad     []gateway.Stats
	stop    chan struct{}
	done    chan struct{}
}

func checkIdentity(t *testing.T, w *gateway.Worker) *identityChecker {
	c := &identityChecker{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tk.C:
			}
			st := w.Stats()
			c.mu.Lock()
			c.samples++
			if st.Emitted != st.Published+st.Unreceived+st.Dropped+st.Queued && len(c.bad) < 10 {
				c.bad = append(c.bad, st)
			}
			c.mu.Unlock()
		}
	}()
	t.Cleanup(c.finish)
	return c
}

func (c *identityChecker) finish() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
}

func (c *identityChecker) assert(t *testing.T, name string) {
	t.Helper()
	c.finish()
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Empty(t, c.bad, "%s: snapshots where Emitted != Published + Unreceived + Dropped + Queued (of %d)", name, c.samples)
	t.Logf("%s: identity held in %d snapshots", name, c.samples)
}

// finish waits for every event to be emitted and published (or counted),
// then sends an "end" marker through the same worker: delivery is in order
// per publisher, so once a client has it, it has everything it will get.
func (r *rig) finish(t *testing.T) {
	t.Helper()
	for _, rc := range []*receiver{r.py, r.gon} {
		select {
		case <-rc.emit.done:
		case <-time.After(total/rate*time.Second + deadline):
			t.Fatalf("%s: the emitter did not finish", rc.name)
		}
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		require.NoError(t, rc.worker.Flush(ctx), "%s: flush", rc.name)
		cancel()
		marker(t, rc)
		rc.checker.assert(t, rc.name)
	}
}

// marker emits "end" and waits for the client to receive it.
func marker(t *testing.T, rc *receiver) {
	t.Helper()
	from := rc.client.Out.Len()
	require.NoError(t, rc.worker.Broadcast(context.Background(), "end", nil))
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	require.NoError(t, rc.worker.Flush(ctx))
	rc.client.Out.WaitFor(t, rc.name+": the end marker", from, func(l line) bool { return l.Str("event") == "end" })
}

// report logs and returns what rc's client received against rc's worker's
// Stats.
func report(t *testing.T, rc *receiver) (tally, gateway.Stats) {
	t.Helper()
	tl := count(rc.client, total)
	st := rc.worker.Stats()
	t.Logf("%s: received %d of %d (missing %d, first gap %d, duplicates %d, reordered %d); worker %+v",
		rc.name, tl.received, total, tl.missing, tl.firstGap, tl.duplicates, tl.reordered, st)
	return tl, st
}

// unaccounted is what the worker counted as not delivered.
func unaccounted(st gateway.Stats) uint64 { return st.Unreceived + st.Dropped }

func TestKillAndRestart(t *testing.T) {
	t.Parallel()
	r := newRig(t, gateway.AtLeastOnce)
	r.py.emit.waitSent(t, faultAt)
	r.gon.emit.waitSent(t, faultAt)
	killedAfter := r.gon.emit.sent.Load()
	r.rs.Kill()
	down := time.Now()
	r.gon.emit.waitSent(t, faultAt+1500) // 1.5 s down at 1,000/s
	r.rs.Restart()
	t.Logf("redis-server down %v", time.Since(down).Round(time.Millisecond))
	r.finish(t)
	checkBoth(t, r, gateway.AtLeastOnce, killedAfter)
}

func TestPausePastReadTimeout(t *testing.T) {
	for _, mode := range []gateway.Delivery{gateway.AtLeastOnce, gateway.AtMostOnce} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, mode)
			r.gon.emit.waitSent(t, faultAt)
			r.rs.Pause()
			paused := time.Now()
			// Past go-redis's read timeout: the worker's batch in flight
			// times out with its outcome unknown.
			waitUntil(t, "the worker sees the broker lost", func() bool { return !r.gon.worker.Stats().Connected })
			r.gon.emit.waitSent(t, r.gon.emit.sent.Load()+500)
			r.rs.Resume()
			t.Logf("redis-server paused %v", time.Since(paused).Round(time.Millisecond))
			r.finish(t)
			checkBoth(t, r, mode, 0)
		})
	}
}

func TestClientKill(t *testing.T) {
	t.Parallel()
	r := newRig(t, gateway.AtLeastOnce)
	r.gon.emit.waitSent(t, faultAt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Every subscriber's connection, then every other client's (the
	// workers'); the admin connection is spared (SKIPME yes).
	subs, err := r.admin.ClientKillByFilter(ctx, "TYPE", "pubsub").Result()
	require.NoError(t, err)
	normal, err := r.admin.ClientKillByFilter(ctx, "TYPE", "normal").Result()
	require.NoError(t, err)
	t.Logf("CLIENT KILL: %d pub/sub and %d other connections", subs, normal)
	r.finish(t)
	checkBoth(t, r, gateway.AtLeastOnce, 0)
}

// checkBoth asserts the suite's promises on both receivers. killedAfter,
// when positive, is the last event emitted before redis-server was killed:
// Redis may have answered a PUBLISH and died before writing the message to
// its subscriber, so events emitted just before it may be missing
// uncounted (at most killWindow).
func checkBoth(t *testing.T, r *rig, mode gateway.Delivery, killedAfter int64) {
	t.Helper()
	for _, rc := range []*receiver{r.gon, r.py} {
		tl, st := report(t, rc)
		counted := unaccounted(st)
		missing := uint64(tl.missing)
		if killedAfter > 0 && missing > counted {
			var near uint64
			for _, n := range tl.gaps {
				if n <= killedAfter && n > killedAfter-killWindow {
					near++
				}
			}
			if missing-counted <= near {
				t.Logf("%s: %d events Redis confirmed and lost with its process (emitted just before the kill)", rc.name, missing-counted)
				missing = counted
			}
		}
		assert.Zero(t, tl.reordered, "%s: reordered", rc.name)
		switch mode {
		case gateway.AtLeastOnce:
			assert.Equal(t, counted, missing, "%s: missing events against Unreceived + Dropped", rc.name)
			assert.LessOrEqual(t, uint64(tl.duplicates), st.Resent, "%s: duplicates against Resent", rc.name)
			// Every fault here ends within the resume grace, and
			// python-socketio resubscribes 1 s after it lost Redis:
			// nothing is missing beyond the kill's window.
			assert.LessOrEqual(t, uint64(tl.missing), uint64(killWindowIf(killedAfter)), "%s: events missing although the subscribers came back within the grace", rc.name)
		case gateway.AtMostOnce:
			assert.Zero(t, tl.duplicates, "%s: duplicates in at-most-once mode", rc.name)
			// Unconfirmed messages may have been delivered.
			assert.GreaterOrEqual(t, missing, counted-st.Unconfirmed, "%s: missing against Unreceived + Dropped - Unconfirmed", rc.name)
			assert.LessOrEqual(t, missing, counted, "%s: missing against Unreceived + Dropped", rc.name)
		}
		if rc == r.gon {
			assert.Zero(t, tl.duplicates, "a client of a Go node saw a duplicate")
		}
	}
}

// killWindow bounds the events a kill -9 can take with Redis's process
// after Redis confirmed them.
const killWindow = 100

func killWindowIf(killedAfter int64) int {
	if killedAfter > 0 {
		return killWindow
	}
	return 0
}
