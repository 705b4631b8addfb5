package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport"
)

// countingPub is a transport.ReceiverCounter with subs subscribers: each
// message published reaches all of them. While down is set, a call fails
// with err: certainly not sent when err wraps transport.ErrNotSent,
// otherwise after "writing" the batch (the messages were delivered, the
// confirmation lost), the way a read timeout leaves Redis pub/sub.
type countingPub struct {
	subs    atomic.Int64
	down    atomic.Bool
	err     error
	mu      sync.Mutex
	got     []string // what the subscribers received, in order
	seen    []int64  // subs at each delivered message
	probes  atomic.Int64
	arrived chan struct{}
}

func newCountingPub(subs int64, err error) *countingPub {
	p := &countingPub{err: err, arrived: make(chan struct{}, 1<<16)}
	p.subs.Store(subs)
	return p
}

var (
	_ transport.Publisher       = (*countingPub)(nil)
	_ transport.ReceiverCounter = (*countingPub)(nil)
)

func (p *countingPub) Publish(ctx context.Context, ch string, msgs [][]byte) (int, error) {
	return 0, errors.New("countingPub: Publish used instead of PublishCounted")
}

func (p *countingPub) PublishCounted(_ context.Context, _ string, msgs [][]byte, recv []int64) (int, error) {
	if p.down.Load() {
		if !errors.Is(p.err, transport.ErrNotSent) {
			p.deliver(msgs) // written, then the reply was lost
		}
		return 0, p.err
	}
	p.deliver(msgs)
	s := p.subs.Load()
	for i := range msgs {
		recv[i] = s
	}
	p.arrived <- struct{}{}
	return len(msgs), nil
}

func (p *countingPub) deliver(msgs [][]byte) {
	s := p.subs.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	if s == 0 {
		return
	}
	for _, m := range msgs {
		p.got = append(p.got, string(m))
		p.seen = append(p.seen, s)
	}
}

func (p *countingPub) Receivers(context.Context, string) (int64, error) {
	p.probes.Add(1)
	if p.down.Load() {
		return 0, fmt.Errorf("countingPub: %w: connection refused", transport.ErrNotSent)
	}
	return p.subs.Load(), nil
}

func (p *countingPub) Close() error { return nil }

func (p *countingPub) received() ([]string, []int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...), append([]int64(nil), p.seen...)
}

var errRefused = fmt.Errorf("fake: %w: connection refused", transport.ErrNotSent)

// checkIdentity asserts the accounting identity of one snapshot.
func checkIdentity(t *testing.T, s gateway.Stats) {
	t.Helper()
	require.Equal(t, s.Emitted, s.Published+s.Unreceived+s.Dropped+s.Queued, "Emitted = Published + Unreceived + Dropped + Queued in %+v", s)
	require.LessOrEqual(t, s.Unconfirmed, s.Dropped, "Unconfirmed is a part of Dropped")
}

func emitN(t *testing.T, g *gateway.Worker, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		require.NoError(t, g.EmitToRoom(context.Background(), "r", "seq", i))
	}
}

// TestUnreceivedIsNotPublished: messages PUBLISH answered 0 for are
// counted Unreceived, not Published.
func TestUnreceivedIsNotPublished(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(0, errRefused)
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub})
	emitN(t, g, 0, 5)
	flush(t, g)
	s := g.Stats()
	assert.Equal(t, uint64(0), s.Published)
	assert.Equal(t, uint64(5), s.Unreceived)
	assert.Equal(t, int64(0), s.Receivers)
	checkIdentity(t, s)

	pub.subs.Store(2)
	emitN(t, g, 5, 8)
	flush(t, g)
	s = g.Stats()
	assert.Equal(t, uint64(3), s.Published)
	assert.Equal(t, uint64(5), s.Unreceived)
	assert.Equal(t, int64(2), s.Receivers)
	checkIdentity(t, s)
}

// TestReceiversUnknownWithoutCounter: a transport that does not count
// receivers reports -1 and publishes count as Published.
func TestReceiversUnknownWithoutCounter(t *testing.T) {
	t.Parallel()
	g := newWorker(t, gateway.WorkerConfig{Publisher: newFakePub()})
	emitN(t, g, 0, 3)
	flush(t, g)
	s := g.Stats()
	assert.Equal(t, int64(-1), s.Receivers)
	assert.Equal(t, uint64(3), s.Published)
	assert.Zero(t, s.Unreceived)
}

// outage takes pub down with one message in flight, emits more while it is
// down and waits until the worker noticed.
func outage(t *testing.T, g *gateway.Worker, pub *countingPub, n int) {
	t.Helper()
	emitN(t, g, 0, 1)
	flush(t, g)
	pub.down.Store(true)
	pub.subs.Store(0) // the broker restarted: nobody is subscribed
	emitN(t, g, 1, n)
	require.Eventually(t, func() bool { return !g.Stats().Connected }, wait, time.Millisecond)
}

// TestResumeHoldWaitsForSubscribers: after the broker is back, the backlog
// waits until the subscriber count seen before the outage is reached, then
// everything reaches them.
func TestResumeHoldWaitsForSubscribers(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(2, errRefused)
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, ResumeGrace: time.Minute})
	outage(t, g, pub, 50)

	pub.down.Store(false) // back, empty
	require.Eventually(t, func() bool { return g.Stats().Holds == 1 }, wait, time.Millisecond)
	probes := pub.probes.Load()
	require.Eventually(t, func() bool { return pub.probes.Load() > probes+2 }, wait, time.Millisecond, "polled while held")
	pub.subs.Store(1)
	require.Eventually(t, func() bool { return pub.probes.Load() > probes+5 }, wait, time.Millisecond)
	got, _ := pub.received()
	assert.Len(t, got, 1, "still held with 1 of 2 subscribers back")

	pub.subs.Store(2)
	flush(t, g)
	got, seen := pub.received()
	assert.Len(t, got, 50, "every message reached the subscribers")
	for i, s := range seen {
		assert.Equal(t, int64(2), s, "message %d", i)
	}
	s := g.Stats()
	assert.Equal(t, uint64(50), s.Published)
	assert.Zero(t, s.Unreceived)
	assert.Zero(t, s.Resent, "nothing of a refused connection is sent again")
	assert.Equal(t, uint64(1), s.Reconnects)
	checkIdentity(t, s)
}

// TestStartWithBrokerDownWaitsForASubscriber: nothing was published before
// the broker was reached, so the worker waits for one subscriber.
func TestStartWithBrokerDownWaitsForASubscriber(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(0, errRefused)
	pub.down.Store(true)
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, ResumeGrace: time.Minute})
	emitN(t, g, 0, 10)
	require.Eventually(t, func() bool { return g.Stats().Failed > 0 }, wait, time.Millisecond)
	pub.down.Store(false)
	require.Eventually(t, func() bool { return g.Stats().Holds == 1 }, wait, time.Millisecond)
	pub.subs.Store(1)
	flush(t, g)
	s := g.Stats()
	assert.Equal(t, uint64(10), s.Published)
	assert.Zero(t, s.Unreceived)
	checkIdentity(t, s)
}

// TestResumeGraceEnds: the subscribers never come back; after the grace the
// backlog is published and counted Unreceived.
func TestResumeGraceEnds(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(1, errRefused)
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, ResumeGrace: 100 * time.Millisecond})
	outage(t, g, pub, 20)
	pub.down.Store(false)
	flush(t, g)
	s := g.Stats()
	assert.Equal(t, uint64(1), s.Published)
	assert.Equal(t, uint64(19), s.Unreceived)
	assert.Equal(t, uint64(1), s.Holds)
	checkIdentity(t, s)
}

// TestNoResumeGrace publishes the backlog as soon as the broker answers.
func TestNoResumeGrace(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(1, errRefused)
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, ResumeGrace: gateway.NoResumeGrace})
	outage(t, g, pub, 20)
	pub.down.Store(false)
	flush(t, g)
	s := g.Stats()
	assert.Zero(t, s.Holds)
	assert.Equal(t, uint64(19), s.Unreceived)
	checkIdentity(t, s)
}

// TestCloseEndsResumeHold: Close publishes a held backlog at once.
func TestCloseEndsResumeHold(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(1, errRefused)
	g, err := gateway.NewWorker(gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, ResumeGrace: time.Hour})
	require.NoError(t, err)
	outage(t, g, pub, 10)
	pub.down.Store(false)
	require.Eventually(t, func() bool { return g.Stats().Holds == 1 }, wait, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, g.Close(ctx))
	s := g.Stats()
	assert.Equal(t, uint64(9), s.Unreceived)
	assert.Zero(t, s.Dropped)
	checkIdentity(t, s)
}

// TestAtLeastOnceResendsUnknownOutcome: a failure that may have delivered
// the batch is sent again; the duplicates are at most Resent.
func TestAtLeastOnceResendsUnknownOutcome(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(1, errors.New("fake: i/o timeout"))
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, BatchSize: 8})
	emitN(t, g, 0, 1)
	flush(t, g)
	pub.down.Store(true)
	emitN(t, g, 1, 5)
	require.Eventually(t, func() bool { return g.Stats().Resent > 0 }, wait, time.Millisecond)
	pub.down.Store(false)
	flush(t, g)

	got, _ := pub.received()
	count := map[string]int{}
	for _, m := range got {
		count[m]++
	}
	assert.Len(t, count, 5, "nothing missing")
	dups := len(got) - len(count)
	s := g.Stats()
	assert.Positive(t, dups, "the fake delivered the failed batch")
	assert.LessOrEqual(t, uint64(dups), s.Resent, "duplicates bounded by Resent")
	assert.Equal(t, uint64(5), s.Published)
	assert.Zero(t, s.Unconfirmed)
	checkIdentity(t, s)
}

// TestAtMostOnceDropsUnknownOutcome: such a batch is never sent again; it
// is counted Dropped and Unconfirmed, and what follows is published.
func TestAtMostOnceDropsUnknownOutcome(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(1, errors.New("fake: i/o timeout"))
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Delivery: gateway.AtMostOnce})
	emitN(t, g, 0, 1)
	flush(t, g)
	pub.down.Store(true)
	emitN(t, g, 1, 5)
	// The writer may take the four in one batch or in several: the first
	// batch that fails is dropped, the rest wait for the broker.
	require.Eventually(t, func() bool { return g.Stats().Unconfirmed > 0 }, wait, time.Millisecond)
	pub.down.Store(false)
	emitN(t, g, 5, 7)
	flush(t, g)

	got, _ := pub.received()
	count := map[string]int{}
	for _, m := range got {
		count[m]++
		assert.Equal(t, 1, count[m], "no duplicate")
	}
	assert.Len(t, count, 7, "the fake received the unconfirmed batch once")
	s := g.Stats()
	assert.GreaterOrEqual(t, s.Unconfirmed, uint64(1))
	assert.LessOrEqual(t, s.Unconfirmed, uint64(4))
	assert.Equal(t, s.Unconfirmed, s.Dropped)
	assert.Equal(t, 7-s.Unconfirmed, s.Published)
	assert.Zero(t, s.Resent)
	checkIdentity(t, s)
}

// TestAtMostOnceRetriesWhatWasNotSent: a refused connection sent nothing,
// so even at-most-once retries it and loses nothing.
func TestAtMostOnceRetriesWhatWasNotSent(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(1, errRefused)
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Delivery: gateway.AtMostOnce})
	pub.down.Store(true)
	emitN(t, g, 0, 5)
	require.Eventually(t, func() bool { return g.Stats().Failed > 0 }, wait, time.Millisecond)
	pub.down.Store(false)
	flush(t, g)
	s := g.Stats()
	assert.Equal(t, uint64(5), s.Published)
	assert.Zero(t, s.Dropped)
	checkIdentity(t, s)
}

// TestStatsIdentityUnderConcurrency: while producers emit, the broker flaps
// (both kinds of failure) and the subscribers come and go, every snapshot
// balances.
func TestStatsIdentityUnderConcurrency(t *testing.T) {
	t.Parallel()
	for _, d := range []gateway.Delivery{gateway.AtLeastOnce, gateway.AtMostOnce} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			pub := newCountingPub(1, errors.New("fake: i/o timeout"))
			g := newWorker(t, gateway.WorkerConfig{Publisher: pub, QueueSize: 256, BatchSize: 16, Delivery: d,
				RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond, ResumeGrace: 5 * time.Millisecond})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for p := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						_ = g.EmitToRoom(context.Background(), "r", "seq", p*1_000_000+i)
					}
				}()
			}
			wg.Add(1)
			go func() { // the broker fails until an attempt saw it, then recovers for a while
				defer wg.Done()
				for i := 0; ; i++ {
					failed := g.Stats().Failed
					pub.down.Store(true)
					for g.Stats().Failed == failed {
						select {
						case <-stop:
							pub.down.Store(false)
							return
						case <-time.After(time.Millisecond):
						}
					}
					pub.subs.Store(int64(i % 3))
					pub.down.Store(false)
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
				}
			}()
			deadline := time.Now().Add(500 * time.Millisecond)
			snapshots := 0
			for time.Now().Before(deadline) {
				checkIdentity(t, g.Stats())
				snapshots++
			}
			close(stop)
			wg.Wait()
			pub.down.Store(false)
			flush(t, g)
			s := g.Stats()
			checkIdentity(t, s)
			assert.Zero(t, s.Queued)
			assert.Positive(t, s.Failed, "the broker did fail")
			t.Logf("%d snapshots; final %+v", snapshots, s)
		})
	}
}

func TestParseDelivery(t *testing.T) {
	t.Parallel()
	for _, d := range []gateway.Delivery{gateway.AtLeastOnce, gateway.AtMostOnce} {
		got, err := gateway.ParseDelivery(d.String())
		require.NoError(t, err)
		assert.Equal(t, d, got)
	}
	_, err := gateway.ParseDelivery("exactly-once")
	assert.ErrorIs(t, err, gateway.ErrInvalidArgument)
	assert.ErrorContains(t, err, `"exactly-once"`)
	_, err = gateway.NewWorker(gateway.WorkerConfig{Delivery: gateway.Delivery(7)})
	assert.ErrorIs(t, err, gateway.ErrInvalidArgument)
}

// TestSubscribersLostWithoutFailure: the subscribers leave while the broker
// stays up (their connections were killed): the messages that reached no
// one are held and sent again once a subscriber is back, so nothing is
// lost and nothing is duplicated.
func TestSubscribersLostWithoutFailure(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(1, errRefused)
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, ResumeGrace: time.Minute})
	emitN(t, g, 0, 5)
	flush(t, g)
	pub.subs.Store(0) // gone, the broker up
	emitN(t, g, 5, 30)
	require.Eventually(t, func() bool { return g.Stats().Holds == 1 }, wait, time.Millisecond)
	probes := pub.probes.Load()
	require.Eventually(t, func() bool { return pub.probes.Load() > probes+2 }, wait, time.Millisecond, "polled while held")
	pub.subs.Store(1)
	flush(t, g)
	got, _ := pub.received()
	require.Len(t, got, 30, "every message reached the subscriber once")
	for i, m := range got {
		assert.Contains(t, m, fmt.Sprintf(`"data":[%d]`, i), "message %d in order", i)
	}
	s := g.Stats()
	assert.Equal(t, uint64(30), s.Published)
	assert.Zero(t, s.Unreceived)
	assert.Equal(t, uint64(1), s.Holds)
	checkIdentity(t, s)
}

// TestSubscribersLostGraceEnds: subscribers that never come back are waited
// for once, for the grace; then what reaches no one is Unreceived, without
// holding again.
func TestSubscribersLostGraceEnds(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(1, errRefused)
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, ResumeGrace: 50 * time.Millisecond})
	emitN(t, g, 0, 3)
	flush(t, g)
	pub.subs.Store(0)
	emitN(t, g, 3, 10)
	flush(t, g)
	emitN(t, g, 10, 20)
	flush(t, g)
	s := g.Stats()
	assert.Equal(t, uint64(3), s.Published)
	assert.Equal(t, uint64(17), s.Unreceived)
	assert.Equal(t, uint64(1), s.Holds, "one hold for one loss")
	checkIdentity(t, s)
}

// TestNobodyListeningIsNotHeld: a channel nobody subscribed to is not held
// for: its messages are Unreceived at once.
func TestNobodyListeningIsNotHeld(t *testing.T) {
	t.Parallel()
	pub := newCountingPub(0, errRefused)
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, ResumeGrace: time.Hour})
	emitN(t, g, 0, 10)
	flush(t, g)
	s := g.Stats()
	assert.Zero(t, s.Holds)
	assert.Equal(t, uint64(10), s.Unreceived)
}
