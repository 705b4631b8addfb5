package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/sockgate/sockgate/internal/natsserver"
	"github.com/sockgate/sockgate/internal/redisserver"
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

// env stands in for the testing.TB that internal/redisserver and
// internal/natsserver take, so this command starts its brokers with the
// same code as the integration tests. Cleanup collects what close runs
// (last registered first, as testing does); Fatal and Skip abort the start
// with a panic that startBrokers recovers into an error. The embedded TB
// is nil: those packages call only the methods defined here.
type env struct {
	testing.TB
	log io.Writer

	mu       sync.Mutex
	cleanups []func()
	once     sync.Once
}

func newEnv(log io.Writer) *env { return &env{log: log} }

// abort is the panic value of Fatal and Skip.
type abort struct{ msg string }

func (e *env) Helper()      {}
func (e *env) Name() string { return "transportbench" }
func (e *env) Failed() bool { return false }

func (e *env) Cleanup(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cleanups = append(e.cleanups, f)
}

func (e *env) TempDir() string {
	dir, err := os.MkdirTemp("", "transportbench-")
	if err != nil {
		e.Fatalf("temporary directory: %v", err)
	}
	e.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (e *env) Log(args ...any)                 { fmt.Fprintln(e.log, args...) }
func (e *env) Logf(format string, args ...any) { fmt.Fprintf(e.log, format+"\n", args...) }
func (e *env) Error(args ...any)               { e.Fatal(args...) }
func (e *env) Errorf(format string, args ...any) {
	e.Fatalf(format, args...)
}
func (e *env) Fatal(args ...any)                 { panic(abort{fmt.Sprint(args...)}) }
func (e *env) Fatalf(format string, args ...any) { panic(abort{fmt.Sprintf(format, args...)}) }
func (e *env) FailNow()                          { panic(abort{"failed"}) }
func (e *env) Skip(args ...any)                  { e.Fatal(args...) }
func (e *env) Skipf(format string, args ...any)  { e.Fatalf(format, args...) }
func (e *env) SkipNow()                          { e.FailNow() }

// close runs the cleanups once, last registered first: the brokers are
// killed, then their directories removed. Concurrent callers wait for the
// first.
func (e *env) close() {
	e.once.Do(func() {
		e.mu.Lock()
		fs := e.cleanups
		e.cleanups = nil
		e.mu.Unlock()
		for i := len(fs) - 1; i >= 0; i-- {
			fs[i]()
		}
	})
}

// brokers are the servers of one run.
type brokers struct {
	redis        *redisserver.Server
	nats         *natsserver.Server
	redisPID     int // -1 when unknown (for CPU accounting)
	natsPID      int
	redisVersion string
	natsVersion  string
}

// startBrokers starts redis-server (no persistence) and nats-server -js
// (a temporary store) on free ports; e.close kills them.
func startBrokers(e *env) (b *brokers, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			b, err = nil, fmt.Errorf("transportbench: start the brokers: %s", a.msg)
		}
	}()
	b = &brokers{redis: redisserver.Start(e)}
	b.nats = natsserver.Start(e)
	b.redisPID, b.natsPID = childPID("redis-server"), childPID("nats-server")
	b.redisVersion, b.natsVersion = version("redis-server"), version("nats-server")
	return b, nil
}

// version returns "7.0.15" from redis-server's "Redis server v=7.0.15
// sha=..." and "v2.9.10" from nats-server's "nats-server: v2.9.10", or ""
// when the program does not tell.
func version(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
		if len(f) > 1 && f[0] == 'v' && f[1] >= '0' && f[1] <= '9' {
			return f
		}
	}
	return ""
}
