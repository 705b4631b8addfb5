package redislog_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/transport/redislog"
)

// TestFailedDialLogsThroughSlog: with the logger installed, go-redis's
// "failed to dial" line reaches slog (and so the configured handler), at
// Warn, marked as go-redis's. (Not parallel: the logger is process-wide.)
func TestFailedDialLogsThroughSlog(t *testing.T) {
	var buf testenv.Buffer
	redislog.Install(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { redislog.Install(nil) })

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	client := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.Error(t, client.Ping(ctx).Err())

	out := buf.String()
	assert.Contains(t, out, "failed to dial")
	assert.Contains(t, out, addr)
	assert.Contains(t, out, "level=WARN")
	assert.Contains(t, out, "component=go-redis")
}

// TestRateLimitedByFormat: the same format is logged once per Interval,
// another format still gets through.
func TestRateLimitedByFormat(t *testing.T) {
	t.Parallel()
	var buf testenv.Buffer
	l := redislog.New(slog.New(slog.NewTextHandler(&buf, nil)))
	ctx := context.Background()
	for i := range 5 {
		l.Printf(ctx, "redis: connection pool: failed to dial after %d attempts: %v", i, "refused")
	}
	l.Printf(ctx, "Conn has unread data (not push notification), removing it")
	out := buf.String()
	assert.Equal(t, 1, strings.Count(out, "failed to dial"), out)
	assert.Contains(t, out, `msg="redis: connection pool: failed to dial after 0 attempts: refused"`)
	assert.Equal(t, 1, strings.Count(out, "unread data"), out)
	redislog.New(nil).Printf(ctx, "discarded %d", 1) // nil: no panic
}
