package redispubsub_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport/redispubsub"
)

// wait is the generous deadline for anything asynchronous.
const wait = 10 * time.Second

// env is one test's miniredis, client and PubSub.
type env struct {
	mr     *miniredis.Miniredis
	client *redis.Client
	ps     *redispubsub.PubSub
	logs   *logRecorder
}

// newEnv starts a private miniredis and a PubSub on it; everything is
// closed when the test ends (PubSub first, then the client it does not
// own).
func newEnv(t testing.TB) *env {
	t.Helper()
	mr := miniredis.RunT(t)
	return newEnvOn(t, mr)
}

func newEnvOn(t testing.TB, mr *miniredis.Miniredis) *env {
	t.Helper()
	// miniredis under -race on a small machine can take longer than the
	// default 5 s ReadTimeout to answer a 10,000-message pipeline.
	client := redis.NewClient(&redis.Options{Addr: mr.Addr(), ReadTimeout: 30 * time.Second})
	logs := &logRecorder{}
	ps, err := redispubsub.New(redispubsub.Config{Client: client, Logger: slog.New(logs)})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, ps.Close())
		_ = client.Close()
	})
	return &env{mr: mr, client: client, ps: ps, logs: logs}
}

// channelName is a channel unique to the test (and to the -count run).
func channelName(t testing.TB, suffix ...string) string {
	return t.Name() + "/" + strings.Join(suffix, "/") + fmt.Sprintf("#%d", time.Now().UnixNano())
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// next receives one message or fails after the deadline.
func next(t testing.TB, ch <-chan []byte) []byte {
	t.Helper()
	select {
	case m, ok := <-ch:
		require.True(t, ok, "subscription closed early")
		return m
	case <-time.After(wait):
		require.FailNow(t, "no message within deadline")
		return nil
	}
}

// requireClosed drains ch and fails unless it is closed within the deadline.
func requireClosed(t testing.TB, ch <-chan []byte) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			require.FailNow(t, "subscription channel not closed within deadline")
		}
	}
}

// numSub is the server's subscriber count for channel.
func numSub(mr *miniredis.Miniredis, channel string) int {
	return mr.PubSubNumSub(channel)[channel]
}

func msgs(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s-%d", prefix, i)
	}
	return out
}

// logRecorder is a slog.Handler that keeps records for assertions.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// has reports whether a record at level with msg containing text exists.
func (l *logRecorder) has(level slog.Level, text string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r.Level == level && strings.Contains(r.Message, text) {
			return true
		}
	}
	return false
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b bytes.Buffer
	for _, r := range l.records {
		fmt.Fprintf(&b, "%s %s\n", r.Level, r.Message)
	}
	return b.String()
}

var (
	timeNow   = time.Now
	timeSince = time.Since
	timeAfter = time.After
)

// quietLogger drops go-redis's own log lines (dial failures while a test
// keeps the server down on purpose).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{})
	m.Run()
}
