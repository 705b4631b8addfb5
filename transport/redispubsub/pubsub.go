package redispubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/internal/backoff"
	"github.com/sockgate/sockgate/internal/shutdown"
	"github.com/sockgate/sockgate/transport"
)

// Compile-time checks.
var (
	_ transport.Publisher            = (*PubSub)(nil)
	_ transport.Subscriber           = (*PubSub)(nil)
	_ transport.Pinger               = (*PubSub)(nil)
	_ transport.SubscriptionReporter = (*PubSub)(nil)
	_ transport.ReceiverCounter      = (*PubSub)(nil)
)

// SubscriptionBuffer is the capacity of the Go channel Subscribe returns.
// When it is full the receive loop waits, Redis buffers for the
// connection, and a subscriber slower than the publishers for long enough
// is eventually disconnected by Redis (client-output-buffer-limit pubsub);
// the messages in between are lost.
const SubscriptionBuffer = 256

// A receive error is retried after retry, 50 ms jittered to 25-50 ms: the
// delay does not grow, so a subscription is back within about 50 ms of
// Redis's return however long the outage was. An attempt while Redis is
// down costs one refused connection: go-redis dials a subscription's
// connection directly, without the retries and the circuit breaker of its
// command pool (which, after PoolSize failed dials, tries once a second).
var retry = backoff.Policy{Min: 50 * time.Millisecond, Max: 50 * time.Millisecond, Jitter: true}

// While receiving fails, a Warn is logged at the first failure and then at
// most once per failureLogInterval.
const failureLogInterval = 5 * time.Second

// Config configures a PubSub.
type Config struct {
	// Client is the go-redis client used to publish and subscribe
	// (required). A single-node, Sentinel (failover) or Cluster client
	// all work. PubSub never closes it: whoever created it closes it,
	// after closing the PubSub.
	Client redis.UniversalClient
	// Logger receives what happens in the background: receive errors
	// (Warn, with the retry delay; while they last, at most one per 5 s)
	// and resubscriptions after them (Info). Default (nil): discard.
	Logger *slog.Logger
	// OnSubscription, if set, is told when any subscription's state changes
	// (SubscribeReport tells one caller about its own subscription):
	// subscribed true once Redis confirmed it (at Subscribe, and again each
	// time go-redis resubscribed after a receive error), false with the
	// error when receiving failed (the connection was lost; go-redis is
	// reconnecting). It is called from the subscription's receive loop and
	// must return quickly. Default (nil): not told.
	OnSubscription func(channel string, subscribed bool, err error)
}

// PubSub is the Redis pub/sub transport: a transport.Publisher,
// transport.Subscriber, transport.Pinger and transport.ReceiverCounter
// over an injected go-redis client.
//
// Delivery is at most once. A message reaches the subscribers connected
// to Redis when it is published, and no one else; messages published while
// a subscriber's connection is down are lost for it. go-redis reconnects and
// resubscribes by itself; the Go channel stays open across that.
//
// All methods are safe for concurrent use.
type PubSub struct {
	client  redis.UniversalClient
	logger  *slog.Logger
	onSub   func(channel string, subscribed bool, err error)
	cluster bool // receiver counts are a node's own: unknown

	life *shutdown.Group
}

// New returns a PubSub on cfg.Client. It makes no connection; use Ping to
// check the broker.
func New(cfg Config) (*PubSub, error) {
	if cfg.Client == nil {
		return nil, ErrNoClient
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	_, cluster := cfg.Client.(*redis.ClusterClient)
	return &PubSub{client: cfg.Client, logger: logger, onSub: cfg.OnSubscription, cluster: cluster, life: shutdown.New()}, nil
}

// publishCmd is a PUBLISH that go-redis must not send again by itself, that
// remembers whether its reply was read, and that knows whether its message
// was handed to go-redis's writer.
//
// go-redis retries a whole pipeline when the connection fails while the
// replies are read (MaxRetries, 3 by default), which would publish the
// messages Redis had already received a second time, out of order; and on
// such a failure it stamps the error on every command of the pipeline,
// including those whose reply had arrived. NoRetry stops the first;
// SetErr, which go-redis calls with nil for each reply it reads
// successfully, keeps the count of acknowledged messages despite the
// second. The tests TestPartialFailure and TestFailedBatchIsNotResent pin
// both behaviours.
type publishCmd struct {
	*redis.IntCmd
	msg     []byte
	replied bool // a non-error reply was read
	written bool // go-redis's writer read msg: it may have reached Redis
}

// NoRetry tells go-redis not to retry a pipeline holding this command.
func (*publishCmd) NoRetry() bool { return true }

// SetErr records err; a nil err means the reply was read successfully.
func (c *publishCmd) SetErr(err error) {
	if err == nil {
		c.replied = true
	}
	c.IntCmd.SetErr(err)
}

// payload hands a message to go-redis's writer without a copy. Boxing a
// []byte into an interface allocates a slice header; a struct holding one
// pointer does not. It is only read while Exec runs, by the writer alone
// (go-redis encodes an encoding.BinaryMarshaler argument as it writes it),
// so MarshalBinary marks the command as written.
type payload struct{ c *publishCmd }

// MarshalBinary returns the message itself.
func (p payload) MarshalBinary() ([]byte, error) {
	p.c.written = true
	return p.c.msg, nil
}

// Publish sends msgs to channel with PUBLISH commands in one pipelined
// round trip. It returns how many leading messages Redis acknowledged; on
// error msgs[n:] were not acknowledged. The error wraps
// transport.ErrNotSent when none of msgs[n:] was written (no connection
// could be made, ctx was done first); otherwise any of them may have been
// delivered (the connection broke, or the read timed out, after Redis had
// received them). After Close it returns transport.ErrClosed.
//
// With a Cluster client every message of a channel goes to the node that
// owns the channel's hash slot, so one call stays in order.
func (p *PubSub) Publish(ctx context.Context, channel string, msgs [][]byte) (int, error) {
	return p.publish(ctx, channel, msgs, nil)
}

// PublishCounted is Publish that also stores in receivers[i] the reply of
// msgs[i]'s PUBLISH, the number of subscribers it reached, for every i < n
// (see transport.ReceiverCounter). With a Cluster client a node counts
// only its own subscribers, so every count is -1 (unknown). It panics if
// receivers is shorter than msgs.
func (p *PubSub) PublishCounted(ctx context.Context, channel string, msgs [][]byte, receivers []int64) (int, error) {
	_ = receivers[:len(msgs)]
	return p.publish(ctx, channel, msgs, receivers)
}

func (p *PubSub) publish(ctx context.Context, channel string, msgs [][]byte, receivers []int64) (int, error) {
	select {
	case <-p.life.Closing():
		return 0, transport.ErrClosed
	default:
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("redispubsub: publish to %q: %w: %w", channel, transport.ErrNotSent, err)
	}

	// Slabs of arguments, commands and interface values per call; per
	// message only go-redis's command is allocated.
	args := make([]any, 3*len(msgs))
	pcs := make([]publishCmd, len(msgs))
	cmds := make([]redis.Cmder, len(msgs))
	var ch any = channel
	for i := range msgs {
		pc := &pcs[i]
		pc.msg = msgs[i]
		a := args[3*i : 3*i+3 : 3*i+3]
		a[0], a[1], a[2] = "publish", ch, payload{pc}
		cmd := redis.NewIntCmd(ctx, a...)
		cmd.SetFirstKeyPos(1) // route by channel in a cluster
		pc.IntCmd = cmd
		cmds[i] = pc
	}
	pipe := p.client.Pipeline()
	_ = pipe.BatchProcess(ctx, cmds...)
	_, execErr := pipe.Exec(ctx)

	// Replies come back in order: count the acknowledged prefix.
	n := len(pcs)
	if execErr != nil {
		n = 0
		for n < len(pcs) && pcs[n].replied {
			n++
		}
	}
	if receivers != nil {
		for i := range n {
			if p.cluster {
				receivers[i] = -1
			} else {
				receivers[i] = pcs[i].Val()
			}
		}
	}
	if execErr == nil {
		return n, nil
	}
	if n < len(pcs) {
		if err := pcs[n].Err(); err != nil {
			execErr = err // the failure of message n+1 itself
		}
		if !pcs[n].written {
			execErr = fmt.Errorf("%w: %w", transport.ErrNotSent, execErr)
		}
	}
	return n, fmt.Errorf("redispubsub: publish to %q: failed after %d of %d messages: %w", channel, n, len(msgs), execErr)
}

// Receivers returns the number of subscribers of channel now (PUBSUB
// NUMSUB), see transport.ReceiverCounter; -1 with a Cluster client, and -1
// when Redis refuses the command (an ACL without PUBSUB: Redis answered, so
// it is reachable, but cannot tell). After Close it returns
// transport.ErrClosed.
func (p *PubSub) Receivers(ctx context.Context, channel string) (int64, error) {
	if p.isClosed() {
		return 0, transport.ErrClosed
	}
	if p.cluster {
		return -1, nil
	}
	counts, err := p.client.PubSubNumSub(ctx, channel).Result()
	if err != nil {
		var reply redis.Error
		if errors.As(err, &reply) {
			return -1, nil
		}
		return 0, fmt.Errorf("redispubsub: receivers of %q: %w", channel, err)
	}
	return counts[channel], nil
}

// Subscribe subscribes to channel and returns a Go channel of the
// messages published to it, each a fresh copy. It returns once Redis has
// confirmed the subscription, so every message published after that is
// delivered (at most once, see PubSub). The Go channel is closed when ctx
// is done or the PubSub is closed. Each call uses its own connection.
//
// Receive errors (a lost connection, a failover) are logged at Warn and
// retried every 25-50 ms while go-redis reconnects and resubscribes.
func (p *PubSub) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	return p.SubscribeReport(ctx, channel, nil)
}

// SubscribeReport is Subscribe, and it tells report, when not nil, what
// becomes of this subscription in the background, as OnSubscription is
// told: false with the error when receiving failed (the Go channel stays
// open while go-redis reconnects), true once Redis confirmed the
// subscription again (transport.SubscriptionReporter). It is not told of
// the first confirmation, which SubscribeReport's nil error is. report is
// called from the subscription's receive loop, after OnSubscription, and
// must return quickly. cluster.Manager uses it to keep its Health right.
func (p *PubSub) SubscribeReport(ctx context.Context, channel string, report func(subscribed bool, err error)) (<-chan []byte, error) {
	if !p.life.Add(2) { // watcher and receive loop
		return nil, transport.ErrClosed
	}

	// No channel yet, so no I/O: ps.Subscribe below reports errors.
	ps := p.client.Subscribe(ctx)
	finished := make(chan struct{})
	go func() { // Closing ps is the only way to interrupt a blocked Receive.
		defer p.life.Exit()
		select {
		case <-ctx.Done():
		case <-p.life.Closing():
		case <-finished:
		}
		_ = ps.Close()
	}()

	first, err := confirm(ctx, ps, channel)
	if err != nil {
		close(finished)
		p.life.Exit()
		switch {
		case p.isClosed():
			return nil, transport.ErrClosed
		case ctx.Err() != nil:
			return nil, fmt.Errorf("redispubsub: subscribe to %q: %w", channel, ctx.Err())
		default:
			return nil, fmt.Errorf("redispubsub: subscribe to %q: %w", channel, err)
		}
	}

	p.notify(channel, true, nil, nil)
	out := make(chan []byte, SubscriptionBuffer)
	go p.receive(ctx, ps, channel, out, first, finished, report)
	return out, nil
}

// confirm sends SUBSCRIBE and waits for Redis to confirm it. A message
// arriving first (possible only if go-redis reconnected and resubscribed
// meanwhile) proves the subscription and is returned for delivery.
func confirm(ctx context.Context, ps *redis.PubSub, channel string) (*redis.Message, error) {
	if err := ps.Subscribe(ctx, channel); err != nil {
		return nil, err
	}
	// The read has no deadline; the watcher closes ps when ctx is done.
	rctx := context.WithoutCancel(ctx)
	for {
		msg, err := ps.Receive(rctx)
		if err != nil {
			return nil, err
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == channel {
				return nil, nil
			}
		case *redis.Message:
			if m.Channel == channel {
				return m, nil
			}
		}
	}
}

// receive is a subscription's loop: the only goroutine that reads ps.
func (p *PubSub) receive(ctx context.Context, ps *redis.PubSub, channel string, out chan<- []byte, first *redis.Message,
	finished chan struct{}, report func(bool, error)) {
	defer p.life.Exit()
	defer close(out)
	defer close(finished) // runs first: the watcher closes ps

	deliver := func(m *redis.Message) bool {
		select {
		case out <- []byte(m.Payload):
			return true
		case <-ctx.Done():
			return false
		case <-p.life.Closing():
			return false
		}
	}
	if first != nil && !deliver(first) {
		return
	}

	rctx := context.WithoutCancel(ctx)
	failures := 0
	var since, logged time.Time // the first failure of a run, and its last log
	for {
		msg, err := ps.Receive(rctx)
		if err != nil {
			if ctx.Err() != nil || p.isClosed() {
				return // ps was closed on purpose
			}
			failures++
			now := time.Now()
			if failures == 1 {
				since = now
				p.notify(channel, false, err, report)
			}
			delay := retry.Delay(failures)
			if failures == 1 || now.Sub(logged) >= failureLogInterval {
				logged = now
				p.logger.Warn("redispubsub: receive failed, retrying",
					"channel", channel, "error", err, "failures", failures,
					"down_for", now.Sub(since).Round(time.Millisecond), "retry_in", delay)
			}
			if !backoff.Sleep(ctx, p.life.Closing(), delay) {
				return
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if failures > 0 && m.Kind == "subscribe" {
				p.logger.Info("redispubsub: resubscribed", "channel", channel, "failures", failures,
					"down_for", time.Since(since).Round(time.Millisecond))
				failures = 0
				p.notify(channel, true, nil, report)
			}
		case *redis.Message:
			if failures > 0 {
				failures = 0
				p.notify(channel, true, nil, report)
			}
			if m.Channel != channel {
				continue
			}
			if !deliver(m) {
				return
			}
		}
	}
}

// notify calls the OnSubscription hook and report, if any.
func (p *PubSub) notify(channel string, subscribed bool, err error, report func(bool, error)) {
	if p.onSub != nil {
		p.onSub(channel, subscribed, err)
	}
	if report != nil {
		report(subscribed, err)
	}
}

func (p *PubSub) isClosed() bool { return p.life.Closed() }

// Ping checks the connection to Redis with PING. After Close it returns
// transport.ErrClosed.
func (p *PubSub) Ping(ctx context.Context) error {
	if p.isClosed() {
		return transport.ErrClosed
	}
	if err := p.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redispubsub: ping: %w", err)
	}
	return nil
}

// Close stops every subscription (their Go channels close) and waits for
// their goroutines to end; a subscription reconnecting at that moment can
// hold it up to the client's DialTimeout. Later calls return
// transport.ErrClosed. Close is idempotent, safe to call concurrently and
// while subscribers are blocked, and never closes the injected client.
func (p *PubSub) Close() error {
	p.life.Close()
	return nil
}
