package gateway

import (
	"fmt"
	"time"
)

// Delivery is what a worker does with a batch whose outcome is unknown: the
// publish failed after the messages may have reached the broker (a read
// timeout, a connection lost after the write). A failure that certainly
// sent nothing (the transport's error wraps transport.ErrNotSent: no
// connection could be made) is always retried.
type Delivery int

const (
	// AtLeastOnce sends such a batch again (counted in Stats.Resent): no
	// message is lost to an unknown outcome, but a message that had reached
	// the broker is delivered twice. Go cluster nodes drop the duplicate;
	// other receivers (python-socketio) deliver it. The default.
	AtLeastOnce Delivery = iota
	// AtMostOnce never sends such a batch again: it is dropped and counted
	// (Stats.Dropped, and Stats.Unconfirmed beside it); some of it may have
	// been delivered.
	AtMostOnce
)

// The names ParseDelivery accepts and String returns.
const (
	deliveryAtLeastOnce = "at-least-once"
	deliveryAtMostOnce  = "at-most-once"
)

// String returns "at-least-once" or "at-most-once".
func (d Delivery) String() string {
	switch d {
	case AtLeastOnce:
		return deliveryAtLeastOnce
	case AtMostOnce:
		return deliveryAtMostOnce
	}
	return fmt.Sprintf("Delivery(%d)", int(d))
}

// ParseDelivery parses "at-least-once" or "at-most-once".
func ParseDelivery(s string) (Delivery, error) {
	switch s {
	case deliveryAtLeastOnce:
		return AtLeastOnce, nil
	case deliveryAtMostOnce:
		return AtMostOnce, nil
	}
	return 0, fmt.Errorf("%w: delivery %q (want %s or %s)", ErrInvalidArgument, s, deliveryAtLeastOnce, deliveryAtMostOnce)
}

// Resume grace settings; see WorkerConfig.ResumeGrace.
const (
	// DefaultResumeGrace is the default WorkerConfig.ResumeGrace. It covers
	// python-socketio's AsyncRedisManager, which tries to subscribe again
	// 1, 3, 7 and 15 s after losing Redis (sleeping 1, 2, 4, 8 s), so
	// after a broker back within 7 s its servers return within 4 s; and
	// sockgate's own cluster nodes, back within a second.
	DefaultResumeGrace = 5 * time.Second
	// NoResumeGrace as WorkerConfig.ResumeGrace publishes the backlog as
	// soon as the broker answers again.
	NoResumeGrace time.Duration = -1
	// ResumePoll is how often a worker holding its backlog asks the
	// broker how many subscribers are back.
	ResumePoll = 25 * time.Millisecond
)
