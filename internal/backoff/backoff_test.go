package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/sockgate/sockgate/internal/backoff"
)

func TestDelayDoublesUpToMax(t *testing.T) {
	t.Parallel()
	p := backoff.Policy{Min: 50 * time.Millisecond, Max: time.Second}
	want := []time.Duration{50, 50, 100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := p.Delay(i); got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	if got := p.Delay(1 << 20); got != time.Second {
		t.Errorf("Delay(1<<20) = %v, want the cap", got)
	}
}

func TestConstantAndJitter(t *testing.T) {
	t.Parallel()
	p := backoff.Policy{Min: 50 * time.Millisecond, Max: 50 * time.Millisecond, Jitter: true}
	seen := map[time.Duration]bool{}
	for i := 1; i <= 200; i++ {
		d := p.Delay(i)
		if d < 25*time.Millisecond || d > 50*time.Millisecond {
			t.Fatalf("Delay(%d) = %v, outside [25ms, 50ms]", i, d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatal("jitter drew one value 200 times")
	}
	if got := (backoff.Policy{Min: time.Second}).Delay(3); got != time.Second {
		t.Fatalf("a Max below Min: %v, want Min", got)
	}
	if got := backoff.Jitter(0); got != 0 {
		t.Fatalf("Jitter(0) = %v", got)
	}
}

func TestSleepStops(t *testing.T) {
	t.Parallel()
	if !backoff.Sleep(context.Background(), nil, time.Millisecond) {
		t.Fatal("Sleep returned false without a stop")
	}
	stop := make(chan struct{})
	close(stop)
	if backoff.Sleep(context.Background(), stop, time.Hour) {
		t.Fatal("Sleep ignored a closed stop")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if backoff.Sleep(ctx, nil, time.Hour) {
		t.Fatal("Sleep ignored a done ctx")
	}
}
