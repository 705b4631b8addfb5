package natsps_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/natsps"
	"github.com/sockgate/sockgate/transport/transporttest"
)

// embedded starts an in-process NATS server on a free port.
func embedded(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
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

func TestConformance(t *testing.T) {
	t.Parallel()
	url := embedded(t)
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		ps, err := natsps.New(natsps.Config{Conn: connect(t, url)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = ps.Close() })
		return ps, ps
	}, transporttest.Features{})
}

func TestChannelNamesAreLiteralSubjects(t *testing.T) {
	t.Parallel()
	ps, err := natsps.New(natsps.Config{Conn: connect(t, embedded(t))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	for _, bad := range []string{"", "a b", "a.*", "a.>", "a..b", ".a"} {
		_, err := ps.Publish(context.Background(), bad, [][]byte{[]byte("x")})
		require.ErrorIs(t, err, natsps.ErrConfig, "channel %q", bad)
		_, err = ps.Subscribe(context.Background(), bad)
		require.ErrorIs(t, err, natsps.ErrConfig, "channel %q", bad)
	}
	_, err = natsps.New(natsps.Config{})
	require.ErrorIs(t, err, natsps.ErrConfig)
}

// TestPublishFailsWhenTheConnectionIsClosed: a closed connection is an
// error naming the channel, not a silent success.
func TestPublishFailsWhenTheConnectionIsClosed(t *testing.T) {
	t.Parallel()
	nc := connect(t, embedded(t))
	ps, err := natsps.New(natsps.Config{Conn: nc})
	require.NoError(t, err)
	nc.Close()
	n, err := ps.Publish(context.Background(), "c", [][]byte{[]byte("x")})
	require.Zero(t, n)
	require.Error(t, err)
	require.Contains(t, err.Error(), `"c"`)
	require.False(t, errors.Is(err, transport.ErrClosed), "the PubSub itself is not closed")
}
