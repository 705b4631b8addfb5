package socketio

import (
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sockgate/sockgate/internal/engineio"
)

// The bounds on what one client can make the server hold: each test shows
// a client refused (or paused) after at most the bound, and counted.

func TestAttachmentBytesBounded(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{MaxAttachmentBytes: 10})
	got := make(chan [][]byte, 1)
	s.Of("/").OnConnection(func(so *Socket) {
		so.On("up", func(e *Event) {
			var a, b []byte
			_ = e.Args.Bind(&a, &b)
			got <- [][]byte{a, b}
		})
	})
	f := dial(t, s)
	f.connect("/", "")
	// Exactly the bound is taken.
	f.text(`52-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	f.bin([]byte("12345"))
	f.bin([]byte("67890"))
	if b := await(t, got); string(b[0]) != "12345" || string(b[1]) != "67890" {
		t.Fatalf("got %q", b)
	}
	// One byte more is refused, at the attachment that crosses the bound.
	f.text(`53-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]`)
	f.bin([]byte("12345"))
	f.bin([]byte("678901"))
	f.waitClosed()
	f.bin([]byte("ignored: the client is closed"))
	f.conn.mu.Lock()
	code, text := f.conn.status, f.conn.statusText
	f.conn.mu.Unlock()
	if code != engineio.StatusMessageTooBig || !strings.Contains(text, "attachments above 10 bytes") {
		t.Fatalf("closed with %d %q", code, text)
	}
	if st := s.Stats(); st.AttachmentsRefused != 1 || st.ProtocolErrors != 0 || st.Clients != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAttachmentCountBounded(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{MaxAttachments: 2})
	f := dial(t, s)
	f.connect("/", "")
	f.text(`53-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]`)
	f.waitClosed()
	if f.conn.status != engineio.StatusMessageTooBig || !strings.Contains(f.conn.statusText, "more than 2 attachments") {
		t.Fatalf("closed with %d %q", f.conn.status, f.conn.statusText)
	}
	if st := s.Stats(); st.AttachmentsRefused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBinaryBeforeConnectRefused(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{`51-["up",{"_placeholder":true,"num":0}]`, `61-0[{"_placeholder":true,"num":0}]`} {
		t.Run(typ[:1], func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, Config{})
			f := dial(t, s)
			f.text(typ)
			f.waitClosed()
			if f.conn.status != engineio.StatusPolicyViolation ||
				f.conn.statusText != "binary packet before connecting to a namespace" {
				t.Fatalf("closed with %d %q", f.conn.status, f.conn.statusText)
			}
			if st := s.Stats(); st.EarlyBinary != 1 || st.Clients != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestBinaryForOtherNamespaceDiscarded(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{MaxAttachmentBytes: 10})
	s.Of("/admin")
	events := make(chan string, 2)
	s.Of("/").OnConnection(func(so *Socket) {
		so.On("ev", func(e *Event) { events <- string(e.Args.Raw(0)) })
	})
	f := dial(t, s)
	f.connect("/", "")
	// For /admin, not connected: ignored like any packet for it, and its
	// attachments not kept (but still bounded).
	f.text(`51-/admin,["up",{"_placeholder":true,"num":0}]`)
	f.bin([]byte("123"))
	f.text(`2["ev","after"]`)
	if got := await(t, events); got != `"after"` {
		t.Fatalf("got %s", got)
	}
	f.text(`51-/admin,["up",{"_placeholder":true,"num":0}]`)
	f.bin([]byte("12345678901"))
	f.waitClosed()
	if st := s.Stats(); st.AttachmentsRefused != 1 || st.Unhandled != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEventQueueBytesBounded(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{EventQueueBytes: 100})
	release := make(chan struct{})
	handled := make(chan int, 8)
	s.Of("/").OnConnection(func(so *Socket) {
		so.On("slow", func(e *Event) {
			<-release
			var i int
			_ = e.Args.Bind(nil, &i)
			handled <- i
		})
	})
	f := dial(t, s)
	f.connect("/", "")
	pad := strings.Repeat("x", 50)
	sent := make(chan int, 8)
	go func() {
		for i := range 3 { // ~60 bytes each: the second no longer fits beside the first
			f.text(`2["slow","` + pad + `",` + string(rune('0'+i)) + `]`)
			sent <- i
		}
	}()
	if i := await(t, sent); i != 0 {
		t.Fatal(i)
	}
	// The reader waits with the second event (counted), while the first
	// is being handled.
	waitStat(t, s, func(st Stats) bool { return st.EventQueueWaits == 1 })
	select {
	case i := <-sent:
		t.Fatalf("event %d was taken beyond the byte bound", i)
	default:
	}
	close(release)
	for want := range 3 {
		if i := await(t, handled); i != want {
			t.Fatalf("handled %d, want %d", i, want)
		}
	}
	for range 2 {
		await(t, sent)
	}
	if st := s.Stats(); st.EventQueueWaits < 1 || st.EventQueueWaits > 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBoundsConfigValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{{MaxAttachmentBytes: -1}, {MaxAttachments: -1}, {MaxAttachments: 1001},
		{EventQueueBytes: -1}, {SendQueueBytes: -1}, {HandshakeBurst: -1}, {MaxSessionsPerAddr: -1}} {
		if _, err := newServer(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	c, err := Config{MaxPayload: 1000}.withDefaults()
	if err != nil || c.MaxAttachmentBytes != 1000 || c.EventQueueBytes != 2000 || c.MaxAttachments != 1000 {
		t.Fatalf("defaults %+v %v", c, err)
	}
}

// TestE2EHandshakeLimitAndTooBig: the engine's refusals reach Stats.
func TestE2EHandshakeLimitAndTooBig(t *testing.T) {
	t.Parallel()
	s, base := e2eServer(t, Config{HandshakeRate: 1.0 / 60, HandshakeBurst: 2, MaxPayload: 100})
	c := dialPolling(t, base)
	c.post("4" + strings.Repeat("x", 200))
	c.waitClosed()
	dialPolling(t, base)
	resp, err := http.Get(base + "?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third handshake: %d %s", resp.StatusCode, body)
	}
	waitStat(t, s, func(st Stats) bool { return st.HandshakesLimited == 1 && st.PayloadTooBig == 1 })
}

// TestE2EAttachmentBombOverWebsocket: the refusal reaches the client as a
// close frame with status 1009.
func TestE2EAttachmentBombOverWebsocket(t *testing.T) {
	t.Parallel()
	s, base := e2eServer(t, Config{MaxAttachmentBytes: 1000})
	c := &eioClient{t: t, base: base, msgs: make(chan eioMsg, 16), closed: make(chan struct{})}
	br := c.openWS("")
	if op, data, err := readFrame(br); err != nil || op != 1 || !strings.HasPrefix(string(data), "0{") {
		t.Fatalf("open packet: %q %v", data, err)
	}
	c.text("0")
	c.text(`52-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.bin(make([]byte, 600))
	c.bin(make([]byte, 600))
	for {
		op, p, err := readFrame(br)
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		if op == 0x8 {
			if binary.BigEndian.Uint16(p) != engineio.StatusMessageTooBig {
				t.Fatalf("close %q", p)
			}
			break
		}
	}
	waitStat(t, s, func(st Stats) bool { return st.AttachmentsRefused == 1 && st.Clients == 0 })
}
