package cluster_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/socketio"
	"github.com/sockgate/sockgate/transport"
)

// wait is the generous deadline for anything asynchronous.
const wait = 10 * time.Second

// memBus is an in-memory transport: every Publish reaches every current
// subscription of the channel, in order, the publisher's own included
// (like Redis).
type memBus struct {
	mu       sync.Mutex
	subs     map[*memSub]struct{}
	failSubs int // Subscribe calls still to fail
	subCalls int
	closed   bool
}

type memSub struct {
	channel string
	ch      chan []byte
	once    sync.Once
}

func (s *memSub) end() { s.once.Do(func() { close(s.ch) }) }

var (
	_ transport.Publisher  = (*memBus)(nil)
	_ transport.Subscriber = (*memBus)(nil)
)

func newBus() *memBus { return &memBus{subs: map[*memSub]struct{}{}} }

func (b *memBus) Publish(ctx context.Context, channel string, msgs [][]byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, transport.ErrClosed
	}
	for _, m := range msgs {
		for s := range b.subs {
			if s.channel != channel {
				continue
			}
			select {
			case s.ch <- bytes.Clone(m):
			default:
				return 0, errors.New("membus: subscriber full")
			}
		}
	}
	return len(msgs), nil
}

func (b *memBus) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subCalls++
	if b.closed {
		return nil, transport.ErrClosed
	}
	if b.failSubs > 0 {
		b.failSubs--
		return nil, errors.New("membus: broker down")
	}
	s := &memSub{channel: channel, ch: make(chan []byte, 4096)}
	b.subs[s] = struct{}{}
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
		s.end()
	})
	return s.ch, nil
}

// dropAll ends every subscription unexpectedly (as if the broker went
// away); the next n Subscribe calls fail.
func (b *memBus) dropAll(failNext int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failSubs = failNext
	for s := range b.subs {
		delete(b.subs, s)
		s.end()
	}
}

func (b *memBus) numSubs() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

func (b *memBus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

// raw publishes one message as another host would.
func (b *memBus) raw(t testing.TB, msg []byte) {
	t.Helper()
	_, err := b.Publish(context.Background(), "socketio", [][]byte{msg})
	require.NoError(t, err)
}

// node is a Socket.IO server over HTTP with its cluster manager.
type node struct {
	srv   *socketio.Server
	base  string // http://.../socket.io/
	mgr   *cluster.Manager
	nsp   *socketio.Namespace
	socks chan *socketio.Socket
}

// newServer starts a socketio server whose clients name their user in the
// auth payload ({"user": "42"}) and may ask to join rooms ({"rooms": [...]}).
func newServer(t testing.TB, namespaces ...string) (*socketio.Server, string, chan *socketio.Socket) {
	t.Helper()
	srv, err := socketio.NewServer(socketio.Config{})
	require.NoError(t, err)
	socks := make(chan *socketio.Socket, 64)
	for _, name := range append([]string{"/"}, namespaces...) {
		n := srv.Of(name)
		n.Use(func(ctx context.Context, hs *socketio.Handshake) error {
			var a struct {
				User  string
				Rooms []string
			}
			if len(hs.Auth) > 0 {
				if err := hs.BindAuth(&a); err != nil {
					return err
				}
			}
			if a.User != "" {
				hs.SetUser(a.User)
			}
			hs.Join(a.Rooms...)
			return nil
		})
		n.OnConnection(func(s *socketio.Socket) { socks <- s })
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = srv.Close(ctx)
		hs.Close()
	})
	return srv, hs.URL + "/socket.io/", socks
}

// newNode starts a server and a manager on bus (nil: no broker).
func newNode(t testing.TB, bus *memBus, cfg cluster.Config, namespaces ...string) *node {
	t.Helper()
	srv, base, socks := newServer(t, namespaces...)
	cfg.Server = srv
	if bus != nil {
		cfg.Publisher, cfg.Subscriber = bus, bus
	}
	m := startManager(t, cfg)
	return &node{srv: srv, base: base, mgr: m, nsp: srv.Of("/"), socks: socks}
}

// startManager builds and starts a manager, closed at the test's end.
func startManager(t testing.TB, cfg cluster.Config) *cluster.Manager {
	t.Helper()
	m, err := cluster.New(cfg)
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		require.NoError(t, m.Close(ctx))
	})
	return m
}

// sioMsg is one Socket.IO packet received by a client, with its binary
// attachments.
type sioMsg struct {
	text string
	atts [][]byte
}

// client is a minimal Engine.IO v4 polling client connected to one
// namespace. It answers pings, and answers every event that asks for an
// acknowledgement with ["ack", <event name>].
type client struct {
	t    testing.TB
	base string
	eio  string
	nsp  string
	sid  string
	msgs chan sioMsg
	done chan struct{}
}

func dialClient(t testing.TB, base, nsp, auth string) *client {
	t.Helper()
	c := &client{t: t, base: base, nsp: nsp, msgs: make(chan sioMsg, 1024), done: make(chan struct{})}
	resp, err := http.Get(base + "?EIO=4&transport=polling")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var open struct{ Sid string }
	require.True(t, resp.StatusCode == 200 && len(body) > 1 && body[0] == '0', "handshake %q", body)
	require.NoError(t, json.Unmarshal(body[1:], &open))
	c.eio = open.Sid
	go c.poll()
	c.post("4" + "0" + c.prefix() + auth)
	m := c.next()
	want := "0" + c.prefix() + `{"sid":"`
	require.True(t, strings.HasPrefix(m.text, want), "CONNECT answer %q", m.text)
	c.sid = strings.TrimSuffix(strings.TrimPrefix(m.text, want), `"}`)
	return c
}

func (c *client) prefix() string {
	if c.nsp == "/" {
		return ""
	}
	return c.nsp + ","
}

func (c *client) post(body string) {
	resp, err := http.Post(c.base+"?EIO=4&transport=polling&sid="+url.QueryEscape(c.eio), "text/plain", strings.NewReader(body))
	if err != nil {
		return // the session may be gone; the assertions tell
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func (c *client) poll() {
	defer close(c.done)
	var pending *sioMsg
	want := 0
	for {
		resp, err := http.Get(c.base + "?EIO=4&transport=polling&sid=" + url.QueryEscape(c.eio))
		if err != nil {
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return
		}
		for _, p := range strings.Split(string(body), "\x1e") {
			switch {
			case p == "1":
				return
			case p == "2":
				go c.post("3")
			case strings.HasPrefix(p, "b") && pending != nil:
				b, _ := base64.StdEncoding.DecodeString(p[1:])
				pending.atts = append(pending.atts, b)
				if len(pending.atts) == want {
					c.deliver(*pending)
					pending = nil
				}
			case strings.HasPrefix(p, "4"):
				m := sioMsg{text: p[1:]}
				if len(m.text) > 1 && (m.text[0] == '5' || m.text[0] == '6') {
					n, _ := strconv.Atoi(m.text[1:strings.IndexByte(m.text, '-')])
					pending, want = &m, n
					continue
				}
				c.deliver(m)
			}
		}
	}
}

// deliver queues m for the test and answers an acknowledgement request.
func (c *client) deliver(m sioMsg) {
	if m.text[0] == '2' || m.text[0] == '5' {
		rest := m.text[1:]
		if m.text[0] == '5' {
			rest = rest[strings.IndexByte(rest, '-')+1:]
		}
		if c.nsp != "/" {
			rest = strings.TrimPrefix(rest, c.nsp+",")
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i > 0 {
			var ev []json.RawMessage
			_ = json.Unmarshal([]byte(rest[i:]), &ev)
			name := ""
			if len(ev) > 0 {
				_ = json.Unmarshal(ev[0], &name)
			}
			go c.post("4" + "3" + c.prefix() + rest[:i] + `["ack",` + strconv.Quote(name) + `]`)
		}
	}
	c.msgs <- m
}

func (c *client) next() sioMsg {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(wait):
		c.t.Fatalf("client %s: no packet within %s", c.sid, wait)
		return sioMsg{}
	}
}

// expect waits for the next packet and checks its text.
func (c *client) expect(want string) {
	c.t.Helper()
	if got := c.next(); got.text != want {
		c.t.Fatalf("client %s: got %q, want %q", c.sid, got.text, want)
	}
}

// event returns the next packet as an event name and arguments, with
// binary placeholders replaced by {"$bytes": base64} (the vectors' form).
func (c *client) event() (string, []any) {
	c.t.Helper()
	m := c.next()
	body := m.text[1:]
	if m.text[0] == '5' {
		body = body[strings.IndexByte(body, '-')+1:]
	} else if m.text[0] != '2' {
		c.t.Fatalf("client %s: got %q, want an event", c.sid, m.text)
	}
	body = strings.TrimPrefix(body, c.nsp+",")
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	var arr []any
	require.NoError(c.t, d.Decode(&arr), "event %q", m.text)
	require.NotEmpty(c.t, arr)
	name, _ := arr[0].(string)
	args := arr[1:]
	for i := range args {
		args[i] = withBytes(args[i], m.atts)
	}
	return name, args
}

func withBytes(v any, atts [][]byte) any {
	switch x := v.(type) {
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph {
			if n, err := x["num"].(json.Number).Int64(); err == nil && int(n) < len(atts) {
				return map[string]any{"$bytes": base64.StdEncoding.EncodeToString(atts[n])}
			}
		}
		for k, e := range x {
			x[k] = withBytes(e, atts)
		}
	case []any:
		for i, e := range x {
			x[i] = withBytes(e, atts)
		}
	}
	return v
}

// normalize makes decoded JSON comparable: numbers become float64.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// marker proves nothing else arrived before it: n broadcasts it through
// the cluster after the expected packets, and it must come next to every
// client (a duplicate would have been queued before it).
func marker(t testing.TB, n *node, clients ...*client) {
	t.Helper()
	require.NoError(t, n.mgr.Gateway().Broadcast(context.Background(), "marker", nil))
	for _, c := range clients {
		c.expect(`2["marker"]`)
	}
}
