//go:build integration && !nogoserver

package sioint

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/socketio"
)

func init() {
	serverKinds = append([]serverKind{{"go", startGoServer}}, serverKinds...)
}

// --- our server --------------------------------------------------------------

type goServer struct {
	t    *testing.T
	addr string
	opts serverOpts
	log  io.Writer

	mu   sync.Mutex
	sio  *socketio.Server
	http *http.Server
	ln   *trackingListener
}

func startGoServer(t *testing.T, o serverOpts) server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &goServer{t: t, addr: ln.Addr().String(), opts: o, log: testenv.LogWriter(t)}
	g.serve(t, ln)
	t.Cleanup(g.stop)
	return g
}

func (g *goServer) url() string { return "http://" + g.addr }

func (g *goServer) serve(t *testing.T, l net.Listener) {
	t.Helper()
	ln := &trackingListener{Listener: l, conns: map[net.Conn]struct{}{}}
	srv, err := socketio.NewServer(socketio.Config{
		PingInterval: g.opts.pingInterval,
		PingTimeout:  g.opts.pingTimeout,
		Logger:       slog.New(slog.NewTextHandler(g.log, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	require.NoError(t, err)
	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	for _, ns := range namespaces {
		installBehaviour(srv.Of(ns), h)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	g.mu.Lock()
	g.sio, g.http, g.ln = srv, hs, ln
	g.mu.Unlock()
}

func (g *goServer) stop() {
	g.mu.Lock()
	srv, hs := g.sio, g.http
	g.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		g.t.Errorf("socketio.Server.Close: %v", err)
	}
	_ = hs.Close()
}

func (g *goServer) restart(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	ln := g.ln
	g.mu.Unlock()
	ln.crash() // first, so that Close cannot say goodbye to anyone
	g.stop()
	g.serve(t, listenAgain(t, g.addr))
}

// trackingListener remembers every accepted connection, hijacked
// (websocket) ones included, so that crash can drop them all.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.conns[c] = struct{}{}
	return c, nil
}

// crash closes the listener and every connection accepted, without a word
// to the peers (an RST where the kernel sends one).
func (l *trackingListener) crash() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	_ = l.Listener.Close()
	for c := range l.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

// listenAgain listens on addr, retrying while the port is still held.
func listenAgain(t *testing.T, addr string) net.Listener {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(end) {
			t.Fatalf("listen again on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// installBehaviour gives n the behaviour of ref_server.js.
func installBehaviour(n *socketio.Namespace, h *auth.HMAC) {
	n.Use(socketio.TokenAuth(h))
	n.OnConnection(func(s *socketio.Socket) {
		rooms := slices.DeleteFunc(s.Rooms(), func(r string) bool { return r == s.ID() })
		slices.Sort(rooms)
		_ = s.Emit("hello", map[string]any{"sid": s.ID(), "user": s.UserID(), "ns": n.Name(), "rooms": rooms})

		s.On("echo", func(e *socketio.Event) {
			args := values(e.Args)
			if e.WantsAck() {
				_ = e.Ack(args...)
			} else {
				_ = s.Emit("echo", args...)
			}
		})
		s.On("ask", func(e *socketio.Event) {
			args := values(e.Args)
			go func() { // not in the read goroutine: it reads the ack
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				reply, err := s.EmitWithAck(ctx, "question", args...)
				if err != nil {
					_ = s.Emit("answer-error", err.Error())
					return
				}
				_ = s.Emit("answer", values(reply)...)
			}()
		})
		s.On("bin", func(e *socketio.Event) {
			var label string
			var data []byte
			if err := e.Args.Bind(&label, &data); err != nil {
				_ = s.Emit("error", err.Error())
				return
			}
			_ = s.Emit("bin", label, data, map[string]any{"inner": []any{data}})
			if e.WantsAck() {
				_ = e.Ack(label, data)
			}
		})
		s.On("join", func(e *socketio.Event) {
			var room string
			if err := e.Args.Bind(&room); err != nil {
				_ = s.Emit("error", err.Error())
				return
			}
			s.Join(room)
			if e.WantsAck() {
				rooms := slices.DeleteFunc(s.Rooms(), func(r string) bool { return r == s.ID() })
				slices.Sort(rooms)
				_ = e.Ack(rooms)
			}
		})
		s.On("to-room", func(e *socketio.Event) {
			var req struct {
				To     []string          `json:"to"`
				Except []string          `json:"except"`
				Event  string            `json:"event"`
				Args   []json.RawMessage `json:"args"`
			}
			if err := e.Args.Bind(&req); err != nil {
				_ = s.Emit("error", err.Error())
				return
			}
			args := make([]any, len(req.Args))
			for i, a := range req.Args {
				args[i] = a
			}
			err := n.To(req.To...).Except(req.Except...).Emit(req.Event, args...)
			if e.WantsAck() {
				if err != nil {
					_ = e.Ack("error: " + err.Error())
				} else {
					_ = e.Ack("ok")
				}
			}
		})
	})
}

// values returns received arguments for sending on: binary attachments as
// []byte, everything else as its JSON.
func values(a *socketio.Args) []any {
	out := make([]any, a.Len())
	for i := range out {
		if b, ok := a.Bytes(i); ok {
			out[i] = b
		} else {
			out[i] = a.Raw(i)
		}
	}
	return out
}

// counters returns our server's Stats by field name (see serverCounters).
func (g *goServer) counters() map[string]int64 {
	g.mu.Lock()
	st := g.sio.Stats()
	g.mu.Unlock()
	return map[string]int64{
		"Clients":        st.Clients,
		"Connected":      st.Connected,
		"Connects":       int64(st.Connects),
		"Disconnects":    int64(st.Disconnects),
		"Refused":        int64(st.Refused),
		"ProtocolErrors": int64(st.ProtocolErrors),
		"EmitErrors":     int64(st.EmitErrors),
		"SendErrors":     int64(st.SendErrors),
		"AckTimeouts":    int64(st.AckTimeouts),
		"Unhandled":      int64(st.Unhandled),
		"HandlerPanics":  int64(st.HandlerPanics),
	}
}
