package di

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/jetstream"
	"github.com/sockgate/sockgate/transport/memory"
	"github.com/sockgate/sockgate/transport/natsps"
	"github.com/sockgate/sockgate/transport/redislog"
	"github.com/sockgate/sockgate/transport/redispubsub"
	"github.com/sockgate/sockgate/transport/redisstream"
	"github.com/sockgate/sockgate/transport/redisurl"
)

// Broker is the transport of a process. A zero Broker (nil Publisher and
// Subscriber) means local-only: no broker configured.
type Broker struct {
	// Publisher and Subscriber are the same transport value.
	Publisher  transport.Publisher
	Subscriber transport.Subscriber
	// Name is the transport (config.Transports) and Addr the broker's
	// address with its password redacted, for messages: "redis
	// redis://:xxxxx@cache:6379/0".
	Name, Addr string
}

// LocalOnly reports whether b has no broker.
func (b Broker) LocalOnly() bool { return b.Publisher == nil }

// String is the transport and the broker's address, for messages.
func (b Broker) String() string {
	if b.LocalOnly() {
		return "no broker (local-only)"
	}
	return b.Name + " " + b.Addr
}

// Ping checks the broker connection when the transport can (every
// transport of this module can); it reports nil for a local-only Broker.
func (b Broker) Ping(ctx context.Context) error {
	if p, ok := b.Publisher.(transport.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// pubSub is what every transport of this module is.
type pubSub interface {
	transport.Publisher
	transport.Subscriber
}

// memoryBroker is the process's in-memory broker: a server and workers of
// one process (single-process development, unit tests) meet on it.
var memoryBroker = sync.OnceValue(memory.NewBroker)

// OpenBroker opens the transport cfg.Transport (SOCKET_TRANSPORT) names:
// redis (pub/sub, the default), redis-streams, nats, jetstream or memory
// (one broker per process). The returned cleanup closes the transport,
// then the client it opened; it is never nil, and a no-op on error.
//
// The redis transports with no REDIS_URL give a local-only Broker (logged
// at warn level): a process with no broker configured still runs. The
// nats transports connect in the background (a NATS server that is down
// is retried for ever): use Broker.Ping to wait for it. cfg is validated
// first; a bad value is an error matching ErrConfig.
func OpenBroker(cfg config.Config, log *slog.Logger) (Broker, func(), error) {
	if err := cfg.Validate(); err != nil {
		return Broker{}, noop, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if log == nil {
		log = discard
	}
	switch cfg.Transport {
	case config.TransportMemory:
		ps := memoryBroker().PubSub()
		return newBroker(cfg, ps, "in-process"), func() { _ = ps.Close() }, nil
	case config.TransportRedis, config.TransportRedisStreams:
		return openRedis(cfg, log)
	case config.TransportNATS, config.TransportJetStream:
		return openNATS(cfg, log)
	}
	// Validate refuses every other value.
	return Broker{}, noop, fmt.Errorf("%w: unknown transport %q", ErrConfig, cfg.Transport)
}

func newBroker(cfg config.Config, ps pubSub, addr string) Broker {
	return Broker{Publisher: ps, Subscriber: ps, Name: cfg.Transport, Addr: addr}
}

func openRedis(cfg config.Config, log *slog.Logger) (Broker, func(), error) {
	opts, err := cfg.RedisOptions()
	if err != nil {
		return Broker{}, noop, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if opts == nil {
		log.Warn("sockgate: REDIS_URL is not set; running local-only", "transport", cfg.Transport)
		return Broker{}, noop, nil
	}
	redislog.Install(log) // go-redis's own lines (process-wide)
	client := redis.NewUniversalClient(opts)
	var ps pubSub
	if cfg.Transport == config.TransportRedis {
		ps, err = redispubsub.New(redispubsub.Config{Client: client, Logger: log})
	} else {
		ps, err = redisstream.New(redisstream.Config{Client: client, Consumer: cfg.NodeID, MaxLen: cfg.StreamMaxLen, Logger: log})
	}
	if err != nil {
		_ = client.Close()
		return Broker{}, noop, err
	}
	return newBroker(cfg, ps, redisurl.Redact(cfg.RedisURL)), func() { _ = ps.Close(); _ = client.Close() }, nil
}

func openNATS(cfg config.Config, log *slog.Logger) (Broker, func(), error) {
	addr := cfg.NATSURL
	if u, err := url.Parse(cfg.NATSURL); err == nil {
		addr = u.Redacted()
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true), nats.ReconnectBufSize(-1), nats.Name("sockgate "+cfg.NodeID))
	if err != nil {
		return Broker{}, noop, fmt.Errorf("di: connect to NATS at %s: %w", addr, err)
	}
	var ps pubSub
	if cfg.Transport == config.TransportNATS {
		ps, err = natsps.New(natsps.Config{Conn: nc, Logger: log})
	} else {
		ps, err = jetstream.New(jetstream.Config{Conn: nc, Stream: cfg.Stream, Consumer: cfg.NodeID, MaxMsgs: cfg.StreamMaxLen, Logger: log})
	}
	if err != nil {
		nc.Close()
		return Broker{}, noop, err
	}
	return newBroker(cfg, ps, addr), func() { _ = ps.Close(); nc.Close() }, nil
}

// noop is the cleanup of what opened nothing.
func noop() {}

// discard is the logger of a nil *slog.Logger.
var discard = slog.New(slog.DiscardHandler)
