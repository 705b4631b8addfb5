package cluster

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// rateLog logs at most one record per interval and counts the records it
// suppressed in between, reporting the count with the next record. Hostile
// bus input must not flood the log.
type rateLog struct {
	log      *slog.Logger
	interval time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int
}

func (r *rateLog) Log(level slog.Level, msg string, args ...any) {
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
