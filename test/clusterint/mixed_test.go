//go:build integration

package clusterint

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/internal/testenv"
)

// mixedCluster is one Redis, one channel, a python-socketio 5.7.2 server and
// our Go server on it, a user with one python client on each server, and a
// Go worker.
type mixedCluster struct {
	rs     *testenv.RedisServer
	ch     string
	py     *pyServer
	gn     *goNode
	w      *gateway.Worker
	user   string
	onPy   *pyClient // connected to the python server
	onGo   *pyClient // connected to our server
	nsents int
}

func startMixedCluster(t *testing.T) *mixedCluster {
	t.Helper()
	requirePython(t)
	rs := testenv.StartRedis(t)
	rdb := newRedisClient(t, rs.Addr())
	c := &mixedCluster{rs: rs, ch: uniqueChannel(t), user: "u-" + randHex(4)}
	c.py = startPyServer(t, rdb, rs.URL(), c.ch)
	c.gn = startGoNode(t, rs.URL(), c.ch)
	c.gn.waitSubscribed(t)
	waitSubscribers(t, rdb, c.ch, 2)
	c.w = newLegacyWorker(t, rs.URL(), c.ch)

	// The python server puts the client into "user:<id>" from auth.user
	// (its auth convention) and into "room-c"; ours takes the user from the
	// signed token.
	c.onPy = startPyClient(t, "client-on-python", c.py.url, map[string]any{"user": c.user, "rooms": []string{"room-c"}})
	c.py.Out.WaitFor(t, "python server connect of "+c.onPy.sid, 0, func(l line) bool { return l.Str("connect") == c.onPy.sid })
	c.onGo = c.gn.connect(t, "client-on-go", c.user, nil)
	return c
}

// both returns the two clients.
func (c *mixedCluster) both() []*pyClient { return []*pyClient{c.onPy, c.onGo} }

// sentinel sends a uniquely named event to the user through the Go worker
// and waits until both clients have it. The worker's messages reach each
// server in order, so everything the worker sent before has been applied
// by both servers once the sentinel arrives.
func (c *mixedCluster) sentinel(t *testing.T, clients ...*pyClient) {
	t.Helper()
	c.nsents++
	name := "sentinel-" + string(rune('a'+c.nsents-1))
	require.NoError(t, c.w.EmitToUser(context.Background(), c.user, name, name))
	flush(t, c.w)
	if clients == nil {
		clients = c.both()
	}
	for _, cl := range clients {
		cl.waitEvent(t, name, 0)
	}
}

func payload(from string) map[string]any {
	return map[string]any{
		"from":   from,
		"n":      42,
		"big":    int64(1) << 53,
		"f":      2.5,
		"neg":    -7,
		"s":      "héllo ✓ \"quoted\" \u2028",
		"list":   []any{1, "two", nil, true, false},
		"nested": map[string]any{"empty": []any{}, "obj": map[string]any{}},
	}
}

// TestMixedClusterEmitsReachBothClientsOnce: python's write-only manager
// (pickle), our Go worker (Legacy JSON), our Go server (its gateway) and the
// python server each emit to the user; both clients receive every event
// exactly once with the right arguments.
func TestMixedClusterEmitsReachBothClientsOnce(t *testing.T) {
	t.Parallel()
	c := startMixedCluster(t)
	ctx := context.Background()
	room := "user:" + c.user

	emitters := []struct {
		event string
		emit  func(event string, data any)
	}{
		{"from-py-writeonly", func(event string, data any) {
			b, err := json.Marshal(data)
			require.NoError(t, err)
			out := runPython(t, "py_bus.py", "emit", "--redis-url", c.rs.URL(), "--channel", c.ch,
				"--room", room, "--event", event, "--data", string(b))
			require.NotEmpty(t, out)
		}},
		{"from-go-worker", func(event string, data any) {
			require.NoError(t, c.w.EmitToUser(ctx, c.user, event, data))
			flush(t, c.w)
		}},
		{"from-go-server-broadcast", func(event string, data any) {
			// A plain socketio broadcast: delivered locally, handed to the
			// manager through socketio.Cluster and published.
			require.NoError(t, c.gn.srv.Of("/").To(room).Emit(event, data))
			flush(t, c.gn.mgr.Gateway())
		}},
		{"from-go-server", func(event string, data any) {
			gw := c.gn.mgr.Gateway()
			require.NoError(t, gw.EmitToUser(ctx, c.user, event, data))
			flush(t, gw)
		}},
		{"from-py-server", func(event string, data any) {
			c.py.emit(t, room, event, data)
		}},
	}
	for _, e := range emitters {
		e.emit(e.event, payload(e.event))
	}
	for _, cl := range c.both() {
		for _, e := range emitters {
			_, got, _ := cl.waitEvent(t, e.event, 0)
			assert.Equal(t, ev(t, e.event, payload(e.event)), got, "%s: %s", cl.Name(), e.event)
		}
	}
	// A final sentinel through every path: a duplicate made on a path
	// would arrive before that path's sentinel.
	for _, e := range emitters {
		e.emit(e.event+"-end", "end")
	}
	for _, cl := range c.both() {
		for _, e := range emitters {
			cl.waitEvent(t, e.event+"-end", 0)
		}
	}
	// Binary data in python's pickle travels to our client as a binary
	// attachment.
	b, err := json.Marshal(payload("bin"))
	require.NoError(t, err)
	runPython(t, "py_bus.py", "emit", "--redis-url", c.rs.URL(), "--channel", c.ch,
		"--room", room, "--event", "from-py-writeonly-bin", "--data", string(b), "--bin-key", "bin")
	withBin := payload("bin")
	withBin["bin"] = map[string]any{"$bytes": base64.StdEncoding.EncodeToString([]byte{0, 1, 0xfe, 0xff})}
	for _, cl := range c.both() {
		_, got, _ := cl.waitEvent(t, "from-py-writeonly-bin", 0)
		assert.Equal(t, ev(t, "from-py-writeonly-bin", withBin), got, "%s: binary in a pickle", cl.Name())
	}
	for _, cl := range c.both() {
		assert.Equal(t, 1, cl.count("from-py-writeonly-bin"), "%s received from-py-writeonly-bin", cl.Name())
		for _, e := range emitters {
			assert.Equal(t, 1, cl.count(e.event), "%s received %s", cl.Name(), e.event)
			assert.Equal(t, 1, cl.count(e.event+"-end"), "%s received %s-end", cl.Name(), e.event)
		}
		assert.Len(t, events(cl.Out.Snapshot()), 2*len(emitters)+1, "%s: events beyond the expected ones", cl.Name())
	}
	// Our own messages come back from Redis after our client had them.
	st := c.gn.waitSettled(t, 11)
	t.Logf("our manager: %+v", st)
	assert.EqualValues(t, 11, st.Received, "messages received")
	// Our server's four own emits came back from Redis and were skipped
	// (delivered locally when emitted); the other seven were applied.
	assert.EqualValues(t, 4, st.OwnSkipped, "own messages skipped")
	assert.EqualValues(t, 7, st.Applied, "messages applied")
	assert.Zero(t, st.Malformed+st.Unsafe+st.Unknown+st.ApplyErrors, "refused messages")
}

// TestMixedClusterRoomOpsFromWorker: enter_room, leave_room, close_room and
// disconnect sent by a Go worker act on clients of our server; python-socketio
// 5.7.2 ignores enter_room and leave_room from the bus (its listener only
// knows emit, callback, disconnect and close_room) and applies close_room
// and disconnect.
func TestMixedClusterRoomOpsFromWorker(t *testing.T) {
	t.Parallel()
	c := startMixedCluster(t)
	ctx := context.Background()
	w := c.w
	goRooms := func() []string {
		r, ok := c.gn.rooms(c.onGo.sid)
		require.True(t, ok, "client-on-go is not connected")
		return r
	}
	pyRooms := func() []string {
		r, ok := c.py.rooms(t, c.onPy.sid)
		require.True(t, ok, "client-on-python is not connected")
		return r
	}
	require.NotContains(t, goRooms(), "room-x")
	require.Contains(t, pyRooms(), "room-c")

	// enter_room for a client of each server.
	require.NoError(t, w.EnterRoom(ctx, c.onGo.sid, "room-x"))
	require.NoError(t, w.EnterRoom(ctx, c.onPy.sid, "room-x"))
	c.sentinel(t)
	assert.Contains(t, goRooms(), "room-x", "our server applied enter_room")
	assert.NotContains(t, pyRooms(), "room-x", "python-socketio 5.7.2 ignores enter_room from the bus (observed)")
	require.NoError(t, w.EmitToRoom(ctx, "room-x", "to-room-x", "x"))
	c.sentinel(t)
	assert.Equal(t, 1, c.onGo.count("to-room-x"))
	assert.Equal(t, 0, c.onPy.count("to-room-x"), "the python client is not in room-x")

	// leave_room: our client leaves room-x; python ignores leave_room, its
	// client stays in room-c.
	require.NoError(t, w.LeaveRoom(ctx, c.onGo.sid, "room-x"))
	require.NoError(t, w.LeaveRoom(ctx, c.onPy.sid, "room-c"))
	c.sentinel(t)
	assert.NotContains(t, goRooms(), "room-x", "our server applied leave_room")
	assert.Contains(t, pyRooms(), "room-c", "python-socketio 5.7.2 ignores leave_room from the bus (observed)")
	require.NoError(t, w.EmitToRoom(ctx, "room-x", "to-room-x-after-leave", "x"))
	c.sentinel(t)
	assert.Equal(t, 0, c.onGo.count("to-room-x-after-leave"))

	// close_room: both clients in room-c (ours joins through the bus), a
	// room emit reaches both, then close_room empties it on both servers.
	require.NoError(t, w.EnterRoom(ctx, c.onGo.sid, "room-c"))
	require.NoError(t, w.EmitToRoom(ctx, "room-c", "to-room-c", "c"))
	c.sentinel(t)
	for _, cl := range c.both() {
		assert.Equal(t, 1, cl.count("to-room-c"), "%s: emit to room-c before close_room", cl.Name())
	}
	require.NoError(t, w.CloseRoom(ctx, "room-c"))
	c.sentinel(t)
	assert.NotContains(t, goRooms(), "room-c", "our server applied close_room")
	assert.NotContains(t, pyRooms(), "room-c", "python-socketio 5.7.2 applies close_room from the bus (observed)")
	require.NoError(t, w.EmitToRoom(ctx, "room-c", "to-room-c-after-close", "c"))
	c.sentinel(t)
	for _, cl := range c.both() {
		assert.Equal(t, 0, cl.count("to-room-c-after-close"), "%s: emit to room-c after close_room", cl.Name())
	}

	// disconnect: each server disconnects its own client.
	require.NoError(t, w.Disconnect(ctx, c.onGo.sid))
	flush(t, w)
	c.onGo.Out.WaitFor(t, "disconnected by the worker", 0, func(l line) bool { return l.Str("disconnected") == "/" })
	waitUntil(t, "socket gone from our server", func() bool { _, ok := c.gn.rooms(c.onGo.sid); return !ok })
	require.NoError(t, w.Disconnect(ctx, c.onPy.sid))
	flush(t, w)
	c.onPy.Out.WaitFor(t, "disconnected by the worker", 0, func(l line) bool { return l.Str("disconnected") == "/" })
	c.py.Out.WaitFor(t, "python server disconnect", 0, func(l line) bool { return l.Str("disconnect") == c.onPy.sid })

	// enter_room, leave_room and disconnect for the python client's sid
	// are not ours to apply; the last may still be on its way to us.
	waitUntil(t, "our manager saw the three operations for the python sid", func() bool {
		return c.gn.mgr.Stats().NotHere >= 3
	})
	c.gn.waitSettled(t, c.gn.mgr.Stats().Received)
	st := c.gn.mgr.Stats()
	t.Logf("our manager: %+v", st)
	assert.Zero(t, st.Malformed+st.Unsafe+st.Unknown+st.ApplyErrors, "refused messages")
	assert.EqualValues(t, 3, st.NotHere, "room operations and disconnects for sids elsewhere")
	t.Logf("observed with python-socketio 5.7.2: enter_room and leave_room from the bus are ignored; close_room and disconnect are applied")
}
