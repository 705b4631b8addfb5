//go:build integration

package clusterint

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSeqKeyDeliveredByPython: a Go worker's message carries the extra
// key "sockgate_seq" (checked on the bytes Redis carried), and
// python-socketio 5.7.2's server still delivers it to its client. The
// same bytes published again reach our client once more only if our node
// failed to drop them: it drops them (SeqDuplicates); python-socketio,
// which does not look at the key, delivers them twice.
func TestSeqKeyDeliveredByPython(t *testing.T) {
	t.Parallel()
	c := startMixedCluster(t)
	rdb := newRedisClient(t, c.rs.Addr())
	tap := rdb.Subscribe(context.Background(), c.ch)
	t.Cleanup(func() { _ = tap.Close() })
	_, err := tap.Receive(context.Background()) // the subscription's confirmation
	require.NoError(t, err)
	waitSubscribers(t, rdb, c.ch, 3)

	require.NoError(t, c.w.EmitToUser(context.Background(), c.user, "with-seq", "x"))
	flush(t, c.w)
	msg, err := tap.ReceiveMessage(context.Background())
	require.NoError(t, err)
	require.Contains(t, msg.Payload, `"sockgate_seq":`, "the worker's message carries its Seq")
	for _, cl := range c.both() {
		_, got, _ := cl.waitEvent(t, "with-seq", 0)
		assert.Equal(t, ev(t, "with-seq", "x"), got, cl.Name())
	}

	require.NoError(t, rdb.Publish(context.Background(), c.ch, msg.Payload).Err()) // the same bytes again
	c.sentinel(t)
	assert.Equal(t, 1, c.onGo.count("with-seq"), "our client gets it once")
	assert.Equal(t, 2, c.onPy.count("with-seq"), "python-socketio 5.7.2 ignores the key and delivers it again")
	assert.EqualValues(t, 1, c.gn.mgr.Stats().SeqDuplicates)
}

// TestPythonFidelity: what python-socketio 5.7.2's write-only manager
// publishes (a pickle) with an empty event name, or with NaN and infinite
// numbers (BINFLOAT opcodes), python's server delivers; ours delivers it
// too, the non-finite numbers as null.
func TestPythonFidelity(t *testing.T) {
	t.Parallel()
	c := startMixedCluster(t)
	room := "user:" + c.user
	runPython(t, "py_bus.py", "emit", "--redis-url", c.rs.URL(), "--channel", c.ch,
		"--room", room, "--event", "", "--data", `{"empty": true}`)
	for _, cl := range c.both() {
		_, l := cl.Out.WaitFor(t, "an event named \"\"", 0, func(l line) bool {
			name, ok := l.JSON["event"].(string)
			return ok && name == ""
		})
		assert.Equal(t, ev(t, "", map[string]any{"empty": true}), events([]line{l})[0], cl.Name())
	}
	runPython(t, "py_bus.py", "emit", "--redis-url", c.rs.URL(), "--channel", c.ch,
		"--room", room, "--event", "nonfinite", "--data", `{"v": [NaN, Infinity, 1.5], "w": {"x": -Infinity}}`)
	_, got, _ := c.onGo.waitEvent(t, "nonfinite", 0)
	assert.Equal(t, ev(t, "nonfinite", map[string]any{"v": []any{nil, nil, 1.5}, "w": map[string]any{"x": nil}}), got)
	// python's server writes json.dumps's literals to its client, which
	// reads them with json.loads (its output line, not JSON, shows them).
	// The sentinel, published after, arrives after it.
	c.sentinel(t)
	found := false
	for _, l := range c.onPy.Out.Snapshot() {
		found = found || strings.Contains(l.Raw, `"nonfinite"`) && strings.Contains(l.Raw, "[NaN, Infinity, 1.5]")
	}
	assert.True(t, found, "python's client received the NaN event")
	st := c.gn.mgr.Stats()
	assert.EqualValues(t, 1, st.NonFinite)
	assert.Zero(t, st.Malformed+st.ApplyErrors)
}
