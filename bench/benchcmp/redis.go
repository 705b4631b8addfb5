package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sockgate/sockgate/bench/benchutil"
)

// errMissingTool is returned when redis-server or redis-benchmark is not on
// PATH.
var errMissingTool = errors.New("benchcmp: redis-server and redis-benchmark are required (apt-get install redis-server redis-tools)")

// redisServer is a redis-server process owned by this program: its own free
// port on 127.0.0.1, nothing persisted.
type redisServer struct {
	port    int
	version string
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{}
	once    sync.Once
}

// syncBuffer collects a child's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// checkRedisTools fails with errMissingTool unless both programs are
// installed.
func checkRedisTools() error {
	for _, bin := range []string{"redis-server", "redis-benchmark"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%w: %s not found", errMissingTool, bin)
		}
	}
	return nil
}

// startRedis starts redis-server on a free port and waits until it answers
// PING. Another process can take the probed port before the server binds
// it, so a failed start is retried on a fresh port.
func startRedis(ctx context.Context) (*redisServer, error) {
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := startRedisOn(ctx, port)
		if err == nil {
			s.version = redisVersion()
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startRedisOn(ctx context.Context, port int) (*redisServer, error) {
	s := &redisServer{port: port, out: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command("redis-server",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.SysProcAttr = benchutil.DieWithParent()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("benchcmp: start redis-server: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if err := ping(s.addr()); err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("benchcmp: redis-server exited on port %d:\n%s", port, s.out.String())
		case <-deadline.C:
			s.stop()
			return nil, fmt.Errorf("benchcmp: redis-server on port %d did not answer PING within 10s:\n%s", port, s.out.String())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *redisServer) addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

func (s *redisServer) url() string { return "redis://" + s.addr() + "/0" }

// cpu returns the CPU time redis-server has used so far, or -1 when the
// platform does not tell.
func (s *redisServer) cpu() time.Duration { return benchutil.ChildCPU(s.cmd.Process.Pid) }

// busy returns the share of one core redis-server used between cpu0 (a
// cpu() reading) and now, over wall time elapsed; -1 when unknown.
func (s *redisServer) busy(cpu0 time.Duration, elapsed time.Duration) float64 {
	cpu1 := s.cpu()
	if cpu0 < 0 || cpu1 < 0 || elapsed <= 0 {
		return -1
	}
	return float64(cpu1-cpu0) / float64(elapsed)
}

// stop kills the server and waits for it to exit; it is idempotent.
func (s *redisServer) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("benchcmp: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ping sends an inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// redisVersion returns "7.0.15" from `redis-server --version`, or "" when
// it cannot tell.
func redisVersion() string {
	out, err := exec.Command("redis-server", "--version").Output()
	if err != nil {
		return ""
	}
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return ""
}

// rbResult is redis-benchmark's PUBLISH result.
type rbResult struct {
	Command string  `json:"command"`
	Rate    float64 `json:"rate"` // requests per second, as redis-benchmark reports it
	Seconds float64 `json:"seconds"`
	// ClientCPUPerMsg is redis-benchmark's own CPU time per request, in
	// nanoseconds; -1 when unknown.
	ClientCPUPerMsg float64 `json:"client_cpu_ns_per_msg"`
	// RedisBusy is the share of one core redis-server used meanwhile.
	RedisBusy float64 `json:"redis_busy"`
}

// redisBenchmark runs redis-benchmark's PUBLISH test against s.
func redisBenchmark(ctx context.Context, s *redisServer, clients, pipeline, n int, channel string, payload []byte) (rbResult, error) {
	args := []string{
		"-h", "127.0.0.1", "-p", strconv.Itoa(s.port),
		"-c", strconv.Itoa(clients), "-P", strconv.Itoa(pipeline),
		"-n", strconv.Itoa(n), "-q", "--csv",
		"publish", channel, string(payload),
	}
	shown := append([]string(nil), args...)
	shown[len(shown)-1] = fmt.Sprintf("<%d bytes>", len(payload))
	res := rbResult{Command: "redis-benchmark " + strings.Join(shown, " "), ClientCPUPerMsg: -1}

	cmd := exec.CommandContext(ctx, "redis-benchmark", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cpu0, t0 := s.cpu(), time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(t0)
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return res, fmt.Errorf("benchcmp: redis-benchmark: %w", err)
	}
	res.Seconds = elapsed.Seconds()
	res.RedisBusy = s.busy(cpu0, elapsed)
	if ps := cmd.ProcessState; ps != nil {
		res.ClientCPUPerMsg = float64(ps.UserTime()+ps.SystemTime()) / float64(n)
	}
	res.Rate, err = parseBenchmarkCSV(out)
	return res, err
}

// parseBenchmarkCSV reads the "rps" column of redis-benchmark --csv output:
// a header line and one line per test (redis 7), or, from older versions,
// test lines alone as "test","rps". Only the first test is used.
func parseBenchmarkCSV(out []byte) (float64, error) {
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return 0, fmt.Errorf("benchcmp: redis-benchmark output is not CSV: %w: %q", err, out)
	}
	col, data := 1, recs
	if len(recs) > 0 {
		for i, h := range recs[0] {
			if h == "rps" {
				col, data = i, recs[1:]
			}
		}
	}
	if len(data) == 0 || col >= len(data[0]) {
		return 0, fmt.Errorf("benchcmp: redis-benchmark printed no result: %q", out)
	}
	rps, err := strconv.ParseFloat(data[0][col], 64)
	if err != nil || rps <= 0 {
		return 0, fmt.Errorf("benchcmp: redis-benchmark rps %q is not a positive number", data[0][col])
	}
	return rps, nil
}
