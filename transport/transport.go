// Package transport defines how encoded sockgate messages travel between
// processes. Each broker lives in its own sub-package (redispubsub, ...), and
// every implementation passes the shared conformance suite.
package transport

import "context"

// Publisher sends encoded messages to a named channel.
//
// Guarantees: messages passed in one Publish call are sent in order. Delivery
// is what the broker offers (Redis pub/sub: at most once, only to subscribers
// connected at that moment). Publish is safe for concurrent use; concurrent
// calls are not ordered relative to each other.
type Publisher interface {
	// Publish sends msgs to channel, in order. It returns how many messages,
	// from the start of msgs, the broker confirmed. On error, msgs[n:] were
	// not confirmed and may be retried (a retry can duplicate a message
	// whose confirmation was lost, unless err wraps ErrNotSent).
	Publish(ctx context.Context, channel string, msgs [][]byte) (n int, err error)
	// Close releases what the Publisher created. It is idempotent. It never
	// closes an injected client.
	Close() error
}

// Subscriber receives messages published to a channel.
type Subscriber interface {
	// Subscribe delivers every message published to channel after it
	// returns, in publish order per publisher, to the returned Go channel.
	// The Go channel is closed when ctx is done or the Subscriber closes.
	Subscribe(ctx context.Context, channel string) (<-chan []byte, error)
	// Close stops every subscription and releases resources; idempotent.
	Close() error
}

// Pinger is an optional capability: a Publisher or Subscriber that can check
// its broker connection.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Delivery is one message of an acknowledging subscription.
type Delivery struct {
	// Data is the message as published.
	Data []byte
	// ID identifies the message in its channel and increases with publish
	// order (a stream entry ID, a JetStream stream sequence); for logs and
	// duplicate detection.
	ID string
	// Ack tells the broker this consumer handled the message. A message not
	// acknowledged is delivered again after a reconnect or a restart.
	// Ack is safe to call from any goroutine, more than once. An Ack made
	// after the subscription ended is not sent (the message comes again to
	// the next subscription).
	Ack func()
}

// AckSubscriber is an optional capability of persistent transports (Redis
// Streams, JetStream): a subscription under a durable consumer name (each
// transport's Config) that, after a disconnect or a restart of the
// subscriber or the broker, resumes with the first message this consumer
// has not acknowledged. Delivery is at least once, in publish order per
// channel; Delivery.ID lets the receiver drop a duplicate. A subscription
// may end (its Go channel closes) when the broker connection is lost; the
// receiver subscribes again and resumes there.
type AckSubscriber interface {
	SubscribeAck(ctx context.Context, channel string) (<-chan Delivery, error)
}

// Sequence numbers the messages of one IdempotentPublisher call.
type Sequence struct {
	// Producer names the publisher: unique to one publishing process for
	// its lifetime (a random ID), the same across its retries.
	Producer string
	// First is the number of the call's first message; msgs[i] is
	// First+i. Numbers increase with publish order and a number is never
	// reused for another message; gaps are allowed.
	First uint64
}

// IdempotentPublisher is an optional capability of persistent transports
// (Redis Streams, JetStream): Publish where every message carries its
// producer's sequence number, so that the broker keeps each message once.
// When a broker restarts after storing messages whose confirmations it never
// sent, retrying exactly msgs[n:] with Sequence.First+n (n as returned)
// stores no duplicate (Publish would). A retry must carry the same
// messages: a transport may recognise a repeat by the number of its first
// message (JetStream packs a batch into one stored message), so a retry
// that adds messages to a repeated call can lose them. How long a broker
// remembers a producer is the transport's to document (JetStream: the
// stream's duplicate window).
type IdempotentPublisher interface {
	PublishIdempotent(ctx context.Context, channel string, seq Sequence, msgs [][]byte) (n int, err error)
}

// Replayer is an optional capability of persistent transports (Redis
// Streams, JetStream): a subscription that starts right after a position,
// a Delivery.ID seen before ("" for the oldest message the broker still
// retains), and goes on with new messages, in publish order. It uses no
// durable consumer and acknowledges nothing (Delivery.Ack does nothing);
// like Subscribe it ends when ctx ends or the Subscriber closes. Messages
// the broker's retention removed are skipped.
type Replayer interface {
	SubscribeFrom(ctx context.Context, channel, after string) (<-chan Delivery, error)
}

// ReceiverCounter is an optional capability of a Publisher whose broker
// tells how many subscribers each message reached (Redis pub/sub: the reply
// of PUBLISH) and how many a channel has now (PUBSUB NUMSUB). A writer uses
// it to count messages that reached no one and to hold its backlog after a
// reconnect until the subscribers are back. Persistent transports store a
// message whether or not anyone listens, and NATS core does not tell, so
// they do not implement it.
type ReceiverCounter interface {
	// PublishCounted is Publish that also stores in receivers[i] the number
	// of subscribers msgs[i] reached, for every i < n (n as returned);
	// len(receivers) must be at least len(msgs). A negative count means the
	// broker cannot tell (Redis Cluster, where a node counts only its own
	// subscribers). It allocates nothing per message beyond Publish.
	PublishCounted(ctx context.Context, channel string, msgs [][]byte, receivers []int64) (n int, err error)
	// Receivers returns the number of subscribers of channel now, negative
	// when the broker cannot tell. An error means the broker could not be
	// asked (it is unreachable).
	Receivers(ctx context.Context, channel string) (int64, error)
}

// SubscriptionReporter is an optional capability of a Subscriber whose
// subscription outlives broker outages behind one open Go channel: the
// client library reconnects and subscribes again by itself (Redis pub/sub
// through go-redis, NATS core through nats.go), so the Go channel alone
// does not show that messages are being missed. Messages published while
// the subscription is lost are lost for it.
//
// SubscribeReport is Subscribe, and it calls report, when not nil, each
// time this subscription changes state in the background: false with the
// error when it was lost (the Go channel stays open), true once the broker
// has the subscription again. It is not called for the first confirmation,
// which SubscribeReport's nil error is, nor after the Go channel closed.
// report is called from the subscription's own goroutine, one call at a
// time, and must return quickly. cluster.Manager finds this capability by
// type assertion to keep its Health right without any wiring.
type SubscriptionReporter interface {
	SubscribeReport(ctx context.Context, channel string, report func(subscribed bool, err error)) (<-chan []byte, error)
}
