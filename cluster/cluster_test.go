package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
)

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

func TestNewRequiresServer(t *testing.T) {
	t.Parallel()
	_, err := cluster.New(cluster.Config{})
	require.ErrorIs(t, err, cluster.ErrConfig)
}

// TestEmitAcrossNodes: whatever emits on node A reaches A's client and
// B's client exactly once, however it was emitted.
func TestEmitAcrossNodes(t *testing.T) {
	t.Parallel()
	bus := newBus()
	a := newNode(t, bus, cluster.Config{})
	b := newNode(t, bus, cluster.Config{})
	require.NotEqual(t, a.mgr.HostID(), b.mgr.HostID())
	ca := dialClient(t, a.base, "/", `{"user":"42"}`)
	sa := <-a.socks
	cb := dialClient(t, b.base, "/", `{"user":"42","rooms":["team"]}`)
	<-b.socks
	gw := a.mgr.Gateway()

	require.NoError(t, gw.EmitToUser(ctx(t), "42", "progress", map[string]any{"pct": 50}))
	ca.expect(`2["progress",{"pct":50}]`)
	cb.expect(`2["progress",{"pct":50}]`)
	marker(t, a, ca, cb)

	require.NoError(t, gw.Broadcast(ctx(t), "multi", gateway.Args{1, "two", []byte{0, 1}}))
	for _, c := range []*client{ca, cb} {
		name, args := c.event()
		require.Equal(t, "multi", name)
		require.Equal(t, []any{1.0, "two", map[string]any{"$bytes": "AAE="}}, normalize(args))
	}
	marker(t, a, ca, cb)

	// The server's own broadcasts are published once too.
	require.NoError(t, a.nsp.Emit("ns", "x"))
	ca.expect(`2["ns","x"]`)
	cb.expect(`2["ns","x"]`)
	marker(t, a, ca, cb)

	// Socket.To excludes the sender on every node; B's client is in "team".
	require.NoError(t, sa.To("team", "user:42").Emit("fromA"))
	cb.expect(`2["fromA"]`)
	marker(t, a, ca, cb)

	// Except by sid works across nodes.
	require.NoError(t, gw.EmitToUser(ctx(t), "42", "notB", nil, gateway.Except(cb.sid)))
	ca.expect(`2["notB"]`)
	marker(t, a, ca, cb)

	// Local broadcasts stay local.
	require.NoError(t, a.nsp.Local().Emit("local"))
	ca.expect(`2["local"]`)
	marker(t, a, ca, cb)

	// B emits: A's client gets it once, and B skips its own message.
	before := b.mgr.Stats().OwnSkipped
	require.NoError(t, b.mgr.Gateway().EmitToRoom(ctx(t), "user:42", "fromB", true))
	cb.expect(`2["fromB",true]`)
	ca.expect(`2["fromB",true]`)
	marker(t, b, ca, cb)
	require.Eventually(t, func() bool { return b.mgr.Stats().OwnSkipped > before }, wait, time.Millisecond)

	st := a.mgr.Stats()
	assert.Zero(t, st.Malformed+st.Unsafe+st.Unknown+st.ApplyErrors+st.PublishErrors, "%+v", st)
	assert.Positive(t, st.OwnSkipped)
	assert.Positive(t, st.Applied)
	assert.True(t, a.mgr.Health().Subscribed)
	require.NoError(t, gw.Flush(ctx(t)))
	gs := gw.Stats()
	assert.Equal(t, gs.Emitted, gs.Published, "%+v", gs)
}

// TestRoomOperationsAcrossNodes: enter_room, leave_room, close_room and
// disconnect reach the node that holds the sid.
func TestRoomOperationsAcrossNodes(t *testing.T) {
	t.Parallel()
	bus := newBus()
	a := newNode(t, bus, cluster.Config{})
	b := newNode(t, bus, cluster.Config{})
	ca := dialClient(t, a.base, "/", "")
	<-a.socks
	cb := dialClient(t, b.base, "/", "")
	sb := <-b.socks
	gw := a.mgr.Gateway()

	// B's sid is not on A: published, applied on B.
	require.NoError(t, gw.EnterRoom(ctx(t), cb.sid, "game"))
	require.Eventually(t, func() bool { return b.nsp.RoomSize("game") == 1 }, wait, time.Millisecond)
	// A's own sid is handled locally.
	require.NoError(t, gw.EnterRoom(ctx(t), ca.sid, "game"))
	require.Equal(t, 1, a.nsp.RoomSize("game"))
	require.NoError(t, gw.EmitToRoom(ctx(t), "game", "g", 1))
	ca.expect(`2["g",1]`)
	cb.expect(`2["g",1]`)

	require.NoError(t, gw.LeaveRoom(ctx(t), cb.sid, "game"))
	require.Eventually(t, func() bool { return b.nsp.RoomSize("game") == 0 }, wait, time.Millisecond)
	require.NoError(t, gw.EnterRoom(ctx(t), cb.sid, "game"))
	require.Eventually(t, func() bool { return b.nsp.RoomSize("game") == 1 }, wait, time.Millisecond)
	require.NoError(t, gw.CloseRoom(ctx(t), "game"))
	require.Equal(t, 0, a.nsp.RoomSize("game"))
	require.Eventually(t, func() bool { return b.nsp.RoomSize("game") == 0 }, wait, time.Millisecond)
	require.Contains(t, sb.Rooms(), cb.sid, "close_room leaves the other rooms alone")

	require.NoError(t, gw.Disconnect(ctx(t), cb.sid))
	cb.expect("1")
	require.Eventually(t, func() bool { _, ok := b.nsp.Socket(cb.sid); return !ok }, wait, time.Millisecond)
	require.NoError(t, gw.Disconnect(ctx(t), ca.sid))
	ca.expect("1")

	for _, err := range []error{
		gw.EnterRoom(ctx(t), "", "r"), gw.LeaveRoom(ctx(t), "s", ""),
		gw.CloseRoom(ctx(t), ""), gw.Disconnect(ctx(t), ""),
		gw.EmitToUser(ctx(t), "", "e", nil), gw.EmitToRoom(ctx(t), "", "e", nil),
	} {
		require.ErrorIs(t, err, gateway.ErrInvalidArgument)
	}
	require.ErrorIs(t, gw.Broadcast(ctx(t), "connect", nil), gateway.ErrReservedEvent)
	require.NoError(t, gw.Close(ctx(t)))
	require.NoError(t, gw.Close(ctx(t)))
	require.ErrorIs(t, gw.Broadcast(ctx(t), "e", nil), gateway.ErrClosed)
}

// TestHostileInput: every kind of bad message is counted and skipped, and
// the next valid one is still delivered.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	bus := newBus()
	b := newNode(t, bus, cluster.Config{})
	c := dialClient(t, b.base, "/", `{"user":"42"}`)
	<-b.socks

	valid := func(n int) []byte {
		return []byte(`{"method":"emit","event":"ok","data":[` + string(rune('0'+n)) +
			`],"binary":false,"namespace":"/","room":"user:42","skip_sid":null,"callback":null,"host_id":"other"}`)
	}
	huge := bytes.Repeat([]byte("a"), 50<<20)
	copy(huge, `{"method":"emit","event":"big","data":["`)
	cases := []struct {
		name  string
		msg   []byte
		count func(cluster.Stats) uint64
	}{
		{"garbage", []byte("\x00\xffnot a message"), func(s cluster.Stats) uint64 { return s.Malformed }},
		{"empty", []byte{}, func(s cluster.Stats) uint64 { return s.Malformed }},
		{"truncated JSON", valid(1)[:40], func(s cluster.Stats) uint64 { return s.Malformed }},
		{"pickle GLOBAL/REDUCE", []byte("cos\nsystem\n(S'echo pwned'\ntR."), func(s cluster.Stats) uint64 { return s.Unsafe }},
		{"pickle proto 4 REDUCE", []byte("\x80\x04cos\nsystem\n\x8c\x02id\x85R."), func(s cluster.Stats) uint64 { return s.Unsafe }},
		{"50 MB", huge, func(s cluster.Stats) uint64 { return s.Malformed }},
		{"unknown method", []byte(`{"method":"rm -rf","host_id":"x"}`), func(s cluster.Stats) uint64 { return s.Unknown }},
		{"wrong types", []byte(`{"method":"emit","event":7,"data":null,"namespace":"/","room":null,"host_id":"x"}`), func(s cluster.Stats) uint64 { return s.Malformed }},
		{"room of numbers", []byte(`{"method":"emit","event":"e","data":null,"namespace":"/","room":[1,2],"host_id":"x"}`), func(s cluster.Stats) uint64 { return s.Malformed }},
		{"reserved event", []byte(`{"method":"emit","event":"connect","data":null,"namespace":"/","room":null,"host_id":"x"}`), func(s cluster.Stats) uint64 { return s.ApplyErrors }},
		{"unserved namespace", []byte(`{"method":"emit","event":"e","data":null,"namespace":"/nope","room":null,"host_id":"x"}`), func(s cluster.Stats) uint64 { return s.NotServed }},
		{"callback for another host", []byte(`{"method":"callback","host_id":"x","sid":"s","namespace":"/","id":1,"args":[]}`), func(s cluster.Stats) uint64 { return s.Ignored }},
	}
	for i, tc := range cases {
		before := b.mgr.Stats()
		bus.raw(t, tc.msg)
		bus.raw(t, valid(i%10))
		c.expect(`2["ok",` + string(rune('0'+i%10)) + `]`)
		// Counters move just after delivery.
		require.Eventually(t, func() bool { return b.mgr.Stats().Applied == before.Applied+1 }, wait, time.Millisecond, tc.name)
		after := b.mgr.Stats()
		assert.Equal(t, tc.count(before)+1, tc.count(after), "%s: %+v", tc.name, after)
		assert.Equal(t, before.Received+2, after.Received, tc.name)
	}
	assert.True(t, b.mgr.Health().Subscribed)
}

// TestPythonVectors applies what real python-socketio managers published
// (5.7.2 pickles, 5.16 JSON) and checks what clients receive against the
// vectors' meaning.
func TestPythonVectors(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"python-socketio-5.7.2", "python-socketio-5.16", "python-pickle-protocols"} {
		files, err := filepath.Glob(filepath.Join("..", "..", "shared", "vectors", dir, "*.bin"))
		require.NoError(t, err)
		if len(files) == 0 {
			t.Skipf("no vectors in ../../shared/vectors/%s", dir)
		}
		for _, f := range files {
			name := dir + "/" + strings.TrimSuffix(filepath.Base(f), ".bin")
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				applyVector(t, f)
			})
		}
	}
}

type vector struct {
	Method     string
	Event      string
	Args       []any
	Namespace  string
	Rooms      []string
	ExceptSids []string `json:"except_sids"`
	SID        string
	Room       string
}

func applyVector(t *testing.T, binPath string) {
	bin, err := os.ReadFile(binPath)
	require.NoError(t, err)
	js, err := os.ReadFile(strings.TrimSuffix(binPath, ".bin") + ".json")
	require.NoError(t, err)
	var v vector
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	require.NoError(t, d.Decode(&v))
	bus := newBus()
	nsp := v.Namespace
	if nsp == "" {
		nsp = "/"
	}
	n := newNode(t, bus, cluster.Config{}, nsp)
	switch v.Method {
	case "close_room":
		dialClient(t, n.base, nsp, `{"rooms":["`+v.Room+`"]}`)
		<-n.socks
		ns, _ := n.srv.Lookup(nsp)
		require.Equal(t, 1, ns.RoomSize(v.Room))
		bus.raw(t, bin)
		require.Eventually(t, func() bool { return n.mgr.Stats().Applied == 1 }, wait, time.Millisecond)
		require.Equal(t, 0, ns.RoomSize(v.Room))
		return
	case "enter_room", "leave_room":
		// The python sid is not on this node: applied as "not here".
		bus.raw(t, bin)
		require.Eventually(t, func() bool { return n.mgr.Stats().Applied == 1 }, wait, time.Millisecond)
		require.Equal(t, uint64(1), n.mgr.Stats().NotHere)
		return
	}
	rooms, _ := json.Marshal(v.Rooms)
	in := dialClient(t, n.base, nsp, `{"rooms":`+string(rooms)+`}`)
	<-n.socks
	var out *client
	if len(v.ExceptSids) > 0 {
		// skip_sid entries are rooms here (a sid is a room): a client in
		// that room is left out.
		r, _ := json.Marshal(append(v.Rooms, v.ExceptSids[0]))
		out = dialClient(t, n.base, nsp, `{"rooms":`+string(r)+`}`)
		<-n.socks
	}
	bus.raw(t, bin)
	name, args := in.event()
	require.Equal(t, v.Event, name)
	want := v.Args
	if want == nil {
		want = []any{}
	}
	require.Equal(t, normalize(want), normalize(args))
	if out != nil {
		// The skipped client gets the next message first.
		ns, ok := n.srv.Lookup(nsp)
		require.True(t, ok)
		require.NoError(t, ns.Local().Emit("after"))
		out.expect(out.prefix() + `2` + `["after"]`)
		if nsp != "/" {
			t.Fatalf("skip vectors outside / need the prefix before 2")
		}
	}
	require.Eventually(t, func() bool { return n.mgr.Stats().Applied == 1 }, wait, time.Millisecond, "%+v", n.mgr.Stats())
}

// TestCallbackFromAnotherHost: an emit asking for a callback (python's
// cross-host ack) is delivered with an ack request, and the client's
// answer goes back to the asking host as a "callback" message.
func TestCallbackFromAnotherHost(t *testing.T) {
	t.Parallel()
	bus := newBus()
	n := newNode(t, bus, cluster.Config{})
	c := dialClient(t, n.base, "/", "")
	<-n.socks
	spy, err := bus.Subscribe(ctx(t), "socketio")
	require.NoError(t, err)

	bus.raw(t, []byte(`{"method":"emit","event":"ask","data":["q"],"binary":false,"namespace":"/","room":"`+c.sid+
		`","skip_sid":null,"callback":["`+c.sid+`","/",7],"host_id":"pyhost"}`))
	m := c.next()
	require.Regexp(t, `^2\d+\["ask","q"\]$`, m.text)

	py := codec.NewPython(codec.PythonConfig{})
	deadline := time.After(wait)
	for {
		select {
		case raw := <-spy:
			msg, err := py.Decode(raw)
			require.NoError(t, err)
			if msg.Method != codec.MethodCallback {
				continue
			}
			assert.Equal(t, "pyhost", msg.HostID)
			assert.Equal(t, c.sid, msg.SID)
			assert.Equal(t, "/", msg.Namespace)
			assert.Equal(t, int64(7), msg.CallbackID)
			assert.Equal(t, []any{"ack", "ask"}, msg.Arguments())
			require.Eventually(t, func() bool { return n.mgr.Stats().AcksReturned == 1 }, wait, time.Millisecond)
			return
		case <-deadline:
			t.Fatalf("no callback published; stats %+v", n.mgr.Stats())
		}
	}
}

// TestSubscriptionEndsUnexpectedly: the listener notices a closed
// subscription, reports it in Health, and resubscribes by itself.
func TestSubscriptionEndsUnexpectedly(t *testing.T) {
	t.Parallel()
	bus := newBus()
	n := newNode(t, bus, cluster.Config{})
	c := dialClient(t, n.base, "/", "")
	<-n.socks
	require.True(t, n.mgr.Health().Subscribed)

	bus.dropAll(3) // the next three attempts fail too
	require.Eventually(t, func() bool { return n.mgr.Stats().Resubscribes == 1 }, wait, time.Millisecond)
	require.Equal(t, 1, bus.numSubs())
	h := n.mgr.Health()
	assert.True(t, h.Subscribed)
	assert.Contains(t, h.LastError, "broker down")
	assert.Equal(t, uint64(4), n.mgr.Stats().SubscribeFails)

	bus.raw(t, []byte(`{"method":"emit","event":"back","data":[],"binary":false,"namespace":"/","room":null,"skip_sid":null,"callback":null,"host_id":"x"}`))
	c.expect(`2["back"]`)
}

// TestDegradedStartMemBus: the broker refuses at start; Start returns nil,
// local delivery works, and the node joins by itself.
func TestDegradedStartMemBus(t *testing.T) {
	t.Parallel()
	bus := newBus()
	bus.failSubs = 2
	n := newNode(t, bus, cluster.Config{})
	h := n.mgr.Health()
	require.False(t, h.Subscribed)
	require.Contains(t, h.LastError, "broker down")
	c := dialClient(t, n.base, "/", "")
	<-n.socks
	require.NoError(t, n.mgr.Gateway().Broadcast(ctx(t), "local", nil))
	c.expect(`2["local"]`)
	require.Eventually(t, func() bool { return n.mgr.Health().Subscribed }, wait, time.Millisecond)
	bus.raw(t, []byte(`{"method":"emit","event":"joined","data":[],"binary":false,"namespace":"/","room":null,"skip_sid":null,"callback":null,"host_id":"x"}`))
	c.expect(`2["joined"]`)
}

// TestLocalOnly: without a broker the gateway still delivers locally.
func TestLocalOnly(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, cluster.Config{})
	c := dialClient(t, n.base, "/", `{"user":"7"}`)
	<-n.socks
	require.NoError(t, n.mgr.Gateway().EmitToUser(ctx(t), "7", "hi", "there"))
	c.expect(`2["hi","there"]`)
	require.NoError(t, n.nsp.Emit("ns"))
	c.expect(`2["ns"]`)
	h := n.mgr.Health()
	assert.False(t, h.Subscribed)
	assert.NotEmpty(t, h.LastError)
	assert.Equal(t, uint64(2), n.mgr.Gateway().Stats().Dropped)
}

// TestCloseStopsPublishing: after Close the server is no longer wired to
// the manager and the subscription is gone.
func TestCloseStopsPublishing(t *testing.T) {
	t.Parallel()
	bus := newBus()
	srv, _, _ := newServer(t)
	m, err := cluster.New(cluster.Config{Server: srv, Publisher: bus, Subscriber: bus})
	require.NoError(t, err)
	require.NoError(t, m.Start(ctx(t)))
	require.NotNil(t, srv.Cluster())
	require.Equal(t, 1, bus.numSubs())
	require.NoError(t, m.Close(ctx(t)))
	require.NoError(t, m.Close(ctx(t)))
	require.Nil(t, srv.Cluster())
	require.Eventually(t, func() bool { return bus.numSubs() == 0 }, wait, time.Millisecond)
	require.ErrorIs(t, m.Start(ctx(t)), cluster.ErrClosed)
	require.False(t, m.Health().Subscribed)
}

// TestEmitWithAckAcrossNodes: A asks B's client for an acknowledgement
// through the channel (python's callback messages) and gets its answer.
func TestEmitWithAckAcrossNodes(t *testing.T) {
	t.Parallel()
	bus := newBus()
	a := newNode(t, bus, cluster.Config{})
	b := newNode(t, bus, cluster.Config{})
	ca := dialClient(t, a.base, "/", "")
	<-a.socks
	cb := dialClient(t, b.base, "/", "")
	<-b.socks

	got, err := a.mgr.EmitWithAck(ctx(t), "/", cb.sid, "ask", "q", 1)
	require.NoError(t, err)
	require.Equal(t, []any{"ack", "ask"}, got)
	m := cb.next()
	require.Regexp(t, `^2\d+\["ask","q",1\]$`, m.text)

	// A local client is asked directly.
	got, err = a.mgr.EmitWithAck(ctx(t), "", ca.sid, "local")
	require.NoError(t, err)
	require.Equal(t, []any{"ack", "local"}, got)
	require.Regexp(t, `^2\d+\["local"\]$`, ca.next().text)

	// A sid connected nowhere: the context ends.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = a.mgr.EmitWithAck(short, "/", "nobody", "ask")
	require.ErrorIs(t, err, cluster.ErrAckTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = a.mgr.EmitWithAck(ctx(t), "/", "", "ask")
	require.ErrorIs(t, err, cluster.ErrInvalidArgument)

	require.Eventually(t, func() bool { return b.mgr.Stats().AcksReturned == 1 }, wait, time.Millisecond)
	// A late callback for an id nobody waits for is ignored.
	before := a.mgr.Stats().Ignored
	bus.raw(t, []byte(`{"method":"callback","host_id":"`+a.mgr.HostID()+`","sid":"s","namespace":"/","id":999,"args":[]}`))
	require.Eventually(t, func() bool { return a.mgr.Stats().Ignored == before+1 }, wait, time.Millisecond)
}
