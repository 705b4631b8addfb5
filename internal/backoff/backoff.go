// Package backoff is the one retry delay of sockgate's background loops
// (the gateway's writer, the cluster manager's subscription, the Redis
// transports' receive loops): a delay that doubles from Min up to Max
// after each consecutive failure, constant when Min equals Max, and
// optionally spread over [d/2, d] so that the processes of a cluster do not
// all retry in the same instant after a broker outage.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy says how long to wait after consecutive failures. The zero value
// waits nothing.
type Policy struct {
	// Min is the wait after the first failure.
	Min time.Duration
	// Max caps the wait; a Max below Min is taken as Min.
	Max time.Duration
	// Jitter spreads each wait uniformly over [d/2, d].
	Jitter bool
}

// Delay returns the wait after the failures-th consecutive failure
// (1 for the first): Min doubled failures-1 times, at most Max, jittered
// when Jitter is set. failures below 1 count as 1.
func (p Policy) Delay(failures int) time.Duration {
	d, top := p.Min, max(p.Max, p.Min)
	for i := 1; i < failures && d < top; i++ {
		d *= 2
	}
	d = min(d, top)
	if p.Jitter {
		d = Jitter(d)
	}
	return d
}

// Jitter returns a duration drawn uniformly from [d/2, d]; d itself when d
// is not positive.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d. It returns false as soon as ctx is done or stop is closed
// (a nil stop never is), true when d passed.
func Sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	}
}
