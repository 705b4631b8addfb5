//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/internal/testenv"
)

// TestPythonServerReceivesGoEmits drives a real python-socketio 5.7.2 server
// from a Go worker in the Legacy dialect and checks, event by event, what its
// clients receive.
//
// Client A is user 42 on "/" and "/admin"; client B is user 7 on "/", also in
// room "team:7". Emits come from one goroutine, python handles queue messages
// one at a time and each client has one ordered connection, so each client's
// event list is fully determined: it is compared exactly (names, namespaces,
// arguments with exact numbers, no extras, no duplicates).
func TestPythonServerReceivesGoEmits(t *testing.T) {
	t.Parallel()
	requirePython(t)
	rs := testenv.StartRedis(t)
	rdb := newRedisClient(t, rs.Addr())
	channel := uniqueChannel(t)
	srv := startPyServer(t, rdb, rs.URL(), channel)
	tp := startTap(t, rdb, channel)
	a := startPyClient(t, "client A (user 42)", srv, map[string]any{"user": "42"}, "/", "/admin")
	b := startPyClient(t, "client B (user 7)", srv, map[string]any{"user": "7", "rooms": []string{"team:7"}}, "/")
	sidA, sidAdmin, sidB := a.sids["/"], a.sids["/admin"], b.sids["/"]

	w := newLegacyWorker(t, rs.URL(), channel)
	ctx := context.Background()
	calls := 0 // successful gateway calls, each one published message
	ok := func(err error) {
		t.Helper()
		require.NoError(t, err)
		calls++
	}
	var wantA, wantB []event

	// Payloads, all to user 42 on "/".
	unicode := "emoji 😀 \"quotes\" back\\slash ünïcödé 中文 tab\t nl\n \u2028 nul\x00"
	ints := map[string]any{
		"big": int64(1) << 62, "neg": -7, "zero": 0,
		"maxu64": uint64(math.MaxUint64),
		"huge":   json.Number("12345678901234567890123"),
	}
	nested := map[string]any{
		"a": []any{1, []any{"two", []any{3.5, map[string]any{"deep": []any{}}}}},
		"m": map[string]any{"x": map[string]any{"y": nil, "t": true}},
	}
	type item struct {
		ID   int      `json:"id"`
		Tags []string `json:"tags"`
		Skip string   `json:"-"`
	}
	data := []struct {
		event string
		data  any
		args  []any // what the client's handler is called with
	}{
		{"dict", map[string]any{"name": "Ada", "ok": true, "none": nil, "n": 3}, []any{map[string]any{"name": "Ada", "ok": true, "none": nil, "n": 3}}},
		{"unicode", unicode, []any{unicode}},
		{"unicode_key", map[string]any{"ключ 🔑": "värde"}, []any{map[string]any{"ключ 🔑": "värde"}}},
		{"ints", ints, []any{ints}},
		{"bigint", int64(1) << 62, []any{int64(1) << 62}},
		{"negative", -7, []any{-7}},
		{"huge", json.Number("12345678901234567890123"), []any{json.Number("12345678901234567890123")}},
		{"float", 0.1, []any{0.1}},
		{"floats", map[string]any{"tenth": 0.1, "big": 1e300, "tiny": 5e-324, "neg": -2.5}, []any{map[string]any{"tenth": 0.1, "big": 1e300, "tiny": 5e-324, "neg": -2.5}}},
		{"nested", nested, []any{nested}},
		{"list", []int{1, 2, 3}, []any{[]int{1, 2, 3}}},
		{"list_of_lists", [][]any{{1, "a"}, {}}, []any{[][]any{{1, "a"}, {}}}},
		{"nil", nil, nil},
		{"empty_string", "", []any{""}},
		{"false", false, []any{false}},
		{"struct", item{ID: 9, Tags: []string{"x"}, Skip: "no"}, []any{map[string]any{"id": 9, "tags": []string{"x"}}}},
	}
	for _, d := range data {
		ok(w.EmitToUser(ctx, "42", d.event, d.data))
		wantA = append(wantA, ev(t, "/", d.event, d.args...))
	}

	// Addressing.
	ok(w.EmitToRoom(ctx, "team:7", "team", map[string]any{"room": "team:7"}))
	wantB = append(wantB, ev(t, "/", "team", map[string]any{"room": "team:7"}))
	ok(w.EmitToUser(ctx, "7", "to_b", "only B"))
	wantB = append(wantB, ev(t, "/", "to_b", "only B"))
	ok(w.Broadcast(ctx, "everyone", "hi"))
	wantA = append(wantA, ev(t, "/", "everyone", "hi"))
	wantB = append(wantB, ev(t, "/", "everyone", "hi"))
	ok(w.Broadcast(ctx, "except_b", 1, gateway.Except(sidB)))
	wantA = append(wantA, ev(t, "/", "except_b", 1))
	ok(w.Broadcast(ctx, "except_both", 2, gateway.Except(sidA, sidB)))
	ok(w.EmitToUser(ctx, "42", "except_self", 3, gateway.Except(sidA)))
	ok(w.Broadcast(ctx, "admin_all", map[string]any{"k": "v"}, gateway.WithNamespace("/admin")))
	wantA = append(wantA, ev(t, "/admin", "admin_all", map[string]any{"k": "v"}))
	ok(w.EmitToUser(ctx, "42", "admin_user", "x", gateway.WithNamespace("/admin")))
	wantA = append(wantA, ev(t, "/admin", "admin_user", "x"))
	ok(w.EmitToUser(ctx, "7", "admin_b", "B is not on /admin", gateway.WithNamespace("/admin")))
	ok(w.EmitToRoom(ctx, "nobody-here", "empty_room", 1))
	ok(w.Broadcast(ctx, "broadcast_to_room", "team", gateway.ToRooms("team:7")))
	wantB = append(wantB, ev(t, "/", "broadcast_to_room", "team"))

	// What python-socketio 5.7.2 cannot take is refused in the caller and
	// never published.
	before := w.Stats()
	for name, call := range map[string]func() error{
		"ToRooms":           func() error { return w.EmitToUser(ctx, "42", "rooms", 1, gateway.ToRooms("team:7")) },
		"Broadcast ToRooms": func() error { return w.Broadcast(ctx, "rooms", 1, gateway.ToRooms("team:7", "user:42")) },
		"Args":              func() error { return w.EmitToUser(ctx, "42", "args", gateway.Args{1, 2}) },
	} {
		err := call()
		require.Error(t, err, name)
		assert.True(t, errors.Is(err, codec.ErrDialect), "%s: %v does not wrap codec.ErrDialect", name, err)
		if strings.Contains(name, "ToRooms") {
			assert.Contains(t, strings.ToLower(err.Error()), "room", "%s: the error names the problem", name)
		}
		t.Logf("%s refused: %v", name, err)
	}
	assert.Equal(t, before.Emitted, w.Stats().Emitted, "refused calls are not emitted")

	// close_room: B leaves team:7; the marker proves the emit to the closed
	// room came and went without reaching B.
	ok(w.CloseRoom(ctx, "team:7"))
	ok(w.EmitToRoom(ctx, "team:7", "after_close", 1))
	ok(w.EmitToUser(ctx, "7", "marker_close", 1))
	wantB = append(wantB, ev(t, "/", "marker_close", 1))

	// enter_room: python-socketio 5.7.2's pubsub thread ignores it (it only
	// handles emit, callback, disconnect and close_room; later releases
	// apply it), so the r2 emit reaches nobody. TestRoomOpsActOnPythonClient
	// checks the same messages against a server that applies them.
	ok(w.EnterRoom(ctx, sidA, "r2"))
	ok(w.EmitToRoom(ctx, "r2", "in_r2", 1))
	ok(w.EmitToUser(ctx, "42", "marker_enter", 1))
	wantA = append(wantA, ev(t, "/", "marker_enter", 1))

	// disconnect on /admin: A's /admin namespace is closed, "/" stays.
	ok(w.Disconnect(ctx, sidAdmin, gateway.WithNamespace("/admin")))
	ok(w.Broadcast(ctx, "admin_after_disconnect", 1, gateway.WithNamespace("/admin")))
	ok(w.EmitToUser(ctx, "42", "marker_disconnect", 1))
	wantA = append(wantA, ev(t, "/", "marker_disconnect", 1))

	ok(w.EmitToUser(ctx, "42", "end", "A"))
	wantA = append(wantA, ev(t, "/", "end", "A"))
	// disconnect B on "/": its connection ends.
	ok(w.Disconnect(ctx, sidB))

	flushCtx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	require.NoError(t, w.Flush(flushCtx))

	endA, _ := a.Out.WaitFor(t, `event "end"`, 0, func(l line) bool { return l.Str("event") == "end" })
	b.Out.WaitFor(t, `{"disconnected": "/"}`, 0, func(l line) bool { return l.Str("disconnected") == "/" })
	a.Out.WaitFor(t, `{"disconnected": "/admin"}`, 0, func(l line) bool { return l.Str("disconnected") == "/admin" })
	srv.Out.WaitFor(t, "server disconnect of A on /admin", 0, func(l line) bool { return l.Str("disconnect") == sidAdmin })
	srv.Out.WaitFor(t, "server disconnect of B", 0, func(l line) bool { return l.Str("disconnect") == sidB })

	assertEvents(t, "client A", wantA, events(a.Out.Snapshot()[:endA+1]))
	assertEvents(t, "client B", wantB, events(b.Out.Snapshot()))
	// Nothing arrived at A after "end" but its /admin disconnect line.
	for _, l := range a.Out.Snapshot()[endA+1:] {
		assert.Nil(t, l.JSON["event"], "client A: unexpected line after end: %s", l.Raw)
	}

	// Every successful call was published exactly once, nothing else was.
	s := w.Stats()
	assert.Equal(t, uint64(calls), s.Emitted)
	assert.Equal(t, uint64(calls), s.Published)
	assert.Zero(t, s.Dropped)
	require.Eventually(t, func() bool { return tp.count() >= calls }, deadline, 5*time.Millisecond)
	assert.Equal(t, calls, tp.count(), "messages seen on the channel")
}

// TestRoomOpsActOnPythonClient checks that the enter_room and leave_room
// messages a Go worker sends name the right sid, room and namespace: against
// py_server.py --room-ops (python-socketio 5.7.2 taught to apply them, as
// later releases do), EnterRoom makes an emit to the room arrive and
// LeaveRoom makes the next one miss.
func TestRoomOpsActOnPythonClient(t *testing.T) {
	t.Parallel()
	requirePython(t)
	rs := testenv.StartRedis(t)
	rdb := newRedisClient(t, rs.Addr())
	channel := uniqueChannel(t)
	srv := startPyServer(t, rdb, rs.URL(), channel, "--room-ops")
	a := startPyClient(t, "client A (user 42)", srv, map[string]any{"user": "42"}, "/", "/admin")
	sid, sidAdmin := a.sids["/"], a.sids["/admin"]
	w := newLegacyWorker(t, rs.URL(), channel)
	ctx := context.Background()

	require.NoError(t, w.EnterRoom(ctx, sid, "r2"))
	require.NoError(t, w.EnterRoom(ctx, sidAdmin, "r2", gateway.WithNamespace("/admin")))
	require.NoError(t, w.EmitToRoom(ctx, "r2", "in_r2", 1))
	require.NoError(t, w.EmitToRoom(ctx, "r2", "in_r2_admin", 1, gateway.WithNamespace("/admin")))
	require.NoError(t, w.LeaveRoom(ctx, sid, "r2"))
	require.NoError(t, w.EmitToRoom(ctx, "r2", "in_r2", 2))
	require.NoError(t, w.EmitToRoom(ctx, "r2", "in_r2_admin", 2, gateway.WithNamespace("/admin")))
	require.NoError(t, w.EmitToUser(ctx, "42", "end", 1))

	end, _ := a.Out.WaitFor(t, `event "end"`, 0, func(l line) bool { return l.Str("event") == "end" })
	assertEvents(t, "client A", []event{
		ev(t, "/", "in_r2", 1),
		ev(t, "/admin", "in_r2_admin", 1),
		ev(t, "/admin", "in_r2_admin", 2), // still in r2 on /admin
		ev(t, "/", "end", 1),
	}, events(a.Out.Snapshot()[:end+1]))

	// The server saw the three room operations with their exact fields.
	for _, want := range []map[string]any{
		{"room_op": "enter_room", "sid": sid, "ns": "/", "room": "r2"},
		{"room_op": "enter_room", "sid": sidAdmin, "ns": "/admin", "room": "r2"},
		{"room_op": "leave_room", "sid": sid, "ns": "/", "room": "r2"},
	} {
		srv.Out.WaitFor(t, want["room_op"].(string)+" on "+want["ns"].(string), 0, func(l line) bool {
			for k, v := range want {
				if l.JSON[k] != v {
					return false
				}
			}
			return true
		})
	}
}

// assertEvents compares event lists exactly and prints both in full, with
// the first difference, when they differ.
func assertEvents(t *testing.T, who string, want, got []event) {
	t.Helper()
	if reflect.DeepEqual(want, got) {
		return
	}
	first := min(len(want), len(got))
	for i := range first {
		if !reflect.DeepEqual(want[i], got[i]) {
			first = i
			break
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s received other events than expected; first difference at event %d\nwant:\n", who, first)
	for i, e := range want {
		fmt.Fprintf(&b, "  %2d %s\n", i, e)
	}
	b.WriteString("got:\n")
	for i, e := range got {
		fmt.Fprintf(&b, "  %2d %s\n", i, e)
	}
	t.Error(b.String())
}
