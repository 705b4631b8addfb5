package di_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/di"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/socketio"
	"github.com/sockgate/sockgate/transport/transporttest"
)

const wait = 10 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// notify is application code: it emits through whatever gateway its
// context carries, not knowing which process it runs in.
func notify(ctx context.Context, pct int) error {
	return gateway.From(ctx).EmitToUser(ctx, "42", "progress", map[string]int{"pct": pct})
}

func natsURL(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir()})
	require.NoError(t, err)
	ns.Start()
	t.Cleanup(ns.Shutdown)
	require.True(t, ns.ReadyForConnections(wait))
	return ns.ClientURL()
}

// brokerConfig is the configuration of transport tr on a broker of the
// test's own (miniredis, an embedded NATS server), on a channel of its own.
func brokerConfig(t *testing.T, tr string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Transport = tr
	cfg.Channel = strings.ReplaceAll(transporttest.Channel(t), ":", "-")
	switch tr {
	case config.TransportRedis, config.TransportRedisStreams:
		cfg.RedisURL = "redis://" + miniredis.RunT(t).Addr() + "/0"
	case config.TransportNATS, config.TransportJetStream:
		cfg.NATSURL = natsURL(t)
	}
	cfg.NodeID = "node-" + strings.ReplaceAll(tr, "-", "_")
	require.NoError(t, cfg.Validate())
	return cfg
}

// TestOpenBrokerPerTransport opens every transport from config alone and
// carries a message through it: the Broker answers Ping, names itself and
// delivers what it publishes to its own subscription.
func TestOpenBrokerPerTransport(t *testing.T) {
	t.Parallel()
	for _, tr := range config.Transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			cfg := brokerConfig(t, tr)
			b, cleanup, err := di.OpenBroker(cfg, quiet)
			require.NoError(t, err)
			t.Cleanup(cleanup)
			require.False(t, b.LocalOnly())
			require.Equal(t, tr, b.Name)
			require.True(t, strings.HasPrefix(b.String(), tr+" "), "String() = %q", b.String())
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			require.NoError(t, b.Ping(ctx))
			msgs, err := b.Subscriber.Subscribe(ctx, cfg.Channel)
			require.NoError(t, err)
			// A subscription may still be settling on the broker: publish
			// until the first message arrives.
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				_, err := b.Publisher.Publish(ctx, cfg.Channel, [][]byte{[]byte("hello " + tr)})
				require.NoError(t, err)
				select {
				case m := <-msgs:
					require.Equal(t, "hello "+tr, string(m))
					return
				case <-tick.C:
				case <-ctx.Done():
					t.Fatal("no message came back through the broker")
				}
			}
		})
	}
}

// TestBadTransportCleanupIsSafe: an unknown SOCKET_TRANSPORT is an error
// matching ErrConfig that names the variable, from every constructor, and
// the cleanup returned with it is a no-op, so the README's defer cleanup()
// does not panic.
func TestBadTransportCleanupIsSafe(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Transport = "bogus"
	srv, _ := newServer(t)
	check := func(name string, cleanup func(), err error) {
		t.Helper()
		require.ErrorIs(t, err, di.ErrConfig, name)
		require.ErrorContains(t, err, `SOCKET_TRANSPORT="bogus": unknown transport`, name)
		require.NotNil(t, cleanup, name)
		require.NotPanics(t, cleanup, name)
	}
	_, cleanup, err := di.OpenBroker(cfg, nil)
	check("OpenBroker", cleanup, err)
	w, cleanup, err := di.NewWorker(cfg, nil)
	check("NewWorker", cleanup, err)
	require.Nil(t, w)
	m, cleanup, err := di.NewServer(cfg, srv, nil)
	check("NewServer", cleanup, err)
	require.Nil(t, m)
	g, cleanup, err := di.NewGateway(context.Background(), cfg, quiet)
	check("NewGateway worker", cleanup, err)
	require.Nil(t, g)
	g, cleanup, err = di.NewGateway(di.WithServer(context.Background(), srv), cfg, quiet)
	check("NewGateway server", cleanup, err)
	require.Nil(t, g)

	_, cleanup, err = di.NewServer(config.Default(), nil, nil)
	require.ErrorIs(t, err, di.ErrConfig)
	require.NotPanics(t, cleanup)
}

// TestExplicitRoles builds the two roles with their own constructors on
// the memory transport: what the worker emits reaches the server's client,
// and the worker's config carries the environment's settings.
func TestExplicitRoles(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Transport = config.TransportMemory
	cfg.Channel = strings.ReplaceAll(transporttest.Channel(t), ":", "-")
	cfg.QueueSize = 77
	srv, base := newServer(t)
	m, cleanupS, err := di.NewServer(cfg, srv, quiet)
	require.NoError(t, err)
	t.Cleanup(cleanupS)
	w, cleanupW, err := di.NewWorker(cfg, quiet)
	require.NoError(t, err)
	t.Cleanup(cleanupW)

	other := cfg
	other.UserRoom = "u-{id}"
	wc := di.WorkerConfig(other, di.Broker{}, nil)
	require.Equal(t, 77, wc.QueueSize)
	require.Equal(t, "u-42", wc.UserRoom("42"))
	require.Equal(t, cfg.Channel, di.ClusterConfig(cfg, srv, di.Broker{}, nil).Channel)

	c := dial(t, base, `{"user":"42"}`)
	require.NoError(t, notify(gateway.NewContext(context.Background(), m.Gateway()), 1))
	c.expect(t, `["progress",{"pct":1}]`)
	// The builder form over the server-role gateway: variadic arguments.
	require.NoError(t, gateway.To(m.Gateway(), "user:42").Emit(context.Background(), "progress", 1, "two"))
	c.expect(t, `["progress",1,"two"]`)
	c.untilNotified(t, w)
}

// TestSameFunctionInBothRoles builds both roles with NewGateway on every transport
// and shows that notify reaches a connected client given a worker context
// and given a server context.
func TestSameFunctionInBothRoles(t *testing.T) {
	t.Parallel()
	for _, tr := range config.Transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			cfg := brokerConfig(t, tr)
			srv, base := newServer(t)
			serverGW, cleanup, err := di.NewGateway(di.WithServer(context.Background(), srv), cfg, quiet)
			require.NoError(t, err)
			t.Cleanup(cleanup)
			workerGW, cleanupW, err := di.NewGateway(context.Background(), cfg, quiet)
			require.NoError(t, err)
			t.Cleanup(cleanupW)
			_, isWorker := workerGW.(*gateway.Worker)
			require.True(t, isWorker, "no server in the context: the worker role")
			_, isWorker = serverGW.(*gateway.Worker)
			require.False(t, isWorker, "a server in the context: the server role")

			c := dial(t, base, `{"user":"42"}`)
			require.NoError(t, notify(gateway.NewContext(context.Background(), serverGW), 10))
			c.expect(t, `["progress",{"pct":10}]`)
			c.untilNotified(t, workerGW)
		})
	}
}

func TestLocalOnlyWithNoSetup(t *testing.T) {
	t.Parallel()
	cfg := config.Default() // SOCKET_TRANSPORT=redis, no REDIS_URL
	cfg.Channel = "local-only-test"
	srv, base := newServer(t)
	g, cleanup, err := di.NewGateway(di.WithServer(context.Background(), srv), cfg, quiet)
	require.NoError(t, err)
	t.Cleanup(cleanup)
	c := dial(t, base, `{"user":"42"}`)
	require.NoError(t, notify(gateway.NewContext(context.Background(), g), 1))
	c.expect(t, `["progress",{"pct":1}]`)

	w, cleanupW, err := di.NewGateway(context.Background(), cfg, quiet)
	require.NoError(t, err)
	t.Cleanup(cleanupW)
	require.NoError(t, notify(gateway.NewContext(context.Background(), w), 2), "a worker with no broker drops and counts")
	require.Equal(t, uint64(1), w.Stats().Dropped)

	b, cleanupB, err := di.OpenBroker(cfg, quiet)
	require.NoError(t, err)
	t.Cleanup(cleanupB)
	require.True(t, b.LocalOnly())
	require.NoError(t, b.Ping(context.Background()))
	require.Equal(t, "no broker (local-only)", b.String())
}

// newServer is a socketio server whose clients name their user in the
// auth payload.
func newServer(t *testing.T) (*socketio.Server, string) {
	t.Helper()
	srv, err := socketio.NewServer(socketio.Config{})
	require.NoError(t, err)
	srv.Of("/").Use(func(_ context.Context, hs *socketio.Handshake) error {
		var a struct{ User string }
		if err := hs.BindAuth(&a); err != nil {
			return err
		}
		hs.SetUser(a.User)
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = srv.Close(ctx)
		hs.Close()
	})
	return srv, hs.URL + "/socket.io/"
}

// client is a minimal Engine.IO v4 long-polling client on namespace "/".
type client struct {
	base, sid string
	events    chan string
}

func dial(t *testing.T, base, auth string) *client {
	t.Helper()
	resp, err := http.Get(base + "?EIO=4&transport=polling")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.True(t, len(body) > 1 && body[0] == '0', "handshake %q", body)
	var open struct{ Sid string }
	require.NoError(t, json.Unmarshal(body[1:], &open))
	c := &client{base: base, sid: open.Sid, events: make(chan string, 64)}
	connected := make(chan struct{})
	go c.poll(connected)
	c.post(t, "40"+auth)
	select {
	case <-connected:
	case <-time.After(wait):
		t.Fatal("no CONNECT answer")
	}
	return c
}

func (c *client) url() string { return c.base + "?EIO=4&transport=polling&sid=" + c.sid }

func (c *client) post(t *testing.T, pkt string) {
	resp, err := http.Post(c.url(), "text/plain", strings.NewReader(pkt))
	require.NoError(t, err)
	resp.Body.Close()
}

func (c *client) poll(connected chan struct{}) {
	for {
		resp, err := http.Get(c.url())
		if err != nil {
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return
		}
		for _, p := range strings.Split(string(body), "\x1e") {
			switch {
			case p == "2":
				r, err := http.Post(c.url(), "text/plain", strings.NewReader("3"))
				if err == nil {
					r.Body.Close()
				}
			case strings.HasPrefix(p, "40"):
				close(connected)
			case strings.HasPrefix(p, "42"):
				c.events <- p[2:]
			case p == "1":
				return
			}
		}
	}
}

func (c *client) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-c.events:
		require.Equal(t, want, got)
	case <-time.After(wait):
		t.Fatalf("no event %s within %v", want, wait)
	}
}

// untilNotified has notify emit through the worker-role gateway g until
// c gets a progress event. The emits travel through the broker, whose
// subscription may still be settling, so the worker repeats its emit
// until the first one arrives (each is a new pct).
func (c *client) untilNotified(t *testing.T, g gateway.Gateway) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for pct := 20; ; pct++ {
		require.NoError(t, notify(gateway.NewContext(context.Background(), g), pct))
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		require.NoError(t, g.Flush(ctx))
		cancel()
		if c.got(t, 200*time.Millisecond) {
			return
		}
		require.True(t, time.Now().Before(deadline), "the worker's emits never reached the client")
	}
}

// got reports whether a progress event arrived within d.
func (c *client) got(t *testing.T, d time.Duration) bool {
	t.Helper()
	select {
	case e := <-c.events:
		require.True(t, strings.HasPrefix(e, `["progress",`), "event %s", e)
		return true
	case <-time.After(d):
		return false
	}
}
