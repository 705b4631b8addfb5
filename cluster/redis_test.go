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
	"github.com/sockgate/sockgate/transport/redispubsub"
)

// redisNode is a node whose manager talks to Redis at addr through
// redispubsub. Nothing is wired for Health: the manager learns of the
// subscription's state from the transport itself.
func redisNode(t *testing.T, addr string) *node {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second})
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = ps.Close()
		_ = client.Close()
	})
	srv, base, socks := newServer(t)
	m, err := cluster.New(cluster.Config{Server: srv, Publisher: ps, Subscriber: ps})
	require.NoError(t, err)
	require.NoError(t, m.Start(ctx(t)), "Start never fails for the broker")
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		require.NoError(t, m.Close(c))
	})
	return &node{srv: srv, base: base, mgr: m, nsp: srv.Of("/"), socks: socks}
}

// redisWorker is a separate worker process's gateway on Redis at addr.
func redisWorker(t *testing.T, addr string) *gateway.Worker {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr})
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	require.NoError(t, err)
	w, err := gateway.NewWorker(gateway.WorkerConfig{Publisher: ps})
	require.NoError(t, err)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = w.Close(c)
		_ = ps.Close()
		_ = client.Close()
	})
	return w
}

func numSub(mr *miniredis.Miniredis) int { return mr.PubSubNumSub("socketio")["socketio"] }

// freeAddr returns an address where nothing listens now.
func freeAddr(t *testing.T) string {
	mr := miniredis.NewMiniRedis()
	require.NoError(t, mr.Start())
	addr := mr.Addr()
	mr.Close()
	return addr
}

// TestDegradedStartRedis: Redis is down when the node starts; the node
// serves its clients, and when Redis comes up on the same address it
// joins the cluster by itself: a worker's emit reaches its client.
func TestDegradedStartRedis(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := redisNode(t, addr)
	h := n.mgr.Health()
	require.False(t, h.Subscribed)
	require.NotEmpty(t, h.LastError)
	c := dialClient(t, n.base, "/", `{"user":"42"}`)
	<-n.socks
	require.NoError(t, n.mgr.Gateway().EmitToUser(ctx(t), "42", "local", nil))
	c.expect(`2["local"]`)

	mr := miniredis.NewMiniRedis()
	require.NoError(t, mr.StartAddr(addr))
	t.Cleanup(mr.Close)
	up := time.Now()
	require.Eventually(t, func() bool { return n.mgr.Health().Subscribed && numSub(mr) == 1 }, wait, time.Millisecond)
	t.Logf("subscribed %s after Redis came up", time.Since(up))

	w := redisWorker(t, addr)
	require.NoError(t, w.EmitToUser(ctx(t), "42", "fromWorker", map[string]any{"pct": 10}))
	c.expect(`2["fromWorker",{"pct":10}]`)
	t.Logf("worker emit delivered %s after Redis came up", time.Since(up))
	// The node's own emits now reach Redis as well.
	require.NoError(t, n.nsp.Emit("mine"))
	c.expect(`2["mine"]`)
	require.NoError(t, n.mgr.Gateway().Flush(ctx(t)))
	assert.Positive(t, n.mgr.Gateway().Stats().Published)
}

// TestRedisRestartMidStream: Redis goes away and comes back on the same
// address while the node is subscribed; the node resubscribes by itself.
func TestRedisRestartMidStream(t *testing.T) {
	t.Parallel()
	mr := miniredis.NewMiniRedis()
	require.NoError(t, mr.Start())
	addr := mr.Addr()
	n := redisNode(t, addr)
	require.True(t, n.mgr.Health().Subscribed)
	c := dialClient(t, n.base, "/", `{"user":"42"}`)
	<-n.socks
	w := redisWorker(t, addr)
	require.NoError(t, w.EmitToUser(ctx(t), "42", "before", nil))
	c.expect(`2["before"]`)

	mr.Close()
	require.Eventually(t, func() bool { return !n.mgr.Health().Subscribed }, wait, time.Millisecond,
		"the loss is visible in Health")
	mr2 := miniredis.NewMiniRedis()
	require.NoError(t, mr2.StartAddr(addr))
	t.Cleanup(mr2.Close)
	up := time.Now()
	require.Eventually(t, func() bool { return n.mgr.Health().Subscribed && numSub(mr2) == 1 }, wait, time.Millisecond)
	t.Logf("resubscribed %s after Redis came back", time.Since(up))
	require.NoError(t, w.EmitToUser(ctx(t), "42", "after", nil))
	c.expect(`2["after"]`)
	t.Logf("worker emit delivered %s after Redis came back", time.Since(up))
	st := n.mgr.Stats()
	assert.Positive(t, st.SubscribeFails)
	assert.Positive(t, st.Resubscribes)
}
