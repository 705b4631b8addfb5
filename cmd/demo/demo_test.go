package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary play the demo's child roles: the demo
// starts os.Executable(), which under "go test" is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == roleWorker || os.Args[1] == roleListener) {
		main() // exits
	}
	os.Exit(m.Run())
}

// safeBuffer is a bytes.Buffer for concurrent writers.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestDemoWithEmbeddedRedis(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	t.Setenv("SOCKET_REDIS_CHANNEL", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr safeBuffer
	code := run(ctx, []string{"--steps", "4", "--interval", "10ms"}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, want := range []string{
		"demo: REDIS_URL is unset: started an embedded Redis (miniredis) on 127.0.0.1:",
		readyMarker,
		`worker: sheet-sync at 100%`,
		`listener: emit progress to [user:42]: {"job":"sheet-sync","pct":50}  [##########..........] 50%`,
		`listener: emit progress to [user:42]: {"job":"sheet-sync","pct":100}  [####################] 100%`,
		`listener: emit done to [user:42]: {"job":"sheet-sync","ok":true}`,
		doneMarker,
		"worker: flushed: emitted 6, published 6, dropped 0",
		"demo: the listener saw the done event",
		"demo: embedded Redis stopped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr.String())
	}
}

func TestDemoTimesOut(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr safeBuffer
	// The job takes an hour; the demo gives up after a second.
	code := run(ctx, []string{"--steps", "2", "--interval", "1h", "--timeout", "2s"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "within 2s") {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}

func TestDemoUsage(t *testing.T) {
	var stdout, stderr safeBuffer
	if code := run(context.Background(), []string{"--steps", "0"}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit code %d, stderr %q", code, stderr.String())
	}
}
