package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"net/http"
	"time"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/socketio"
)

func Example() {
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close(context.Background())

	verifier, err := auth.NewHMAC([]byte("a secret of at least thirty-two bytes"))
	if err != nil {
		log.Fatal(err)
	}
	main := srv.Of("/")
	main.Use(socketio.TokenAuth(verifier)) // auth {"token": "..."} -> joins "user:<id>"
	main.OnConnection(func(s *socketio.Socket) {
		s.Join("lobby")
		s.On("chat", func(e *socketio.Event) {
			var text string
			if err := e.Args.Bind(&text); err != nil {
				e.Ack(map[string]string{"error": "want a string"})
				return
			}
			s.To("lobby").Emit("chat", s.UserID(), text) // everyone else in the lobby
			e.Ack("ok")
		})
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if reply, err := s.EmitWithAck(ctx, "hello", "welcome"); err == nil {
				var answer string
				_ = reply.Bind(&answer)
			}
		}()
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	_ = mux // http.ListenAndServe(":8080", mux)

	// Emitting to a user's room from anywhere in the process:
	fmt.Println(main.To("user:42").Emit("progress", map[string]any{"done": 10}))
	// A payload that is not JSON is refused before anything is written:
	err = main.To("user:42").Emit("progress", math.NaN())
	fmt.Println(errors.Is(err, socketio.ErrPayload))
	// Output:
	// <nil>
	// true
}
