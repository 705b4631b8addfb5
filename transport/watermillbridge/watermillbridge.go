package watermillbridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/sockgate/sockgate/transport"
)

// SubscriptionBuffer is how many messages a subscription's Go channel
// holds for its reader. Subscribe acknowledges a message when it enters
// this buffer.
const SubscriptionBuffer = 256

// Config configures a Bridge. At least one of Publisher and Subscriber is
// required.
type Config struct {
	// Publisher serves Publish; nil makes Publish return ErrNoPublisher.
	Publisher message.Publisher
	// Subscriber serves Subscribe and SubscribeAck; nil makes them return
	// ErrNoSubscriber.
	Subscriber message.Subscriber
	// CloseWrapped makes Close close Publisher and Subscriber (once when
	// they are the same value). Default false: whoever created them closes
	// them. Note that some watermill Pub/Subs close the client they were
	// given when they close (watermill-redisstream does).
	CloseWrapped bool
	// IDMetadata, when not empty, is the metadata key whose value becomes
	// Delivery.ID, for subscribers that record a broker sequence in the
	// message metadata; a message without the key gets its UUID, as when
	// IDMetadata is empty.
	IDMetadata string
	// Logger receives background events (a wrapped subscription that ended
	// on its own); default discard.
	Logger *slog.Logger
}

// Stats are a Bridge's counters.
type Stats struct {
	// Published counts messages the wrapped Publisher accepted.
	Published uint64
	// Delivered counts messages handed to subscriptions' Go channels.
	Delivered uint64
	// Nacked counts messages nacked because their subscription ended
	// before they could be handed over.
	Nacked uint64
	// Abandoned counts Publish calls that returned when their ctx ended or
	// the Bridge closed while the wrapped Publish still ran.
	Abandoned uint64
}

// Bridge is a transport.Publisher, transport.Subscriber and
// transport.AckSubscriber on a watermill Publisher and Subscriber. It is
// safe for concurrent use.
type Bridge struct {
	pub   message.Publisher
	sub   message.Subscriber
	cfg   Config
	log   *slog.Logger
	ctx   context.Context // ends when the Bridge closes
	close context.CancelFunc

	mu sync.Mutex     // orders wg.Add against Close's wg.Wait
	wg sync.WaitGroup // forwarding goroutines

	published, delivered, nacked, abandoned atomic.Uint64
}

var (
	_ transport.Publisher     = (*Bridge)(nil)
	_ transport.Subscriber    = (*Bridge)(nil)
	_ transport.AckSubscriber = (*Bridge)(nil)
)

// New returns a Bridge on cfg.Publisher and cfg.Subscriber.
func New(cfg Config) (*Bridge, error) {
	if cfg.Publisher == nil && cfg.Subscriber == nil {
		return nil, fmt.Errorf("%w: neither Publisher nor Subscriber is set", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Bridge{pub: cfg.Publisher, sub: cfg.Subscriber, cfg: cfg, log: cfg.Logger, ctx: ctx, close: cancel}, nil
}

// Publish publishes msgs to the topic channel with one call of the wrapped
// Publisher, each message with a new UUID and ctx as its context. It
// returns len(msgs) when that call succeeds and 0 otherwise (watermill does
// not say which messages were published); see the package doc. A call that
// is still running when the Bridge closes reports ErrClosed, even if the
// wrapped Publish then returns nil: GoChannel returns nil for messages it
// discarded at its subscribers' close.
func (b *Bridge) Publish(ctx context.Context, channel string, msgs [][]byte) (int, error) {
	if b.ctx.Err() != nil {
		return 0, fmt.Errorf("%w: publish to %q", ErrClosed, channel)
	}
	if b.pub == nil {
		return 0, fmt.Errorf("%w: publish to %q", ErrNoPublisher, channel)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("watermillbridge: publish to %q: %w", channel, err)
	}
	wm := make([]*message.Message, len(msgs))
	for i, m := range msgs {
		// A copy: in-process Pub/Subs hand the payload itself to their
		// subscribers, possibly after Publish returned.
		wm[i] = message.NewMessage(watermill.NewUUID(), bytes.Clone(m))
		wm[i].SetContext(ctx)
	}
	done := make(chan error, 1)
	go func() { done <- b.pub.Publish(channel, wm...) }()
	result := func(err error) (int, error) {
		if err != nil {
			return 0, fmt.Errorf("watermillbridge: publish to %q: %d messages not confirmed: %w", channel, len(msgs), err)
		}
		if b.ctx.Err() != nil {
			// The Bridge closed while the call ran. An in-process Pub/Sub
			// (GoChannel) then returns nil for messages it discarded
			// because their subscriber was closing: a nil is no proof of
			// delivery, so none is claimed.
			b.abandoned.Add(1)
			return 0, fmt.Errorf("%w: publish to %q: the bridge closed before the publish was confirmed", ErrClosed, channel)
		}
		b.published.Add(uint64(len(msgs)))
		return len(msgs), nil
	}
	select {
	case err := <-done:
		return result(err)
	case <-ctx.Done():
	case <-b.ctx.Done():
	}
	select {
	case err := <-done: // finished just as well
		return result(err)
	default:
	}
	b.abandoned.Add(1)
	if ctx.Err() != nil {
		return 0, fmt.Errorf("watermillbridge: publish to %q: %w", channel, ctx.Err())
	}
	return 0, fmt.Errorf("%w: publish to %q", ErrClosed, channel)
}

// Subscribe delivers the payloads of the wrapped subscription of topic
// channel, acknowledging each message once it is in the returned Go
// channel. The Go channel closes when ctx ends, the Bridge closes or the
// wrapped subscription ends.
func (b *Bridge) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	s, err := b.subscribe(ctx, channel)
	if err != nil {
		return nil, err
	}
	out := make(chan []byte, SubscriptionBuffer)
	go forward(b, s, out, func(m *message.Message) []byte { return m.Payload }, true)
	return out, nil
}

// SubscribeAck delivers the messages of the wrapped subscription of topic
// channel unacknowledged: Delivery.Ack acknowledges the watermill message.
// What happens to a message not acknowledged is the wrapped subscriber's
// to decide; see the package doc. The Go channel closes when ctx ends, the
// Bridge closes or the wrapped subscription ends.
func (b *Bridge) SubscribeAck(ctx context.Context, channel string) (<-chan transport.Delivery, error) {
	s, err := b.subscribe(ctx, channel)
	if err != nil {
		return nil, err
	}
	out := make(chan transport.Delivery, SubscriptionBuffer)
	go forward(b, s, out, b.delivery, false)
	return out, nil
}

func (b *Bridge) delivery(m *message.Message) transport.Delivery {
	id := m.UUID
	if b.cfg.IDMetadata != "" {
		if v := m.Metadata.Get(b.cfg.IDMetadata); v != "" {
			id = v
		}
	}
	return transport.Delivery{Data: m.Payload, ID: id, Ack: func() { m.Ack() }}
}

// subscription is one wrapped subscription and what ends it.
type subscription struct {
	channel string
	in      <-chan *message.Message
	ctx     context.Context // ends with the caller's ctx or the Bridge
	end     func()          // releases ctx and the Bridge's count
}

func (b *Bridge) subscribe(ctx context.Context, channel string) (*subscription, error) {
	if b.ctx.Err() != nil {
		return nil, fmt.Errorf("%w: subscribe to %q", ErrClosed, channel)
	}
	if b.sub == nil {
		return nil, fmt.Errorf("%w: subscribe to %q", ErrNoSubscriber, channel)
	}
	subCtx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(b.ctx, cancel)
	in, err := b.sub.Subscribe(subCtx, channel)
	if err != nil {
		stop()
		cancel()
		return nil, fmt.Errorf("watermillbridge: subscribe to %q: %w", channel, err)
	}
	// The wrapped Subscribe is not counted: Close waits only for the
	// forwarding goroutines, which never block on the wrapped Pub/Sub.
	b.mu.Lock()
	if b.ctx.Err() != nil {
		b.mu.Unlock()
		stop()
		cancel() // ends the wrapped subscription
		return nil, fmt.Errorf("%w: subscribe to %q", ErrClosed, channel)
	}
	b.wg.Add(1)
	b.mu.Unlock()
	return &subscription{channel: channel, in: in, ctx: subCtx, end: func() {
		stop()
		cancel()
		b.wg.Done()
	}}, nil
}

// forward moves s's messages to out until s.ctx ends or the wrapped
// subscription closes its channel. It waits on nothing but out, s.in and
// s.ctx: a message it holds when s.ctx ends is nacked, not waited on, so
// that a Publish waiting for acknowledgements (GoChannel with
// BlockPublishUntilSubscriberAck) is released. ackOnHandOver acknowledges a
// message once out took it.
func forward[T any](b *Bridge, s *subscription, out chan<- T, wrap func(*message.Message) T, ackOnHandOver bool) {
	defer s.end()
	defer close(out)
	for {
		var m *message.Message
		select {
		case msg, ok := <-s.in:
			if !ok {
				if s.ctx.Err() == nil {
					b.log.Warn("watermillbridge: the wrapped subscription ended", "channel", s.channel)
				}
				return
			}
			m = msg
		case <-s.ctx.Done():
			return
		}
		if s.ctx.Err() != nil {
			b.nack(m)
			return
		}
		select {
		case out <- wrap(m):
			b.delivered.Add(1)
			if ackOnHandOver {
				m.Ack()
			}
		case <-s.ctx.Done():
			b.nack(m)
			return
		}
	}
}

func (b *Bridge) nack(m *message.Message) {
	m.Nack()
	b.nacked.Add(1)
}

// Stats returns the counters.
func (b *Bridge) Stats() Stats {
	return Stats{
		Published: b.published.Load(),
		Delivered: b.delivered.Load(),
		Nacked:    b.nacked.Load(),
		Abandoned: b.abandoned.Load(),
	}
}

// Close ends every subscription, makes later calls return ErrClosed
// (which wraps transport.ErrClosed) and returns Publish calls that still
// wait. With Config.CloseWrapped it then closes the wrapped Subscriber and
// Publisher and returns their errors; otherwise it leaves them open. It
// does not wait for the wrapped Publish calls it abandoned. Idempotent.
func (b *Bridge) Close() error {
	b.mu.Lock()
	if b.ctx.Err() != nil {
		b.mu.Unlock()
		return nil
	}
	b.close()
	b.mu.Unlock()
	b.wg.Wait()
	if !b.cfg.CloseWrapped {
		return nil
	}
	var errs []error
	if b.sub != nil {
		if err := b.sub.Close(); err != nil {
			errs = append(errs, fmt.Errorf("watermillbridge: close subscriber: %w", err))
		}
	}
	if b.pub != nil && !same(b.pub, b.sub) {
		if err := b.pub.Close(); err != nil {
			errs = append(errs, fmt.Errorf("watermillbridge: close publisher: %w", err))
		}
	}
	return errors.Join(errs...)
}

// same reports whether p and s are one pointer (a Pub/Sub passed as both).
// Values of other kinds are not compared: comparing them can panic.
func same(p message.Publisher, s message.Subscriber) bool {
	if p == nil || s == nil {
		return false
	}
	t := reflect.TypeOf(p)
	if t != reflect.TypeOf(s) || t.Kind() != reflect.Pointer {
		return false
	}
	return any(p) == any(s)
}
