// Package di is sockgate's factory: it builds the two roles of a process
// from a config.Config (the environment, see package config), on the
// transport SOCKET_TRANSPORT names. cmd/sockgate and cmd/demo are built
// with it.
//
//   - NewWorker: the write-only gateway of a worker process.
//   - NewServer: a socketio.Server joined to the cluster (a started
//     cluster.Manager), the server role.
//   - NewGateway: either, chosen by the context (WithServer), as a
//     gateway.Gateway, for code that must not care which process it runs
//     in.
//   - OpenBroker, WorkerConfig and ClusterConfig: the pieces, for a caller
//     that sets more than the environment does (a publish timeout, say).
//
// Every constructor returns a cleanup that closes what it opened, in
// reverse order; the cleanup is never nil (a no-op on error), so
// `defer cleanup()` is always safe. The graph is wired by hand: see
// docs/di.md for why this package no longer uses Google Wire.
package di

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/socketio"
)

// closeTimeout bounds a cleanup's flush of a worker or a manager.
const closeTimeout = 5 * time.Second

// NewCodec returns python-socketio's codec in the configured dialect
// (SOCKET_DIALECT).
func NewCodec(cfg config.Config) codec.Codec {
	return codec.NewPython(codec.PythonConfig{Dialect: cfg.Dialect})
}

// WorkerConfig is the gateway.WorkerConfig cfg describes, publishing on b
// (nil Publisher when b is local-only: the worker drops and counts).
// Change fields before gateway.NewWorker for what the environment does not
// set (PublishTimeout, Stats hooks).
func WorkerConfig(cfg config.Config, b Broker, log *slog.Logger) gateway.WorkerConfig {
	return gateway.WorkerConfig{
		Publisher: b.Publisher,
		Channel:   cfg.Channel,
		Codec:     NewCodec(cfg),
		QueueSize: cfg.QueueSize,
		UserRoom:  cfg.UserRoomFor,
		Logger:    log,

		ResumeGrace: resumeGrace(cfg.ResumeGrace),
		Delivery:    cfg.Delivery,
	}
}

// resumeGrace maps SOCKET_RESUME_GRACE to WorkerConfig.ResumeGrace, where
// zero means the default: 0 in the environment holds nothing.
func resumeGrace(d time.Duration) time.Duration {
	if d == 0 {
		return gateway.NoResumeGrace
	}
	return d
}

// ClusterConfig is the cluster.Config that joins srv to the cluster on b.
func ClusterConfig(cfg config.Config, srv *socketio.Server, b Broker, log *slog.Logger) cluster.Config {
	return cluster.Config{
		Server: srv, Publisher: b.Publisher, Subscriber: b.Subscriber,
		Channel: cfg.Channel, Codec: NewCodec(cfg), UserRoom: cfg.UserRoomFor, Logger: log,
	}
}

// NewWorker opens the broker cfg names and returns the worker-role
// gateway on it. The cleanup flushes the worker (at most 5 s) and closes
// it, then the broker; it is never nil. A nil log discards.
func NewWorker(cfg config.Config, log *slog.Logger) (*gateway.Worker, func(), error) {
	if log == nil {
		log = discard
	}
	b, closeBroker, err := OpenBroker(cfg, log)
	if err != nil {
		return nil, noop, err
	}
	w, err := gateway.NewWorker(WorkerConfig(cfg, b, log))
	if err != nil {
		closeBroker()
		return nil, noop, err
	}
	return w, closeBoth(w.Close, closeBroker), nil
}

// NewServer opens the broker cfg names and joins srv to the cluster on
// it: the returned Manager is started (it never fails because the broker
// is down; see Manager.Health) and its Gateway is the server role's. The
// cleanup closes the manager (at most 5 s), then the broker, not srv; it
// is never nil. A nil log discards.
func NewServer(cfg config.Config, srv *socketio.Server, log *slog.Logger) (*cluster.Manager, func(), error) {
	if srv == nil {
		return nil, noop, fmt.Errorf("%w: no socketio.Server", ErrConfig)
	}
	if log == nil {
		log = discard
	}
	b, closeBroker, err := OpenBroker(cfg, log)
	if err != nil {
		return nil, noop, err
	}
	m, err := cluster.New(ClusterConfig(cfg, srv, b, log))
	if err == nil {
		err = m.Start(context.Background())
	}
	if err != nil {
		closeBroker()
		return nil, noop, err
	}
	return m, closeBoth(m.Close, closeBroker), nil
}

// closeBoth is the cleanup of a role: close it (at most closeTimeout),
// then its broker.
func closeBoth(closeRole func(context.Context) error, closeBroker func()) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_ = closeRole(ctx)
		closeBroker()
	}
}

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

// NewGateway is NewServer's gateway when ctx carries a server
// (WithServer), else NewWorker's. The cleanup closes what was opened and
// is never nil. With no broker configured (the default:
// SOCKET_TRANSPORT=redis, REDIS_URL unset) it works with no setup: a
// server delivers to its own clients, a worker drops and counts. A nil log
// is slog.Default().
func NewGateway(ctx context.Context, cfg config.Config, log *slog.Logger) (gateway.Gateway, func(), error) {
	if log == nil {
		log = slog.Default()
	}
	if srv, ok := ServerFromContext(ctx); ok {
		m, cleanup, err := NewServer(cfg, srv, log)
		if err != nil {
			return nil, cleanup, err
		}
		return m.Gateway(), cleanup, nil
	}
	w, cleanup, err := NewWorker(cfg, log)
	if err != nil {
		return nil, cleanup, err
	}
	return w, cleanup, nil
}
