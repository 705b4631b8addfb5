//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/internal/testenv"
)

// TestWorkerSurvivesRedisRestart kills redis-server under a worker that
// emits every 2 ms, restarts it half a second later, and checks that emits
// never failed or blocked, that the worker resumed publishing, that every
// message is accounted for, and how long the first post-restart event takes
// to reach a python-socketio client.
//
// The outage is shorter than python-socketio 5.7.2's first listener retry
// (it sleeps 1 s, then 2 s, 4 s, ... between attempts to resubscribe), so
// the end-to-end figure shows our side plus one python retry; a longer
// outage adds python's next backoff step, whatever the worker does. Both
// figures are logged; docs/benchmarks.md records them.
func TestWorkerSurvivesRedisRestart(t *testing.T) {
	t.Parallel()
	requirePython(t)
	rs := testenv.StartRedis(t)
	rdb := newRedisClient(t, rs.Addr())
	channel := uniqueChannel(t)
	srv := startPyServer(t, rdb, rs.URL(), channel)
	c := startPyClient(t, "client (user 1)", srv, map[string]any{"user": "1"}, "/")
	w := newLegacyWorker(t, rs.URL(), channel)

	const (
		interval     = 2 * time.Millisecond
		emitDeadline = 100 * time.Millisecond
		outage       = 500 * time.Millisecond
	)
	var (
		next     atomic.Int64 // the sequence number of the next emit call
		maxEmit  atomic.Int64 // the slowest emit call, in nanoseconds
		emitErrs atomic.Int64
		errMu    sync.Mutex
		firstErr error
	)
	stop, emitterDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(emitterDone)
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("emitter panicked: %v", r)
			}
		}()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			n := next.Add(1) - 1
			ctx, cancel := context.WithTimeout(context.Background(), emitDeadline)
			start := time.Now()
			err := w.EmitToUser(ctx, "1", "seq", map[string]any{"seq": n})
			d := time.Since(start)
			cancel()
			for m := maxEmit.Load(); int64(d) > m && !maxEmit.CompareAndSwap(m, int64(d)); m = maxEmit.Load() {
			}
			if err != nil {
				emitErrs.Add(1)
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
			}
		}
	}()
	stopEmitter := sync.OnceFunc(func() {
		close(stop)
		<-emitterDone
	})
	t.Cleanup(stopEmitter)

	seqOf := func(l line) int64 {
		if l.Str("event") != "seq" {
			return -1
		}
		args, _ := l.JSON["args"].([]any)
		if len(args) != 1 {
			return -1
		}
		m, _ := args[0].(map[string]any)
		n, err := m["seq"].(json.Number).Int64()
		if err != nil {
			return -1
		}
		return n
	}

	// Events flow before the outage.
	c.Out.WaitFor(t, "event seq >= 20", 0, func(l line) bool { return seqOf(l) >= 20 })

	rs.Kill()
	killedAt := time.Now()
	require.Eventually(t, func() bool { return !w.Stats().Connected }, deadline, time.Millisecond,
		"the worker notices the outage")
	noticed := time.Since(killedAt)
	// The scenario: the broker stays down for a while with emits going on.
	time.Sleep(outage - time.Since(killedAt))

	rs.Restart()
	readyAt := time.Now() // Restart returns once redis-server answers
	restartSeq := next.Load()
	t.Logf("redis-server down for %v (the worker noticed after %v); first sequence number emitted after the restart: %d",
		readyAt.Sub(killedAt).Round(time.Millisecond), noticed, restartSeq)

	// Where the recovery time goes: the worker's own reconnect, and python's
	// resubscription to the channel.
	var goBack, pyBack time.Duration
	measured := make(chan struct{})
	go func() {
		defer close(measured)
		end := readyAt.Add(deadline)
		for time.Now().Before(end) && (goBack == 0 || pyBack == 0) {
			if s := w.Stats(); goBack == 0 && s.Connected && s.Reconnects >= 1 {
				goBack = time.Since(readyAt)
			}
			if pyBack == 0 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				n, err := rdb.PubSubNumSub(ctx, channel).Result()
				cancel()
				if err == nil && n[channel] >= 1 {
					pyBack = time.Since(readyAt)
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	_, first := c.Out.WaitFor(t, "an event emitted after the restart", 0, func(l line) bool { return seqOf(l) >= restartSeq })
	recovery := first.At.Sub(readyAt)
	<-measured
	// Keep emitting a little longer: from python's resubscription on,
	// nothing may go missing.
	tail := next.Load() + 20
	c.Out.WaitFor(t, "more events after the restart", 0, func(l line) bool { return seqOf(l) >= tail })

	stopEmitter()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	require.NoError(t, w.Flush(ctx))
	require.NoError(t, w.Close(ctx))

	s := w.Stats()
	t.Logf("stats after Close: %+v", s)
	assert.Zero(t, emitErrs.Load(), "emit calls returned errors; first: %v", firstErr)
	assert.Less(t, time.Duration(maxEmit.Load()), emitDeadline, "the slowest emit call")
	assert.Equal(t, s.Emitted, s.Published+s.Unreceived+s.Dropped, "every emit ends published, unreceived or dropped")
	assert.Equal(t, uint64(next.Load()), s.Emitted)
	assert.Zero(t, s.Queued)
	assert.GreaterOrEqual(t, s.Reconnects, uint64(1))
	assert.Less(t, recovery, 10*time.Second, "sanity bound on recovery")

	// What the client got: in order, with the gap of the outage (Redis
	// pub/sub is at most once towards subscribers).
	var got []int64
	for _, l := range c.Out.Snapshot() {
		if n := seqOf(l); n >= 0 {
			got = append(got, n)
		}
	}
	dups := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Errorf("events out of order: %d after %d", got[i], got[i-1])
		}
		if got[i] == got[i-1] {
			dups++
		}
	}
	assert.Zero(t, dups, "duplicate deliveries")
	firstAfter := seqOf(first)
	for i := 1; i < len(got); i++ {
		if got[i-1] >= firstAfter && got[i] != got[i-1]+1 {
			t.Errorf("event %d lost after python resubscribed (got %d next)", got[i-1]+1, got[i])
		}
	}

	t.Logf("slowest emit call: %v (deadline %v)", time.Duration(maxEmit.Load()), emitDeadline)
	t.Logf("after redis-server accepted connections again: worker publishing after %v, python resubscribed after %v, first post-restart event at the client after %v",
		goBack.Round(time.Millisecond), pyBack.Round(time.Millisecond), recovery.Round(time.Millisecond))
	t.Logf("client received %d of %d emitted events (%d lost while python was unsubscribed)",
		len(got), s.Emitted, int(s.Emitted)-len(got))
}
