//go:build integration

package watermillbridge_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/transporttest"
	"github.com/sockgate/sockgate/transport/watermillbridge"
)

// Run against a real Redis (or Valkey):
//
//	SOCKGATE_TEST_REDIS_ADDR=127.0.0.1:6379 go test -tags integration -run Real ./transport/watermillbridge/
//
// Without the variable these tests skip. The streams they create are
// deleted when each test ends.

func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("SOCKGATE_TEST_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SOCKGATE_TEST_REDIS_ADDR is not set")
		}
		t.Skip("SOCKGATE_TEST_REDIS_ADDR is not set")
	}
	return addr
}

// streams records the topics a test touches and deletes their streams
// when it ends. It wraps the watermill Publisher and Subscriber, as any
// watermill decorator can.
type streams struct {
	mu     sync.Mutex
	topics map[string]bool
}

func cleanStreams(t *testing.T, addr string) *streams {
	s := &streams{topics: map[string]bool{}}
	t.Cleanup(func() { // runs after the bridge's cleanup, registered later
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.topics) == 0 {
			return
		}
		keys := make([]string, 0, len(s.topics))
		for k := range s.topics {
			keys = append(keys, k)
		}
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), transporttest.Wait)
		defer cancel()
		if err := c.Del(ctx, keys...).Err(); err != nil {
			t.Logf("deleting the test's streams: %v", err)
		}
	})
	return s
}

func (s *streams) add(topic string) {
	s.mu.Lock()
	s.topics[topic] = true
	s.mu.Unlock()
}

type recordingPub struct {
	message.Publisher
	s *streams
}

func (p recordingPub) Publish(topic string, msgs ...*message.Message) error {
	p.s.add(topic)
	return p.Publisher.Publish(topic, msgs...)
}

type recordingSub struct {
	message.Subscriber
	s *streams
}

func (r recordingSub) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	r.s.add(topic)
	return r.Subscriber.Subscribe(ctx, topic)
}

// newRedisBridge returns a Bridge owning a watermill-redisstream Publisher
// and Subscriber (each on its own client, which watermill closes with
// it).
func newRedisBridge(t *testing.T, addr string, subCfg redisstream.SubscriberConfig) *watermillbridge.Bridge {
	t.Helper()
	s := cleanStreams(t, addr)
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: redis.NewClient(&redis.Options{Addr: addr})}, nil)
	require.NoError(t, err)
	// Every subscription holds a connection in its blocking reads; the
	// suite runs 50 at once.
	subCfg.Client = redis.NewClient(&redis.Options{Addr: addr, PoolSize: 128})
	// A reader blocked without a deadline outlives its subscription (go-redis
	// cannot interrupt it): bound every read.
	subCfg.DisableIndefiniteInitialBlock = true
	sub, err := redisstream.NewSubscriber(subCfg, nil)
	require.NoError(t, err)
	b, err := watermillbridge.New(watermillbridge.Config{
		Publisher:    recordingPub{pub, s},
		Subscriber:   recordingSub{sub, s},
		CloseWrapped: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

// TestRealConformance runs the suite through the bridge on
// watermill-redisstream and the Redis at SOCKGATE_TEST_REDIS_ADDR: a real
// watermill Pub/Sub, plugged in without code of its own.
//
// The Subscriber runs without a consumer group ("fan-out"): each
// subscription reads the stream itself, so that every subscription gets
// every message, as transport.Subscriber promises. Through one consumer
// group, two subscriptions of a channel share its messages instead, and
// ContextEndsSubscription fails: the reader of the cancelled subscription
// is still blocked in XREADGROUP (go-redis cannot interrupt it), takes the
// next message and drops it. FanOutOldestId is "0" because the default,
// "$", is resolved by the subscription's first XREAD, after Subscribe has
// returned, and so misses messages published right after it (RoundTrip and
// Order fail with it). "0" reads the stream from its start, which is
// harmless here because every test's channel is new; a real deployment
// would rather give each node its own consumer group (TestRealConsumerGroup).
//
// Not Persistent, even with a fixed consumer group per factory call (tried
// with MaxIdleTime 1 ms so that a new subscription claims what is pending
// first): watermill-redisstream sends XACK with the message's context,
// which ends with the subscription, so an Ack given just before the
// subscription ends can be lost and the message comes again
// (ResumeAfterResubscribe got "1" again, want "2"); and the reader of an
// ended subscription can take the next message and drop it, so that it
// comes back only through the claim loop (after MaxIdleTime, default 60 s),
// after newer ones (ResumeAfterResubscribe with the default: got "3",
// want "2"; UnackedRedelivered: nothing within 10 s). Delivery is at least
// once, not in order: TestRealConsumerGroup shows what holds.
func TestRealConformance(t *testing.T) {
	addr := redisAddr(t)
	t.Parallel()
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		b := newRedisBridge(t, addr, redisstream.SubscriberConfig{FanOutOldestId: "0"})
		return b, b
	}, transporttest.Features{})
}

// TestRealConsumerGroup: with a consumer group per node (the way to run
// watermill-redisstream under sockgate), every node gets every message,
// and a message a node did not acknowledge comes to it again, with the
// same Delivery.ID, once it has been pending for MaxIdleTime.
func TestRealConsumerGroup(t *testing.T) {
	addr := redisAddr(t)
	t.Parallel()
	node := func(name string) *watermillbridge.Bridge {
		return newRedisBridge(t, addr, redisstream.SubscriberConfig{
			ConsumerGroup: name + "-" + transporttest.Channel(t),
			Consumer:      name,
			OldestId:      "$", // a new node starts at the stream's end
			MaxIdleTime:   200 * time.Millisecond,
			ClaimInterval: 100 * time.Millisecond,
		})
	}
	a, b := node("a"), node("b")
	channel := transporttest.Channel(t)
	da, stopA := subscribeAck(t, a, channel)
	db, _ := subscribeAck(t, b, channel)
	publishOK(t, a, channel, "x", "y")

	// The claim loop can hand out a message again while it waits for its
	// acknowledgement (at least once): next skips a delivery seen before.
	seenB := map[string]bool{}
	for _, want := range []string{"x", "y"} {
		d := next(t, db, seenB)
		require.Equal(t, want, string(d.Data), "node b")
		d.Ack()
	}
	seenA := map[string]bool{}
	x := next(t, da, seenA)
	require.Equal(t, "x", string(x.Data), "node a")
	x.Ack()
	y := next(t, da, seenA)
	require.Equal(t, "y", string(y.Data))
	// Node a ends its subscription without acknowledging y.
	stopA()
	waitClosed(t, da)

	da, _ = subscribeAck(t, a, channel)
	publishOK(t, a, channel, "z")
	// y comes again (through the claim loop, so possibly after z), with
	// its ID; z comes too; x, acknowledged, does not.
	got := map[string]string{}
	for got["y"] == "" || got["z"] == "" {
		d := receive(t, da)
		require.Contains(t, []string{"y", "z"}, string(d.Data), "x was acknowledged")
		got[string(d.Data)] = d.ID
		d.Ack()
	}
	require.Equal(t, y.ID, got["y"], "a redelivery keeps its ID")
	require.NotEqual(t, got["y"], got["z"])
}

// next returns the first delivery whose ID is not in seen, and adds it;
// it acknowledges the ones it skips.
func next(t *testing.T, ch <-chan transport.Delivery, seen map[string]bool) transport.Delivery {
	t.Helper()
	for {
		d := receive(t, ch)
		if !seen[d.ID] {
			seen[d.ID] = true
			return d
		}
		d.Ack()
	}
}

func subscribeAck(t *testing.T, b *watermillbridge.Bridge, channel string) (<-chan transport.Delivery, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := b.SubscribeAck(ctx, channel)
	require.NoError(t, err)
	return ch, cancel
}

func publishOK(t *testing.T, b *watermillbridge.Bridge, channel string, msgs ...string) {
	t.Helper()
	r := receive(t, publishAsync(b, channel, msgs...))
	require.NoError(t, r.err)
	require.Equal(t, len(msgs), r.n)
}
