package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNorm(t *testing.T) {
	assert.Equal(t, "int:123456789012345678901234567890", Norm(json.Number("123456789012345678901234567890")))
	assert.Equal(t, Norm(json.Number("1e300")), Norm(json.Number("1e+300")))
	assert.NotEqual(t, Norm(json.Number("1")), Norm(json.Number("1.0")), "an int and a float stay apart")
	assert.Equal(t, []any{"str:a", map[string]any{"k": true}, nil},
		Norm([]any{"a", map[string]any{"k": true}, nil}))
}

func TestLineLogWaitFor(t *testing.T) {
	r, w := io.Pipe()
	l := NewLineLog("test", r, true)
	go func() {
		_, _ = io.WriteString(w, "not json\n{\"n\": 1}\n{\"n\": 2, \"s\": \"x\"}\n")
		_ = w.Close()
	}()
	i, ln := l.WaitFor(t, "n=2", 0, func(l Line) bool { return l.JSON["n"] == json.Number("2") })
	assert.Equal(t, 2, i)
	assert.Equal(t, "x", ln.Str("s"))
	assert.True(t, ln.Has("n"))
	n, missing := l.WaitForOrEOF(t, "n=3", func(l Line) bool { return l.JSON["n"] == json.Number("3") })
	require.Equal(t, -1, n)
	assert.Nil(t, missing)
	assert.Equal(t, 3, l.Len())
	assert.Contains(t, l.Dump(), "not json")
}

// TestBufferWaitFor: a waiter sees a write that happens after it started
// waiting, and Await ends with ctx's error when nothing matches.
func TestBufferWaitFor(t *testing.T) {
	t.Parallel()
	var b Buffer
	go func() {
		_, _ = b.Write([]byte("listening"))
		_, _ = b.Write([]byte(" on channel x\n"))
	}()
	b.WaitFor(t, "on channel x")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Await(ctx, func(out string) bool { return strings.Contains(out, "never") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await with a cancelled context = %v, want context.Canceled", err)
	}
	if got := b.String(); got != "listening on channel x\n" {
		t.Fatalf("String() = %q", got)
	}
}

// TestLogWriterAfterTheTest: a write after the test ended is dropped (the
// testing package would panic on a late Log) and still reports success.
func TestLogWriterAfterTheTest(t *testing.T) {
	var w io.Writer
	t.Run("inner", func(t *testing.T) {
		w = LogWriter(t)
		n, err := w.Write([]byte("during the test\n"))
		require.NoError(t, err)
		require.Equal(t, 16, n)
	})
	n, err := w.Write([]byte("late\n"))
	require.NoError(t, err)
	require.Equal(t, 5, n)
}
