package engineio

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkBroadcast sends one shared ~200-byte packet per iteration to
// 200 websocket connections whose clients drain their sockets. The
// deliveries/s figure includes the writes; cmd-style numbers for 1,000
// clients in separate processes come from bench/wsbench.
func BenchmarkBroadcast(b *testing.B) {
	const conns = 200
	h := newRecorder(b, false)
	_, hs := testServer(b, Config{Handler: h, SendQueue: 1 << 20})
	var cs []*Conn
	for range conns {
		w := wsDialB(b, hs)
		go func() {
			_, _ = io.Copy(io.Discard, w.br)
		}()
		cs = append(cs, <-h.opens)
	}
	payload := []byte(`2["progress",{"job":"` + strings.Repeat("x", 150) + `","pct":42}]`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p := NewTextPacket(payload)
		for _, c := range cs {
			if err := c.Send(p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*conns)/b.Elapsed().Seconds(), "deliveries/s")
}
