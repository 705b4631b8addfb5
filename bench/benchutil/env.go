package benchutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Env stands in for the testing.TB that internal/testenv takes, so the
// bench commands start their brokers with the same code as the tests.
// Cleanup collects what Close runs (last registered first, as testing
// does); Fatal and Skip abort the start with a panic that Do recovers into
// an error. The embedded TB is nil: testenv calls only the methods defined
// here.
type Env struct {
	testing.TB
	name string
	log  io.Writer

	mu       sync.Mutex
	cleanups []func()
	once     sync.Once
}

// NewEnv returns an Env named name (its Name, for messages) that logs to
// log.
func NewEnv(name string, log io.Writer) *Env { return &Env{name: name, log: log} }

// abort is the panic value of Fatal and Skip.
type abort struct{ msg string }

func (e *Env) Helper()      {}
func (e *Env) Name() string { return e.name }
func (e *Env) Failed() bool { return false }

func (e *Env) Cleanup(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cleanups = append(e.cleanups, f)
}

func (e *Env) TempDir() string {
	dir, err := os.MkdirTemp("", "transportbench-")
	if err != nil {
		e.Fatalf("temporary directory: %v", err)
	}
	e.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (e *Env) Log(args ...any)                 { fmt.Fprintln(e.log, args...) }
func (e *Env) Logf(format string, args ...any) { fmt.Fprintf(e.log, format+"\n", args...) }
func (e *Env) Error(args ...any)               { e.Fatal(args...) }
func (e *Env) Errorf(format string, args ...any) {
	e.Fatalf(format, args...)
}
func (e *Env) Fatal(args ...any)                 { panic(abort{fmt.Sprint(args...)}) }
func (e *Env) Fatalf(format string, args ...any) { panic(abort{fmt.Sprintf(format, args...)}) }
func (e *Env) FailNow()                          { panic(abort{"failed"}) }
func (e *Env) Skip(args ...any)                  { e.Fatal(args...) }
func (e *Env) Skipf(format string, args ...any)  { e.Fatalf(format, args...) }
func (e *Env) SkipNow()                          { e.FailNow() }

// Close runs the cleanups once, last registered first: the brokers are
// killed, then their directories removed. Concurrent callers wait for the
// first.
func (e *Env) Close() {
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

// Do runs start, which calls internal/testenv with e, and returns the
// message of a Fatal or Skip of e as an error.
func (e *Env) Do(start func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			err = errors.New(a.msg)
		}
	}()
	start()
	return nil
}

// Version returns "7.0.15" from redis-server's "Redis server v=7.0.15
// sha=..." and "v2.9.10" from nats-server's "nats-server: v2.9.10", or ""
// when the program does not tell.
func Version(bin string) string {
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
