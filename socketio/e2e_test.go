package socketio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/internal/engineio"
)

// e2eServer starts a Server behind an http.ServeMux at /socket.io/.
func e2eServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", s)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		s.Close(ctx)
		hs.Close()
	})
	return s, hs.URL + "/socket.io/"
}

func dialTransport(t *testing.T, base, transport string) *eioClient {
	switch transport {
	case "websocket":
		return dialWS(t, base, true)
	case "upgrade":
		c := dialPolling(t, base)
		c.upgrade()
		return c
	}
	return dialPolling(t, base)
}

func TestE2E(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"polling", "websocket", "upgrade"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			v, _ := auth.NewHMAC([]byte(strings.Repeat("s", 32)))
			s, base := e2eServer(t, Config{})
			n := s.Of("/")
			n.Use(TokenAuth(v))
			conns := connected(n)
			reasons := make(chan string, 4)
			n.OnConnection(func(so *Socket) {
				so.OnDisconnect(func(r string) { reasons <- r })
				so.On("echo", func(e *Event) {
					var msg string
					var blob []byte
					if err := e.Args.Bind(&msg, &blob); err != nil {
						e.Ack("error", err.Error())
						return
					}
					e.Ack(strings.ToUpper(msg), blob)
				})
			})

			c := dialTransport(t, base, tr)
			if got := c.connect("/", `{"token":"forged"}`); got != `4{"message":"unauthorized"}` {
				t.Fatalf("bad token answer %q", got)
			}
			tok, _ := v.Mint("u1", time.Hour)
			if got := c.connect("/", `{"token":"`+tok+`"}`); !strings.HasPrefix(got, `0{"sid":"`) {
				t.Fatalf("CONNECT answer %q", got)
			}
			so := await(t, conns)
			if want := map[string]string{"upgrade": "websocket"}[tr]; want != "" {
				if got := so.client.conn.(*engineio.Conn).Transport(); got != want {
					t.Fatalf("transport %q, want %q", got, want)
				}
			}
			if so.UserID() != "u1" || so.Handshake().Request.URL.Query().Get("EIO") != "4" {
				t.Fatalf("user %q", so.UserID())
			}

			// client event with binary, ack with binary
			c.text(`51-7["echo","hi",{"_placeholder":true,"num":0}]`)
			c.bin([]byte{1, 2, 3})
			c.expect(`61-7["HI",{"_placeholder":true,"num":0}]`)
			if m := c.next(); !m.binary || m.data != "\x01\x02\x03" {
				t.Fatalf("attachment %q", m.data)
			}

			// server emit with ack
			res := make(chan *Args, 1)
			go func() {
				a, err := so.EmitWithAck(context.Background(), "ask", map[string]any{"q": 1})
				if err != nil {
					t.Error(err)
				}
				res <- a
			}()
			c.expect(`20["ask",{"q":1}]`)
			c.text(`30["yes"]`)
			var ans string
			if err := await(t, res).Bind(&ans); err != nil || ans != "yes" {
				t.Fatalf("ack %q %v", ans, err)
			}

			// user room broadcast
			if err := n.To("user:u1").Emit("news", []byte("raw"), "x"); err != nil {
				t.Fatal(err)
			}
			c.expect(`51-["news",{"_placeholder":true,"num":0},"x"]`)
			if m := c.next(); !m.binary || m.data != "raw" {
				t.Fatalf("attachment %q", m.data)
			}

			// server namespace disconnect, then the client closes
			so.Disconnect()
			c.expect("1")
			if r := await(t, reasons); r != "server namespace disconnect" {
				t.Fatalf("reason %q", r)
			}
			c.connect("/", `{"token":"`+tok+`"}`)
			await(t, conns)
			c.sendRaw("1") // Engine.IO close
			if r := await(t, reasons); r != "transport close" {
				t.Fatalf("reason %q", r)
			}
			waitStat(t, s, func(st Stats) bool { return st.Clients == 0 && st.Connected == 0 })
		})
	}
}

// waitStat waits until cond holds for the server's stats.
func waitStat(t *testing.T, s *Server, cond func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond(s.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("stats never matched: %+v", s.Stats())
		}
		time.Sleep(5 * time.Millisecond) // polling a counter; no event to await
	}
}

func TestE2EPingTimeout(t *testing.T) {
	t.Parallel()
	s, base := e2eServer(t, Config{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
	conns := connected(s.Of("/"))
	c := dialWS(t, base, false) // never reads, so never answers pings
	c.text("0")
	so := await(t, conns)
	reasons := make(chan string, 1)
	so.OnDisconnect(func(r string) { reasons <- r })
	if r := await(t, reasons); r != "ping timeout" {
		t.Fatalf("reason %q", r)
	}
}

func TestE2EConnectTimeoutAndMalformed(t *testing.T) {
	t.Parallel()
	s, base := e2eServer(t, Config{ConnectTimeout: 50 * time.Millisecond})
	c := dialWS(t, base, true)
	c.waitClosed()
	waitStat(t, s, func(st Stats) bool { return st.ConnectTimeouts == 1 })

	c2 := dialWS(t, base, true)
	c2.connect("/", "")
	c2.text(`2{"not":"an array"}`)
	c2.waitClosed()
	waitStat(t, s, func(st Stats) bool { return st.ProtocolErrors == 1 && st.Clients == 0 })
}

// TestE2ESlowClient: a websocket client that stops reading is disconnected
// as slow while another client receives every event.
func TestE2ESlowClient(t *testing.T) {
	t.Parallel()
	s, base := e2eServer(t, Config{SendQueue: 16})
	n := s.Of("/")
	conns := connected(n)
	stalled := dialWS(t, base, false)
	stalled.text("0")
	slow := await(t, conns)
	fast := dialWS(t, base, true)
	fast.connect("/", "")
	await(t, conns)
	reasons := make(chan string, 1)
	slow.OnDisconnect(func(r string) { reasons <- r })

	payload := strings.Repeat("x", 64<<10)
	const events = 400 // 25 MB: more than the kernel buffers of the stalled client
	// The fast client acknowledges each event on progress; the producer
	// keeps at most 8 in flight to it, as a real producer has a rate.
	progress := make(chan int, events)
	go func() {
		for i := range events {
			m := fast.next()
			if !strings.HasPrefix(m.data, `2["tick",`) {
				t.Errorf("event %d: %.20q", i, m.data)
			}
			progress <- i
		}
	}()
	for i := range events {
		if err := n.Emit("tick", i, payload); err != nil {
			t.Fatal(err)
		}
		if i >= 8 {
			await(t, progress)
		}
	}
	for range 8 {
		await(t, progress)
	}
	if r := await(t, reasons); r != "send queue full" {
		t.Fatalf("reason %q", r)
	}
	if st := s.Stats(); st.SlowDisconnects != 1 || st.Connected != 1 {
		t.Fatalf("stats %+v", st)
	}
}
