// Package transporttest is the conformance suite every sockgate transport
// runs: one Run call checks the guarantees transport.Publisher and
// transport.Subscriber document, plus the persistence of transports that
// offer transport.AckSubscriber. watermill's pubsub/tests suite is the
// model.
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
//			ps := memory.New()
//			t.Cleanup(func() { _ = ps.Close() })
//			return ps, ps
//		}, transporttest.Features{})
//	}
package transporttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockgate/sockgate/transport"
)

// Wait bounds every wait for a message or a closed channel.
const Wait = 10 * time.Second

// Factory returns a fresh Publisher and Subscriber connected to the same
// broker (they may be one value). It registers their cleanup with t.
type Factory func(t *testing.T) (transport.Publisher, transport.Subscriber)

// Features says what a transport offers beyond the basic contract.
type Features struct {
	// Persistent: the Subscriber implements transport.AckSubscriber, and a
	// new subscription of the same consumer resumes with the first message
	// not acknowledged, including messages published while none was
	// subscribed.
	Persistent bool
	// Restart, when set, cuts and restores the broker connection (or
	// restarts the broker); Persistent transports must lose nothing across
	// it.
	Restart func(t *testing.T)
	// MaxMessage is the largest payload to test; default 1 MB.
	MaxMessage int
	// NoEmptyMessage: the transport cannot carry a zero-length message.
	NoEmptyMessage bool
}

// Run runs the suite as subtests of t.
func Run(t *testing.T, f Factory, feat Features) {
	if feat.MaxMessage == 0 {
		feat.MaxMessage = 1 << 20
	}
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, f) })
	t.Run("BinarySafe", func(t *testing.T) { testBinarySafe(t, f, feat) })
	t.Run("Order", func(t *testing.T) { testOrder(t, f) })
	t.Run("NoCrossTalk", func(t *testing.T) { testNoCrossTalk(t, f) })
	t.Run("ManyChannels", func(t *testing.T) { testManyChannels(t, f) })
	t.Run("PublishAfterClose", func(t *testing.T) { testPublishAfterClose(t, f) })
	t.Run("CloseEndsSubscription", func(t *testing.T) { testCloseEndsSubscription(t, f) })
	t.Run("ContextEndsSubscription", func(t *testing.T) { testContextEndsSubscription(t, f) })
	if pub, _ := f(t); implementsIdempotent(pub) {
		t.Run("IdempotentRetry", func(t *testing.T) { testIdempotent(t, f) })
	}
	if _, sub := f(t); implementsReplayer(sub) {
		t.Run("ReplayFromPosition", func(t *testing.T) { testReplay(t, f) })
	}
	if feat.Persistent {
		t.Run("ResumeAfterResubscribe", func(t *testing.T) { testResume(t, f) })
		t.Run("UnackedRedelivered", func(t *testing.T) { testUnacked(t, f) })
		t.Run("AckAfterEndIsNotSent", func(t *testing.T) { testLateAck(t, f) })
		if feat.Restart != nil {
			t.Run("NothingLostAcrossRestart", func(t *testing.T) { testRestart(t, f, feat) })
		}
	}
}

// Channel returns a channel name unique to this test and run.
func Channel(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "sockgate-tt:" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + ":" + hex.EncodeToString(b[:])
}

func subscribe(t *testing.T, sub transport.Subscriber, channel string) <-chan []byte {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := sub.Subscribe(ctx, channel)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", channel, err)
	}
	return ch
}

func publish(t *testing.T, pub transport.Publisher, channel string, msgs ...[]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	n, err := pub.Publish(ctx, channel, msgs)
	if err != nil || n != len(msgs) {
		t.Fatalf("Publish(%q, %d messages) = %d, %v; want %d, nil", channel, len(msgs), n, err, len(msgs))
	}
}

func receive(t *testing.T, ch <-chan []byte, what string) []byte {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatalf("%s: subscription ended", what)
		}
		return m
	case <-time.After(Wait):
		t.Fatalf("%s: nothing within %v", what, Wait)
	}
	return nil
}

// nothingMore checks that no message arrives on ch before a marker that
// the test publishes on the same channel afterwards.
func nothingMore(t *testing.T, pub transport.Publisher, channel string, ch <-chan []byte) {
	t.Helper()
	marker := []byte("marker:" + Channel(t))
	publish(t, pub, channel, marker)
	if m := receive(t, ch, "the marker"); !bytes.Equal(m, marker) {
		t.Fatalf("unexpected message %q before the marker", trim(m))
	}
}

func trim(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%s... (%d bytes)", b[:64], len(b))
	}
	return string(b)
}

func testRoundTrip(t *testing.T, f Factory) {
	pub, sub := f(t)
	channel := Channel(t)
	ch := subscribe(t, sub, channel)
	publish(t, pub, channel, []byte("hello"), []byte("world"))
	if m := receive(t, ch, "first"); string(m) != "hello" {
		t.Fatalf("got %q, want hello", m)
	}
	if m := receive(t, ch, "second"); string(m) != "world" {
		t.Fatalf("got %q, want world", m)
	}
	nothingMore(t, pub, channel, ch)
}

func testBinarySafe(t *testing.T, f Factory, feat Features) {
	pub, sub := f(t)
	channel := Channel(t)
	ch := subscribe(t, sub, channel)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, feat.MaxMessage)
	_, _ = rand.Read(big)
	cases := [][]byte{[]byte("a\x00b\x00"), all, {0xff, 0xfe, 0x00}, big}
	if !feat.NoEmptyMessage {
		cases = append(cases, []byte{})
	}
	publish(t, pub, channel, cases...)
	for i, want := range cases {
		if got := receive(t, ch, fmt.Sprintf("message %d", i)); !bytes.Equal(got, want) {
			t.Fatalf("message %d: got %q, want %q", i, trim(got), trim(want))
		}
	}
}

func testOrder(t *testing.T, f Factory) {
	pub, sub := f(t)
	channel := Channel(t)
	ch := subscribe(t, sub, channel)
	const n = 1000
	published := make(chan struct{})
	defer func() { <-published }() // no t.Errorf after the test returned
	go func() {
		defer close(published)
		// In batches and one by one: order holds across Publish calls of
		// one goroutine too.
		for i := 0; i < n; {
			k := 1 + i%7
			batch := make([][]byte, 0, k)
			for j := 0; j < k && i < n; j++ {
				batch = append(batch, []byte(fmt.Sprint(i)))
				i++
			}
			ctx, cancel := context.WithTimeout(context.Background(), Wait)
			_, err := pub.Publish(ctx, channel, batch)
			cancel()
			if err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
		}
	}()
	for i := 0; i < n; i++ {
		if got := receive(t, ch, fmt.Sprintf("message %d", i)); string(got) != fmt.Sprint(i) {
			t.Fatalf("message %d: got %q", i, got)
		}
	}
}

func testNoCrossTalk(t *testing.T, f Factory) {
	pub, sub := f(t)
	a, b := Channel(t), Channel(t)
	cha, chb := subscribe(t, sub, a), subscribe(t, sub, b)
	publish(t, pub, a, []byte("for a"))
	publish(t, pub, b, []byte("for b"))
	if m := receive(t, cha, "a"); string(m) != "for a" {
		t.Fatalf("channel a got %q", m)
	}
	if m := receive(t, chb, "b"); string(m) != "for b" {
		t.Fatalf("channel b got %q", m)
	}
	nothingMore(t, pub, a, cha)
	nothingMore(t, pub, b, chb)
}

func testManyChannels(t *testing.T, f Factory) {
	pub, sub := f(t)
	const channels, each = 50, 20
	names := make([]string, channels)
	subs := make([]<-chan []byte, channels)
	for i := range names {
		names[i] = Channel(t)
		subs[i] = subscribe(t, sub, names[i])
	}
	var wg sync.WaitGroup
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				ctx, cancel := context.WithTimeout(context.Background(), Wait)
				_, err := pub.Publish(ctx, names[i], [][]byte{[]byte(fmt.Sprintf("%d/%d", i, j))})
				cancel()
				if err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		}()
	}
	for i := range names {
		for j := 0; j < each; j++ {
			want := fmt.Sprintf("%d/%d", i, j)
			if got := receive(t, subs[i], want); string(got) != want {
				t.Fatalf("channel %d: got %q, want %q", i, got, want)
			}
		}
	}
	wg.Wait()
}

func testPublishAfterClose(t *testing.T, f Factory) {
	pub, _ := f(t)
	if err := pub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	n, err := pub.Publish(ctx, Channel(t), [][]byte{[]byte("late")})
	if !errors.Is(err, transport.ErrClosed) || n != 0 {
		t.Fatalf("Publish after Close = %d, %v; want 0 and an error wrapping transport.ErrClosed", n, err)
	}
}

func waitClosed(t *testing.T, ch <-chan []byte, what string) {
	t.Helper()
	timeout := time.After(Wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("%s: the subscription's channel is still open after %v", what, Wait)
		}
	}
}

func testCloseEndsSubscription(t *testing.T, f Factory) {
	_, sub := f(t)
	ch := subscribe(t, sub, Channel(t))
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitClosed(t, ch, "after Close")
	if _, err := sub.Subscribe(context.Background(), Channel(t)); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v; want an error wrapping transport.ErrClosed", err)
	}
}

func testContextEndsSubscription(t *testing.T, f Factory) {
	pub, sub := f(t)
	channel := Channel(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := sub.Subscribe(ctx, channel)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	other := subscribe(t, sub, channel)
	cancel()
	waitClosed(t, ch, "after its ctx was cancelled")
	// The other subscription and the transport go on.
	publish(t, pub, channel, []byte("still here"))
	if m := receive(t, other, "the other subscription"); string(m) != "still here" {
		t.Fatalf("got %q", m)
	}
}

func ackSub(t *testing.T, sub transport.Subscriber) transport.AckSubscriber {
	t.Helper()
	as, ok := sub.(transport.AckSubscriber)
	if !ok {
		t.Fatalf("Features.Persistent, but %T does not implement transport.AckSubscriber", sub)
	}
	return as
}

func subscribeAck(t *testing.T, as transport.AckSubscriber, channel string) (<-chan transport.Delivery, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := as.SubscribeAck(ctx, channel)
	if err != nil {
		t.Fatalf("SubscribeAck(%q): %v", channel, err)
	}
	return ch, cancel
}

func receiveAck(t *testing.T, ch <-chan transport.Delivery, what string) transport.Delivery {
	t.Helper()
	select {
	case d, ok := <-ch:
		if !ok {
			t.Fatalf("%s: subscription ended", what)
		}
		return d
	case <-time.After(Wait):
		t.Fatalf("%s: nothing within %v", what, Wait)
	}
	return transport.Delivery{}
}

// subscribeAckRetry subscribes until the broker takes the subscription
// (it may be restarting).
func subscribeAckRetry(t *testing.T, as transport.AckSubscriber, channel string) (<-chan transport.Delivery, context.CancelFunc) {
	t.Helper()
	end := time.Now().Add(Wait)
	for {
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := as.SubscribeAck(ctx, channel)
		if err == nil {
			t.Cleanup(cancel)
			return ch, cancel
		}
		cancel()
		if time.Now().After(end) {
			t.Fatalf("SubscribeAck(%q) after the restart: %v", channel, err)
		}
		time.Sleep(50 * time.Millisecond) // retry pacing while the broker comes back
	}
}

func drainAck(ch <-chan transport.Delivery) {
	for range ch {
	}
}

// testResume: messages published while no subscription of the consumer
// exists are delivered when it subscribes again, in order, after the ones
// it acknowledged.
func testResume(t *testing.T, f Factory) {
	pub, sub := f(t)
	as := ackSub(t, sub)
	channel := Channel(t)
	ch, stop := subscribeAck(t, as, channel)
	publish(t, pub, channel, []byte("0"), []byte("1"))
	for i := 0; i < 2; i++ {
		d := receiveAck(t, ch, fmt.Sprint("message ", i))
		if string(d.Data) != fmt.Sprint(i) {
			t.Fatalf("got %q, want %d", d.Data, i)
		}
		d.Ack()
	}
	stop()
	drainAck(ch)
	publish(t, pub, channel, []byte("2"), []byte("3"))
	ch2, _ := subscribeAck(t, as, channel)
	for i := 2; i < 4; i++ {
		d := receiveAck(t, ch2, fmt.Sprint("message ", i))
		if string(d.Data) != fmt.Sprint(i) {
			t.Fatalf("after resubscribing: got %q, want %d", d.Data, i)
		}
		d.Ack()
	}
}

// testUnacked: a delivery not acknowledged comes again to the consumer's
// next subscription, and nothing published after it comes first; an
// acknowledged one may come again only with its ID, before it.
func testUnacked(t *testing.T, f Factory) {
	pub, sub := f(t)
	as := ackSub(t, sub)
	channel := Channel(t)
	ch, stop := subscribeAck(t, as, channel)
	publish(t, pub, channel, []byte("acked"), []byte("not acked"))
	d := receiveAck(t, ch, "acked")
	d.Ack()
	d.Ack() // twice is allowed
	firstID := d.ID
	d2 := receiveAck(t, ch, "not acked")
	if string(d2.Data) != "not acked" || d2.ID == firstID {
		t.Fatalf("second delivery %q id %q (first id %q)", d2.Data, d2.ID, firstID)
	}
	stop()
	drainAck(ch)
	ch2, _ := subscribeAck(t, as, channel)
	again := receiveAck(t, ch2, "the redelivery")
	if again.ID == firstID && string(again.Data) == "acked" {
		// At least once: a transport that stores several messages as one
		// (JetStream packs a Publish call) redelivers the acknowledged one
		// with it, under its ID, for the receiver to drop.
		again.Ack()
		again = receiveAck(t, ch2, "the redelivery")
	}
	if string(again.Data) != "not acked" || again.ID != d2.ID {
		t.Fatalf("redelivered %q id %q; want %q id %q", again.Data, again.ID, "not acked", d2.ID)
	}
	again.Ack()
}

func testRestart(t *testing.T, f Factory, feat Features) {
	pub, sub := f(t)
	as := ackSub(t, sub)
	channel := Channel(t)
	ch, _ := subscribeAck(t, as, channel)
	const n = 200
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			// Publish retries until confirmed, as the gateway's writer does.
			for {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				k, _ := pub.Publish(ctx, channel, [][]byte{[]byte(fmt.Sprint(i))})
				cancel()
				if k == 1 {
					break
				}
				time.Sleep(20 * time.Millisecond) // retry pacing, not synchronisation
			}
		}
	}()
	feat.Restart(t)
	next, lastID := 0, ""
	for next < n {
		var d transport.Delivery
		select {
		case got, ok := <-ch:
			if !ok {
				// The subscription ended with the connection: subscribe
				// again, as a receiver does; it resumes after the last
				// acknowledged message.
				ch, _ = subscribeAckRetry(t, as, channel)
				continue
			}
			d = got
		case <-time.After(Wait):
			t.Fatalf("message %d: nothing within %v", next, Wait)
		}
		if d.ID != "" && d.ID == lastID {
			continue // a redelivery across the restart
		}
		got := string(d.Data)
		if got != fmt.Sprint(next) {
			var k int
			if _, err := fmt.Sscan(got, &k); err == nil && k < next {
				d.Ack()
				continue // at least once: an earlier message again
			}
			t.Fatalf("got %q, want %d", got, next)
		}
		d.Ack()
		lastID = d.ID
		next++
	}
	<-done
}

func implementsIdempotent(p transport.Publisher) bool {
	_, ok := p.(transport.IdempotentPublisher)
	return ok
}

// testIdempotent: a retry of a call whose confirmation was lost stores
// none of its messages again; another producer's numbers are its own.
func testIdempotent(t *testing.T, f Factory) {
	pub, sub := f(t)
	ip := pub.(transport.IdempotentPublisher)
	channel := Channel(t)
	ch := subscribe(t, sub, channel)
	msgs := func(from, to int) [][]byte {
		var out [][]byte
		for i := from; i <= to; i++ {
			out = append(out, []byte(fmt.Sprint("m", i)))
		}
		return out
	}
	send := func(producer string, first int, batch [][]byte) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), Wait)
		defer cancel()
		n, err := ip.PublishIdempotent(ctx, channel, transport.Sequence{Producer: producer, First: uint64(first)}, batch)
		if err != nil || n != len(batch) {
			t.Fatalf("PublishIdempotent(first %d, %d messages) = %d, %v; want %d, nil", first, len(batch), n, err, len(batch))
		}
	}
	a, b := "p-"+Channel(t), "q-"+Channel(t)
	send(a, 1, msgs(1, 5))
	send(a, 1, msgs(1, 5)) // the whole call again: its confirmation was lost
	send(b, 1, msgs(100, 101))
	send(a, 6, msgs(6, 8))
	send(a, 6, msgs(6, 8))
	want := append(append(msgs(1, 5), msgs(100, 101)...), msgs(6, 8)...)
	for i, w := range want {
		if got := receive(t, ch, fmt.Sprintf("message %d", i)); !bytes.Equal(got, w) {
			t.Fatalf("message %d: got %q, want %q (a retried message stored twice?)", i, got, w)
		}
	}
	nothingMore(t, pub, channel, ch)
}

func implementsReplayer(s transport.Subscriber) bool {
	_, ok := s.(transport.Replayer)
	return ok
}

// testReplay: SubscribeFrom("") replays what the channel holds, from the
// oldest; SubscribeFrom(ID) starts right after that message; both go on
// with new messages; a position that is not one is refused.
func testReplay(t *testing.T, f Factory) {
	pub, sub := f(t)
	r := sub.(transport.Replayer)
	channel := Channel(t)
	publish(t, pub, channel, []byte("a"), []byte("b"), []byte("c"))
	from := func(after string) <-chan transport.Delivery {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		ch, err := r.SubscribeFrom(ctx, channel, after)
		if err != nil {
			t.Fatalf("SubscribeFrom(%q, %q): %v", channel, after, err)
		}
		return ch
	}
	next := func(ch <-chan transport.Delivery, want string) transport.Delivery {
		t.Helper()
		select {
		case d, ok := <-ch:
			if !ok {
				t.Fatalf("waiting for %q: subscription ended", want)
			}
			if string(d.Data) != want {
				t.Fatalf("got %q, want %q", d.Data, want)
			}
			if d.ID == "" || d.Ack == nil {
				t.Fatalf("%q: Delivery without ID or Ack: %+v", want, d)
			}
			d.Ack()
			return d
		case <-time.After(Wait):
			t.Fatalf("waiting for %q: nothing within %v", want, Wait)
		}
		return transport.Delivery{}
	}
	all := from("")
	first := next(all, "a")
	next(all, "b")
	next(all, "c")
	rest := from(first.ID)
	next(rest, "b")
	next(rest, "c")
	publish(t, pub, channel, []byte("d"))
	next(all, "d")
	next(rest, "d")

	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if _, err := r.SubscribeFrom(ctx, channel, "not a position"); err == nil {
		t.Fatal(`SubscribeFrom with position "not a position": no error`)
	}
}

// testLateAck: an Ack called after its subscription ended is not sent (the
// next subscription may be a new consumer under the same name, which must
// not take it for its own), so the message comes again.
func testLateAck(t *testing.T, f Factory) {
	pub, sub := f(t)
	as := ackSub(t, sub)
	channel := Channel(t)
	ch, stop := subscribeAck(t, as, channel)
	publish(t, pub, channel, []byte("late"))
	d := receiveAck(t, ch, "late")
	stop()
	drainAck(ch)
	d.Ack()
	ch2, _ := subscribeAck(t, as, channel)
	again := receiveAck(t, ch2, "the redelivery")
	if string(again.Data) != "late" || again.ID != d.ID {
		t.Fatalf("after an Ack made once the subscription had ended: got %q id %q; want %q id %q again",
			again.Data, again.ID, "late", d.ID)
	}
	again.Ack()
}
