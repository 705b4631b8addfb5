//go:build integration

package sioint

import (
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
)

// forEach runs fn for every server kind and client kind, each pair a
// parallel subtest.
func forEach(t *testing.T, fn func(t *testing.T, sk serverKind, ck clientKind)) {
	for _, sk := range serverKinds {
		for _, ck := range clientKinds {
			t.Run(sk.name+"/"+ck.name, func(t *testing.T) {
				t.Parallel()
				ck.require(t)
				fn(t, sk, ck)
			})
		}
	}
}

// connect starts a client with a valid token for user and waits for its
// connection and the server's "hello"; it checks the hello and returns the
// client and its sid.
func connect(t *testing.T, srv server, ck clientKind, name, ns, user string, transports []string) (*client, string) {
	t.Helper()
	c := startClient(t, ck, name, clientOpts{URL: srv.url(), NS: ns, Transports: transports,
		Auth: map[string]any{"token": mint(t, user)}})
	i, sid := c.waitConnected(t, 0)
	require.NotEmpty(t, sid)
	checkHello(t, c, i, sid, ns, user)
	return c, sid
}

// checkHello waits for the "hello" after line from and checks that the
// server saw sid, user and namespace and put the socket in its user room.
func checkHello(t *testing.T, c *client, from int, sid, ns, user string) {
	t.Helper()
	_, args := c.waitEvent(t, from, "hello")
	require.Len(t, args, 1)
	h, ok := args[0].(map[string]any)
	require.True(t, ok, "hello argument %v", args[0])
	if ns == "" {
		ns = "/"
	}
	assert.Equal(t, sid, h["sid"], "hello sid")
	assert.Equal(t, user, h["user"], "the user comes from the token")
	assert.Equal(t, ns, h["ns"])
	assert.Contains(t, h["rooms"], "user:"+user, "the socket is in its user room")
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// noLine asserts that no line printed so far has key.
func noLine(t *testing.T, c *client, key string) {
	t.Helper()
	for _, l := range c.Out.Snapshot() {
		if l.Has(key) {
			t.Errorf("%s printed %s", c.Name(), l.Raw)
		}
	}
}

// countLines returns how many lines printed so far have key.
func countLines(c *client, key string) int {
	n := 0
	for _, l := range c.Out.Snapshot() {
		if l.Has(key) {
			n++
		}
	}
	return n
}

// TestSession connects with a valid token over each transport mode and
// exchanges events, acks and binary data both ways.
func TestSession(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, sk serverKind, ck clientKind) {
		for _, tm := range transportModes {
			t.Run(tm.name, func(t *testing.T) {
				t.Parallel()
				srv := sk.start(t, serverOpts{})
				user := uniqueUser("session")
				c, _ := connect(t, srv, ck, "client", "/", user, tm.transports)

				if ck.engineEvents {
					_, open := c.Out.WaitFor(t, "engine open", 0, func(l line) bool { return l.Has("open") })
					assert.Equal(t, tm.transports[0], open.Str("open"), "first transport")
					if tm.name == "upgrade" {
						c.Out.WaitFor(t, "upgrade to websocket", 0, func(l line) bool { return l.Str("upgrade") == "websocket" })
					}
				}
				assert.Equal(t, tm.final, c.transport(t), "transport in use")

				// Client -> server with ack; the server acks with the arguments.
				payload := []any{1, "ünïcode ✓", map[string]any{"x": nil, "list": []any{true, 2.5, -3}}, []any{}}
				assert.Equal(t, asJSON(t, payload), c.emitAck(t, "echo", payload...))

				// Client -> server without ack; server -> client event.
				from := c.Out.Len()
				c.emit(t, "echo", "no-ack", 7)
				_, args := c.waitEvent(t, from, "echo")
				assert.Equal(t, asJSON(t, []any{"no-ack", 7}), args)

				// Server -> client with ack (EmitWithAck); the client answers
				// ["client-ack", ...args]; binary goes both ways.
				small := randomBytes(t, 64)
				from = c.Out.Len()
				c.emit(t, "ask", "q", bytesArg(small), map[string]any{"n": 1})
				_, q := c.Out.WaitFor(t, "question", from, func(l line) bool { return l.Str("event") == "question" })
				assert.Equal(t, true, q.JSON["acked"], "the server asked for an ack")
				assert.Equal(t, asJSON(t, []any{"q", bytesArg(small), map[string]any{"n": 1}}), q.JSON["args"])
				_, answer := c.waitEvent(t, from, "answer")
				assert.Equal(t, asJSON(t, []any{"client-ack", "q", bytesArg(small), map[string]any{"n": 1}}), answer)

				// Binary both ways: client -> server attachment, server ->
				// client attachments at the top level and nested, in an event
				// and in an ack. 100 kB crosses several websocket frames and
				// polling payloads.
				for _, size := range []int{0, 1, 100_000} {
					data := randomBytes(t, size)
					from = c.Out.Len()
					ack := c.emitAck(t, "bin", "L", bytesArg(data))
					assert.Equal(t, asJSON(t, []any{"L", bytesArg(data)}), ack, "binary ack, %d bytes", size)
					_, bin := c.waitEvent(t, from, "bin")
					assert.Equal(t, asJSON(t, []any{"L", bytesArg(data), map[string]any{"inner": []any{bytesArg(data)}}}), bin,
						"binary event, %d bytes", size)
				}
				noLine(t, c, "disconnect")
				noLine(t, c, "error")
				checkCounters(t, srv, map[string]int64{"Connected": 1, "Connects": 1, "Disconnects": 0, "Refused": 0,
					"ProtocolErrors": 0, "EmitErrors": 0, "SendErrors": 0, "AckTimeouts": 0, "Unhandled": 0, "HandlerPanics": 0})
			})
		}
	})
}

// TestRejectedAuth connects with tokens the server must refuse.
func TestRejectedAuth(t *testing.T) {
	t.Parallel()
	other, err := auth.NewHMAC([]byte("not-the-server-secret-0123456789abcdef"))
	require.NoError(t, err)
	forged, err := other.Mint("victim", time.Hour)
	require.NoError(t, err)
	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	expired, err := h.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) }).Mint("victim", time.Hour)
	require.NoError(t, err)
	valid := mint(t, "victim")
	parts := strings.Split(valid, ".")
	unsigned := parts[0] + "." + parts[1] + "."

	cases := []struct {
		name string
		auth map[string]any
	}{
		{"other secret", map[string]any{"token": forged}},
		{"expired", map[string]any{"token": expired}},
		{"no signature", map[string]any{"token": unsigned}},
		{"garbage", map[string]any{"token": "not-a-token"}},
		{"no token", map[string]any{"user": "victim"}},
	}
	forEach(t, func(t *testing.T, sk serverKind, ck clientKind) {
		srv := sk.start(t, serverOpts{})
		t.Cleanup(func() { // after the parallel cases, before the server stops
			checkCounters(t, srv, map[string]int64{"Connects": 0, "Connected": 0, "Refused": int64(len(cases)), "HandlerPanics": 0})
		})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c := startClient(t, ck, "client", clientOpts{URL: srv.url(), Transports: []string{"websocket"}, Auth: tc.auth})
				_, l := c.Out.WaitFor(t, "connect_error", 0, func(l line) bool { return l.Has("connect_error") })
				assert.Equal(t, "unauthorized", l.Str("connect_error"))
				noLine(t, c, "connected")
				noLine(t, c, "event")
			})
		}
	})
}

// TestRooms: the server joins sockets to rooms; a room emit reaches only
// the members, Except removes the members of other rooms, a user room
// reaches its user.
func TestRooms(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, sk serverKind, ck clientKind) {
		srv := sk.start(t, serverOpts{})
		ua, ub, uc := uniqueUser("a"), uniqueUser("b"), uniqueUser("c")
		a, _ := connect(t, srv, ck, "a", "/", ua, []string{"websocket"})
		b, _ := connect(t, srv, ck, "b", "/", ub, []string{"websocket"})
		c, _ := connect(t, srv, ck, "c", "/", uc, []string{"websocket"})

		assert.Equal(t, asJSON(t, []any{sorted("r", "user:"+ua)}), a.emitAck(t, "join", "r"))
		assert.Equal(t, asJSON(t, []any{sorted("r", "user:"+ua, "x")}), a.emitAck(t, "join", "x"))
		assert.Equal(t, asJSON(t, []any{sorted("r", "user:"+ub)}), b.emitAck(t, "join", "r"))

		fa, fb, fc := a.Out.Len(), b.Out.Len(), c.Out.Len()
		toRoom := func(to, except []string, event string, args ...any) {
			t.Helper()
			if args == nil {
				args = []any{}
			}
			req := map[string]any{"to": to, "except": except, "event": event, "args": args}
			assert.Equal(t, []any{"ok"}, a.emitAck(t, "to-room", req))
		}
		toRoom([]string{"r"}, []string{"x"}, "room", 1)
		toRoom([]string{"r"}, nil, "room", 2)
		toRoom([]string{"user:" + uc}, nil, "user", 3)
		toRoom([]string{"r", "user:" + uc}, []string{"user:" + ub}, "multi", 4)
		toRoom(nil, nil, "end") // everyone in the namespace, after the others
		for _, cl := range []*client{a, b, c} {
			cl.waitEvent(t, 0, "end")
		}
		assert.Equal(t, []string{"room [2]", "multi [4]", "end []"}, a.events(fa), "a: in r and x")
		assert.Equal(t, []string{"room [1]", "room [2]", "end []"}, b.events(fb), "b: in r")
		assert.Equal(t, []string{"user [3]", "multi [4]", "end []"}, c.events(fc), "c: only its user room")
		checkCounters(t, srv, map[string]int64{"Connected": 3, "EmitErrors": 0, "Unhandled": 0})
	})
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// TestNamespace: a client on /admin is served by /admin's handlers, and
// rooms of one namespace do not reach sockets of another.
func TestNamespace(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, sk serverKind, ck clientKind) {
		srv := sk.start(t, serverOpts{})
		user := uniqueUser("ns")
		main, _ := connect(t, srv, ck, "main", "/", user, []string{"websocket"})
		admin, _ := connect(t, srv, ck, "admin", "/admin", user, []string{"polling"})

		fm, fa := main.Out.Len(), admin.Out.Len()
		req := func(arg string) map[string]any {
			return map[string]any{"to": []string{"user:" + user}, "event": "ns-ev", "args": []any{arg}}
		}
		assert.Equal(t, []any{"ok"}, admin.emitAck(t, "to-room", req("admin")))
		assert.Equal(t, []any{"ok"}, main.emitAck(t, "to-room", req("main")))
		assert.Equal(t, []any{"ok"}, admin.emitAck(t, "to-room", map[string]any{"event": "end"}))
		assert.Equal(t, []any{"ok"}, main.emitAck(t, "to-room", map[string]any{"event": "end"}))
		main.waitEvent(t, fm, "end")
		admin.waitEvent(t, fa, "end")
		assert.Equal(t, []string{`ns-ev ["main"]`, "end []"}, main.events(fm))
		assert.Equal(t, []string{`ns-ev ["admin"]`, "end []"}, admin.events(fa))
	})
}

// TestHeartbeat stays connected across several ping intervals (300 ms,
// pong timeout 1 s) and still exchanges events: the server pings, the
// client answers, neither side times out.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, sk serverKind, ck clientKind) {
		for _, tm := range transportModes[:2] {
			t.Run(tm.name, func(t *testing.T) {
				t.Parallel()
				srv := sk.start(t, serverOpts{pingInterval: 300 * time.Millisecond, pingTimeout: time.Second})
				user := uniqueUser("hb")
				c, sid := connect(t, srv, ck, "client", "/", user, tm.transports)
				start := time.Now()
				if ck.engineEvents {
					// Seven pings: at least 2.1 s of 300 ms intervals.
					c.Out.WaitFor(t, "7th ping", 0, func(l line) bool { n, _ := l.JSON["ping"].(float64); return n >= 7 })
				} else {
					// python-socketio shows no pings; the time passing is what
					// is tested: without pongs the server would close the
					// connection after 1.3 s, without pings the client would.
					time.Sleep(2100 * time.Millisecond)
				}
				assert.GreaterOrEqual(t, time.Since(start), 2*time.Second)
				assert.Equal(t, asJSON(t, []any{"still", "here"}), c.emitAck(t, "echo", "still", "here"))
				from := c.Out.Len()
				c.emit(t, "echo", "server", "to", "client")
				_, args := c.waitEvent(t, from, "echo")
				assert.Equal(t, asJSON(t, []any{"server", "to", "client"}), args)
				noLine(t, c, "disconnect")
				assert.Equal(t, 1, countLines(c, "connected"), "never reconnected")
				_, again := c.waitConnected(t, 0)
				assert.Equal(t, sid, again)
				checkCounters(t, srv, map[string]int64{"Connected": 1, "Connects": 1, "Disconnects": 0})
			})
		}
	})
}

// TestReconnect restarts the server on the same port; the client notices,
// reconnects by itself with its token, is put in its user room again and
// exchanges events.
func TestReconnect(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, sk serverKind, ck clientKind) {
		for _, tm := range transportModes[:2] {
			t.Run(tm.name, func(t *testing.T) {
				t.Parallel()
				srv := sk.start(t, serverOpts{pingInterval: time.Second, pingTimeout: time.Second})
				user := uniqueUser("re")
				c, sid := connect(t, srv, ck, "client", "/", user, tm.transports)
				assert.Equal(t, asJSON(t, []any{"before"}), c.emitAck(t, "echo", "before"))

				srv.restart(t)
				d, _ := c.Out.WaitFor(t, "disconnect", 0, func(l line) bool { return l.Has("disconnect") })
				i, sid2 := c.waitConnected(t, d)
				assert.NotEqual(t, sid, sid2, "a new session")
				checkHello(t, c, i, sid2, "/", user)
				assert.Equal(t, asJSON(t, []any{"after"}), c.emitAck(t, "echo", "after"))
				from := c.Out.Len()
				c.emit(t, "echo", "pushed")
				_, args := c.waitEvent(t, from, "echo")
				assert.Equal(t, asJSON(t, []any{"pushed"}), args)
				checkCounters(t, srv, map[string]int64{"Connected": 1, "Connects": 1, "Refused": 0})
			})
		}
	})
}
