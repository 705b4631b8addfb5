// Package natsps is the NATS core transport: a channel is a NATS subject,
// published and subscribed with an injected *nats.Conn.
//
// Guarantees: at most once towards subscribers, like Redis pub/sub (a
// server that is not subscribed when a message is published never sees
// it); messages of one Publish call, and of successive calls from one
// goroutine, arrive in order (one connection, one subject). Publish
// confirms with a flush: it returns len(msgs) once the NATS server has
// processed them, 0 with an error when the flush fails (the messages may
// still arrive; a retry can duplicate them). Reconnection is nats.go's: give
// the connection nats.MaxReconnects(-1) and a short nats.ReconnectWait;
// subscriptions are restored by nats.go after a reconnect, and
// SubscribeReport (transport.SubscriptionReporter) tells its caller when a
// subscription is lost and restored. Messages NATS drops for a slow
// subscription are counted (Stats) and logged.
//
// nats.go is used directly rather than through watermill-nats: a core NATS
// subscription carries the payload as is, while watermill wraps each
// message with a UUID and metadata the python-socketio format does not
// need; see docs/transports.md.
package natsps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sockgate/sockgate/internal/shutdown"
	"github.com/sockgate/sockgate/transport"
)

// SubscriptionBuffer is how many messages a subscription holds for its
// reader; beyond NATS's own pending limits messages are dropped by NATS
// and counted.
const SubscriptionBuffer = 4096

// ErrConfig reports an invalid Config or channel name.
var ErrConfig = errors.New("natsps: invalid configuration")

// ErrConnectionLost is the error SubscribeReport's report is given, wrapped
// with the connection's state, when a subscription is lost with its
// connection.
var ErrConnectionLost = errors.New("natsps: connection lost")

// Config configures a PubSub.
type Config struct {
	// Conn is the NATS connection (required). PubSub never closes it.
	Conn *nats.Conn
	// Logger receives slow-consumer and subscription errors; default
	// slog.Default().
	Logger *slog.Logger
}

// Stats are a PubSub's counters.
type Stats struct {
	Dropped uint64 // messages NATS dropped for our slow subscriptions
}

// PubSub is a transport.Publisher and transport.Subscriber on NATS core.
type PubSub struct {
	conn    *nats.Conn
	log     *slog.Logger
	dropped atomic.Uint64

	life *shutdown.Group
}

var (
	_ transport.Publisher  = (*PubSub)(nil)
	_ transport.Subscriber = (*PubSub)(nil)
	_ transport.Pinger     = (*PubSub)(nil)

	_ transport.SubscriptionReporter = (*PubSub)(nil)
)

// New returns a PubSub on cfg.Conn.
func New(cfg Config) (*PubSub, error) {
	if cfg.Conn == nil {
		return nil, fmt.Errorf("%w: Conn is nil", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &PubSub{conn: cfg.Conn, log: cfg.Logger, life: shutdown.New()}, nil
}

// subject checks that channel is one NATS subject that matches only
// itself: no whitespace, no wildcard tokens, no empty tokens.
func subject(channel string) (string, error) {
	if channel == "" || strings.ContainsAny(channel, " \t\r\n") {
		return "", fmt.Errorf("%w: channel %q: empty or contains whitespace", ErrConfig, channel)
	}
	for _, tok := range strings.Split(channel, ".") {
		if tok == "" || tok == "*" || tok == ">" {
			return "", fmt.Errorf("%w: channel %q: empty token or wildcard (not a literal NATS subject)", ErrConfig, channel)
		}
	}
	return channel, nil
}

// Publish sends msgs to channel's subject and flushes; see the package doc
// for what the count means.
func (p *PubSub) Publish(ctx context.Context, channel string, msgs [][]byte) (int, error) {
	if p.life.Closed() {
		return 0, fmt.Errorf("natsps: publish to %q: %w", channel, transport.ErrClosed)
	}
	subj, err := subject(channel)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		if err := p.conn.Publish(subj, m); err != nil {
			return 0, fmt.Errorf("natsps: publish to %q: %w", channel, err)
		}
	}
	if err := p.flush(ctx); err != nil {
		return 0, fmt.Errorf("natsps: publish to %q: flush: %w", channel, err)
	}
	return len(msgs), nil
}

// Subscribe delivers every message published to channel after it returns
// (the subscription is confirmed by the server first).
func (p *PubSub) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	return p.SubscribeReport(ctx, channel, nil)
}

// SubscribeReport is Subscribe, and it tells report, when not nil, what
// becomes of this subscription while nats.go reconnects
// (transport.SubscriptionReporter): false with the reason when the
// connection is lost or closed (the Go channel stays open), true once the
// connection is back and the server has confirmed the subscription nats.go
// sent again (a flush round trip). report is called from the
// subscription's goroutine and must return quickly.
func (p *PubSub) SubscribeReport(ctx context.Context, channel string, report func(subscribed bool, err error)) (<-chan []byte, error) {
	subj, err := subject(channel)
	if err != nil {
		return nil, err
	}
	if !p.life.Add(1) {
		return nil, fmt.Errorf("natsps: subscribe to %q: %w", channel, transport.ErrClosed)
	}

	var status chan nats.Status
	if report != nil {
		// Before subscribing, so that no change after the confirmation is
		// missed.
		status = p.conn.StatusChanged(nats.CONNECTED, nats.RECONNECTING, nats.DISCONNECTED, nats.CLOSED)
	}
	in := make(chan *nats.Msg, SubscriptionBuffer)
	sub, err := p.conn.ChanSubscribe(subj, in)
	if err == nil {
		err = p.flush(ctx) // the server has the interest now
	}
	if err != nil {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		if status != nil {
			p.conn.RemoveStatusListener(status)
		}
		p.life.Exit()
		return nil, fmt.Errorf("natsps: subscribe to %q: %w", channel, err)
	}
	out := make(chan []byte, SubscriptionBuffer)
	go p.pump(ctx, channel, sub, in, out, status, report)
	return out, nil
}

// pump hands messages over until ctx ends or p closes, and tells report of
// the connection's changes from status (nil when nobody asked).
func (p *PubSub) pump(ctx context.Context, channel string, sub *nats.Subscription, in <-chan *nats.Msg, out chan<- []byte,
	status chan nats.Status, report func(bool, error)) {
	defer p.life.Exit()
	defer close(out)
	defer func() { _ = sub.Unsubscribe() }()
	if status != nil {
		defer p.conn.RemoveStatusListener(status)
	}
	var lastDropped int
	up := true
	for {
		select {
		case st := <-status:
			switch {
			case st == nats.CONNECTED && !up:
				// nats.go sent the subscription again before CONNECTED;
				// a round trip shows the server has it.
				if err := p.flush(ctx); err == nil {
					up = true
					report(true, nil)
				}
			case st != nats.CONNECTED && up:
				up = false
				report(false, fmt.Errorf("%w (%s)", ErrConnectionLost, strings.ToLower(st.String())))
			}
		case m := <-in:
			if !up {
				// A status event can be lost while the reader is slow
				// (nats.go drops it when the listener is full); a message
				// shows the subscription is back.
				up = true
				report(true, nil)
			}
			select {
			case out <- m.Data:
			case <-ctx.Done():
				return
			case <-p.life.Closing():
				return
			}
			if d, err := sub.Dropped(); err == nil && d > lastDropped {
				p.dropped.Add(uint64(d - lastDropped))
				p.log.Warn("natsps: NATS dropped messages for a slow subscription",
					"channel", channel, "dropped", d-lastDropped)
				lastDropped = d
			}
		case <-ctx.Done():
			return
		case <-p.life.Closing():
			return
		}
	}
}

// FlushTimeout bounds a flush whose context has no deadline (nats.go
// requires one).
const FlushTimeout = 10 * time.Second

// flush waits until the server has processed everything sent so far.
func (p *PubSub) flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, FlushTimeout)
		defer cancel()
	}
	return p.conn.FlushWithContext(ctx)
}

// Ping checks the connection with a round trip to the server.
func (p *PubSub) Ping(ctx context.Context) error {
	if p.life.Closed() {
		return fmt.Errorf("natsps: ping: %w", transport.ErrClosed)
	}
	if err := p.flush(ctx); err != nil {
		return fmt.Errorf("natsps: ping: %w", err)
	}
	return nil
}

// Stats returns the counters.
func (p *PubSub) Stats() Stats { return Stats{Dropped: p.dropped.Load()} }

// Close ends every subscription and makes later calls return
// transport.ErrClosed; it does not close the injected connection.
// Idempotent.
func (p *PubSub) Close() error {
	p.life.Close()
	return nil
}
