package redispubsub_test

import (
	"context"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

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
	defer client.Close() // we created the client, so we close it

	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	if err != nil {
		panic(err)
	}
	defer ps.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, err := ps.Subscribe(ctx, "socketio")
	if err != nil {
		panic(err)
	}

	n, err := ps.Publish(ctx, "socketio", [][]byte{[]byte("hello"), []byte("world")})
	fmt.Println(n, err)
	fmt.Println(string(<-msgs), string(<-msgs))
	// Output:
	// 2 <nil>
	// hello world
}
