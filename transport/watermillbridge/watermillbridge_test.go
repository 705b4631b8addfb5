package watermillbridge_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/transporttest"
	"github.com/sockgate/sockgate/transport/watermillbridge"
)

// newGoChannel returns an in-process watermill Pub/Sub that keeps order:
// without BlockPublishUntilSubscriberAck, GoChannel sends every message
// from its own goroutine.
func newGoChannel(t *testing.T) *gochannel.GoChannel {
	t.Helper()
	gc := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, nil)
	t.Cleanup(func() { _ = gc.Close() })
	return gc
}

func newBridge(t *testing.T, cfg watermillbridge.Config) *watermillbridge.Bridge {
	t.Helper()
	b, err := watermillbridge.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestConformance runs the suite through the bridge on GoChannel, which
// keeps nothing for a subscriber that is not subscribed: not Persistent.
// Once with the GoChannel left to its creator, once owned by the Bridge.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, owned := range []bool{false, true} {
		t.Run(fmt.Sprint("CloseWrapped=", owned), func(t *testing.T) {
			t.Parallel()
			transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
				gc := newGoChannel(t)
				b := newBridge(t, watermillbridge.Config{Publisher: gc, Subscriber: gc, CloseWrapped: owned})
				return b, b
			}, transporttest.Features{})
		})
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	_, err := watermillbridge.New(watermillbridge.Config{})
	require.ErrorIs(t, err, watermillbridge.ErrConfig)

	gc := newGoChannel(t)
	ctx := context.Background()
	pubOnly := newBridge(t, watermillbridge.Config{Publisher: gc})
	_, err = pubOnly.Subscribe(ctx, "c")
	require.ErrorIs(t, err, watermillbridge.ErrNoSubscriber)
	_, err = pubOnly.SubscribeAck(ctx, "c")
	require.ErrorIs(t, err, watermillbridge.ErrNoSubscriber)

	subOnly := newBridge(t, watermillbridge.Config{Subscriber: gc})
	n, err := subOnly.Publish(ctx, "c", [][]byte{[]byte("x")})
	require.ErrorIs(t, err, watermillbridge.ErrNoPublisher)
	require.Zero(t, n)
	require.EqualError(t, err, `watermillbridge: no Publisher configured: publish to "c"`)

	require.NoError(t, subOnly.Close())
	_, err = subOnly.Publish(ctx, "c", [][]byte{[]byte("x")})
	require.ErrorIs(t, err, watermillbridge.ErrClosed)
	require.ErrorIs(t, err, transport.ErrClosed)
	_, err = subOnly.SubscribeAck(ctx, "c")
	require.ErrorIs(t, err, transport.ErrClosed)
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		require.True(t, ok, "the subscription ended")
		return v
	case <-time.After(transporttest.Wait):
		t.Fatalf("nothing within %v", transporttest.Wait)
	}
	panic("unreachable")
}

func waitClosed[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	timeout := time.After(transporttest.Wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("still open after %v", transporttest.Wait)
		}
	}
}

type published struct {
	n   int
	err error
}

// publishAsync publishes from a goroutine: on a GoChannel that waits for
// acknowledgements, Publish returns only after the receiver acked.
func publishAsync(b *watermillbridge.Bridge, channel string, msgs ...string) <-chan published {
	res := make(chan published, 1)
	go func() {
		batch := make([][]byte, len(msgs))
		for i, m := range msgs {
			batch[i] = []byte(m)
		}
		ctx, cancel := context.WithTimeout(context.Background(), transporttest.Wait)
		defer cancel()
		n, err := b.Publish(ctx, channel, batch)
		res <- published{n, err}
	}()
	return res
}

// TestSubscribeAck: each delivery carries the message UUID as its ID, and
// the GoChannel's Publish completes once the receiver acked.
func TestSubscribeAck(t *testing.T) {
	t.Parallel()
	gc := newGoChannel(t)
	b := newBridge(t, watermillbridge.Config{Publisher: gc, Subscriber: gc})
	ch := transporttest.Channel(t)
	ds, err := b.SubscribeAck(t.Context(), ch)
	require.NoError(t, err)
	res := publishAsync(b, ch, "a", "b")
	d1 := receive(t, ds)
	require.Equal(t, "a", string(d1.Data))
	require.NotEmpty(t, d1.ID)
	d1.Ack()
	d1.Ack() // twice is allowed
	d2 := receive(t, ds)
	require.Equal(t, "b", string(d2.Data))
	require.NotEqual(t, d1.ID, d2.ID)
	go d2.Ack() // from any goroutine
	r := receive(t, res)
	require.NoError(t, r.err)
	require.Equal(t, 2, r.n)
	st := b.Stats()
	require.Equal(t, uint64(2), st.Published)
	require.Equal(t, uint64(2), st.Delivered)
}

// TestUnackedDoesNotHang: with a GoChannel whose Publish waits for
// acknowledgements, a delivery never acknowledged neither blocks Close nor
// leaves Publish waiting: ending the subscription releases both.
func TestUnackedDoesNotHang(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"ctx", "Close"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			gc := newGoChannel(t)
			b := newBridge(t, watermillbridge.Config{Publisher: gc, Subscriber: gc})
			ch := transporttest.Channel(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ds, err := b.SubscribeAck(ctx, ch)
			require.NoError(t, err)
			res := publishAsync(b, ch, "held", "never delivered", "nor this")
			d := receive(t, ds)
			require.Equal(t, "held", string(d.Data))
			if end == "ctx" {
				cancel()
			} else {
				closed := make(chan error, 1)
				go func() { closed <- b.Close() }()
				require.NoError(t, receive(t, closed))
			}
			waitClosed(t, ds)
			r := receive(t, res) // Publish returned, whatever it says
			if end == "Close" {
				require.ErrorIs(t, r.err, transport.ErrClosed)
			}
			d.Ack() // after the end: harmless
		})
	}
}

// fakeSub is a watermill Subscriber whose messages the test sends.
type fakeSub struct {
	msgs   chan *message.Message
	ctxs   chan context.Context // the ctx of each Subscribe call
	closed atomic.Int32
	err    error // returned by Close
}

func newFakeSub() *fakeSub {
	return &fakeSub{msgs: make(chan *message.Message), ctxs: make(chan context.Context, 16)}
}

func (f *fakeSub) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	f.ctxs <- ctx
	return f.msgs, nil
}

func (f *fakeSub) Close() error {
	f.closed.Add(1)
	return f.err
}

// fakePub is a watermill Publisher that records what it is given and
// blocks until release is closed (when block is set).
type fakePub struct {
	block   bool
	entered chan []*message.Message
	release chan struct{}
	err     error
	closed  atomic.Int32
}

func newFakePub(block bool) *fakePub {
	f := &fakePub{block: block, entered: make(chan []*message.Message, 16), release: make(chan struct{})}
	return f
}

func (f *fakePub) Publish(_ string, msgs ...*message.Message) error {
	f.entered <- msgs
	if f.block {
		<-f.release
	}
	return f.err
}

func (f *fakePub) Close() error {
	f.closed.Add(1)
	return f.err
}

// fakePubSub is one value that is both.
type fakePubSub struct {
	*fakePub
	*fakeSub
}

func (f *fakePubSub) Close() error {
	_ = f.fakePub.Close()
	return f.fakeSub.Close()
}

// TestNackWhenSubscriptionEnds: messages that reached the Go channel are
// acked; the one held while the buffer was full is nacked when the
// subscription's ctx ends.
func TestNackWhenSubscriptionEnds(t *testing.T) {
	t.Parallel()
	fs := newFakeSub()
	b := newBridge(t, watermillbridge.Config{Subscriber: fs})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := b.Subscribe(ctx, "c")
	require.NoError(t, err)
	var sent []*message.Message
	for i := 0; i <= watermillbridge.SubscriptionBuffer; i++ {
		m := message.NewMessage(fmt.Sprint("uuid-", i), []byte(fmt.Sprint(i)))
		select {
		case fs.msgs <- m: // taken by the forwarding goroutine
		case <-time.After(transporttest.Wait):
			t.Fatalf("message %d not taken", i)
		}
		sent = append(sent, m)
	}
	cancel()
	last := sent[len(sent)-1]
	select {
	case <-last.Nacked():
	case <-time.After(transporttest.Wait):
		t.Fatal("the held message was not nacked")
	}
	for i, m := range sent[:len(sent)-1] {
		select {
		case <-m.Acked():
		default:
			t.Fatalf("message %d in the buffer was not acked", i)
		}
	}
	n := 0
	for m := range out {
		require.Equal(t, fmt.Sprint(n), string(m))
		n++
	}
	require.Equal(t, watermillbridge.SubscriptionBuffer, n)
	st := b.Stats()
	require.Equal(t, uint64(1), st.Nacked)
	require.Equal(t, uint64(watermillbridge.SubscriptionBuffer), st.Delivered)
}

func TestIDMetadata(t *testing.T) {
	t.Parallel()
	fs := newFakeSub()
	b := newBridge(t, watermillbridge.Config{Subscriber: fs, IDMetadata: "seq"})
	ds, err := b.SubscribeAck(t.Context(), "c")
	require.NoError(t, err)
	withSeq := message.NewMessage("uuid-1", []byte("x"))
	withSeq.Metadata.Set("seq", "7")
	without := message.NewMessage("uuid-2", []byte("y"))
	go func() {
		fs.msgs <- withSeq
		fs.msgs <- without
	}()
	d := receive(t, ds)
	require.Equal(t, "7", d.ID)
	d.Ack()
	<-withSeq.Acked()
	require.Equal(t, "uuid-2", receive(t, ds).ID)
}

// TestWrappedSubscriptionEnds: the Go channel closes with the wrapped
// one, and Close ends the wrapped subscription's ctx.
func TestWrappedSubscriptionEnds(t *testing.T) {
	t.Parallel()
	fs := newFakeSub()
	b := newBridge(t, watermillbridge.Config{Subscriber: fs})
	out, err := b.Subscribe(t.Context(), "c")
	require.NoError(t, err)
	<-fs.ctxs
	close(fs.msgs)
	waitClosed(t, out)

	fs2 := newFakeSub()
	b2 := newBridge(t, watermillbridge.Config{Subscriber: fs2})
	out2, err := b2.Subscribe(t.Context(), "c")
	require.NoError(t, err)
	wrappedCtx2 := <-fs2.ctxs
	require.NoError(t, b2.Close())
	waitClosed(t, out2)
	require.Error(t, wrappedCtx2.Err(), "Close ends the wrapped subscription")
	require.Zero(t, fs2.closed.Load(), "an injected Subscriber is not closed")
}

func TestPublish(t *testing.T) {
	t.Parallel()
	t.Run("CopiesPayload", func(t *testing.T) {
		t.Parallel()
		fp := newFakePub(false)
		b := newBridge(t, watermillbridge.Config{Publisher: fp})
		buf := []byte("original")
		n, err := b.Publish(t.Context(), "c", [][]byte{buf, nil})
		require.NoError(t, err)
		require.Equal(t, 2, n)
		copy(buf, "modified")
		msgs := <-fp.entered
		require.Len(t, msgs, 2)
		require.Equal(t, "original", string(msgs[0].Payload))
		require.Empty(t, msgs[1].Payload)
		require.NotEqual(t, msgs[0].UUID, msgs[1].UUID)
	})
	t.Run("Error", func(t *testing.T) {
		t.Parallel()
		fp := newFakePub(false)
		fp.err = errors.New("broker says no")
		b := newBridge(t, watermillbridge.Config{Publisher: fp})
		n, err := b.Publish(t.Context(), "c", [][]byte{[]byte("x")})
		require.ErrorIs(t, err, fp.err)
		require.Zero(t, n)
		require.Zero(t, b.Stats().Published)
	})
	t.Run("ContextEndsWait", func(t *testing.T) {
		t.Parallel()
		fp := newFakePub(true)
		defer close(fp.release)
		b := newBridge(t, watermillbridge.Config{Publisher: fp})
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan published, 1)
		go func() {
			n, err := b.Publish(ctx, "c", [][]byte{[]byte("x")})
			res <- published{n, err}
		}()
		msgs := receive(t, fp.entered)
		require.Equal(t, ctx, msgs[0].Context(), "the message carries Publish's ctx")
		cancel()
		r := receive(t, res)
		require.ErrorIs(t, r.err, context.Canceled)
		require.Zero(t, r.n)
		require.Equal(t, uint64(1), b.Stats().Abandoned)
	})
	t.Run("CloseEndsWait", func(t *testing.T) {
		t.Parallel()
		fp := newFakePub(true)
		defer close(fp.release)
		b := newBridge(t, watermillbridge.Config{Publisher: fp})
		res := make(chan published, 1)
		go func() {
			n, err := b.Publish(t.Context(), "c", [][]byte{[]byte("x")})
			res <- published{n, err}
		}()
		receive(t, fp.entered)
		require.NoError(t, b.Close())
		r := receive(t, res)
		require.ErrorIs(t, r.err, transport.ErrClosed)
		require.Zero(t, r.n)
	})
	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		fp := newFakePub(false)
		b := newBridge(t, watermillbridge.Config{Publisher: fp})
		n, err := b.Publish(t.Context(), "c", nil)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Empty(t, fp.entered)
	})
}

func TestCloseWrapped(t *testing.T) {
	t.Parallel()
	t.Run("OneValue", func(t *testing.T) {
		t.Parallel()
		ps := &fakePubSub{newFakePub(false), newFakeSub()}
		b, err := watermillbridge.New(watermillbridge.Config{Publisher: ps, Subscriber: ps, CloseWrapped: true})
		require.NoError(t, err)
		require.NoError(t, b.Close())
		require.NoError(t, b.Close())
		require.Equal(t, int32(1), ps.fakeSub.closed.Load(), "closed once")
		require.Equal(t, int32(1), ps.fakePub.closed.Load())
	})
	t.Run("Two", func(t *testing.T) {
		t.Parallel()
		fp, fs := newFakePub(false), newFakeSub()
		fs.err = errors.New("sub close failed")
		b, err := watermillbridge.New(watermillbridge.Config{Publisher: fp, Subscriber: fs, CloseWrapped: true})
		require.NoError(t, err)
		require.ErrorIs(t, b.Close(), fs.err)
		require.NoError(t, b.Close(), "idempotent")
		require.Equal(t, int32(1), fp.closed.Load())
		require.Equal(t, int32(1), fs.closed.Load())
	})
	t.Run("Injected", func(t *testing.T) {
		t.Parallel()
		fp, fs := newFakePub(false), newFakeSub()
		b, err := watermillbridge.New(watermillbridge.Config{Publisher: fp, Subscriber: fs})
		require.NoError(t, err)
		require.NoError(t, b.Close())
		require.Zero(t, fp.closed.Load())
		require.Zero(t, fs.closed.Load())
	})
}

// TestConcurrentPublishers: many goroutines publish to one subscription
// through a GoChannel that waits for acknowledgements; each publisher's
// messages arrive in order and Close afterwards returns.
func TestConcurrentPublishers(t *testing.T) {
	t.Parallel()
	gc := newGoChannel(t)
	b := newBridge(t, watermillbridge.Config{Publisher: gc, Subscriber: gc})
	ch := transporttest.Channel(t)
	out, err := b.Subscribe(t.Context(), ch)
	require.NoError(t, err)
	const publishers, each = 8, 50
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				_, err := b.Publish(t.Context(), ch, [][]byte{[]byte(fmt.Sprintf("%d/%d", p, i))})
				if err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		})
	}
	next := make([]int, publishers)
	for range publishers * each {
		m := receive(t, out)
		var p, i int
		_, err := fmt.Sscanf(string(m), "%d/%d", &p, &i)
		require.NoError(t, err)
		require.Equal(t, next[p], i, "publisher %d out of order", p)
		next[p]++
	}
	wg.Wait()
}
