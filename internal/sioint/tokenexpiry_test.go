//go:build integration && !nogoserver

package sioint

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/socketio"
)

// startExpiringServer serves our server with TokenAuthWith and Expire on
// "/"; "whoami" is acked with the socket's user and token expiry, and the
// disconnect reasons are sent on reasons by user.
func startExpiringServer(t *testing.T, v auth.Verifier, reasons chan<- [2]string) (*socketio.Server, string) {
	t.Helper()
	srv, err := socketio.NewServer(socketio.Config{
		Logger: slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	require.NoError(t, err)
	ns := srv.Of("/")
	ns.Use(socketio.TokenAuthWith(socketio.TokenAuthConfig{Verifier: v, Expire: true}))
	ns.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(reason string) { reasons <- [2]string{s.UserID(), reason} })
		s.On("whoami", func(e *socketio.Event) {
			_ = e.Ack(map[string]any{"user": s.UserID(), "expires": s.TokenExpires().Unix()})
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("socketio.Server.Close: %v", err)
		}
		_ = hs.Close()
	})
	return srv, "http://" + ln.Addr().String()
}

// TestTokenExpiryAndRefresh connects two socket.io-client 4.8 clients
// with tokens of the same expiry, a few seconds away, to a server that
// disconnects expired sockets. The one that does nothing gets
// "sockgate:expired" and is disconnected ("io server disconnect" for the
// client, "token expired" for the server); the one that sent a new token
// on "sockgate:refresh" is still connected after that, with the new
// expiry, and a token of another user is refused with a reason. It runs
// against our server only: the reference server has no token expiry.
func TestTokenExpiryAndRefresh(t *testing.T) {
	requireNode(t)
	const ttl = 4 * time.Second
	for _, mode := range transportModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			signer, err := auth.NewHMAC(testSecret)
			require.NoError(t, err)
			// One clock reading for both tokens: the same "exp", a few
			// seconds away (plus auth.Leeway), time enough for node to
			// start on a loaded machine.
			now := time.Now()
			first := signer.WithClock(func() time.Time { return now })
			stays, leaves := uniqueUser("stays"), uniqueUser("leaves")
			stayTok, err := first.Mint(stays, ttl)
			require.NoError(t, err)
			leaveTok, err := first.Mint(leaves, ttl)
			require.NoError(t, err)
			exp := now.Unix() + int64(ttl/time.Second)

			reasons := make(chan [2]string, 4)
			srv, url := startExpiringServer(t, signer, reasons)
			client := func(user, tok string) *client {
				c := startClient(t, clientKinds[0], user, clientOpts{URL: url, Transports: mode.transports, Auth: map[string]any{"token": tok}})
				c.waitConnected(t, 0)
				return c
			}
			a, b := client(stays, stayTok), client(leaves, leaveTok)

			// a refreshes at once; a token of another user is refused.
			refreshed, err := signer.Mint(stays, time.Hour)
			require.NoError(t, err)
			got := a.emitAck(t, socketio.TokenRefreshEvent, refreshed)
			require.Len(t, got, 1)
			ack, _ := got[0].(map[string]any)
			require.Equal(t, true, ack["ok"], "refresh ack %v", got)
			newExp, _ := ack["expires"].(float64)
			require.Greater(t, int64(newExp), exp+3000, "refresh ack %v: the new token's exp", got)
			otherTok, err := signer.Mint(leaves, time.Hour)
			require.NoError(t, err)
			got = a.emitAck(t, socketio.TokenRefreshEvent, otherTok)
			ack, _ = got[0].(map[string]any)
			msg, _ := ack["error"].(string)
			require.True(t, ack["ok"] == false && strings.Contains(msg, "names user "), "another user's token: ack %v", got)

			// b expires (exp plus auth.Leeway): the event, then the disconnect.
			_, args := b.waitEvent(t, 0, socketio.TokenExpiredEvent)
			require.Equal(t, []any{map[string]any{"reason": socketio.ReasonTokenExpired, "expires": float64(exp)}}, args)
			b.Out.WaitFor(t, "disconnect", 0, func(l line) bool { return l.Str("disconnect") == "io server disconnect" })
			select {
			case r := <-reasons:
				require.Equal(t, [2]string{leaves, socketio.ReasonTokenExpired}, r)
			case <-time.After(deadline):
				t.Fatalf("no disconnect handler call within %s", deadline)
			}

			// a is past its first token's expiry and still connected.
			got = a.emitAck(t, "whoami")
			require.Equal(t, []any{map[string]any{"user": stays, "expires": newExp}}, got)
			for _, l := range a.Out.Snapshot() {
				require.False(t, l.Has("disconnect") || l.Str("event") == socketio.TokenExpiredEvent, "the refreshed client saw %s", l.Raw)
			}
			st := srv.Stats()
			require.Equal(t, [4]uint64{1, 1, 1, 1}, [4]uint64{st.TokenExpiries, st.TokenRefreshes, st.TokenRefreshRefused, uint64(st.Connected)}, "stats %+v", st)
		})
	}
}
