package socketio

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/sockgate/sockgate/internal/engineio"
)

// nullConn accepts and counts packets.
type nullConn struct {
	n atomic.Int64
}

func (c *nullConn) ID() string             { return "null" }
func (c *nullConn) Request() *http.Request { return nil }
func (c *nullConn) Send(pkts ...*engineio.Packet) error {
	c.n.Add(int64(len(pkts)))
	return nil
}
func (c *nullConn) Close()                         {}
func (c *nullConn) CloseWithStatus(uint16, string) {}

func benchServer(b *testing.B, clients int) (*Server, []*Socket) {
	s, err := newServer(Config{})
	if err != nil {
		b.Fatal(err)
	}
	conns := connected(s.Of("/"))
	socks := make([]*Socket, clients)
	for i := range socks {
		cl := s.open(&nullConn{})
		cl.onMessage([]byte("0"), false)
		socks[i] = <-conns
	}
	return s, socks
}

// BenchmarkBroadcast measures one namespace emit to 1,000 sockets
// (encoding once, handing the packet to every connection).
func BenchmarkBroadcast(b *testing.B) {
	for _, clients := range []int{1000} {
		b.Run(fmt.Sprint(clients), func(b *testing.B) {
			s, _ := benchServer(b, clients)
			n := s.Of("/")
			payload := map[string]any{"job": "j-1234", "progress": 42, "msg": "working on it, nearly there"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := n.Emit("progress", payload); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*clients)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkRoomBroadcast: a room of 1,000 out of 2,000 sockets, except one room.
func BenchmarkRoomBroadcast(b *testing.B) {
	s, socks := benchServer(b, 2000)
	for i, so := range socks {
		if i%2 == 0 {
			so.Join("r")
		}
	}
	socks[0].Join("muted")
	bc := s.Of("/").To("r").Except("muted")
	b.ReportAllocs()
	for b.Loop() {
		if err := bc.Emit("tick", 1, "two"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*999)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkEmitSocket measures encoding and sending to one socket.
func BenchmarkEmitSocket(b *testing.B) {
	_, socks := benchServer(b, 1)
	so := socks[0]
	type progress struct {
		Job      string `json:"job"`
		Progress int    `json:"progress"`
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := so.Emit("progress", progress{"j-1", 42}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceiveEvent measures decoding and dispatching one client event.
func BenchmarkReceiveEvent(b *testing.B) {
	s, err := newServer(Config{})
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan struct{}, 1024)
	s.Of("/").OnConnection(func(so *Socket) {
		so.On("move", func(e *Event) {
			var x, y int
			_ = e.Args.Bind(&x, &y)
			got <- struct{}{}
		})
	})
	cl := s.open(&nullConn{})
	cl.onMessage([]byte("0"), false)
	msg := []byte(`2["move",12,34]`)
	b.ReportAllocs()
	for b.Loop() {
		cl.onMessage(msg, false)
		<-got
	}
}
