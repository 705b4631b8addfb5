package testenv

import (
	"io"
	"strings"
	"sync"
	"testing"
)

// LogWriter returns a writer that sends each write, trimmed, to t's log
// until the test ends; a late line from a background goroutine (a server's
// or a transport's logger) is dropped, not a panic. Give it to a
// slog.Handler to see a component's log with the test's.
func LogWriter(t testing.TB) io.Writer {
	w := &logWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

type logWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}
