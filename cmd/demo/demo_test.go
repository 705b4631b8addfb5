package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockgate/sockgate/internal/testenv"
)

// TestMain lets the test binary play the demo's child roles: the demo
// starts os.Executable(), which under "go test" is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == roleWorker || os.Args[1] == roleListener || os.Args[1] == roleJob) {
		main() // exits
	}
	os.Exit(m.Run())
}

// safeBuffer is a bytes.Buffer for concurrent writers that tells waiters
// about every write.
type safeBuffer struct{ testenv.Buffer }

// waitFor waits until the output holds a match of re and returns it.
func (b *safeBuffer) waitFor(ctx context.Context, re *regexp.Regexp) (string, error) {
	var m string
	if err := b.Await(ctx, func(out string) bool { m = re.FindString(out); return m != "" }); err != nil {
		return "", fmt.Errorf("output has no match of %s: %w", re, err)
	}
	return m, nil
}

func TestDemoWithEmbeddedRedis(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	runPipelineOver(t, "redis",
		"demo: REDIS_URL is unset: started an embedded Redis (miniredis) on 127.0.0.1:",
		readyMarker,
		`worker: sheet-sync at 100%`,
		`listener: emit progress to [user:42]: {"job":"sheet-sync","pct":50}  [##########..........] 50%`,
		"demo: embedded Redis stopped")
}

// runPipelineOver runs the worker/listener part of the demo on transport
// (SOCKET_TRANSPORT, on a channel of the test's own) and checks that the
// listener saw every event, the worker published all of them, and the
// output has each of want.
func runPipelineOver(t *testing.T, transport string, want ...string) {
	t.Helper()
	t.Setenv("SOCKET_TRANSPORT", transport)
	t.Setenv("SOCKET_REDIS_CHANNEL", fmt.Sprintf("demo-%s-%d", transport, time.Now().UnixNano()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr safeBuffer
	code := run(ctx, []string{"-web=false", "--steps", "4", "--interval", "10ms"}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, want := range append(want,
		"gateway.Worker publishing on channel",
		"("+transport+" ",
		`listener: emit progress to [user:42]: {"job":"sheet-sync","pct":100}  [####################] 100%`,
		`listener: emit done to [user:42]: {"job":"sheet-sync","ok":true}`,
		doneMarker,
		"worker: flushed: emitted 6, published 6, dropped 0",
		"demo: the listener saw the done event",
	) {
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
	code := run(ctx, []string{"-web=false", "--steps", "2", "--interval", "1h", "--timeout", "2s"}, &stdout, &stderr)
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

// runningDemo is a demo run in this process, serving its page.
type runningDemo struct {
	stdout, stderr safeBuffer
	url            string   // the printed page URL, with #token=...
	exited         chan int // the exit code, once run returned
}

var pageURLPattern = regexp.MustCompile(regexp.QuoteMeta(urlMarker) + `\S+#token=\S+`)

// startDemo runs the demo with args (plus a free port) and waits until it
// prints the page's URL. The test fails when the demo does not exit by
// the test's end.
func startDemo(t *testing.T, args ...string) *runningDemo {
	t.Helper()
	return startDemoWithSecret(t, "", args...)
}

// startDemoWithSecret is startDemo with SOCKET_AUTH_SECRET set to secret.
func startDemoWithSecret(t *testing.T, secret string, args ...string) *runningDemo {
	t.Helper()
	t.Setenv("REDIS_URL", "")
	t.Setenv("SOCKET_REDIS_CHANNEL", "")
	t.Setenv("SOCKET_USER_ROOM", "")
	t.Setenv("SOCKET_AUTH_SECRET", secret)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	d := &runningDemo{exited: make(chan int, 1)}
	go func() { d.exited <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), &d.stdout, &d.stderr) }()
	t.Cleanup(func() {
		cancel() // like Ctrl-C
		select {
		case code := <-d.exited:
			d.exited <- code
		case <-time.After(30 * time.Second):
			t.Errorf("the demo did not stop within 30s of its interruption")
		}
		if t.Failed() {
			t.Logf("demo stdout:\n%s\ndemo stderr:\n%s", d.stdout.String(), d.stderr.String())
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	line, err := d.stdout.waitFor(wctx, pageURLPattern)
	if err != nil {
		select {
		case code := <-d.exited:
			t.Fatalf("the demo exited with %d before printing its URL", code)
		default:
			t.Fatal(err)
		}
	}
	d.url = strings.TrimPrefix(line, "demo:   ")
	return d
}

// wait returns the demo's exit code, failing the test after a minute.
func (d *runningDemo) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-d.exited:
		d.exited <- code
		return code
	case <-time.After(time.Minute):
		t.Fatal("the demo did not exit within a minute")
		return -1
	}
}
