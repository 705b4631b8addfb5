//go:build integration

package clusterint

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/socketio"
	"github.com/sockgate/sockgate/transport/redispubsub"
	"github.com/sockgate/sockgate/transport/redisurl"
)

// testSecret signs the tokens our server accepts (SOCKET_AUTH_SECRET's role).
var testSecret = []byte("clusterint-secret-0123456789abcdefghijkl")

// mint returns a token for user, valid for an hour.
func mint(t *testing.T, user string) string {
	t.Helper()
	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	tok, err := h.Mint(user, time.Hour)
	require.NoError(t, err)
	return tok
}

// goNode is our server as a cluster node: socketio.Server with TokenAuth on
// "/", a cluster.Manager over redispubsub (the go-redis client built from
// the URL by redisurl, as an application does) in the Legacy dialect, and
// an HTTP server on a free port.
type goNode struct {
	srv  *socketio.Server
	mgr  *cluster.Manager
	url  string
	logs *syncBuffer // everything the server and manager logged
}

// startGoNode starts a node on channel of the Redis at redisURL. It does not
// wait for the subscription: with Redis down the node must serve anyway.
func startGoNode(t *testing.T, redisURL, channel string) *goNode {
	t.Helper()
	n := &goNode{logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(n.logs, testenv.LogWriter(t)), &slog.HandlerOptions{Level: slog.LevelInfo}))

	srv, err := socketio.NewServer(socketio.Config{Logger: log})
	require.NoError(t, err)
	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	srv.Of("/").Use(socketio.TokenAuth(h))
	// Every disconnect and its reason goes to the node's log, which the
	// test prints when it fails.
	srv.Of("/").OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(reason string) {
			log.Info("socket disconnected", "sid", s.ID(), "user", s.UserID(), "reason", reason)
		})
	})
	n.srv = srv

	rdb, err := redisurl.NewClient(redisURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	// Nothing is wired for Health: the manager learns of the
	// subscription's state from redispubsub itself.
	ps, err := redispubsub.New(redispubsub.Config{Client: rdb, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })

	mgr, err := cluster.New(cluster.Config{
		Server: srv, Publisher: ps, Subscriber: ps, Channel: channel, Codec: legacy(), Logger: log,
	})
	require.NoError(t, err)
	n.mgr = mgr

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	n.url = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("socketio.Server.Close: %v", err)
		}
		_ = hs.Close()
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := mgr.Close(ctx); err != nil {
			t.Errorf("cluster.Manager.Close: %v", err)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	require.NoError(t, mgr.Start(ctx))
	go func() { _ = hs.Serve(ln) }()
	return n
}

// waitSubscribed waits until the manager reports its subscription.
func (n *goNode) waitSubscribed(t *testing.T) {
	t.Helper()
	waitUntil(t, "cluster manager subscribed", func() bool { return n.mgr.Health().Subscribed })
}

// connect connects a python-socketio client to the node as user and waits
// until its socket is in the user's room.
func (n *goNode) connect(t *testing.T, name, user string, extra map[string]any) *pyClient {
	t.Helper()
	a := map[string]any{"token": mint(t, user)}
	for k, v := range extra {
		a[k] = v
	}
	c := startPyClient(t, name, n.url, a)
	ns := n.srv.Of("/")
	s, ok := ns.Socket(c.sid)
	require.True(t, ok, "socket %s of %s not found on our server", c.sid, name)
	require.Contains(t, s.Rooms(), "user:"+user, "socket %s rooms", c.sid)
	return c
}

// rooms returns the rooms of sid on our server (without the sid itself),
// or false when it is not connected.
func (n *goNode) rooms(sid string) ([]string, bool) {
	s, ok := n.srv.Of("/").Socket(sid)
	if !ok {
		return nil, false
	}
	var out []string
	for _, r := range s.Rooms() {
		if r != sid {
			out = append(out, r)
		}
	}
	return out, true
}

// waitSettled waits until n received messages have each ended as one of
// the outcomes Stats counts (Received is counted before a message is
// handled, the outcome after; a client can see an emit in between).
func (n *goNode) waitSettled(t *testing.T, want uint64) cluster.Stats {
	t.Helper()
	var st cluster.Stats
	waitUntil(t, fmt.Sprintf("%d messages handled by our manager", want), func() bool {
		st = n.mgr.Stats()
		return st.Applied+st.OwnSkipped+st.SeqDuplicates+st.Malformed+st.Unsafe+st.Unknown+st.NotServed+st.Ignored+st.ApplyErrors >= want
	})
	return st
}
