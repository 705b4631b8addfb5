package watermillbridge_test

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/sockgate/sockgate/transport/watermillbridge"
)

func Example() {
	// Any watermill Pub/Sub: Kafka, AMQP, SQL, ... Here the in-process
	// GoChannel, in the mode that keeps order.
	pubSub := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, nil)
	defer pubSub.Close() // we created it, so we close it

	b, err := watermillbridge.New(watermillbridge.Config{Publisher: pubSub, Subscriber: pubSub})
	if err != nil {
		panic(err)
	}
	defer b.Close() // ends the subscriptions; leaves pubSub open

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deliveries, err := b.SubscribeAck(ctx, "socketio")
	if err != nil {
		panic(err)
	}

	// This GoChannel's Publish returns once the subscription acknowledged
	// both messages, so it runs in its own goroutine here.
	published := make(chan int)
	go func() {
		n, _ := b.Publish(ctx, "socketio", [][]byte{[]byte("hello"), []byte("world")})
		published <- n
	}()
	for range 2 {
		d := <-deliveries
		fmt.Println(string(d.Data))
		d.Ack()
	}
	fmt.Println(<-published, "published")
	// Output:
	// hello
	// world
	// 2 published
}
