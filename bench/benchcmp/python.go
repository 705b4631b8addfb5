package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/sockgate/sockgate/internal/testenv"
)

// pyEmitScript is the python peer that emits through python-socketio's
// write-only manager, found from the source tree whatever the working
// directory.
var pyEmitScript = testenv.PythonPeer("py_emit.py")

// pyRun is one timed run of the Python script.
type pyRun struct {
	N       int     `json:"n"`
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"rate"`
	Tasks   int     `json:"tasks,omitempty"`
}

// pyResult is the Python script's JSON output.
type pyResult struct {
	Python         string `json:"python"`
	PythonSocketIO string `json:"python_socketio"`
	RedisPy        string `json:"redis_py"`
	Sequential     *pyRun `json:"sequential,omitempty"`
	Concurrent     *pyRun `json:"concurrent,omitempty"`
}

// pyConfig sizes the Python measurement.
type pyConfig struct {
	Interpreter string // an interpreter that has python3-socketio
	URL         string
	Channel     string
	N           int // sequential emits
	ConcurrentN int // emits in the concurrent run
	Concurrency int // tasks emitting at once
}

// checkPython reports why the interpreter cannot run the script, or nil.
func checkPython(ctx context.Context, interpreter string) error {
	if _, err := exec.LookPath(interpreter); err != nil {
		return fmt.Errorf("%s not found", interpreter)
	}
	out, err := exec.CommandContext(ctx, interpreter, "-c", "import socketio, redis.asyncio").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s cannot import socketio and redis.asyncio (apt-get install python3-socketio python3-redis): %s",
			interpreter, lastLine(out))
	}
	return nil
}

// runPython runs the script and parses its JSON line.
func runPython(ctx context.Context, cfg pyConfig) (*pyResult, error) {
	cmd := exec.CommandContext(ctx, cfg.Interpreter, pyEmitScript,
		"--url", cfg.URL, "--channel", cfg.Channel,
		"-n", strconv.Itoa(cfg.N),
		"--concurrent-n", strconv.Itoa(cfg.ConcurrentN),
		"--concurrency", strconv.Itoa(cfg.Concurrency))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("benchcmp: python: %w: %s", err, lastLine(stderr.Bytes()))
	}
	var r pyResult
	if err := json.Unmarshal([]byte(lastLine(out)), &r); err != nil {
		return nil, fmt.Errorf("benchcmp: python printed %q: %w", lastLine(out), err)
	}
	return &r, nil
}

// lastLine returns the last non-empty line of out.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
