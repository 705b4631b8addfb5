package jetstream_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/jetstream"
	"github.com/sockgate/sockgate/transport/transporttest"
)

// embedded starts an in-process NATS server with JetStream on a free port.
func embedded(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
	})
	require.NoError(t, err)
	ns.Start()
	t.Cleanup(ns.Shutdown)
	require.True(t, ns.ReadyForConnections(10*time.Second), "nats-server did not start")
	return ns.ClientURL()
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

func newPubSub(t *testing.T, url, stream, consumer string) *jetstream.PubSub {
	t.Helper()
	ps, err := jetstream.New(jetstream.Config{Conn: connect(t, url), Stream: stream, Consumer: consumer})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	return ps
}

// nodeName is a durable consumer name unique to the test and run.
func nodeName(t *testing.T) string {
	return "node-" + strings.ReplaceAll(transporttest.Channel(t), ":", "-")
}

func TestConformance(t *testing.T) {
	t.Parallel()
	url := embedded(t)
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		ps := newPubSub(t, url, "TT", nodeName(t))
		return ps, ps
	}, transporttest.Features{Persistent: true})
}

func TestConfig(t *testing.T) {
	t.Parallel()
	_, err := jetstream.New(jetstream.Config{})
	require.ErrorIs(t, err, jetstream.ErrConfig)
	nc := connect(t, embedded(t))
	_, err = jetstream.New(jetstream.Config{Conn: nc, Stream: "a.b"})
	require.ErrorIs(t, err, jetstream.ErrConfig)
	ps, err := jetstream.New(jetstream.Config{Conn: nc})
	require.NoError(t, err)
	_, err = ps.SubscribeAck(context.Background(), "c")
	require.ErrorIs(t, err, jetstream.ErrConfig, "a durable consumer name is required")
	_, err = ps.Publish(context.Background(), "a.*", [][]byte{[]byte("x")})
	require.ErrorIs(t, err, jetstream.ErrConfig)
}
