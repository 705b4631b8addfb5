//go:build integration

package sioint

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/internal/testenv"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// clientKind is one real Socket.IO client implementation.
type clientKind struct {
	name    string
	require func(t *testing.T)
	argv    func(opts string) (dir string, argv []string)
	// engineEvents: the client prints {"open"}, {"upgrade"} and {"ping": n}
	// lines (socket.io-client does, python-socketio has no such hooks).
	engineEvents bool
}

var clientKinds = []clientKind{
	{
		name:    "node",
		require: requireNode,
		argv: func(opts string) (string, []string) {
			return nodeDir, []string{nodeBin(), "sio_client.js", opts}
		},
		engineEvents: true,
	},
	{
		name:    "python",
		require: requirePython,
		argv: func(opts string) (string, []string) {
			return ".", []string{pythonBin(), "-u", testenv.PythonPeer("py_sio_client.py"), opts}
		},
	},
}

// transportMode is a client's transports option and the transport it must
// end up on.
type transportMode struct {
	name       string
	transports []string
	final      string
}

var transportModes = []transportMode{
	{"websocket", []string{"websocket"}, "websocket"},
	{"polling", []string{"polling"}, "polling"},
	{"upgrade", []string{"polling", "websocket"}, "websocket"},
}

// clientOpts are the options of sio_client.js and py_sio_client.py.
type clientOpts struct {
	URL        string         `json:"url"`
	NS         string         `json:"ns"`
	Transports []string       `json:"transports"`
	Auth       map[string]any `json:"auth"`
}

// client is a running peer client.
type client struct {
	*proc
	kind  clientKind
	ackID atomic.Int64
}

func startClient(t *testing.T, kind clientKind, name string, o clientOpts) *client {
	t.Helper()
	if o.NS == "" {
		o.NS = "/"
	}
	b, err := json.Marshal(o)
	require.NoError(t, err)
	dir, argv := kind.argv(string(b))
	env := []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}
	return &client{proc: startProc(t, kind.name+" "+name, dir, env, argv...), kind: kind}
}

// waitConnected waits for a {"connected"} line at or after from and
// returns its index and the sid.
func (c *client) waitConnected(t *testing.T, from int) (int, string) {
	t.Helper()
	i, l := c.Out.WaitFor(t, "connected", from, func(l line) bool { return l.Has("connected") })
	return i, l.Str("connected")
}

// waitEvent waits for event name at or after from and returns its index
// and arguments.
func (c *client) waitEvent(t *testing.T, from int, name string) (int, []any) {
	t.Helper()
	i, l := c.Out.WaitFor(t, fmt.Sprintf("event %q", name), from, func(l line) bool { return l.Str("event") == name })
	args, _ := l.JSON["args"].([]any)
	return i, args
}

// emit sends an event without an ack request.
func (c *client) emit(t *testing.T, event string, args ...any) {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	c.Send(t, map[string]any{"cmd": "emit", "event": event, "args": args})
}

// emitAck sends an event with an ack request and waits for the server's
// ack, returning its arguments.
func (c *client) emitAck(t *testing.T, event string, args ...any) []any {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	id := c.ackID.Add(1)
	from := c.Out.Len()
	c.Send(t, map[string]any{"cmd": "emit", "event": event, "args": args, "ack": id})
	_, l := c.Out.WaitFor(t, fmt.Sprintf("ack %d of %q", id, event), from, func(l line) bool {
		n, ok := l.JSON["ack"].(float64)
		return ok && int64(n) == id
	})
	require.False(t, l.Has("error"), "%s: ack of %q: %s", c.Name(), event, l.Raw)
	out, _ := l.JSON["args"].([]any)
	return out
}

// transport asks the client for its current transport.
func (c *client) transport(t *testing.T) string {
	t.Helper()
	id := c.ackID.Add(1)
	from := c.Out.Len()
	c.Send(t, map[string]any{"cmd": "transport", "id": id})
	_, l := c.Out.WaitFor(t, "transport answer", from, func(l line) bool {
		n, ok := l.JSON["id"].(float64)
		return ok && int64(n) == id && l.Has("transport")
	})
	return l.Str("transport")
}

// events returns the names and arguments of the events at or after from,
// ignoring "hello".
func (c *client) events(from int) []string {
	var out []string
	lines := c.Out.Snapshot()
	for i := from; i < len(lines); i++ {
		l := lines[i]
		if name := l.Str("event"); name != "" && name != "hello" {
			b, _ := json.Marshal(l.JSON["args"])
			out = append(out, name+" "+string(b))
		}
	}
	return out
}
