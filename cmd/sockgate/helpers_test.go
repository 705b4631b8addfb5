package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sockgate/sockgate/internal/testenv"
)

// waitTimeout bounds every wait for an event; generous, as the race
// detector and loaded CI machines are slow.
const waitTimeout = 20 * time.Second

// result is a finished run.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line to completion.
func runCLI(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, args, stdin, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// background runs a command line until it returns or ctx is cancelled.
type background struct {
	stdout, stderr *testenv.Buffer
	cancel         context.CancelFunc
	done           chan int
}

func startCLI(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bg := &background{stdout: &testenv.Buffer{}, stderr: &testenv.Buffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { bg.done <- run(ctx, args, strings.NewReader(""), bg.stdout, bg.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-bg.done:
		case <-time.After(waitTimeout):
			t.Errorf("sockgate %s did not stop", strings.Join(args, " "))
		}
	})
	return bg
}

// wait waits for the command to return and gives its exit code.
func (bg *background) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-bg.done:
		bg.done <- code // for Cleanup
		return code
	case <-time.After(waitTimeout):
		t.Fatalf("command did not return; stdout:\n%s\nstderr:\n%s", bg.stdout, bg.stderr)
		return -1
	}
}

// cleanEnv clears the variables the CLI takes defaults from.
func cleanEnv(t *testing.T) {
	for _, k := range []string{"REDIS_URL", "SOCKET_REDIS_CHANNEL", "SOCKET_DIALECT", "SOCKET_AUTH_USER_CLAIM", "SOCKET_TRANSPORT", "NATS_URL", "SOCKET_STREAM", "SOCKET_STREAM_MAXLEN"} {
		t.Setenv(k, "")
	}
}
