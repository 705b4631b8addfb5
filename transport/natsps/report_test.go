package natsps_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport/natsps"
)

// stateChange is one call of SubscribeReport's report.
type stateChange struct {
	up  bool
	err error
}

// TestSubscribeReport: the subscription's loss when the server goes away,
// and its return when a server is back on the same address, reach
// SubscribeReport's caller; messages published after the return arrive on
// the Go channel that stayed open.
func TestSubscribeReport(t *testing.T) {
	t.Parallel()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}
	ns, err := server.NewServer(opts)
	require.NoError(t, err)
	ns.Start()
	require.True(t, ns.ReadyForConnections(10*time.Second))
	url := ns.ClientURL()
	port := ns.Addr().(*net.TCPAddr).Port
	ps, err := natsps.New(natsps.Config{Conn: connect(t, url)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })

	changes := make(chan stateChange, 16)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	msgs, err := ps.SubscribeReport(ctx, "report.test", func(up bool, err error) {
		changes <- stateChange{up, err}
	})
	require.NoError(t, err)

	ns.Shutdown()
	select {
	case c := <-changes:
		require.False(t, c.up, "the first change is the loss")
		require.ErrorIs(t, c.err, natsps.ErrConnectionLost)
	case <-time.After(10 * time.Second):
		t.Fatal("the loss was not reported")
	}

	again := *opts
	again.Port = port
	ns2, err := server.NewServer(&again)
	require.NoError(t, err)
	ns2.Start()
	t.Cleanup(ns2.Shutdown)
	require.True(t, ns2.ReadyForConnections(10*time.Second))
	select {
	case c := <-changes:
		require.True(t, c.up, "the second change is the return")
		require.NoError(t, c.err)
	case <-time.After(10 * time.Second):
		t.Fatal("the return was not reported")
	}

	pub, err := natsps.New(natsps.Config{Conn: connect(t, ns2.ClientURL())})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pub.Close() })
	_, err = pub.Publish(context.Background(), "report.test", [][]byte{[]byte("after")})
	require.NoError(t, err)
	select {
	case m := <-msgs:
		require.Equal(t, "after", string(m))
	case <-time.After(10 * time.Second):
		t.Fatal("no message after the return")
	}
	select {
	case c := <-changes:
		t.Fatalf("an extra change: %+v", c)
	default:
	}
}
