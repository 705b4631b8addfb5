//go:build integration

package sioint

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// serverOpts configure a server under test.
type serverOpts struct {
	pingInterval, pingTimeout time.Duration // 0: the defaults
}

// server is a Socket.IO server under test with the behaviour that
// test/peers/node/ref_server.js documents.
type server interface {
	// url is "http://127.0.0.1:port".
	url() string
	// restart crashes the server (every TCP connection dropped, nothing
	// said to the clients) and serves again on the same port. A clean
	// shutdown would not do: python-socketio 5.7.2 does not reconnect after
	// an Engine.IO close packet, which the Node server sends to polling
	// clients on io.close().
	restart(t *testing.T)
}

type serverKind struct {
	name  string
	start func(t *testing.T, o serverOpts) server
}

// serverKinds: our server first (goserver_test.go adds it unless the
// nogoserver tag is set, to check the suite against the reference alone),
// then the Node reference server.
var serverKinds = []serverKind{
	{"noderef", startRefServer},
}

// namespaces both servers serve with the same behaviour.
var namespaces = []string{"/", "/admin"}

// --- the Node reference server -----------------------------------------------

type refServer struct {
	opts serverOpts
	port int
	p    *proc
}

func startRefServer(t *testing.T, o serverOpts) server {
	t.Helper()
	requireNode(t)
	r := &refServer{opts: o}
	r.start(t)
	return r
}

func (r *refServer) start(t *testing.T) {
	t.Helper()
	opts := map[string]any{"port": r.port}
	if r.opts.pingInterval > 0 {
		opts["pingInterval"] = r.opts.pingInterval.Milliseconds()
	}
	if r.opts.pingTimeout > 0 {
		opts["pingTimeout"] = r.opts.pingTimeout.Milliseconds()
	}
	b, err := json.Marshal(opts)
	require.NoError(t, err)
	end := time.Now().Add(deadline)
	for {
		r.p = startProc(t, "ref_server", nodeDir, []string{"SOCKGATE_TEST_SECRET=" + string(testSecret)},
			nodeBin(), "ref_server.js", string(b))
		_, l := r.p.Out.WaitForOrEOF(t, "listening", func(l line) bool { return l.Has("listening") })
		if l != nil {
			r.port = int(l.JSON["listening"].(float64))
			return
		}
		// The old process may still hold the port for a moment.
		if r.port == 0 || time.Now().After(end) || !strings.Contains(r.p.Stderr(), "EADDRINUSE") {
			t.Fatalf("ref_server did not start: %s", r.p.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *refServer) url() string { return fmt.Sprintf("http://127.0.0.1:%d", r.port) }

func (r *refServer) restart(t *testing.T) {
	t.Helper()
	_ = r.p.Cmd.Process.Kill()
	<-r.p.Done()
	r.start(t)
}

// serverCounters returns the server's counters by name when it has them
// (ours: socketio.Stats; the Node reference has none).
func serverCounters(srv server) (map[string]int64, bool) {
	c, ok := srv.(interface{ counters() map[string]int64 })
	if !ok {
		return nil, false
	}
	return c.counters(), true
}

// checkCounters asserts counters of our server; for the reference server
// it does nothing.
func checkCounters(t *testing.T, srv server, want map[string]int64) {
	t.Helper()
	got, ok := serverCounters(srv)
	if !ok {
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("server Stats.%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}
