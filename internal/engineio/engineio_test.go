package engineio

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPacketEncodings(t *testing.T) {
	t.Parallel()
	p := NewTextPacket([]byte("hello"))
	if got := string(p.polling()); got != "4hello" {
		t.Errorf("polling form %q", got)
	}
	if got := p.frame(); string(got) != "\x81\x064hello" {
		t.Errorf("frame %q", got)
	}
	b := NewBinaryPacket([]byte{1, 2, 3})
	if got := string(b.polling()); got != "bAQID" {
		t.Errorf("binary polling form %q", got)
	}
	if got := b.frame(); string(got) != "\x82\x03\x01\x02\x03" {
		t.Errorf("binary frame %q", got)
	}
	for _, n := range []int{125, 126, 65535, 65536} {
		f := appendFrame(nil, opBinary, nil, make([]byte, n))
		var hdr int
		switch {
		case n < 126:
			hdr = 2
		case n <= 0xffff:
			hdr = 4
			if got := int(binary.BigEndian.Uint16(f[2:])); got != n {
				t.Errorf("len %d: 16-bit length %d", n, got)
			}
		default:
			hdr = 10
			if got := int(binary.BigEndian.Uint64(f[2:])); got != n {
				t.Errorf("len %d: 64-bit length %d", n, got)
			}
		}
		if len(f) != hdr+n {
			t.Errorf("len %d: frame is %d bytes, want %d", n, len(f), hdr+n)
		}
	}
}

func TestPollingHandshake(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	_, hs := testServer(t, Config{Handler: h, PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, MaxPayload: 5000})
	o := pollHandshake(t, hs)
	if len(o.SID) != 20 || o.PingInterval != 300 || o.PingTimeout != 200 || o.MaxPayload != 5000 ||
		len(o.Upgrades) != 1 || o.Upgrades[0] != "websocket" {
		t.Fatalf("open packet %+v", o)
	}
	c := recv(t, h.opens, "OnOpen")
	if c.ID() != o.SID || c.Transport() != "polling" || c.Request().URL.Query().Get("EIO") != "4" {
		t.Fatalf("conn id %q transport %q", c.ID(), c.Transport())
	}
	c.SetValue(42)
	if c.Value() != 42 {
		t.Fatal("Value lost")
	}
}

func TestPollingMessages(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	_, hs := testServer(t, Config{Handler: h})
	o := pollHandshake(t, hs)
	c := recv(t, h.opens, "OnOpen")
	if err := c.Send(NewTextPacket([]byte("hello")), NewBinaryPacket([]byte{1, 2, 3}), NewTextPacket([]byte("é"))); err != nil {
		t.Fatal(err)
	}
	got := pollGet(t, hs, o.SID)
	if strings.Join(got, "|") != "4hello|bAQID|4é" {
		t.Fatalf("GET payload %q", got)
	}
	// A GET that waits is answered when a packet is sent.
	res := make(chan []string, 1)
	go func() { res <- pollGet(t, hs, o.SID) }()
	time.Sleep(20 * time.Millisecond) // not synchronisation: the GET may also find the packet queued
	if err := c.Send(NewTextPacket([]byte("later"))); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, res, "waiting GET"); len(got) != 1 || got[0] != "4later" {
		t.Fatalf("waiting GET got %q", got)
	}
	code, body := pollPost(t, hs, o.SID, "4a\x1e4b\x1ebAQID\x1e6\x1e4")
	if code != 200 || body != "ok" {
		t.Fatalf("POST: %d %q", code, body)
	}
	want := []msgEvent{{c, "a", false}, {c, "b", false}, {c, "\x01\x02\x03", true}, {c, "", false}}
	for _, w := range want {
		if m := recv(t, h.msgs, "message"); m != w {
			t.Fatalf("message %+v, want %+v", m, w)
		}
	}
	// A close packet ends the session.
	if code, _ := pollPost(t, hs, o.SID, "1"); code != 200 {
		t.Fatalf("close POST: %d", code)
	}
	if ev := recv(t, h.closes, "OnClose"); ev.reason != ReasonTransportClose {
		t.Fatalf("close reason %q", ev.reason)
	}
	if err := c.Send(NewTextPacket([]byte("x"))); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after close: %v", err)
	}
}

func TestWebsocketMessages(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, true)
	_, hs := testServer(t, Config{Handler: h})
	w := wsDial(t, hs, "")
	o := parseOpen(t, w.readText(t))
	if len(o.Upgrades) != 0 {
		t.Fatalf("websocket open packet advertises upgrades %v", o.Upgrades)
	}
	c := recv(t, h.opens, "OnOpen")
	if c.Transport() != "websocket" || c.ID() != o.SID {
		t.Fatalf("transport %q", c.Transport())
	}
	w.text(t, "4hi there")
	w.write(t, opBinary, "\x00\xff")
	if m := recv(t, h.msgs, "text"); m.data != "hi there" || m.binary {
		t.Fatalf("got %+v", m)
	}
	if m := recv(t, h.msgs, "binary"); m.data != "\x00\xff" || !m.binary {
		t.Fatalf("got %+v", m)
	}
	if got := w.readText(t); got != "4hi there" {
		t.Fatalf("echo %q", got)
	}
	if op, p := w.mustRead(t); op != opBinary || p != "\x00\xff" {
		t.Fatalf("binary echo op %d %q", op, p)
	}
	// Fragmented text with a ping between the fragments.
	w.nc.Write(frameBytes(false, opText, []byte("4frag")))
	w.nc.Write(frameBytes(true, opPing, []byte("pp")))
	w.nc.Write(frameBytes(false, opContinuation, []byte("men")))
	w.nc.Write(frameBytes(true, opContinuation, []byte("ted")))
	if op, p := w.mustRead(t); op != opPong || p != "pp" {
		t.Fatalf("want pong, got op %d %q", op, p)
	}
	if m := recv(t, h.msgs, "fragmented"); m.data != "fragmented" {
		t.Fatalf("got %+v", m)
	}
	// A long message (16-bit and 64-bit lengths).
	long := "4" + strings.Repeat("x", 70000)
	w.text(t, long)
	if m := recv(t, h.msgs, "long"); m.data != long[1:] {
		t.Fatalf("long message: %d bytes", len(m.data))
	}
	// Client close handshake.
	w.write(t, opClose, "\x03\xe8")
	op, p := w.mustRead(t)
	for op == opText || op == opBinary {
		op, p = w.mustRead(t)
	}
	if op != opClose || p[:2] != "\x03\xe8" {
		t.Fatalf("want close 1000, got op %d %q", op, short(p))
	}
	if ev := recv(t, h.closes, "OnClose"); ev.reason != ReasonTransportClose {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestWebsocketInvalidInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		frame  []byte
		code   uint16
		reason string
	}{
		{"unmasked", []byte{0x81, 0x02, '4', 'x'}, closeProtocolError, ReasonParseError},
		{"bad utf8", frameBytes(true, opText, []byte{'4', 0xff, 0xfe}), closeInvalidData, ReasonParseError},
		{"unknown opcode", frameBytes(true, 0x3, []byte("x")), closeProtocolError, ReasonParseError},
		{"stray continuation", frameBytes(true, opContinuation, []byte("x")), closeProtocolError, ReasonParseError},
		{"not engine.io", frameBytes(true, opText, []byte("9what")), closeInvalidData, ReasonParseError},
		{"too big", frameBytes(true, opText, []byte("4"+strings.Repeat("y", 200))), closeTooBig, ReasonPayloadTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newRecorder(t, false)
			_, hs := testServer(t, Config{Handler: h, MaxPayload: 100})
			w := wsDial(t, hs, "")
			w.readText(t)
			w.nc.Write(tc.frame)
			op, p := w.mustRead(t)
			if op != opClose || len(p) < 2 || binary.BigEndian.Uint16([]byte(p)) != tc.code {
				t.Fatalf("want close %d, got op %d %q", tc.code, op, p)
			}
			if ev := recv(t, h.closes, "OnClose"); ev.reason != tc.reason {
				t.Fatalf("reason %q, want %q", ev.reason, tc.reason)
			}
		})
	}
}

func TestUpgrade(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	s, hs := testServer(t, Config{Handler: h})
	o := pollHandshake(t, hs)
	c := recv(t, h.opens, "OnOpen")
	pending := make(chan []string, 1)
	go func() { pending <- pollGet(t, hs, o.SID) }()
	// Wait until the GET is parked.
	deadline := time.Now().Add(waitFor)
	for {
		c.impl.mu.Lock()
		active := c.impl.getActive
		c.impl.mu.Unlock()
		if active {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("GET never parked")
		}
		time.Sleep(time.Millisecond)
	}
	w := wsDial(t, hs, o.SID)
	w.text(t, "2probe")
	if got := w.readText(t); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	if got := recv(t, pending, "released GET"); len(got) != 1 || got[0] != "6" {
		t.Fatalf("released GET got %q", got)
	}
	if c.Transport() != "polling" {
		t.Fatal("transport switched before the upgrade packet")
	}
	// Queued before the switch, delivered on the websocket after it.
	if err := c.Send(NewTextPacket([]byte("queued"))); err != nil {
		t.Fatal(err)
	}
	w.text(t, "5")
	if got := w.readText(t); got != "4queued" {
		t.Fatalf("after upgrade got %q", got)
	}
	if c.Transport() != "websocket" || s.Stats().Upgrades != 1 {
		t.Fatalf("transport %q stats %+v", c.Transport(), s.Stats())
	}
	w.text(t, "4up")
	if m := recv(t, h.msgs, "message"); m.data != "up" {
		t.Fatalf("got %+v", m)
	}
	if code, _, _ := httpDo(t, "GET", eioURL(hs, "polling", o.SID), "", nil); code != 400 {
		t.Fatalf("polling after upgrade: %d", code)
	}
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	// PingTimeout leaves room for a loaded machine; the interval is what
	// the loop below measures.
	_, hs := testServer(t, Config{Handler: h, PingInterval: 50 * time.Millisecond, PingTimeout: 400 * time.Millisecond})
	w := wsDial(t, hs, "")
	w.readText(t)
	c := recv(t, h.opens, "OnOpen")
	start := time.Now()
	for pings := 0; pings < 6; pings++ {
		if op, p := w.mustRead(t); op != opText || p != "2" {
			t.Fatalf("want ping, got %d %q", op, p)
		}
		w.text(t, "3")
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("6 pings in %v: interval not respected", el)
	}
	select {
	case ev := <-h.closes:
		t.Fatalf("closed while answering pings: %q", ev.reason)
	default:
	}
	// Stop answering.
	ev := recv(t, h.closes, "ping timeout")
	if ev.c != c || ev.reason != ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestPollingHeartbeat(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	_, hs := testServer(t, Config{Handler: h, PingInterval: 50 * time.Millisecond, PingTimeout: 500 * time.Millisecond})
	o := pollHandshake(t, hs)
	for i := 0; i < 4; i++ {
		if got := pollGet(t, hs, o.SID); len(got) != 1 || got[0] != "2" {
			t.Fatalf("want ping, got %q", got)
		}
		if code, _ := pollPost(t, hs, o.SID, "3"); code != 200 {
			t.Fatalf("pong POST %d", code)
		}
	}
	if ev := recv(t, h.closes, "ping timeout"); ev.reason != ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestPollingMaxPayload(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	_, hs := testServer(t, Config{Handler: h, MaxPayload: 100})
	o := pollHandshake(t, hs)
	code, _ := pollPost(t, hs, o.SID, "4"+strings.Repeat("z", 150))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", code)
	}
	if ev := recv(t, h.closes, "OnClose"); ev.reason != ReasonPayloadTooBig {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	refuse := errors.New("go away")
	_, hs := testServer(t, Config{Handler: h, AllowRequest: func(r *http.Request) error {
		if r.Header.Get("X-Refuse") != "" {
			return refuse
		}
		return nil
	}})
	base := hs.URL + "/engine.io/"
	cases := []struct {
		name, method, url string
		hdr               http.Header
		status, code      int
		message           string
	}{
		{"unknown transport", "GET", base + "?EIO=4&transport=carrier-pigeon", nil, 400, 0, "Transport unknown"},
		{"no transport", "GET", base + "?EIO=4", nil, 400, 0, "Transport unknown"},
		{"EIO 3", "GET", base + "?EIO=3&transport=polling", nil, 400, 5, "Unsupported protocol version"},
		{"no EIO", "GET", base + "?transport=polling", nil, 400, 5, "Unsupported protocol version"},
		{"unknown sid", "GET", base + "?EIO=4&transport=polling&sid=nope", nil, 400, 1, "Session ID unknown"},
		{"POST handshake", "POST", base + "?EIO=4&transport=polling", nil, 400, 2, "Bad handshake method"},
		{"refused", "GET", base + "?EIO=4&transport=polling", http.Header{"X-Refuse": {"1"}}, 403, 4, "go away"},
		{"websocket without upgrade", "GET", base + "?EIO=4&transport=websocket", nil, 400, 3, `missing "Connection: Upgrade"`},
	}
	for _, tc := range cases {
		code, hdr, body := httpDo(t, tc.method, tc.url, "", tc.hdr)
		var eb errBody
		if err := json.Unmarshal([]byte(body), &eb); err != nil {
			t.Errorf("%s: body %q: %v", tc.name, body, err)
			continue
		}
		if code != tc.status || eb.Code != tc.code || eb.Message != tc.message || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %+v, want %d %d %q", tc.name, code, eb, tc.status, tc.code, tc.message)
		}
	}
	select {
	case c := <-h.opens:
		t.Fatalf("a bad request opened %s", c.ID())
	default:
	}
}

func TestOverlappingGET(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	_, hs := testServer(t, Config{Handler: h})
	o := pollHandshake(t, hs)
	c := recv(t, h.opens, "OnOpen")
	first := make(chan []string, 1)
	go func() { first <- pollGet(t, hs, o.SID) }()
	for deadline := time.Now().Add(waitFor); ; time.Sleep(time.Millisecond) {
		c.impl.mu.Lock()
		active := c.impl.getActive
		c.impl.mu.Unlock()
		if active {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("GET never parked")
		}
	}
	code, _, body := httpDo(t, "GET", eioURL(hs, "polling", o.SID), "", nil)
	if code != 400 || !strings.Contains(body, `"code":3`) {
		t.Fatalf("second GET: %d %s", code, body)
	}
	if got := recv(t, first, "first GET"); len(got) != 1 || got[0] != "1" {
		t.Fatalf("first GET got %q, want the close packet", got)
	}
	if ev := recv(t, h.closes, "OnClose"); ev.reason != ReasonTransportError {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	_, hs := testServer(t, Config{Handler: h, CORS: CORS{
		AllowOrigins: []string{"https://app.example"}, AllowCredentials: true, AllowHeaders: []string{"Authorization"},
	}})
	u := eioURL(hs, "polling", "")
	code, hdr, _ := httpDo(t, "GET", u, "", http.Header{"Origin": {"https://app.example"}})
	if code != 200 || hdr.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		hdr.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin: %d %v", code, hdr)
	}
	_, hdr, _ = httpDo(t, "GET", u, "", http.Header{"Origin": {"https://evil.example"}})
	if hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin got %v", hdr)
	}
	code, hdr, _ = httpDo(t, "OPTIONS", u, "", http.Header{"Origin": {"https://app.example"},
		"Access-Control-Request-Method": {"POST"}})
	if code != 204 || hdr.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(hdr.Get("Access-Control-Allow-Methods"), "POST") ||
		hdr.Get("Access-Control-Allow-Headers") != "Authorization" {
		t.Fatalf("preflight: %d %v", code, hdr)
	}

	h2 := newRecorder(t, false)
	_, hs2 := testServer(t, Config{Handler: h2, CORS: CORS{AllowOrigins: []string{"*"}}})
	_, hdr, _ = httpDo(t, "GET", eioURL(hs2, "polling", ""), "", http.Header{"Origin": {"https://any.example"}})
	if hdr.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("wildcard: %v", hdr)
	}
}

func TestSlowClient(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	s, hs := testServer(t, Config{Handler: h, SendQueue: 32})
	stalled := wsDial(t, hs, "")
	stalled.readText(t)
	cs := recv(t, h.opens, "OnOpen stalled")
	good := wsDial(t, hs, "")
	good.readText(t)
	cg := recv(t, h.opens, "OnOpen good")

	// The good client reports every text frame on got, until "4last".
	got := make(chan struct{}, 1<<16)
	received := make(chan int, 1)
	go func() {
		n := 0
		defer func() { received <- n }()
		for {
			op, p, err := good.read()
			if err != nil {
				return
			}
			if op == opText {
				if string(p) == "4last" {
					return
				}
				n++
				got <- struct{}{}
			}
		}
	}()
	p := NewTextPacket([]byte(strings.Repeat("p", 16<<10)))
	sent, inflight := 0, 0
	deadline := time.Now().Add(waitFor)
	for {
		if time.Now().After(deadline) {
			t.Fatal("the stalled client was never closed")
		}
		start := time.Now()
		err := cs.Send(p)
		// A Send that waited for the network would wait for WriteTimeout
		// (10 s); allow for a loaded machine below that.
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Send blocked for %v", d)
		}
		if errors.Is(err, ErrQueueFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// The good client keeps up: never more than 8 packets ahead of it.
		for inflight >= 8 {
			recv(t, got, "good client progress")
			inflight--
		}
		if err := cg.Send(p); err != nil {
			t.Fatalf("good client: %v", err)
		}
		sent++
		inflight++
	}
	if ev := recv(t, h.closes, "slow close"); ev.c != cs || ev.reason != ReasonSlowClient {
		t.Fatalf("closed %v with %q", ev.c == cs, ev.reason)
	}
	if err := cs.Send(p); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after slow close: %v", err)
	}
	if st := s.Stats(); st.SlowClosed != 1 || st.Open != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The good client still gets everything, including what follows.
	if err := cg.Send(NewTextPacket([]byte("last"))); err != nil {
		t.Fatal(err)
	}
	if n := recv(t, received, "good reader"); n != sent {
		t.Fatalf("good client got %d of %d", n, sent)
	}
}

func TestServerClose(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	s, hs := testServer(t, Config{Handler: h})
	o := pollHandshake(t, hs)
	cp := recv(t, h.opens, "polling open")
	w := wsDial(t, hs, "")
	w.readText(t)
	cw := recv(t, h.opens, "websocket open")
	if err := cw.Send(NewTextPacket([]byte("bye"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	reasons := map[*Conn]string{}
	for range 2 {
		ev := recv(t, h.closes, "OnClose")
		reasons[ev.c] = ev.reason
	}
	if reasons[cp] != ReasonServerShutdown || reasons[cw] != ReasonServerShutdown {
		t.Fatalf("reasons %v", reasons)
	}
	if got := w.readText(t); got != "4bye" {
		t.Fatalf("queued packet not flushed: %q", got)
	}
	if op, p := w.mustRead(t); op != opClose || binary.BigEndian.Uint16([]byte(p)) != closeGoingAway {
		t.Fatalf("want close 1001, got %d %q", op, p)
	}
	for _, c := range []*Conn{cp, cw} {
		if err := c.Send(NewTextPacket([]byte("x"))); !errors.Is(err, ErrClosed) {
			t.Fatalf("Send after Close: %v", err)
		}
	}
	if code, _, _ := httpDo(t, "GET", eioURL(hs, "polling", ""), "", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("handshake after Close: %d", code)
	}
	// The next GET collects the close packet; then the session is gone.
	if got := pollGet(t, hs, o.SID); len(got) != 1 || got[0] != "1" {
		t.Fatalf("GET after Close: %q", got)
	}
	if code, _, _ := httpDo(t, "GET", eioURL(hs, "polling", o.SID), "", nil); code != 400 {
		t.Fatalf("second GET after Close: %d", code)
	}
	if st := s.Stats(); st.Open != 0 || st.Opened != 2 || st.Closed != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConnClose(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	_, hs := testServer(t, Config{Handler: h})
	o := pollHandshake(t, hs)
	c := recv(t, h.opens, "OnOpen")
	if err := c.Send(NewTextPacket([]byte("before"))); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	if got := pollGet(t, hs, o.SID); strings.Join(got, "|") != "4before|1" {
		t.Fatalf("GET after Close: %q", got)
	}
	if ev := recv(t, h.closes, "OnClose"); ev.reason != ReasonForcedClose {
		t.Fatalf("reason %q", ev.reason)
	}
	if err := c.Send(NewTextPacket([]byte("x"))); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	select {
	case ev := <-h.closes:
		t.Fatalf("second OnClose %q", ev.reason)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestNewServerValidates(t *testing.T) {
	t.Parallel()
	if _, err := NewServer(Config{}); err == nil {
		t.Fatal("no handler accepted")
	}
	if _, err := NewServer(Config{Handler: newRecorder(t, false), Transports: []string{"flash"}}); err == nil ||
		!strings.Contains(err.Error(), "flash") {
		t.Fatalf("unknown transport: %v", err)
	}
}

func TestUpgradeFailureKeepsPolling(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	s, hs := testServer(t, Config{Handler: h, UpgradeTimeout: 500 * time.Millisecond})
	o := pollHandshake(t, hs)
	c := recv(t, h.opens, "OnOpen")

	// A wrong probe closes the websocket; the session stays on polling.
	w := wsDial(t, hs, o.SID)
	w.text(t, "4not a probe")
	if op, _ := w.mustRead(t); op != opClose {
		t.Fatalf("want close frame, got %d", op)
	}
	// A probe with no upgrade packet times out the same way.
	w2 := wsDial(t, hs, o.SID)
	w2.text(t, "2probe")
	if got := w2.readText(t); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	if op, _ := w2.mustRead(t); op != opClose {
		t.Fatalf("want close frame after the upgrade timeout, got %d", op)
	}
	if err := c.Send(NewTextPacket([]byte("still here"))); err != nil {
		t.Fatal(err)
	}
	if got := pollGet(t, hs, o.SID); len(got) != 1 || got[0] != "4still here" {
		t.Fatalf("GET got %q", got)
	}
	if c.Transport() != "polling" || s.Stats().Upgrades != 0 {
		t.Fatalf("transport %q stats %+v", c.Transport(), s.Stats())
	}
	select {
	case ev := <-h.closes:
		t.Fatalf("session closed: %q", ev.reason)
	default:
	}
}

func TestTransportsAndUpgradesConfig(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	_, hs := testServer(t, Config{Handler: h, DisableUpgrades: true})
	o := pollHandshake(t, hs)
	if len(o.Upgrades) != 0 {
		t.Fatalf("upgrades advertised: %v", o.Upgrades)
	}
	code, _, body := httpDo(t, "GET", eioURL(hs, "websocket", o.SID), "", http.Header{
		"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}})
	if code != 400 || !strings.Contains(body, `"code":3`) {
		t.Fatalf("upgrade with upgrades disabled: %d %s", code, body)
	}

	h2 := newRecorder(t, false)
	_, hs2 := testServer(t, Config{Handler: h2, Transports: []string{"polling"}})
	code, _, body = httpDo(t, "GET", eioURL(hs2, "websocket", ""), "", nil)
	if code != 400 || !strings.Contains(body, `"code":0`) {
		t.Fatalf("websocket on a polling-only server: %d %s", code, body)
	}
	if o := pollHandshake(t, hs2); len(o.Upgrades) != 0 {
		t.Fatalf("polling-only server advertises %v", o.Upgrades)
	}
}

func TestHandlerClosesInsideOnMessage(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	closer := &closingHandler{recorder: h}
	_, hs := testServer(t, Config{Handler: closer})
	w := wsDial(t, hs, "")
	w.readText(t)
	recv(t, h.opens, "OnOpen")
	w.text(t, "4close me")
	w.text(t, "4after")
	if m := recv(t, h.msgs, "message"); m.data != "close me" {
		t.Fatalf("got %q", m.data)
	}
	if ev := recv(t, h.closes, "OnClose"); ev.reason != ReasonForcedClose {
		t.Fatalf("reason %q", ev.reason)
	}
	select {
	case m := <-h.msgs:
		t.Fatalf("message %q delivered after close", m.data)
	case <-time.After(50 * time.Millisecond):
	}
}

// closingHandler closes the connection from inside OnMessage.
type closingHandler struct{ *recorder }

func (h *closingHandler) OnMessage(c *Conn, data []byte, binary bool) {
	h.recorder.OnMessage(c, data, binary)
	c.Close()
}
