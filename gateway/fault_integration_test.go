//go:build integration

package gateway_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

// The fault tests run the worker over Redis pub/sub against a real
// redis-server of their own (internal/testenv), emitting about 1,000
// events a second, and compare what a subscriber received with the
// worker's Stats:
//
//	go test -tags integration -run Fault ./gateway/
//
// The subscriber is a plain go-redis subscription that, like
// python-socketio's AsyncRedisManager, subscribes again only after a delay
// once its connection is lost.

// faultChannel is a channel name unique to the test and run.
func faultChannel(t *testing.T) string {
	return "sockgate-fault-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// delayedSub records the seq argument of every event it receives.
type delayedSub struct {
	mu     sync.Mutex
	got    map[int64]int // seq -> times received
	total  int
	subs   atomic.Int64  // subscriptions confirmed so far
	lastUp atomic.Int64  // when the last subscription was confirmed (UnixNano)
	first  atomic.Int64  // when the first event after the last resubscription arrived
	wake   chan struct{} // receives after every event (dropped when full)
}

// startDelayedSub subscribes to channel on addr and, whenever the
// connection is lost, waits delay before subscribing again (retrying with
// the same delay while Redis is down). It returns once subscribed.
func startDelayedSub(t *testing.T, addr, channel string, delay time.Duration) *delayedSub {
	t.Helper()
	s := &delayedSub{got: map[int64]int{}, wake: make(chan struct{}, 1)}
	// go-redis reconnects and resubscribes a PubSub by itself when a
	// receive fails, before the error reaches us: a subscription we never
	// read would exist for a moment and take messages. Dials are allowed
	// only while this goroutine subscribes.
	var dialOK atomic.Bool
	client := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !dialOK.Load() {
				return nil, errors.New("delayedSub: not subscribing now")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var (
		psMu sync.Mutex
		cur  *redis.PubSub // closing it is what interrupts a blocked receive
	)
	t.Cleanup(func() {
		cancel()
		psMu.Lock()
		if cur != nil {
			_ = cur.Close()
		}
		psMu.Unlock()
		<-done
		_ = client.Close()
	})
	dec := codec.NewPython(codec.PythonConfig{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			psMu.Lock()
			dialOK.Store(true)
			ps := client.Subscribe(ctx, channel)
			cur = ps
			psMu.Unlock()
			_, err := ps.Receive(ctx) // the confirmation
			dialOK.Store(false)
			if err == nil {
				s.lastUp.Store(time.Now().UnixNano())
				s.first.Store(0)
				s.subs.Add(1)
				for {
					m, err := ps.ReceiveMessage(ctx)
					if err != nil {
						break
					}
					msg, err := dec.Decode([]byte(m.Payload))
					if err != nil {
						t.Errorf("undecodable message %q: %v", m.Payload, err)
						continue
					}
					seq, _ := msg.Arguments()[0].(interface{ Int64() (int64, error) }).Int64()
					s.first.CompareAndSwap(0, time.Now().UnixNano())
					s.mu.Lock()
					s.got[seq]++
					s.total++
					s.mu.Unlock()
					select {
					case s.wake <- struct{}{}:
					default:
					}
				}
			}
			_ = ps.Close()
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
		}
	}()
	require.Eventually(t, func() bool { return s.subs.Load() == 1 }, wait, time.Millisecond, "first subscription")
	return s
}

// has reports whether event seq arrived.
func (s *delayedSub) has(seq int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[seq] > 0
}

// finishFault emits the end marker (seq n) after the n events, flushes and waits
// until the marker arrived: events arrive in publish order, so everything
// published before it has arrived too. It returns the Stats after the
// flush.
func finishFault(t *testing.T, g *gateway.Worker, sub *delayedSub, n int64) gateway.Stats {
	t.Helper()
	require.NoError(t, g.EmitToRoom(context.Background(), "r", "seq", n))
	flushFor(t, g, wait)
	require.Eventually(t, func() bool { return sub.has(n) }, wait, time.Millisecond, "the end marker arrived")
	return g.Stats()
}

// tally compares what the subscriber got with the n events emitted (seq
// 0..n-1): which never arrived and how many arrived more than once.
func (s *delayedSub) tally(n int64) (missing []int64, dups int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for seq := range n {
		switch c := s.got[seq]; {
		case c == 0:
			missing = append(missing, seq)
		case c > 1:
			dups += c - 1
		}
	}
	return missing, dups
}

// emitter emits seq 0, 1, 2, ... at about rate a second until stopped.
type emitter struct {
	next atomic.Int64
	mu   sync.Mutex // held while a tick's events are emitted; pause holds it
	stop chan struct{}
	done chan struct{}
}

// pause waits for the tick being emitted, if any, and stops the emitter
// until resume.
func (e *emitter) pause() { e.mu.Lock() }

// resume lets a paused emitter go on.
func (e *emitter) resume() { e.mu.Unlock() }

func startEmitter(t *testing.T, g *gateway.Worker, perSecond int) *emitter {
	e := &emitter{stop: make(chan struct{}), done: make(chan struct{})}
	const tick = 10 * time.Millisecond
	each := max(1, perSecond/int(time.Second/tick))
	go func() {
		defer close(e.done)
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-tk.C:
			}
			e.mu.Lock()
			for range each {
				start := time.Now()
				if err := g.EmitToRoom(context.Background(), "r", "seq", e.next.Add(1)-1); err != nil {
					e.mu.Unlock()
					t.Errorf("emit: %v", err)
					return
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("an emit took %v: emits must not wait on the broker", d)
				}
			}
			e.mu.Unlock()
		}
	}()
	return e
}

// emitted stops the emitter and returns how many events it emitted.
func (e *emitter) emitted() int64 {
	close(e.stop)
	<-e.done
	return e.next.Load()
}

// until lets the emitter run until it has emitted n events in all.
func (e *emitter) until(t *testing.T, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return e.next.Load() >= n }, wait, time.Millisecond)
}

// faultWorker is a Worker over Redis pub/sub on addr with client options
// opts (Addr is set here).
func faultWorker(t *testing.T, addr string, opts redis.Options, cfg gateway.WorkerConfig) (*gateway.Worker, *redis.Client) {
	t.Helper()
	opts.Addr = addr
	client := redis.NewClient(&opts)
	t.Cleanup(func() { _ = client.Close() })
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	cfg.Publisher = ps
	return newWorker(t, cfg), client
}

func flushFor(t *testing.T, g *gateway.Worker, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	require.NoError(t, g.Flush(ctx))
}

// pid asks the server for its process id.
func pid(t *testing.T, addr string) int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "server").Result()
	require.NoError(t, err)
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no process_id in INFO server")
	return 0
}

// TestFaultKillRestartWithinGrace: redis-server is killed (SIGKILL) and
// restarted on the same port while the worker emits; the subscriber comes
// back only a second after losing its connection. The worker holds its
// backlog until it is back, so every event emitted from the kill on
// arrives.
func TestFaultKillRestartWithinGrace(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	channel := faultChannel(t)
	sub := startDelayedSub(t, rs.Addr(), channel, time.Second)
	g, _ := faultWorker(t, rs.Addr(), redis.Options{DialerRetries: 1, MaxRetries: -1},
		gateway.WorkerConfig{Channel: channel, RetryMax: 50 * time.Millisecond})
	e := startEmitter(t, g, 1000)
	e.until(t, 300)

	atKill := e.next.Load()
	rs.Kill()
	killed := time.Now()
	require.Eventually(t, func() bool { return !g.Stats().Connected }, wait, time.Millisecond)
	time.Sleep(300 * time.Millisecond) // the outage itself, not a synchronisation
	rs.Restart()
	restarted := time.Now()
	require.Eventually(t, func() bool { return sub.subs.Load() == 2 }, wait, time.Millisecond, "the subscriber resubscribed")
	require.Eventually(t, func() bool { return g.Stats().Connected }, wait, time.Millisecond, "publishing resumed")
	resumed := time.Now()
	e.until(t, e.next.Load()+300)
	n := e.emitted()
	s := finishFault(t, g, sub, n)
	lost, dups := sub.tally(n)
	missing := len(lost)
	back := time.Unix(0, sub.lastUp.Load())
	t.Logf("emitted %d (%d before the kill); outage %v; subscriber back %v after the restart; publishing resumed %v after it; missing %d %v, duplicates %d; %+v",
		n, atKill, restarted.Sub(killed).Round(time.Millisecond), back.Sub(restarted).Round(time.Millisecond),
		resumed.Sub(restarted).Round(time.Millisecond), missing, lost, dups, s)
	// What Redis had accepted (PUBLISH answered 1) but not yet written to
	// the subscriber's socket dies with it: only events emitted in the
	// last moment before the kill may be missing. Everything emitted
	// from the kill on was held until the subscriber was back.
	for _, seq := range lost {
		assert.True(t, seq < atKill && seq >= atKill-100, "event %d missing (the kill came at %d)", seq, atKill)
	}
	assert.LessOrEqual(t, uint64(dups), s.Resent, "duplicates only from batches sent again")
	assert.Zero(t, s.Unreceived)
	assert.Zero(t, s.Dropped)
	assert.Equal(t, uint64(1), s.Holds, "the backlog was held once")
	assert.False(t, resumed.Before(back), "nothing was published before the subscriber was back")
	assert.Equal(t, s.Emitted, s.Published+s.Unreceived+s.Dropped+s.Queued)
}

// TestFaultKillRestartBeyondGrace: the subscriber takes longer to come back
// than the grace, so the backlog goes out to no one: Unreceived counts
// exactly the events the subscriber never got.
func TestFaultKillRestartBeyondGrace(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	channel := faultChannel(t)
	sub := startDelayedSub(t, rs.Addr(), channel, 1500*time.Millisecond)
	g, _ := faultWorker(t, rs.Addr(), redis.Options{DialerRetries: 1, MaxRetries: -1},
		gateway.WorkerConfig{Channel: channel, RetryMax: 50 * time.Millisecond, ResumeGrace: 300 * time.Millisecond})
	e := startEmitter(t, g, 1000)
	e.until(t, 300)

	// Nothing in flight at the kill, so no outcome is unknown and the
	// count can be exact (a message Redis confirmed just before a kill can
	// die with it, unwritten to its subscriber); the emitter goes on
	// through the outage.
	e.pause()
	flushFor(t, g, wait)
	rs.Kill()
	e.resume()
	require.Eventually(t, func() bool { return !g.Stats().Connected }, wait, time.Millisecond)
	rs.Restart()
	require.Eventually(t, func() bool { return sub.subs.Load() == 2 }, wait, time.Millisecond, "the subscriber resubscribed")
	e.until(t, e.next.Load()+300)
	n := e.emitted()
	s := finishFault(t, g, sub, n)
	lost, dups := sub.tally(n)
	missing := len(lost)
	t.Logf("emitted %d; missing %d, duplicates %d; %+v", n, missing, dups, s)
	assert.Positive(t, missing, "the grace was too short for this subscriber")
	assert.Equal(t, uint64(missing), s.Unreceived, "Unreceived counts exactly the events that never arrived")
	assert.Zero(t, dups)
	assert.Zero(t, s.Dropped)
	assert.Equal(t, uint64(1), s.Holds)
	assert.Equal(t, s.Emitted, s.Published+s.Unreceived+s.Dropped+s.Queued)
}

// TestFaultStopPastReadTimeout: redis-server is stopped (SIGSTOP) for
// longer than the client's read timeout, so a batch it had received times
// out, then it continues (SIGCONT) and runs that batch. At-least-once sends
// the batch again: nothing is missing and the duplicates are at most the
// batch (Resent). At-most-once does not: no duplicate, and what is missing
// is counted (Unconfirmed, within Dropped).
func TestFaultStopPastReadTimeout(t *testing.T) {
	t.Parallel()
	for _, d := range []gateway.Delivery{gateway.AtLeastOnce, gateway.AtMostOnce} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			rs := testenv.StartRedis(t)
			channel := faultChannel(t)
			sub := startDelayedSub(t, rs.Addr(), channel, time.Second)
			const readTimeout = 500 * time.Millisecond
			g, _ := faultWorker(t, rs.Addr(), redis.Options{ReadTimeout: readTimeout, DialerRetries: 1, MaxRetries: -1},
				gateway.WorkerConfig{Channel: channel, RetryMax: 50 * time.Millisecond, Delivery: d})
			e := startEmitter(t, g, 1000)
			e.until(t, 300)

			p := pid(t, rs.Addr())
			require.NoError(t, syscall.Kill(p, syscall.SIGSTOP))
			stopped := true
			t.Cleanup(func() {
				if stopped {
					_ = syscall.Kill(p, syscall.SIGCONT)
				}
			})
			require.Eventually(t, func() bool { return !g.Stats().Connected }, wait, time.Millisecond)
			time.Sleep(3 * readTimeout) // the stop itself, not a synchronisation
			require.NoError(t, syscall.Kill(p, syscall.SIGCONT))
			stopped = false
			require.Eventually(t, func() bool { return g.Stats().Connected }, wait, time.Millisecond, "publishing resumed")
			e.until(t, e.next.Load()+300)
			n := e.emitted()
			s := finishFault(t, g, sub, n)
			lost, dups := sub.tally(n)
			missing := len(lost)
			t.Logf("emitted %d; stopped %v past the first read timeout; missing %d, duplicates %d; %+v",
				n, 3*readTimeout, missing, dups, s)
			assert.Equal(t, int64(1), sub.subs.Load(), "the subscriber stayed subscribed")
			assert.Zero(t, s.Unreceived)
			assert.Equal(t, s.Emitted, s.Published+s.Unreceived+s.Dropped+s.Queued)
			if d == gateway.AtLeastOnce {
				assert.Zero(t, missing, "nothing missing")
				assert.Positive(t, s.Resent, "the timed-out batch was sent again")
				assert.LessOrEqual(t, uint64(dups), s.Resent, "duplicates bounded by the unconfirmed batches")
				assert.Zero(t, s.Dropped)
			} else {
				assert.Zero(t, dups, "no duplicate")
				assert.Positive(t, s.Unconfirmed, "the timed-out batch was given up")
				assert.LessOrEqual(t, uint64(missing), s.Unconfirmed, "what is missing is counted")
				assert.Equal(t, s.Unconfirmed, s.Dropped)
				assert.Zero(t, s.Resent)
			}
		})
	}
}

// TestFaultClientKill: Redis closes the worker's connections (CLIENT KILL
// TYPE normal) again and again while it emits; the subscriber is
// untouched. Nothing is missing, duplicates are bounded by Resent, and no
// hold happens (the subscriber never left).
func TestFaultClientKill(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	channel := faultChannel(t)
	sub := startDelayedSub(t, rs.Addr(), channel, time.Second)
	g, _ := faultWorker(t, rs.Addr(), redis.Options{DialerRetries: 1, MaxRetries: -1},
		gateway.WorkerConfig{Channel: channel, RetryMax: 50 * time.Millisecond})
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = admin.Close() })
	e := startEmitter(t, g, 1000)
	kills := 0
	for i := range 5 {
		e.until(t, int64(200*(i+1)))
		killed, err := admin.ClientKillByFilter(context.Background(), "TYPE", "normal").Result()
		require.NoError(t, err)
		kills += int(killed)
	}
	n := e.emitted()
	s := finishFault(t, g, sub, n)
	lost, dups := sub.tally(n)
	missing := len(lost)
	t.Logf("emitted %d; %d connections killed; missing %d, duplicates %d; %+v", n, kills, missing, dups, s)
	assert.Positive(t, kills)
	assert.Zero(t, missing)
	assert.LessOrEqual(t, uint64(dups), s.Resent)
	assert.Zero(t, s.Holds)
	assert.Zero(t, s.Unreceived)
	assert.Zero(t, s.Dropped)
	assert.Equal(t, int64(1), sub.subs.Load(), "the subscriber was not touched")
}

// TestFaultDefaultReadTimeout measures how long a publish to a stopped
// redis-server takes to fail with go-redis's default options: the figure
// WorkerConfig.PublishTimeout's documentation gives (5 s).
func TestFaultDefaultReadTimeout(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = client.Close() })
	opts := client.Options()
	assert.Equal(t, 5*time.Second, opts.ReadTimeout, "go-redis's default ReadTimeout")
	assert.Equal(t, 5*time.Second, opts.WriteTimeout, "WriteTimeout follows ReadTimeout")
	assert.Equal(t, 6*time.Second, opts.PoolTimeout, "PoolTimeout is ReadTimeout + 1 s")
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	ctx := context.Background()
	_, err = ps.Publish(ctx, faultChannel(t), [][]byte{[]byte("warm")}) // a pooled connection
	require.NoError(t, err)

	p := pid(t, rs.Addr())
	require.NoError(t, syscall.Kill(p, syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(p, syscall.SIGCONT) })
	start := time.Now()
	_, err = ps.Publish(ctx, faultChannel(t), [][]byte{[]byte("x")})
	took := time.Since(start)
	t.Logf("a publish to a stopped redis-server failed after %v: %v", took.Round(time.Millisecond), err)
	require.Error(t, err)
	assert.GreaterOrEqual(t, took, 5*time.Second-100*time.Millisecond, "not before the read timeout")
	assert.Less(t, took, 15*time.Second, "sanity bound")
	assert.ErrorContains(t, err, "timeout")
}

// TestFaultStartWithBrokerDown: the worker starts and emits while
// redis-server is down; when it is up, the subscriber needs a moment more.
// Nothing was published before, so the worker holds its backlog until one
// subscriber is there, and every event arrives.
func TestFaultStartWithBrokerDown(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	rs.Kill()
	channel := faultChannel(t)
	g, _ := faultWorker(t, rs.Addr(), redis.Options{DialerRetries: 1, MaxRetries: -1},
		gateway.WorkerConfig{Channel: channel, RetryMax: 50 * time.Millisecond})
	e := startEmitter(t, g, 1000)
	e.until(t, 300)
	require.Positive(t, g.Stats().Failed)
	rs.Restart()
	require.Eventually(t, func() bool { return g.Stats().Holds == 1 }, wait, time.Millisecond, "the backlog is held")
	e.until(t, e.next.Load()+300)
	sub := startDelayedSub(t, rs.Addr(), channel, time.Second)
	e.until(t, e.next.Load()+300)
	n := e.emitted()
	s := finishFault(t, g, sub, n)
	lost, dups := sub.tally(n)
	t.Logf("emitted %d; missing %d, duplicates %d; %+v", n, len(lost), dups, s)
	assert.Empty(t, lost, "every event arrived")
	assert.Zero(t, dups)
	assert.Zero(t, s.Unreceived)
	assert.Zero(t, s.Dropped)
	assert.Equal(t, s.Emitted, s.Published+s.Unreceived+s.Dropped+s.Queued)
}
