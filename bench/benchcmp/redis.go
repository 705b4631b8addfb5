package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/sockgate/sockgate/bench/benchutil"
	"github.com/sockgate/sockgate/internal/testenv"
)

// errMissingTool is returned when redis-server or redis-benchmark is not on
// PATH.
var errMissingTool = errors.New("benchcmp: redis-server and redis-benchmark are required (apt-get install redis-server redis-tools)")

// redisServer is a redis-server process owned by this program, started by
// internal/testenv (its own free port on 127.0.0.1, nothing persisted).
type redisServer struct {
	*testenv.RedisServer
	version string
	env     *benchutil.Env
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

// startRedis starts redis-server on a free port and waits until it
// answers.
func startRedis() (*redisServer, error) {
	e := benchutil.NewEnv("benchcmp", io.Discard)
	s := &redisServer{env: e, version: benchutil.Version("redis-server")}
	if err := e.Do(func() { s.RedisServer = testenv.StartRedis(e) }); err != nil {
		e.Close()
		return nil, fmt.Errorf("benchcmp: start redis-server: %w", err)
	}
	return s, nil
}

// cpu returns the CPU time redis-server has used so far, or -1 when the
// platform does not tell.
func (s *redisServer) cpu() time.Duration { return benchutil.ChildCPU(s.Pid()) }

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
func (s *redisServer) stop() { s.env.Close() }

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
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		return rbResult{}, err
	}
	args := []string{
		"-h", host, "-p", port,
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
