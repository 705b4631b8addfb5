// Package ratelog is a rate-limited wrapper around *slog.Logger for
// events that can recur at any rate: what a client can cause at will
// (refused handshakes, oversized packets), hostile or broken bus messages
// (cluster), messages lost on the publishing side (gateway). At most one
// record per interval is written, and the number of records suppressed
// since the last one is attached to the next.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Logger logs at most one record per Interval. The zero value is not
// usable; build one with New. Its methods are safe for concurrent use.
type Logger struct {
	log      *slog.Logger
	interval time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// New returns a Logger writing to log (nil discards) at most once per
// interval (a non-positive interval means once per second).
func New(log *slog.Logger, interval time.Duration) *Logger {
	if interval <= 0 {
		interval = time.Second
	}
	return &Logger{log: log, interval: interval}
}

// Log writes the record unless one was written less than the interval
// ago; a written record carries "suppressed" = the number of records
// dropped since the previous one, when there were any.
func (r *Logger) Log(level slog.Level, msg string, args ...any) {
	if r.log == nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	if now.Before(r.next) {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.next = now.Add(r.interval)
	n := r.suppressed
	r.suppressed = 0
	r.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	r.log.Log(context.Background(), level, msg, args...)
}
