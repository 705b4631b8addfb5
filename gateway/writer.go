package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockgate/sockgate/transport"
)

// writer owns the bounded queue and the background goroutine that batches
// queued messages into pipelined Publish calls, retrying with capped
// exponential backoff while the broker is unreachable.
type writer struct {
	pub       transport.Publisher
	idem      transport.IdempotentPublisher // pub, when it numbers messages
	producer  string                        // this writer's producer name for idem
	next      uint64                        // the number of the next message for idem; loop only
	channel   string
	batchSize int
	retryMin  time.Duration
	retryMax  time.Duration
	timeout   time.Duration
	log       *slog.Logger

	queue    chan []byte
	start    sync.Once
	stop     chan struct{} // closed to make the loop give up and exit
	stopOnce sync.Once
	done     chan struct{} // closed when the loop has exited
	baseCtx  context.Context
	cancel   context.CancelFunc

	emitted    atomic.Uint64
	published  atomic.Uint64
	dropped    atomic.Uint64
	failed     atomic.Uint64
	reconnects atomic.Uint64
	up         atomic.Bool

	waiters    atomic.Int32 // flushers waiting for progress
	progressMu sync.Mutex
	progress   chan struct{} // closed and replaced when messages settle while flushers wait
}

func newWriter(pub transport.Publisher, channel string, size, batch int, retryMin, retryMax, timeout time.Duration, log *slog.Logger) *writer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writer{
		pub: pub, channel: channel, batchSize: batch,
		retryMin: retryMin, retryMax: retryMax, timeout: timeout, log: log,
		queue: make(chan []byte, size), stop: make(chan struct{}), done: make(chan struct{}),
		baseCtx: ctx, cancel: cancel, progress: make(chan struct{}),
	}
	if ip, ok := pub.(transport.IdempotentPublisher); ok {
		w.idem, w.producer, w.next = ip, newProducer(), 1
	}
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
		w.settle(0, 1)
		return nil
	}
	w.start.Do(func() { go w.loop() })
	select {
	case w.queue <- msg:
		return nil
	default:
	}
	if !wait {
		w.settle(0, 1)
		return nil
	}
	select {
	case w.queue <- msg:
		return nil
	case <-ctx.Done():
		w.settle(0, 1)
		return wrapQueueFull(ctx.Err())
	case <-closing:
		w.settle(0, 1)
		return ErrClosed
	}
}

// settle records n published and d dropped messages and wakes flushers.
func (w *writer) settle(n, d int) {
	if n > 0 {
		w.published.Add(uint64(n))
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

func (w *writer) settled() uint64 { return w.published.Load() + w.dropped.Load() }

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
				w.settle(0, n)
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

// publishOnce makes one attempt, bounded by the configured timeout if any
// (without one, the transport's own timeouts bound it, and Close cancels it).
// first is the number of batch[0] when the publisher is idempotent.
func (w *writer) publishOnce(batch [][]byte, first uint64) (int, error) {
	ctx := w.baseCtx
	if w.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(w.baseCtx, w.timeout)
		defer cancel()
	}
	if w.idem != nil {
		return w.idem.PublishIdempotent(ctx, w.channel, transport.Sequence{Producer: w.producer, First: first}, batch)
	}
	return w.pub.Publish(ctx, w.channel, batch)
}

// publish sends batch, retrying until it is confirmed. It returns false
// when the writer was stopped meanwhile (the rest is dropped and counted).
// With an IdempotentPublisher, a retry carries the same numbers, so the
// broker drops what it stored before a confirmation was lost.
func (w *writer) publish(batch [][]byte) bool {
	backoff := w.retryMin
	var timer *time.Timer
	first := w.next
	w.next += uint64(len(batch))
	for {
		n, err := w.publishOnce(batch, first)
		batch = batch[n:]
		first += uint64(n)
		if len(batch) == 0 {
			// Connection state first, so that whoever sees the messages
			// settle also sees the broker as connected.
			if !w.up.Load() {
				w.up.Store(true)
				w.reconnects.Add(1)
				w.log.Info("sockgate: publishing resumed", "channel", w.channel)
			}
			w.settle(n, 0)
			return true
		}
		if w.up.Load() {
			w.up.Store(false)
			w.log.Error("sockgate: publish failed; retrying in the background", "channel", w.channel, "pending", len(batch), "error", err)
		}
		if n > 0 {
			w.settle(n, 0)
		}
		w.failed.Add(uint64(len(batch)))
		if timer == nil {
			timer = time.NewTimer(backoff)
		} else {
			timer.Reset(backoff)
		}
		select {
		case <-timer.C:
		case <-w.stop:
			timer.Stop()
			w.settle(0, len(batch))
			return false
		}
		backoff = min(backoff*2, w.retryMax)
	}
}
