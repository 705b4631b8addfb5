package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockgate/sockgate/bench/benchutil"
)

func TestScanInt(t *testing.T) {
	t.Parallel()
	body := []byte(`["tick",{"i":42,"t":1764201701123456789,"p":"xx"}]`)
	if v, ok := scanInt(body, `"t":`); !ok || v != 1764201701123456789 {
		t.Fatalf(`scanInt "t" = %d, %v`, v, ok)
	}
	if v, ok := scanInt(body, `"i":`); !ok || v != 42 {
		t.Fatalf(`scanInt "i" = %d, %v`, v, ok)
	}
	if _, ok := scanInt(body, `"x":`); ok {
		t.Fatal("scanInt found a missing key")
	}
	if _, ok := scanInt([]byte(`{"t":"1"}`), `"t":`); ok {
		t.Fatal("scanInt accepted a string value")
	}
}

// serverFrame encodes an unmasked server-to-client frame.
func serverFrame(fin bool, op byte, p []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch {
	case len(p) < 126:
		f = append(f, byte(len(p)))
	case len(p) < 1<<16:
		f = append(f, 126, 0, 0)
		binary.BigEndian.PutUint16(f[2:], uint16(len(p)))
	default:
		f = append(f, 127, 0, 0, 0, 0, 0, 0, 0, 0)
		binary.BigEndian.PutUint64(f[2:], uint64(len(p)))
	}
	return append(f, p...)
}

// unmask decodes one masked client frame from r.
func unmask(r io.Reader) (op byte, p []byte, err error) {
	var h [6]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 == 0 {
		return 0, nil, errors.New("client frame not masked")
	}
	p = make([]byte, h[1]&0x7f)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	for i := range p {
		p[i] ^= h[2+i&3]
	}
	return h[0] & 0x0f, p, nil
}

func TestReadMessage(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	c := &wsConn{nc: client, br: bufio.NewReader(client)}

	long := bytes.Repeat([]byte("y"), 70_000)
	go func() {
		var w bytes.Buffer
		w.Write(serverFrame(true, 1, []byte("2")))              // engine ping
		w.Write(serverFrame(false, 1, []byte(`42["tick",`)))    // fragment 1
		w.Write(serverFrame(true, 9, []byte("hi")))             // websocket ping between fragments
		w.Write(serverFrame(true, 0, []byte(`{"i":1,"t":5}]`))) // fragment 2
		w.Write(serverFrame(true, 1, long))
		w.Write(serverFrame(true, 8, []byte{3, 232}))
		_, _ = server.Write(w.Bytes())
	}()
	msg, err := c.readMessage()
	if err != nil || string(msg) != "2" {
		t.Fatalf("first message %q, %v", msg, err)
	}
	pong := make(chan []byte, 1)
	go func() {
		op, p, err := unmask(server)
		if err != nil || op != 0xA {
			t.Errorf("reply to a websocket ping: opcode %x, %v", op, err)
		}
		pong <- p
	}()
	msg, err = c.readMessage()
	if err != nil || string(msg) != `42["tick",{"i":1,"t":5}]` {
		t.Fatalf("fragmented message %q, %v", msg, err)
	}
	select {
	case p := <-pong:
		if string(p) != "hi" {
			t.Fatalf("pong payload %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no pong")
	}
	msg, err = c.readMessage()
	if err != nil || !bytes.Equal(msg, long) {
		t.Fatalf("64-bit length message: %d bytes, %v", len(msg), err)
	}
	if _, err := c.readMessage(); err == nil || !strings.Contains(err.Error(), "close") {
		t.Fatalf("close frame: err %v", err)
	}
}

func TestReadMessageRejectsMaskedServerFrame(t *testing.T) {
	t.Parallel()
	c := &wsConn{br: bufio.NewReader(bytes.NewReader([]byte{0x81, 0x81, 1, 2, 3, 4, 'x'}))}
	if _, err := c.readMessage(); err == nil {
		t.Fatal("a masked server frame was accepted")
	}
}

func TestWriteFrameMasks(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	c := &wsConn{nc: client}
	errc := make(chan error, 1)
	go func() { errc <- c.writeText([]byte("40")) }()
	op, p, err := unmask(server)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if op != 1 || string(p) != "40" {
		t.Fatalf("frame op %x payload %q", op, p)
	}
	if err := c.writeText(make([]byte, 200)); err == nil {
		t.Fatal("a 200-byte client frame was written")
	}
}

func TestOnEventCompletesPhase(t *testing.T) {
	t.Parallel()
	f := &fleet{}
	c := &wsConn{f: f}
	f.conns = []*wsConn{c}
	h := newHistogram()
	p := f.start(2, h)
	c.onEvent([]byte(`["tick",{"i":0,"t":1000000,"p":""}]`), 3_000_000)
	select {
	case <-p.done:
		t.Fatal("phase done after 1 of 2 events")
	default:
	}
	c.onEvent([]byte(`["tick",{"i":1,"t":2000000,"p":""}]`), 3_000_000)
	select {
	case <-p.done:
	default:
		t.Fatal("phase not done after 2 of 2 events")
	}
	if total, last := f.delivered(); total != 2 || last != 3_000_000 {
		t.Fatalf("delivered = %d, last %d", total, last)
	}
	if got := h.quantile(1); got != 2_000_000 {
		t.Fatalf("max latency %d ns, want 2 ms", got)
	}
	if n := f.misordered(); n != 0 {
		t.Fatalf("%d misordered in sequence", n)
	}
	f.stop()
	c.onEvent([]byte(`["tick",{"i":2,"t":2000000,"p":""}]`), 4_000_000)
	if total, _ := f.delivered(); total != 2 {
		t.Fatalf("an event after stop was counted: %d", total)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	h := newHistogram()
	for i := 1; i <= 1000; i++ {
		h.add(int64(i) * int64(time.Millisecond) / 10) // 0.1 ms .. 100 ms
	}
	h.add(-5)
	h.add(int64(500 * time.Second)) // beyond the last bucket
	cases := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 50 * time.Millisecond},
		{0.99, 99 * time.Millisecond},
		{1, 500 * time.Second},
	}
	for _, c := range cases {
		got := time.Duration(h.quantile(c.q))
		if d := got - c.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("quantile(%g) = %v, want %v ± 1 ms", c.q, got, c.want)
		}
	}
	if h.neg.Load() != 1 || h.count.Load() != 1002 {
		t.Fatalf("neg %d count %d", h.neg.Load(), h.count.Load())
	}
	if pts := h.cdf(10); len(pts) != 10 || pts[9].Q != 1 {
		t.Fatalf("cdf points %v", pts)
	}
	if newHistogram().quantile(0.5) != 0 {
		t.Fatal("empty histogram quantile not 0")
	}
}

func sampleReport() *report {
	cdf := []cdfPoint{{0.5, 0.4}, {0.99, 3}, {1, 9}}
	return &report{
		Time:  time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		Setup: setup{Clients: 1000, EventBytes: 200, Burst: 1000, Rounds: 1, Rate: 100, SteadySecs: 10},
		Servers: []serverResult{
			{Name: "ours", Label: "sockgate <socketio>", RSSPer1k: 15 << 20, RSSAfter: 30 << 20,
				Median: &burstResult{Rate: 1_000_000, LastDeliverySec: 1},
				Steady: &steadyResult{P50Ms: 0.4, P99Ms: 3, MaxMs: 9, CDF: cdf}},
			{Name: "node", Label: "Node socket.io 4.8.4", RSSPer1k: 26 << 20,
				Median: &burstResult{Rate: 150_000, LastDeliverySec: 6.6},
				Steady: &steadyResult{P50Ms: 100, P99Ms: 1800, MaxMs: 1900, CDF: cdf}},
		},
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	rep := sampleReport()
	cs := checks(rep)
	if len(cs) != 3 || !cs[0].Pass || !cs[1].Pass || !cs[2].Pass {
		t.Fatalf("checks = %+v, want 3 passes", cs)
	}
	rep.Servers[0].Median.Lost = 1
	rep.Servers[0].Steady.P99Ms = 25
	rep.Servers[0].RSSPer1k = 21 << 20
	for _, c := range checks(rep) {
		if c.Pass {
			t.Errorf("check %q passed: %+v", c.Name, c)
		}
	}
	rep.Servers[0].Skipped = "build failed"
	for _, c := range checks(rep) {
		if c.Pass || c.Value != "not measured" {
			t.Errorf("check %q with our server skipped: %+v", c.Name, c)
		}
	}
}

func TestPrintReport(t *testing.T) {
	t.Parallel()
	rep := sampleReport()
	rep.Checks = checks(rep)
	var b strings.Builder
	printReport(&b, rep)
	out := b.String()
	for _, want := range []string{"1,000,000", "150,000", "6.67", "PASS", "15.0 MB"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestRenderSVGIsWellFormed(t *testing.T) {
	t.Parallel()
	svg := renderSVG(sampleReport())
	d := xml.NewDecoder(strings.NewReader(svg))
	var elems int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			elems++
		}
	}
	if elems < 20 || !strings.Contains(svg, "<polyline") || !strings.Contains(svg, "sockgate &lt;socketio&gt;") {
		t.Fatalf("SVG lacks content (%d elements):\n%s", elems, svg)
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	if _, err := parseFlags([]string{"-servers", "ours,deno"}, io.Discard); err == nil || !strings.Contains(err.Error(), "deno") {
		t.Fatalf("unknown server: err %v", err)
	}
	if _, err := parseFlags([]string{"-clients", "0"}, io.Discard); err == nil {
		t.Fatal("-clients 0 accepted")
	}
	o, err := parseFlags(nil, io.Discard)
	if err != nil || o.clients != 1000 || len(o.servers) != 2 {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.6: "1,234,568", -1500: "-1,500"} {
		if got := benchutil.Thousands(v); got != want {
			t.Errorf("benchutil.Thousands(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestOnEventCountsMisordered(t *testing.T) {
	t.Parallel()
	f := &fleet{}
	c := &wsConn{f: f}
	f.conns = []*wsConn{c}
	f.start(4, nil)
	for _, i := range []string{"0", "2", "1", "1"} {
		c.onEvent([]byte(`["tick",{"i":`+i+`,"t":1,"p":""}]`), 2)
	}
	if n := f.misordered(); n != 3 {
		t.Fatalf("misordered = %d, want 3 (2 after 0, 1 after 2, 1 after 1)", n)
	}
}

// TestConsumePartialFrames feeds the epoller's parser a stream cut at
// every byte and checks each event is seen once, pings answered.
func TestConsumePartialFrames(t *testing.T) {
	t.Parallel()
	var stream []byte
	stream = append(stream, serverFrame(true, 1, []byte("2"))...)
	for i := range 5 {
		stream = append(stream, serverFrame(true, 1, []byte(`42["tick",{"i":`+string(rune('0'+i))+`,"t":1,"p":"`+strings.Repeat("x", 150)+`"}]`))...)
	}
	stream = append(stream, serverFrame(false, 1, []byte(`42["tick",{"i":5,`))...)
	stream = append(stream, serverFrame(true, 0, []byte(`"t":1,"p":""}]`))...)
	for cut := 1; cut < len(stream); cut += 7 {
		client, server := net.Pipe()
		pongs := make(chan string, 4)
		go func() {
			for {
				_, p, err := unmask(server)
				if err != nil {
					return
				}
				pongs <- string(p)
			}
		}()
		f := &fleet{}
		c := &wsConn{f: f, nc: client, rbuf: make([]byte, 64)}
		f.conns = []*wsConn{c}
		f.start(6, nil)
		for off := 0; off < len(stream); off += cut {
			chunk := stream[off:min(off+cut, len(stream))]
			for len(c.rbuf)-c.rlen < len(chunk) {
				c.rbuf = append(c.rbuf, make([]byte, len(c.rbuf))...)
			}
			c.rlen += copy(c.rbuf[c.rlen:], chunk)
			if err := c.consume(7); err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
		}
		if got, _ := f.delivered(); got != 6 || f.misordered() != 0 || c.rlen != 0 {
			t.Fatalf("cut %d: delivered %d, misordered %d, %d bytes left", cut, got, f.misordered(), c.rlen)
		}
		select {
		case p := <-pongs:
			if p != "3" {
				t.Fatalf("cut %d: answered %q to a ping", cut, p)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("cut %d: no pong", cut)
		}
		client.Close()
		server.Close()
	}
}
