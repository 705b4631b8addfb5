package main

import (
	"errors"
	"fmt"
	"os/exec"

	"github.com/sockgate/sockgate/bench/benchutil"
	"github.com/sockgate/sockgate/internal/testenv"
)

// errMissingTool is returned when a program the measurements run is not
// on PATH.
var errMissingTool = errors.New("transportbench: redis-server, redis-benchmark and nats-server are required " +
	"(apt-get install redis-server redis-tools nats-server)")

// checkTools fails with errMissingTool unless every program is installed.
func checkTools() error {
	for _, bin := range []string{"redis-server", "redis-benchmark", "nats-server"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%w: %s not found", errMissingTool, bin)
		}
	}
	return nil
}

// brokers are the servers of one run.
type brokers struct {
	redis        *testenv.RedisServer
	nats         *testenv.NATSServer
	redisPID     int // -1 when unknown (for CPU accounting)
	natsPID      int
	redisVersion string
	natsVersion  string
}

// startBrokers starts redis-server (no persistence) and nats-server -js
// (a temporary store) on free ports; e.Close kills them.
func startBrokers(e *benchutil.Env) (*brokers, error) {
	b := &brokers{}
	err := e.Do(func() {
		b.redis = testenv.StartRedis(e)
		b.nats = testenv.StartNATS(e)
	})
	if err != nil {
		return nil, fmt.Errorf("transportbench: start the brokers: %w", err)
	}
	b.redisPID, b.natsPID = b.redis.Pid(), b.nats.Pid()
	b.redisVersion, b.natsVersion = benchutil.Version("redis-server"), benchutil.Version("nats-server")
	return b, nil
}
