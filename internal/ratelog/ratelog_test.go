package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogSuppressesWithinInterval(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), time.Hour)
	for range 5 {
		l.Log(slog.LevelWarn, "refused", "why", "test")
	}
	if n := strings.Count(buf.String(), "refused"); n != 1 {
		t.Fatalf("%d records within one interval, want 1:\n%s", n, buf.String())
	}
	l.next = time.Time{} // the interval has passed
	l.Log(slog.LevelWarn, "refused")
	if !strings.Contains(buf.String(), "suppressed=4") {
		t.Fatalf("the next record does not report the 4 suppressed:\n%s", buf.String())
	}
}

func TestNilLoggerDiscards(t *testing.T) {
	New(nil, 0).Log(slog.LevelError, "nothing") // must not panic
}
