package socketio_test

import (
	"context"
	"log"
	"log/slog"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/socketio"
)

func ExampleTokenAuthWith() {
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
	// A socket is disconnected when its token expires ("exp" plus
	// auth.Leeway), unless the client sends a new token for the same user:
	//
	//	socket.timeout(10000).emitWithAck("sockgate:refresh", newToken) // {ok: true, expires: ...}
	main.Use(socketio.TokenAuthWith(socketio.TokenAuthConfig{Verifier: verifier, Expire: true}))
	main.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(reason string) {
			if reason == socketio.ReasonTokenExpired {
				slog.Info("signed out: token expired", "user", s.UserID(), "expired", s.TokenExpires())
			}
		})
	})
}
