package cluster_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/socketio"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

func Example() {
	// An in-process Redis for the example; use redisurl.NewClient(REDIS_URL)
	// in a real program.
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		panic(err)
	}
	defer mr.Close()
	client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer client.Close()

	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		panic(err)
	}
	defer srv.Close(context.Background())

	// The manager finds by itself (transport.SubscriptionReporter) when
	// go-redis loses and restores the subscription in the background.
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	if err != nil {
		panic(err)
	}
	defer ps.Close()

	m, err := cluster.New(cluster.Config{Server: srv, Publisher: ps, Subscriber: ps})
	if err != nil {
		panic(err)
	}
	// Start never fails because Redis is down: the node serves its own
	// clients and joins the cluster when Redis is back.
	if err := m.Start(context.Background()); err != nil {
		panic(err)
	}
	defer m.Close(context.Background())
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv) // serve mux with http.ListenAndServe

	// In the server process, application code emits through the
	// server-mode gateway: local clients and the other nodes get it once.
	err = m.Gateway().EmitToUser(context.Background(), "42", "progress", map[string]any{"pct": 50})
	fmt.Println(err, m.Health().Subscribed)
	// Output: <nil> true
}
