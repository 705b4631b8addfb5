// Package memory is an in-process transport: a Broker that connects the
// Publishers and Subscribers of one process. It is the default transport of
// unit tests of code that emits, and of single-process development; it
// passes transport/transporttest like every broker transport.
//
// Guarantees: what one Publish call sends reaches every subscription of the
// channel in order; two Publish calls made one after the other arrive in
// that order. It is at most once like Redis pub/sub: only subscriptions
// that exist when a message is published receive it, and nothing survives
// the process. Publish waits for room in each subscription's buffer
// (Buffer messages) until its context is done, so a subscriber that does
// not read slows its publishers instead of losing messages; the count
// Publish returns says how many messages reached every subscription.
package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/sockgate/sockgate/internal/shutdown"
	"github.com/sockgate/sockgate/transport"
)

// Buffer is how many messages a subscription holds before Publish waits.
const Buffer = 4096

// Broker connects the PubSubs made from it. Its zero value is not usable;
// use NewBroker.
type Broker struct {
	mu   sync.RWMutex
	subs map[string]map[*subscription]struct{}
}

// NewBroker returns an empty broker.
func NewBroker() *Broker {
	return &Broker{subs: make(map[string]map[*subscription]struct{})}
}

// PubSub returns a new Publisher and Subscriber on b.
func (b *Broker) PubSub() *PubSub {
	return &PubSub{b: b, life: shutdown.New()}
}

// New returns a PubSub on a broker of its own: what it publishes reaches
// its own subscriptions.
func New() *PubSub { return NewBroker().PubSub() }

// PubSub is a transport.Publisher and transport.Subscriber on a Broker.
// Its methods are safe for concurrent use.
type PubSub struct {
	b    *Broker
	life *shutdown.Group // counts the goroutines that end subscriptions
}

var (
	_ transport.Publisher  = (*PubSub)(nil)
	_ transport.Subscriber = (*PubSub)(nil)
	_ transport.Pinger     = (*PubSub)(nil)
)

type subscription struct {
	channel string
	out     chan []byte
	stop    chan struct{} // closed first: senders give up
	mu      sync.RWMutex  // senders hold it shared; closing out takes it
	ended   bool
}

// Publish delivers msgs, in order, to every subscription of channel. It
// copies each message once per call. It returns how many messages reached
// every subscription; on ctx's end the rest were not (fully) delivered.
func (p *PubSub) Publish(ctx context.Context, channel string, msgs [][]byte) (int, error) {
	if p.closed() {
		return 0, fmt.Errorf("memory: publish to %q: %w", channel, transport.ErrClosed)
	}
	p.b.mu.RLock()
	subs := make([]*subscription, 0, len(p.b.subs[channel]))
	for s := range p.b.subs[channel] {
		subs = append(subs, s)
	}
	p.b.mu.RUnlock()
	for i, m := range msgs {
		c := append([]byte(nil), m...)
		for _, s := range subs {
			if err := s.deliver(ctx, c); err != nil {
				return i, fmt.Errorf("memory: publish to %q: %w", channel, err)
			}
		}
	}
	return len(msgs), nil
}

func (s *subscription) deliver(ctx context.Context, m []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ended {
		return nil // the subscription went away: it no longer receives
	}
	select {
	case s.out <- m:
		return nil
	case <-s.stop:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Subscribe delivers every message published to channel after it returns
// to the returned Go channel, which is closed when ctx is done or p is
// closed.
func (p *PubSub) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	if !p.life.Add(1) {
		return nil, fmt.Errorf("memory: subscribe to %q: %w", channel, transport.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		p.life.Exit()
		return nil, fmt.Errorf("memory: subscribe to %q: %w", channel, err)
	}
	s := &subscription{channel: channel, out: make(chan []byte, Buffer), stop: make(chan struct{})}

	p.b.mu.Lock()
	if p.b.subs[channel] == nil {
		p.b.subs[channel] = make(map[*subscription]struct{})
	}
	p.b.subs[channel][s] = struct{}{}
	p.b.mu.Unlock()

	go func() {
		defer p.life.Exit()
		select {
		case <-ctx.Done():
		case <-p.life.Closing():
		}
		p.end(s)
	}()
	return s.out, nil
}

// end unregisters s and closes its Go channel once no sender holds it.
func (p *PubSub) end(s *subscription) {
	p.b.mu.Lock()
	delete(p.b.subs[s.channel], s)
	if len(p.b.subs[s.channel]) == 0 {
		delete(p.b.subs, s.channel)
	}
	p.b.mu.Unlock()
	close(s.stop)
	s.mu.Lock()
	s.ended = true
	close(s.out)
	s.mu.Unlock()
}

// Ping reports ErrClosed after Close; the in-process broker is always up.
func (p *PubSub) Ping(context.Context) error {
	if p.closed() {
		return fmt.Errorf("memory: ping: %w", transport.ErrClosed)
	}
	return nil
}

// Close ends every subscription made from p (their Go channels are closed
// when it returns) and makes later calls return transport.ErrClosed. It is
// idempotent and does not affect other PubSubs of the broker.
func (p *PubSub) Close() error {
	p.life.Close()
	return nil
}

func (p *PubSub) closed() bool { return p.life.Closed() }
