// Command demo shows sockgate end to end in a few seconds: a worker process
// reports the progress of a simulated "sheet-sync" job to user 42 through a
// gateway.Worker on the broker (Redis pub/sub by default), and a listener
// process, subscribed like a python-socketio server would be, prints each
// message it decodes.
//
// Every role opens its broker with package di, so SOCKET_TRANSPORT chooses
// it: redis (the default) or redis-streams, nats or jetstream (NATS_URL),
// or memory (the roles then run in this process). With REDIS_URL unset the
// redis transports use an embedded Redis (miniredis on 127.0.0.1, a random
// port); with REDIS_URL set that Redis. It starts the listener and the
// worker as child processes of its own binary and waits until the listener has seen the job's "done" event (exit 1
// with the reason after --timeout).
//
// Before that it starts a browser page's server on 127.0.0.1:8080 (-addr;
// a free port when taken) with sockgate's own Socket.IO server (package
// socketio) at /socket.io/, joined to the same Redis channel by a
// cluster.Manager, and after it prints the page's URL with a signed token
// for user 42 in its fragment (#token=..., package auth; SOCKET_AUTH_SECRET
// or a random per-run secret; valid -token-ttl, 12h by default). The
// server disconnects a page whose token expired, so the page renews it
// while open (renew-token, then socketio.TokenRefreshEvent). While a
// browser is connected, rounds of three jobs run, each in a separate
// worker process (this binary again, in a job role) that emits its
// progress to the user's room through a gateway.Worker and Redis; the
// server's cluster manager delivers it and the page shows a bar per job
// with the sending worker's pid. Ctrl-C ends
// the demo (exit 0). With -once it runs one round for the first browser
// and exits when that browser has gone; -web=false stops after the
// worker/listener part. See docs/demo.md.
//
// Usage:
//
//	go run ./cmd/demo [-addr 127.0.0.1:8080] [-once] [-web=false] [-token-ttl 12h] [-idle-timeout 1m] [--steps 10] [--interval 250ms] [--timeout 30s]
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
