package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sockgate/sockgate/bench/benchutil"
	"github.com/sockgate/sockgate/internal/testenv"
)

// errMissingTool is returned when a program the benchmark needs is missing.
var errMissingTool = errors.New("clusterbench: missing tool")

// proc is a child process owned by this program; its output is kept for
// error messages, and its stdout lines are offered to a watcher.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *testenv.Buffer
	lines  chan string // stdout lines (dropped when nobody reads)
	exited chan struct{}
	once   sync.Once
}

// startProc starts a child; it receives SIGKILL when this program dies.
func startProc(name string, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, out: &testenv.Buffer{}, lines: make(chan string, 64), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = benchutil.DieWithParent()
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("clusterbench: start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.out, line)
			select {
			case p.lines <- line:
			default:
			}
		}
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitLine waits (at most 30 s) for a stdout line with prefix and returns
// the rest of it.
func (p *proc) waitLine(ctx context.Context, prefix string) (string, error) {
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case line := <-p.lines:
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest, nil
			}
		case <-p.exited:
			return "", fmt.Errorf("clusterbench: %s exited before printing %q:\n%s", p.name, prefix, p.out.String())
		case <-t.C:
			return "", fmt.Errorf("clusterbench: %s did not print %q within 30s:\n%s", p.name, prefix, p.out.String())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// stop interrupts the process, kills it after 3 s, and waits; idempotent.
func (p *proc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(3 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// cpu returns the CPU time the process has used, -1 when unknown.
func (p *proc) cpu() time.Duration { return benchutil.ChildCPU(p.cmd.Process.Pid) }

// startRedis starts redis-server on a free 127.0.0.1 port, nothing
// persisted, with internal/testenv, and waits until it answers; stop kills
// it.
func startRedis() (addr string, stop func(), err error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return "", nil, fmt.Errorf("%w: redis-server (apt-get install redis-server)", errMissingTool)
	}
	e := benchutil.NewEnv("clusterbench", io.Discard)
	if err := e.Do(func() { addr = testenv.StartRedis(e).Addr() }); err != nil {
		e.Close()
		return "", nil, fmt.Errorf("clusterbench: start redis-server: %w", err)
	}
	return addr, e.Close, nil
}

// waitSubscribed waits (at most 30 s) until Redis shows a subscriber on
// channel: events published before then would be lost.
func waitSubscribed(ctx context.Context, rc *redis.Client, channel string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := rc.PubSubNumSub(ctx, channel).Result()
		if err == nil && n[channel] > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("clusterbench: no subscriber on channel %q after 30s (%v)", channel, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
