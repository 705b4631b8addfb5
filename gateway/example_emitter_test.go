package gateway_test

import (
	"context"
	"fmt"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport/memory"
)

// ExampleTo emits in socketio's builder form: rooms, an excluded
// connection, and each variadic value one argument of the client's
// handler. The message is the one EmitToRoom with gateway.Args publishes.
func ExampleTo() {
	ctx := context.Background()
	ps := memory.New()
	defer ps.Close()
	msgs, _ := ps.Subscribe(ctx, "socketio")

	w, _ := gateway.NewWorker(gateway.WorkerConfig{Publisher: ps})
	defer w.Close(ctx)
	_ = w.To("team:7").Except("sidA").Emit(ctx, "message", "alice", "hello")
	// The same builder on any Gateway, here the one in the context.
	ctx = gateway.NewContext(ctx, w)
	_ = gateway.To(gateway.From(ctx), "team:8").Emit(ctx, "ping")
	_ = w.Flush(ctx)

	c := codec.NewPython(codec.PythonConfig{})
	for range 2 {
		m, _ := c.Decode(<-msgs)
		fmt.Println(m.Event, m.Rooms, m.Skip, m.Arguments())
	}
	// Output:
	// message [team:7] [sidA] [alice hello]
	// ping [team:8] [] []
}
