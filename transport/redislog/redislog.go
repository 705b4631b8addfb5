// Package redislog routes go-redis's own log lines to a *slog.Logger.
//
// go-redis logs a few things by itself, outside any call's error: a pool
// that failed to dial ("redis: connection pool: failed to dial after 5
// attempts: ..."), a connection dropped by a hook. By default it writes
// them to the standard error through the standard library's log package,
// past the logger sockgate was configured with. Install sends them to a
// slog.Logger instead, at Warn, each distinct line format at most once per
// Interval (the lines left out are counted in the next one).
//
// go-redis has one logger per process (redis.SetLogger): Install affects
// every go-redis client of the process, including clients the application
// made itself, and the last Install wins. sockgate installs it where it
// builds clients (di.OpenBroker, used by cmd/sockgate and cmd/demo).
package redislog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Interval is the least time between two lines of the same format.
const Interval = time.Second

// Logger is a go-redis logger (it has go-redis's Printf) that writes to a
// slog.Logger. It is safe for concurrent use.
type Logger struct {
	log *slog.Logger

	mu    sync.Mutex
	lines map[string]*limit // by format: go-redis's formats are constants
}

type limit struct {
	next       time.Time
	suppressed int
}

// New returns a Logger writing to log; nil discards.
func New(log *slog.Logger) *Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Logger{log: log, lines: map[string]*limit{}}
}

// Install makes log the process-wide logger of go-redis (see the package
// documentation); nil discards go-redis's lines.
func Install(log *slog.Logger) { redis.SetLogger(New(log)) }

// Printf logs one go-redis line at Warn with component=go-redis, unless a
// line of the same format was logged less than Interval ago.
func (l *Logger) Printf(ctx context.Context, format string, v ...any) {
	now := time.Now()
	l.mu.Lock()
	lim := l.lines[format]
	if lim == nil {
		if len(l.lines) >= maxFormats {
			clear(l.lines)
		}
		lim = &limit{}
		l.lines[format] = lim
	}
	if now.Before(lim.next) {
		lim.suppressed++
		l.mu.Unlock()
		return
	}
	lim.next = now.Add(Interval)
	n := lim.suppressed
	lim.suppressed = 0
	l.mu.Unlock()

	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	args := []any{"component", "go-redis"}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	l.log.Log(ctx, slog.LevelWarn, "redis: "+msg, args...)
}

// maxFormats bounds the formats remembered, in case a caller of Printf
// passes formats that are not constants.
const maxFormats = 256
