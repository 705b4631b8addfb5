//go:build wireinject

package di

import (
	"log/slog"

	"github.com/google/wire"

	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/socketio"
)

// Common is what both roles need: the codec and the broker.
var Common = wire.NewSet(ProvideCodec, ProvideBroker)

// WorkerSet wires a worker process.
var WorkerSet = wire.NewSet(Common, ProvideWorker, WorkerGateway)

// ServerSet wires a server process.
var ServerSet = wire.NewSet(Common, ProvideManager, ProvideServerGateway)

// InitializeWorker builds the write-only gateway of a worker process.
func InitializeWorker(cfg config.Config, log *slog.Logger) (gateway.Gateway, func(), error) {
	wire.Build(WorkerSet)
	return nil, nil, nil
}

// InitializeServer joins srv to the cluster and returns its gateway.
func InitializeServer(cfg config.Config, srv *socketio.Server, log *slog.Logger) (gateway.Gateway, func(), error) {
	wire.Build(ServerSet)
	return nil, nil, nil
}
