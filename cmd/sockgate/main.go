// Command sockgate is the operator's tool for sockgate: it publishes one
// Socket.IO event the way a Go worker would, listens to a channel and
// prints what python-socketio servers are told, decodes captured messages
// (JSON of every dialect and pickle), measures emit throughput and mints
// signed user tokens.
//
// Usage:
//
//	sockgate emit --user 42 --event progress --data '{"pct":50}'
//	sockgate listen
//	sockgate decode < message.bin
//	sockgate bench emit --producers 8 --duration 5s
//	sockgate token --user 42 --ttl 1h
//	sockgate version
//	sockgate help [command]
//
// Flags default from the environment sockgate applications read:
// SOCKET_TRANSPORT (redis, redis-streams, nats, jetstream, memory),
// REDIS_URL, NATS_URL, SOCKET_REDIS_CHANNEL and SOCKET_DIALECT; the broker
// is opened by package di, as an application's is. token signs with
// SOCKET_AUTH_SECRET. See docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	// go-redis logs every failed dial itself; the commands report the
	// error once, with context.
	redis.SetLogger(quietRedisLog{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process the default way
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// quietRedisLog discards go-redis's internal log lines.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}
