package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockgate/sockgate/transport"
)

// writer owns the bounded queue and the background goroutine that batches
// queued messages into pipelined Publish calls, retrying with capped
// exponential backoff while the broker is unreachable and, after an outage,
// holding the backlog until the subscribers are back (at most the grace).
type writer struct {
	pub        transport.Publisher
	idem       transport.IdempotentPublisher // pub, when it numbers messages
	rc         transport.ReceiverCounter     // pub, when it counts receivers (and idem is nil)
	recv       []int64                       // receiver counts of the batch in flight, for rc; loop only
	lastRecv   int64                         // receivers of the last message published, -1 before any; loop only
	lostHeld   bool                          // a hold ran and no subscriber was reached since; loop only
	producer   string                        // this writer's producer name for idem
	next       uint64                        // the number of the next message for idem; loop only
	channel    string
	batchSize  int
	retryMin   time.Duration
	retryMax   time.Duration
	timeout    time.Duration
	grace      time.Duration // the resume hold's bound; <= 0 means none
	atMostOnce bool
	log        *slog.Logger
	lossLog    rateLog // unreceived and unconfirmed messages; loop only

	queue     chan []byte
	start     sync.Once
	stop      chan struct{} // closed to make the loop give up and exit
	stopOnce  sync.Once
	hurry     chan struct{} // closed when Close begins: a resume hold ends
	hurryOnce sync.Once
	done      chan struct{} // closed when the loop has exited
	baseCtx   context.Context
	cancel    context.CancelFunc

	emitted     atomic.Uint64
	published   atomic.Uint64
	unreceived  atomic.Uint64
	dropped     atomic.Uint64
	unconfirmed atomic.Uint64
	resent      atomic.Uint64
	failed      atomic.Uint64
	reconnects  atomic.Uint64
	holds       atomic.Uint64
	receivers   atomic.Int64
	up          atomic.Bool

	waiters    atomic.Int32 // flushers waiting for progress
	progressMu sync.Mutex
	progress   chan struct{} // closed and replaced when messages settle while flushers wait
}

// writerConfig is what newWriter takes from WorkerConfig, defaults applied.
type writerConfig struct {
	pub                transport.Publisher
	channel            string
	size, batch        int
	retryMin, retryMax time.Duration
	timeout, grace     time.Duration
	delivery           Delivery
	log                *slog.Logger
}

func newWriter(c writerConfig) *writer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writer{
		pub: c.pub, channel: c.channel, batchSize: c.batch,
		retryMin: c.retryMin, retryMax: c.retryMax, timeout: c.timeout, grace: c.grace,
		atMostOnce: c.delivery == AtMostOnce, log: c.log,
		lossLog: rateLog{log: c.log, interval: time.Second},
		queue:   make(chan []byte, c.size), stop: make(chan struct{}), hurry: make(chan struct{}),
		done: make(chan struct{}), baseCtx: ctx, cancel: cancel, progress: make(chan struct{}),
	}
	if ip, ok := c.pub.(transport.IdempotentPublisher); ok {
		w.idem, w.producer, w.next = ip, newProducer(), 1
	} else if rc, ok := c.pub.(transport.ReceiverCounter); ok {
		w.rc, w.recv = rc, make([]int64, c.batch)
	}
	w.lastRecv = -1
	w.receivers.Store(-1)
	w.up.Store(true)
	return w
}

// newProducer names a writer for IdempotentPublisher: random, so that no
// two writers (in any process) share numbers.
func newProducer() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// enqueue hands msg to the writer. It never blocks unless wait is set; a
// message that does not fit is dropped and counted. closing aborts a wait.
func (w *writer) enqueue(ctx context.Context, msg []byte, wait bool, closing <-chan struct{}) error {
	w.emitted.Add(1)
	if w.pub == nil {
		w.settle(0, 0, 1)
		return nil
	}
	w.start.Do(func() { go w.loop() })
	select {
	case w.queue <- msg:
		return nil
	default:
	}
	if !wait {
		w.settle(0, 0, 1)
		return nil
	}
	select {
	case w.queue <- msg:
		return nil
	case <-ctx.Done():
		w.settle(0, 0, 1)
		return wrapQueueFull(ctx.Err())
	case <-closing:
		w.settle(0, 0, 1)
		return ErrClosed
	}
}

// settle records n published, u unreceived and d dropped messages and
// wakes flushers.
func (w *writer) settle(n, u, d int) {
	if n > 0 {
		w.published.Add(uint64(n))
	}
	if u > 0 {
		w.unreceived.Add(uint64(u))
	}
	if d > 0 {
		w.dropped.Add(uint64(d))
	}
	if w.waiters.Load() == 0 {
		return // nobody to wake: keep the hot path free of allocations
	}
	w.progressMu.Lock()
	close(w.progress)
	w.progress = make(chan struct{})
	w.progressMu.Unlock()
}

func (w *writer) settled() uint64 {
	return w.published.Load() + w.unreceived.Load() + w.dropped.Load()
}

// endHold ends a resume hold in progress, and any later one: Close wants
// the backlog out now.
func (w *writer) endHold() { w.hurryOnce.Do(func() { close(w.hurry) }) }

// flush waits until every message accepted before the call has settled.
func (w *writer) flush(ctx context.Context) error {
	target := w.emitted.Load()
	w.waiters.Add(1)
	defer w.waiters.Add(-1)
	for {
		w.progressMu.Lock()
		ch := w.progress
		w.progressMu.Unlock()
		if w.settled() >= target {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// shutdown stops the loop: a publish in flight is abandoned, what is left
// in the queue is dropped and counted. Callers guarantee no enqueue runs
// concurrently or later.
func (w *writer) shutdown() {
	w.stopOnce.Do(func() {
		close(w.stop)
		w.cancel()
		started := true
		w.start.Do(func() { started = false })
		if started {
			<-w.done
		}
		w.dropQueued()
	})
}

func (w *writer) dropQueued() {
	n := 0
	for {
		select {
		case <-w.queue:
			n++
		default:
			if n > 0 {
				w.settle(0, 0, n)
			}
			return
		}
	}
}

func (w *writer) loop() {
	defer close(w.done)
	batch := make([][]byte, 0, w.batchSize)
	for {
		select {
		case m := <-w.queue:
			batch = append(batch[:0], m)
		case <-w.stop:
			return
		}
	fill:
		for len(batch) < w.batchSize {
			select {
			case m := <-w.queue:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		if !w.publish(batch) {
			return
		}
		clear(batch)
	}
}

// attemptCtx is the context of one broker call: bounded by the configured
// timeout if any (without one, the transport's own timeouts bound it, and
// Close cancels it).
func (w *writer) attemptCtx() (context.Context, context.CancelFunc) {
	if w.timeout > 0 {
		return context.WithTimeout(w.baseCtx, w.timeout)
	}
	return w.baseCtx, func() {}
}

// publishOnce makes one attempt. first is the number of batch[0] when the
// publisher is idempotent; with a ReceiverCounter the counts land in w.recv.
func (w *writer) publishOnce(batch [][]byte, first uint64) (int, error) {
	ctx, cancel := w.attemptCtx()
	defer cancel()
	switch {
	case w.idem != nil:
		return w.idem.PublishIdempotent(ctx, w.channel, transport.Sequence{Producer: w.producer, First: first}, batch)
	case w.rc != nil:
		return w.rc.PublishCounted(ctx, w.channel, batch, w.recv[:len(batch)])
	}
	return w.pub.Publish(ctx, w.channel, batch)
}

// sent splits the n messages just confirmed into those that reached a
// subscriber (or whose transport does not tell) and those that reached
// none, and remembers the receivers of the last one.
func (w *writer) sent(n int) (published, unreceived int) {
	if w.rc == nil || n == 0 {
		return n, 0
	}
	last := int64(-1)
	for _, r := range w.recv[:n] {
		if r == 0 {
			unreceived++
		} else if r > 0 {
			w.lostHeld = false
		}
		last = r
	}
	if last >= 0 {
		w.lastRecv = last
	}
	w.receivers.Store(last)
	if unreceived > 0 {
		w.lossLog.Log(slog.LevelWarn, "sockgate: published messages reached no subscriber",
			"channel", w.channel, "unreceived", unreceived, "of", n)
	}
	return n - unreceived, unreceived
}

// publish sends batch, retrying until it is confirmed. It returns false
// when the writer was stopped meanwhile (the rest is dropped and counted).
// With an IdempotentPublisher, a retry carries the same numbers, so the
// broker drops what it stored before a confirmation was lost. A failure
// whose outcome is unknown is retried (AtLeastOnce, counted Resent) or
// dropped (AtMostOnce, counted Unconfirmed). With a ReceiverCounter, the
// retry waits in awaitReceivers.
func (w *writer) publish(batch [][]byte) bool {
	backoff := w.retryMin
	var timer *time.Timer
	first := w.next
	w.next += uint64(len(batch))
	for {
		if w.rc != nil && !w.up.Load() && !w.awaitReceivers() {
			w.settle(0, 0, len(batch))
			return false
		}
		n, err := w.publishOnce(batch, first)
		if err == nil {
			if k, want := w.lostAt(n); k >= 0 {
				// batch[k:] reached no subscriber, right after messages
				// that reached some: the subscribers left without the
				// broker failing (their connections were killed, they are
				// resubscribing). Nobody has those messages, so sending
				// them again duplicates none: hold as after a reconnect.
				pub, unrec := w.sent(k)
				w.settle(pub, unrec, 0)
				batch = batch[k:]
				first += uint64(k)
				if !w.holdLost(want) {
					w.settle(0, 0, len(batch))
					return false
				}
				continue
			}
		}
		batch = batch[n:]
		first += uint64(n)
		pub, unrec := w.sent(n)
		if len(batch) == 0 {
			// Connection state first, so that whoever sees the messages
			// settle also sees the broker as connected.
			if !w.up.Load() {
				w.up.Store(true)
				w.reconnects.Add(1)
				w.log.Info("sockgate: publishing resumed", "channel", w.channel)
			}
			w.settle(pub, unrec, 0)
			return true
		}
		if w.up.Load() {
			w.up.Store(false)
			w.log.Error("sockgate: publish failed; retrying in the background", "channel", w.channel, "pending", len(batch), "error", err)
		}
		if n > 0 {
			w.settle(pub, unrec, 0)
		}
		w.failed.Add(uint64(len(batch)))
		if !errors.Is(err, transport.ErrNotSent) {
			if w.atMostOnce {
				w.unconfirmed.Add(uint64(len(batch)))
				w.settle(0, 0, len(batch))
				w.lossLog.Log(slog.LevelWarn, "sockgate: messages whose publish may have failed are not sent again (at-most-once)",
					"channel", w.channel, "unconfirmed", len(batch), "error", err)
				return w.pause(backoff)
			}
			w.resent.Add(uint64(len(batch)))
		}
		if w.rc != nil {
			continue // awaitReceivers backs off
		}
		if timer == nil {
			timer = time.NewTimer(backoff)
		} else {
			timer.Reset(backoff)
		}
		select {
		case <-timer.C:
		case <-w.stop:
			timer.Stop()
			w.settle(0, 0, len(batch))
			return false
		}
		backoff = min(backoff*2, w.retryMax)
	}
}

// pause waits d; it returns false when the writer was stopped meanwhile.
func (w *writer) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.stop:
		return false
	}
}

// probe asks the broker how many subscribers the channel has.
func (w *writer) probe() (int64, error) {
	ctx, cancel := w.attemptCtx()
	defer cancel()
	return w.rc.Receivers(ctx, w.channel)
}

// lostAt looks at the receiver counts of n messages just published: when
// they end with a run of messages that reached no subscriber, right after
// one that reached want > 0 (or after the last batch's, which did), and no
// hold ran since a subscriber was last reached, it returns
// the run's start k and want; otherwise -1. A run followed by a message
// that reached someone is left alone: the subscribers came back within the
// batch, and those messages are Unreceived.
func (w *writer) lostAt(n int) (k int, want int64) {
	if w.rc == nil || w.grace <= 0 || w.lostHeld || n == 0 || w.recv[n-1] != 0 {
		return -1, 0
	}
	k = n - 1
	for k > 0 && w.recv[k-1] == 0 {
		k--
	}
	want = w.lastRecv
	if k > 0 {
		want = w.recv[k-1]
	}
	if want <= 0 {
		return -1, 0 // nobody was listening before either
	}
	select {
	case <-w.hurry:
		return -1, 0 // closing: no hold
	default:
	}
	return k, want
}

// holdLost holds the backlog after subscribers were lost without a broker
// failure (see lostAt) until want are subscribed again, the grace has
// passed or Close begins. It returns false when the writer was stopped.
func (w *writer) holdLost(want int64) bool {
	r, err := w.probe()
	if err != nil {
		r = 0
	}
	return w.hold(r, want, "sockgate: subscribers lost; holding the backlog until they resubscribe")
}

// awaitReceivers runs before a retry when the transport counts receivers:
// it asks the broker for the channel's subscribers, with capped exponential
// backoff, until it answers; then, when fewer are back than the last
// message reached (one, when nothing was published yet), it holds the
// backlog and asks again every ResumePoll until they are back, the grace
// has passed or Close begins. It returns false when the writer was stopped
// meanwhile.
func (w *writer) awaitReceivers() bool {
	backoff := w.retryMin
	var r int64
	for {
		if !w.pause(backoff) {
			return false
		}
		var err error
		if r, err = w.probe(); err == nil {
			break
		}
		backoff = min(backoff*2, w.retryMax)
	}
	want := w.lastRecv
	if want < 0 {
		want = 1 // nothing published yet (started with the broker down): wait for someone
	}
	if w.grace <= 0 || want == 0 || r < 0 || r >= want {
		return true
	}
	return w.hold(r, want, "sockgate: broker back; holding the backlog until the subscribers resubscribe")
}

// hold waits, asking the broker every ResumePoll, until want subscribers
// are back (r now), the grace has passed or Close begins; it counts the
// hold and logs msg. It returns false when the writer was stopped.
func (w *writer) hold(r, want int64, msg string) bool {
	if r >= want {
		return true
	}
	select {
	case <-w.hurry:
		return true
	default:
	}
	w.holds.Add(1)
	w.lostHeld = true
	start := time.Now()
	w.log.Info(msg, "channel", w.channel, "subscribers", r, "want", want, "grace", w.grace)
	deadline := start.Add(w.grace)
	t := time.NewTimer(min(ResumePoll, w.grace))
	defer t.Stop()
	for r < want {
		select {
		case <-t.C:
		case <-w.hurry:
			return true
		case <-w.stop:
			return false
		}
		if n, err := w.probe(); err == nil {
			r = n
		}
		d := min(ResumePoll, time.Until(deadline))
		if r < want && d <= 0 {
			w.log.Warn("sockgate: resume grace over; publishing the backlog to the subscribers that are back",
				"channel", w.channel, "subscribers", r, "want", want, "grace", w.grace)
			return true
		}
		t.Reset(d)
	}
	w.log.Info("sockgate: subscribers back; publishing the backlog",
		"channel", w.channel, "subscribers", r, "held", time.Since(start))
	return true
}

// rateLog logs at most one line per interval and counts the lines it left
// out in the next one. It is used from the writer's loop only.
type rateLog struct {
	log        *slog.Logger
	interval   time.Duration
	next       time.Time
	suppressed int
}

// Log logs msg unless a line was logged less than interval ago.
func (r *rateLog) Log(level slog.Level, msg string, args ...any) {
	now := time.Now()
	if now.Before(r.next) {
		r.suppressed++
		return
	}
	r.next = now.Add(r.interval)
	if r.suppressed > 0 {
		args = append(args, "suppressed", r.suppressed)
		r.suppressed = 0
	}
	r.log.Log(context.Background(), level, msg, args...)
}
