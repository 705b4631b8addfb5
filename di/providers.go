// Package di wires sockgate with Google Wire: provider sets for the
// codec, the transport chosen by config (SOCKET_TRANSPORT) and the two
// roles, injectors for a server process (socketio.Server joined to the
// cluster) and a worker process (write-only), and NewGateway, the factory
// that picks the role from the context.
//
// The injectors are generated into wire_gen.go (committed) by
// `go tool wire ./di`; CI runs `go tool wire check` and `go tool wire diff`.
// Constructors elsewhere know nothing of Wire.
package di

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/socketio"
	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/jetstream"
	"github.com/sockgate/sockgate/transport/memory"
	"github.com/sockgate/sockgate/transport/natsps"
	"github.com/sockgate/sockgate/transport/redislog"
	"github.com/sockgate/sockgate/transport/redispubsub"
	"github.com/sockgate/sockgate/transport/redisstream"
)

// Broker is the transport of a process: nil Publisher and Subscriber mean
// local-only (no broker configured).
type Broker struct {
	Publisher  transport.Publisher
	Subscriber transport.Subscriber
}

// ProvideCodec returns python-socketio's codec in the configured dialect.
func ProvideCodec(cfg config.Config) codec.Codec {
	return codec.NewPython(codec.PythonConfig{Dialect: cfg.Dialect})
}

// memoryBroker is the process's in-memory broker: a server and workers of
// one process (single-process development, unit tests) meet on it.
var memoryBroker = sync.OnceValue(memory.NewBroker)

// ProvideBroker opens the transport SOCKET_TRANSPORT names; the cleanup
// closes what it opened. The redis transports with no REDIS_URL give a
// local-only Broker (logged): a process with no broker configured still
// runs.
func ProvideBroker(cfg config.Config, log *slog.Logger) (Broker, func(), error) {
	switch cfg.Transport {
	case config.TransportMemory:
		ps := memoryBroker().PubSub()
		return Broker{ps, ps}, func() { _ = ps.Close() }, nil
	case config.TransportRedis, config.TransportRedisStreams:
		opts, err := cfg.RedisOptions()
		if err != nil {
			return Broker{}, nil, err
		}
		if opts == nil {
			log.Warn("sockgate: REDIS_URL is not set; running local-only")
			return Broker{}, func() {}, nil
		}
		redislog.Install(log) // go-redis's own lines (process-wide)
		client := redis.NewUniversalClient(opts)
		var ps interface {
			transport.Publisher
			transport.Subscriber
		}
		if cfg.Transport == config.TransportRedis {
			ps, err = redispubsub.New(redispubsub.Config{Client: client, Logger: log})
		} else {
			ps, err = redisstream.New(redisstream.Config{Client: client, Consumer: cfg.NodeID, MaxLen: cfg.StreamMaxLen, Logger: log})
		}
		if err != nil {
			_ = client.Close()
			return Broker{}, nil, err
		}
		return Broker{ps, ps}, func() { _ = ps.Close(); _ = client.Close() }, nil
	case config.TransportNATS, config.TransportJetStream:
		nc, err := nats.Connect(cfg.NATSURL, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
			nats.RetryOnFailedConnect(true), nats.ReconnectBufSize(-1), nats.Name("sockgate "+cfg.NodeID))
		if err != nil {
			return Broker{}, nil, fmt.Errorf("di: connect to NATS at %s: %w", cfg.NATSURL, err)
		}
		var ps interface {
			transport.Publisher
			transport.Subscriber
		}
		if cfg.Transport == config.TransportNATS {
			ps, err = natsps.New(natsps.Config{Conn: nc, Logger: log})
		} else {
			ps, err = jetstream.New(jetstream.Config{Conn: nc, Stream: cfg.Stream, Consumer: cfg.NodeID, MaxMsgs: cfg.StreamMaxLen, Logger: log})
		}
		if err != nil {
			nc.Close()
			return Broker{}, nil, err
		}
		return Broker{ps, ps}, func() { _ = ps.Close(); nc.Close() }, nil
	}
	return Broker{}, nil, fmt.Errorf("di: unknown transport %q (config.Validate refuses it)", cfg.Transport)
}

// ProvideWorker is the write-only gateway of a worker process.
func ProvideWorker(cfg config.Config, b Broker, c codec.Codec, log *slog.Logger) (*gateway.Worker, func(), error) {
	w, err := gateway.NewWorker(gateway.WorkerConfig{
		Publisher: b.Publisher,
		Channel:   cfg.Channel,
		Codec:     c,
		QueueSize: cfg.QueueSize,
		UserRoom:  cfg.UserRoomFor,
		Logger:    log,

		ResumeGrace: resumeGrace(cfg.ResumeGrace),
		Delivery:    cfg.Delivery,
	})
	if err != nil {
		return nil, nil, err
	}
	return w, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	}, nil
}

// resumeGrace maps SOCKET_RESUME_GRACE to WorkerConfig.ResumeGrace, where
// zero means the default: 0 in the environment holds nothing.
func resumeGrace(d time.Duration) time.Duration {
	if d == 0 {
		return gateway.NoResumeGrace
	}
	return d
}

// ProvideManager joins srv to the cluster on the broker and starts it
// (never failing because the broker is down).
func ProvideManager(cfg config.Config, srv *socketio.Server, b Broker, c codec.Codec, log *slog.Logger) (*cluster.Manager, func(), error) {
	m, err := cluster.New(cluster.Config{
		Server: srv, Publisher: b.Publisher, Subscriber: b.Subscriber,
		Channel: cfg.Channel, Codec: c, UserRoom: cfg.UserRoomFor, Logger: log,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := m.Start(context.Background()); err != nil {
		return nil, nil, err
	}
	return m, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	}, nil
}

// ProvideServerGateway is the server-mode gateway of a cluster node.
func ProvideServerGateway(m *cluster.Manager) gateway.Gateway { return m.Gateway() }

// WorkerGateway adapts the worker to the Gateway interface.
func WorkerGateway(w *gateway.Worker) gateway.Gateway { return w }

type serverKey struct{}

// WithServer returns a context that tells NewGateway this process serves
// Socket.IO clients with srv (the server role).
func WithServer(ctx context.Context, srv *socketio.Server) context.Context {
	return context.WithValue(ctx, serverKey{}, srv)
}

// ServerFromContext returns the server WithServer put in ctx.
func ServerFromContext(ctx context.Context) (*socketio.Server, bool) {
	srv, ok := ctx.Value(serverKey{}).(*socketio.Server)
	return srv, ok && srv != nil
}

// ErrConfig reports an invalid configuration given to NewGateway.
var ErrConfig = errors.New("di: invalid configuration")

// NewGateway is the factory: the server-role gateway when ctx carries a
// server (WithServer), else the worker-role gateway, both wired by Wire
// from cfg. The cleanup closes what was opened, in reverse order. With no
// broker configured (the default: SOCKET_TRANSPORT=redis, REDIS_URL unset)
// it works with no setup: a server delivers to its own clients, a worker
// drops and counts.
func NewGateway(ctx context.Context, cfg config.Config, log *slog.Logger) (gateway.Gateway, func(), error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if log == nil {
		log = slog.Default()
	}
	if srv, ok := ServerFromContext(ctx); ok {
		return InitializeServer(cfg, srv, log)
	}
	return InitializeWorker(cfg, log)
}
