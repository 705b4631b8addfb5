package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/transport/redislog"
	"github.com/sockgate/sockgate/transport/redispubsub"
	"github.com/sockgate/sockgate/transport/redisurl"
)

// broker is a Redis connection and the pub/sub transport over it.
type broker struct {
	client redis.UniversalClient
	ps     *redispubsub.PubSub
	where  string // the URL without its password, for messages
}

// dialBroker validates rawURL (an invalid URL is a usage error), creates a
// client and the pub/sub transport, and checks that Redis answers within
// timeout, so that an unreachable Redis is reported with its reason. A
// redis+sentinel URL without a service name uses the channel name, as
// python-socketio does.
func dialBroker(ctx context.Context, rawURL, channel string, timeout time.Duration, log *slog.Logger) (*broker, error) {
	if rawURL == "" {
		return nil, usagef("no Redis: pass --redis URL or set REDIS_URL")
	}
	opts, err := redisurl.ParseWithDefaultMaster(rawURL, channel)
	if err != nil {
		return nil, usageError{fmt.Errorf("--redis: %w", err)}
	}
	where := redisurl.Redact(rawURL)
	redislog.Install(log) // go-redis's own lines (process-wide)
	client := redis.NewUniversalClient(opts)
	ps, err := redispubsub.New(redispubsub.Config{Client: client, Logger: log})
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis %s: %w", where, err)
	}
	b := &broker{client: client, ps: ps, where: where}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := ps.Ping(pctx); err != nil {
		b.close()
		return nil, fmt.Errorf("redis %s unreachable: %w", where, err)
	}
	return b, nil
}

// close releases the transport, then the client it was given.
func (b *broker) close() {
	_ = b.ps.Close()
	_ = b.client.Close()
}

// newLogger returns a logger for background events (publish failures and
// recoveries) at level warn and above, without timestamps.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}
