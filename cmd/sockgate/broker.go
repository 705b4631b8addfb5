package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/di"
	"github.com/sockgate/sockgate/transport/redisurl"
)

// brokerFlags are the flags that choose the broker, each defaulting to
// the environment variable di reads.
type brokerFlags struct {
	transport, redisURL, natsURL string
}

func (f *brokerFlags) define(fs *flag.FlagSet, env config.Config) {
	fs.StringVar(&f.transport, "transport", transportOr(env.Transport),
		"`transport`: "+strings.Join(config.Transports, ", ")+" (env SOCKET_TRANSPORT)")
	fs.StringVar(&f.redisURL, "redis", env.RedisURL, "Redis `URL` of the redis and redis-streams transports (env REDIS_URL)")
	fs.StringVar(&f.natsURL, "nats", natsOr(env.NATSURL), "NATS `URL` of the nats and jetstream transports (env NATS_URL)")
}

// transportOr returns tr, or the default transport when empty.
func transportOr(tr string) string {
	if tr == "" {
		return config.DefaultTransport
	}
	return tr
}

// natsOr returns u, or the default NATS URL when empty.
func natsOr(u string) string {
	if u == "" {
		return config.DefaultNATSURL
	}
	return u
}

// config returns env with the flags' broker and channel applied, checked:
// a bad flag is a usage error naming the flag.
func (f *brokerFlags) config(env config.Config, channel string) (config.Config, error) {
	cfg := env
	if cfg.NodeID == "" { // env is the zero Config when a command does not read it
		cfg = config.Default()
	}
	cfg.Transport, cfg.RedisURL, cfg.NATSURL, cfg.Channel = f.transport, f.redisURL, f.natsURL, channel
	if !slices.Contains(config.Transports, cfg.Transport) {
		return cfg, usagef("--transport: unknown transport %q (want %s)", cfg.Transport, strings.Join(config.Transports, ", "))
	}
	switch cfg.Transport {
	case config.TransportRedis, config.TransportRedisStreams:
		if cfg.RedisURL == "" {
			return cfg, usagef("no Redis: pass --redis URL or set REDIS_URL")
		}
		if _, err := redisurl.ParseWithDefaultMaster(cfg.RedisURL, cfg.Channel); err != nil {
			return cfg, usageError{fmt.Errorf("--redis: %w", err)}
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// dialBroker opens the transport cfg names (di.OpenBroker) and checks
// that the broker answers within timeout, so that an unreachable broker is
// reported with its reason. The returned function closes the broker; it
// is never nil.
func dialBroker(ctx context.Context, cfg config.Config, timeout time.Duration, log *slog.Logger) (di.Broker, func(), error) {
	b, closeBroker, err := di.OpenBroker(cfg, log)
	if err != nil {
		return b, closeBroker, fmt.Errorf("%s: %w", cfg.Transport, err)
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := b.Ping(pctx); err != nil {
		closeBroker()
		return b, func() {}, fmt.Errorf("%s unreachable: %w", b, err)
	}
	return b, closeBroker, nil
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
