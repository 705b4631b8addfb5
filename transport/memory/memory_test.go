package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/memory"
	"github.com/sockgate/sockgate/transport/transporttest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		ps := memory.New()
		t.Cleanup(func() { _ = ps.Close() })
		return ps, ps
	}, transporttest.Features{})
}

// TestSharedBroker: PubSubs of one broker reach each other; closing one
// leaves the others working.
func TestSharedBroker(t *testing.T) {
	t.Parallel()
	b := memory.NewBroker()
	a, c := b.PubSub(), b.PubSub()
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	ch, err := c.Subscribe(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.Publish(ctx, "x", [][]byte{[]byte("hi")}); n != 1 || err != nil {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	if m := <-ch; string(m) != "hi" {
		t.Fatalf("got %q", m)
	}
	_ = a.Close()
	if err := a.Ping(ctx); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Ping after Close: %v", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("the other PubSub: %v", err)
	}
}

// TestSlowSubscriberSlowsPublisher: a full subscription buffer makes
// Publish wait until its ctx ends, and the count says what was delivered.
func TestSlowSubscriberSlowsPublisher(t *testing.T) {
	t.Parallel()
	ps := memory.New()
	t.Cleanup(func() { _ = ps.Close() })
	if _, err := ps.Subscribe(context.Background(), "slow"); err != nil {
		t.Fatal(err)
	}
	msgs := make([][]byte, memory.Buffer+3)
	for i := range msgs {
		msgs[i] = []byte("m")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	n, err := ps.Publish(ctx, "slow", msgs)
	if n != memory.Buffer || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish = %d, %v; want %d and the deadline", n, err, memory.Buffer)
	}
}
