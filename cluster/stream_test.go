package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/redisstream"
)

// fakeAcked is an AckSubscriber that hands out scripted deliveries and
// records the acknowledgements.
type fakeAcked struct {
	memBusless
	deliveries []transport.Delivery
	acked      chan string
}

type memBusless struct{}

func (memBusless) Subscribe(context.Context, string) (<-chan []byte, error) {
	panic("the manager must prefer SubscribeAck")
}
func (memBusless) Close() error { return nil }

func (f *fakeAcked) SubscribeAck(ctx context.Context, _ string) (<-chan transport.Delivery, error) {
	out := make(chan transport.Delivery, len(f.deliveries))
	for _, d := range f.deliveries {
		id := d.ID
		d.Ack = func() { f.acked <- id }
		out <- d
	}
	// The channel stays open: the subscription lives until ctx ends.
	go func() {
		<-ctx.Done()
		close(out)
	}()
	return out, nil
}

// TestAckedDeliveriesAppliedOnceAndAcknowledged: with a persistent
// transport the manager applies each entry once (a redelivery of an
// applied ID is dropped and counted), acknowledges every delivery, bad
// ones included, after handling it.
func TestAckedDeliveriesAppliedOnceAndAcknowledged(t *testing.T) {
	t.Parallel()
	emit := func(n string) []byte {
		return []byte(`{"method":"emit","event":"n","data":` + n + `,"namespace":"/","room":"user:42","skip_sid":null,"callback":null,"host_id":"other"}`)
	}
	f := &fakeAcked{acked: make(chan string, 16), deliveries: []transport.Delivery{
		{ID: "1-0", Data: emit("1")},
		{ID: "2-0", Data: emit("2")},
		{ID: "2-0", Data: emit("2")}, // redelivered after a reconnect
		{ID: "1-5", Data: emit("1")}, // older than what was applied
		{ID: "3-0", Data: []byte("garbage")},
		{ID: "4-0", Data: emit("4")},
	}}
	srv, base, _ := newServer(t)
	c := dialClient(t, base, "/", `{"user":"42"}`)
	m, err := cluster.New(cluster.Config{Server: srv, Subscriber: f})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	for _, want := range []string{`2["n",1]`, `2["n",2]`, `2["n",4]`} {
		c.expect(want)
	}
	for range f.deliveries {
		select {
		case <-f.acked:
		case <-time.After(wait):
			t.Fatal("a delivery was not acknowledged")
		}
	}
	st := m.Stats()
	assert.Equal(t, uint64(2), st.Duplicates)
	assert.Equal(t, uint64(1), st.Malformed)
	assert.Equal(t, uint64(3), st.Applied)
}

// TestNodeOnRedisStreamsResumes: a node on Redis Streams gets what a
// worker published while the node's subscription was cut (the manager's
// subscription fails while Redis is gone and resumes from its consumer
// group when it is back), nothing twice.
func TestNodeOnRedisStreamsResumes(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	addr := mr.Addr()
	nodeClient := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 8, DialTimeout: time.Second})
	t.Cleanup(func() { _ = nodeClient.Close() })
	nodePS, err := redisstream.New(redisstream.Config{Client: nodeClient, Consumer: "node-a"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = nodePS.Close() })

	srv, base, _ := newServer(t)
	m, err := cluster.New(cluster.Config{Server: srv, Publisher: nodePS, Subscriber: nodePS})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	c := dialClient(t, base, "/", `{"user":"42"}`)

	workerClient := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = workerClient.Close() })
	workerPS, err := redisstream.New(redisstream.Config{Client: workerClient})
	require.NoError(t, err)
	w, err := gateway.NewWorker(gateway.WorkerConfig{Publisher: workerPS})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	flushW := func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		require.NoError(t, w.Flush(ctx))
	}

	require.NoError(t, w.EmitToUser(context.Background(), "42", "n", 1))
	flushW()
	c.expect(`2["n",1]`)

	// The node's connections are cut: miniredis drops every client. The
	// worker keeps publishing to the stream.
	mr.Server().Close()
	require.NoError(t, mr.Restart())
	for i := 2; i <= 5; i++ {
		require.NoError(t, w.EmitToUser(context.Background(), "42", "n", i))
	}
	flushW()
	for i := 2; i <= 5; i++ {
		c.expect(`2["n",` + string(rune('0'+i)) + `]`)
	}
	require.NoError(t, w.EmitToUser(context.Background(), "42", "n", 6))
	flushW()
	c.expect(`2["n",6]`)
	assert.Zero(t, m.Stats().Malformed)
}
