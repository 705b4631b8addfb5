// Command demo shows sockgate end to end in a few seconds: a worker process
// reports the progress of a simulated "sheet-sync" job to user 42 through a
// gateway.Worker on Redis pub/sub, and a listener process, subscribed like
// a python-socketio server would be, prints each message it decodes.
//
// With REDIS_URL unset the demo starts an embedded Redis (miniredis on
// 127.0.0.1, a random port); with REDIS_URL set it uses that Redis. It
// starts the listener and the worker as child processes of its own binary
// and exits 0 once the listener has seen the job's "done" event, or 1 with
// the reason after --timeout.
//
// Usage:
//
//	go run ./cmd/demo [--steps 10] [--interval 250ms] [--timeout 30s]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	// go-redis logs every failed dial itself; the processes report the
	// error once, with context.
	redis.SetLogger(quietRedisLog{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// quietRedisLog discards go-redis's internal log lines.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}
