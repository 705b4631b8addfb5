package engineio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestHandshakeRateLimit(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	// One token a minute: the burst is all a test can spend.
	s, hs := testServer(t, Config{Handler: h, HandshakeRate: 1.0 / 60, HandshakeBurst: 3})
	for range 3 {
		pollHandshake(t, hs)
		recv(t, h.opens, "OnOpen")
	}
	for _, transport := range []string{"polling", "websocket"} {
		var hdr http.Header
		if transport == "websocket" {
			hdr = http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"},
				"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}
		}
		code, rh, body := httpDo(t, "GET", eioURL(hs, transport, ""), "", hdr)
		if code != http.StatusTooManyRequests {
			t.Fatalf("%s handshake beyond the burst: %d %s", transport, code, body)
		}
		var e errBody
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code != codeForbidden ||
			!strings.Contains(e.Message, "Too many handshakes") {
			t.Fatalf("%s: body %q (%v)", transport, body, err)
		}
		if ra := rh.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("%s: Retry-After %q", transport, ra)
		}
	}
	if st := s.Stats(); st.HandshakesLimited != 2 || st.Opened != 3 {
		t.Fatalf("stats %+v, want 2 limited and 3 opened", st)
	}
}

func TestHandshakeRateLimitOffAndClientAddr(t *testing.T) {
	t.Parallel()
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		s, hs := testServer(t, Config{Handler: newRecorder(t, false), HandshakeRate: -1, HandshakeBurst: 1})
		for range 5 {
			pollHandshake(t, hs)
		}
		if st := s.Stats(); st.HandshakesLimited != 0 || st.Opened != 5 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("ClientAddr", func(t *testing.T) {
		t.Parallel()
		s, hs := testServer(t, Config{Handler: newRecorder(t, false), HandshakeRate: 1.0 / 60, HandshakeBurst: 1,
			ClientAddr: func(r *http.Request) string { return r.Header.Get("X-Client") }})
		for _, c := range []string{"a", "b", ""} { // "" is not limited
			for i := range 2 {
				code, _, body := httpDo(t, "GET", eioURL(hs, "polling", ""), "", http.Header{"X-Client": {c}})
				want := http.StatusOK
				if c != "" && i == 1 {
					want = http.StatusTooManyRequests
				}
				if code != want {
					t.Fatalf("client %q, handshake %d: %d %s, want %d", c, i, code, body, want)
				}
			}
		}
		// a and b each had one token: one refusal each.
		if st := s.Stats(); st.HandshakesLimited != 2 || st.Opened != 4 {
			t.Fatalf("stats %+v, want 2 limited, 4 opened", st)
		}
	})
}

func TestMaxSessionsPerAddr(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	s, hs := testServer(t, Config{Handler: h, HandshakeRate: -1, MaxSessionsPerAddr: 2})
	pollHandshake(t, hs)
	c1 := recv(t, h.opens, "OnOpen 1")
	w := wsDial(t, hs, "")
	w.readText(t)
	recv(t, h.opens, "OnOpen 2")
	code, _, body := httpDo(t, "GET", eioURL(hs, "polling", ""), "", nil)
	if code != http.StatusTooManyRequests || !strings.Contains(body, "Too many sessions") {
		t.Fatalf("third session: %d %s", code, body)
	}
	if st := s.Stats(); st.SessionsLimited != 1 || st.Open != 2 {
		t.Fatalf("stats %+v", st)
	}
	// A closed session frees its slot.
	c1.Close()
	recv(t, h.closes, "OnClose 1")
	pollHandshake(t, hs)
	if st := s.Stats(); st.SessionsLimited != 1 || st.Open != 2 {
		t.Fatalf("stats after a slot was freed %+v", st)
	}
}

func TestAddrLimiterForgetsIdleAddresses(t *testing.T) {
	t.Parallel()
	l := newAddrLimiter(10, 5, 0)
	now := time.Now()
	for i := range 100 {
		if why, _ := l.admit(string(rune('a'+i%26))+strings.Repeat("x", i), now); why != admitted {
			t.Fatalf("admit %d: %v", i, why)
		}
	}
	for i := range 100 {
		l.release(string(rune('a'+i%26)) + strings.Repeat("x", i))
	}
	// After the sweep interval the buckets are full again and hold no
	// session: the next admission sweeps them all but its own.
	if why, _ := l.admit("new", now.Add(limitSweepEvery)); why != admitted {
		t.Fatal(why)
	}
	if n := l.size(); n != 1 {
		t.Fatalf("%d addresses tracked after the sweep, want 1", n)
	}
}

func TestRemoteIP(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.7:5555":            "192.0.2.7",
		"[2001:db8:1:2:3::9]:443":   "2001:db8:1:2::/64",
		"[::ffff:192.0.2.8]:80":     "192.0.2.8",
		"pipe":                      "pipe",
		"[2001:db8:1:2:ffff::]:443": "2001:db8:1:2::/64",
	} {
		if got := RemoteIP(&http.Request{RemoteAddr: in}); got != want {
			t.Errorf("RemoteIP(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewServerValidatesLimits(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	for _, cfg := range []Config{
		{Handler: h, SendQueueBytes: -1}, {Handler: h, HandshakeBurst: -1}, {Handler: h, MaxSessionsPerAddr: -1},
	} {
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestSendQueueBytes(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	s, hs := testServer(t, Config{Handler: h, SendQueueBytes: 1000})
	pollHandshake(t, hs) // nobody polls: everything stays queued
	c := recv(t, h.opens, "OnOpen")
	p := NewTextPacket([]byte(strings.Repeat("a", 400)))
	for range 2 {
		if err := c.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send(p); !errors.Is(err, ErrQueueFull) || !strings.Contains(err.Error(), "800 bytes waiting") {
		t.Fatalf("third 400-byte packet: %v", err)
	}
	if ev := recv(t, h.closes, "OnClose"); ev.reason != ReasonSlowClient {
		t.Fatalf("reason %q", ev.reason)
	}
	if st := s.Stats(); st.SlowClosed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSendQueueBytesTakesOneBigBatch(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	_, hs := testServer(t, Config{Handler: h, SendQueueBytes: 10})
	pollHandshake(t, hs)
	c := recv(t, h.opens, "OnOpen")
	if err := c.Send(NewTextPacket([]byte(strings.Repeat("a", 100)))); err != nil {
		t.Fatalf("a batch above the bound on an empty queue: %v", err)
	}
}

func TestTooBigCounted(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	s, hs := testServer(t, Config{Handler: h, MaxPayload: 100})
	o := pollHandshake(t, hs)
	if code, _ := pollPost(t, hs, o.SID, "4"+strings.Repeat("z", 150)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", code)
	}
	recv(t, h.closes, "OnClose")
	if st := s.Stats(); st.TooBig != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseFrameValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		payload []byte
		code    uint16
		reason  string
	}{
		{"empty", nil, closeNormal, ReasonTransportClose},
		{"1-byte payload", []byte{0x03}, closeProtocolError, ReasonParseError},
		{"1000 with reason", append([]byte{0x03, 0xe8}, "bye"...), closeNormal, ReasonTransportClose},
		{"4000 (application)", []byte{0x0f, 0xa0}, 4000, ReasonTransportClose},
		{"999", []byte{0x03, 0xe7}, closeProtocolError, ReasonParseError},
		{"1005 (reserved)", []byte{0x03, 0xed}, closeProtocolError, ReasonParseError},
		{"1015 (reserved)", []byte{0x03, 0xf7}, closeProtocolError, ReasonParseError},
		{"2999", []byte{0x0b, 0xb7}, closeProtocolError, ReasonParseError},
		{"5000", []byte{0x13, 0x88}, closeProtocolError, ReasonParseError},
		{"bad utf-8 reason", []byte{0x03, 0xe8, 0xce, 0xba, 0xe1, 0xbd}, closeInvalidData, ReasonParseError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newRecorder(t, false)
			s, hs := testServer(t, Config{Handler: h})
			w := wsDial(t, hs, "")
			w.readText(t)
			w.nc.Write(frameBytes(true, opClose, tc.payload))
			for {
				op, p := w.mustRead(t)
				if op != opClose {
					continue
				}
				if len(p) < 2 || binary.BigEndian.Uint16([]byte(p)) != tc.code {
					t.Fatalf("answered %q, want close code %d", p, tc.code)
				}
				break
			}
			if ev := recv(t, h.closes, "OnClose"); ev.reason != tc.reason {
				t.Fatalf("reason %q, want %q", ev.reason, tc.reason)
			}
			want := uint64(0)
			if tc.reason == ReasonParseError {
				want = 1
			}
			if s.Stats().ProtocolErrors != want {
				t.Fatalf("ProtocolErrors %d, want %d", s.Stats().ProtocolErrors, want)
			}
		})
	}
}

func TestCloseWithStatus(t *testing.T) {
	t.Parallel()
	h := newRecorder(t, false)
	_, hs := testServer(t, Config{Handler: h})
	w := wsDial(t, hs, "")
	w.readText(t)
	c := recv(t, h.opens, "OnOpen")
	c.CloseWithStatus(StatusMessageTooBig, "attachments above 10 bytes")
	op, p := w.mustRead(t)
	if op != opClose || binary.BigEndian.Uint16([]byte(p)) != StatusMessageTooBig || p[2:] != "attachments above 10 bytes" {
		t.Fatalf("got op %d %q", op, p)
	}
	if ev := recv(t, h.closes, "OnClose"); ev.reason != ReasonForcedClose {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestCloseFrameTextCutAtCharacter(t *testing.T) {
	t.Parallel()
	f := closeFrame(closePolicy, strings.Repeat("é", 100)) // 200 bytes
	text := f[4:]
	if len(text) != 122 || !strings.HasPrefix(string(text), "é") {
		t.Fatalf("text of %d bytes: %q", len(text), text)
	}
}

// TestPollingPacketsDoNotPinTheBody: each message of a multi-packet POST
// body is its own copy, so that a handler keeping a small one does not
// keep the whole body (which the Socket.IO layer could not account for).
func TestPollingPacketsDoNotPinTheBody(t *testing.T) {
	t.Parallel()
	s, err := newServer(Config{Handler: nopHandler{}})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	s.cfg.Handler = handlerFunc(func(data []byte) { got = append(got, data) })
	c := s.newConn(&http.Request{}, "")
	body := []byte("4small\x1e4" + strings.Repeat("x", 1000))
	if err := c.onPayload(body); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0]) != "small" {
		t.Fatalf("got %q", got)
	}
	for i := range body {
		if &body[i] == &got[0][0] || &body[i] == &got[1][0] {
			t.Fatal("a message aliases the body")
		}
	}
}

// handlerFunc is a Handler that passes each message to fn.
type handlerFunc func(data []byte)

func (f handlerFunc) OnOpen(*Conn)                        {}
func (f handlerFunc) OnMessage(_ *Conn, d []byte, _ bool) { f(d) }
func (f handlerFunc) OnClose(*Conn, string)               {}

// TestClosedReaderDropsDataUnallocated: once the session is closed the
// reader reads on only for the client's close frame; data frames are
// dropped through a scratch buffer, never allocated.
func TestClosedReaderDropsDataUnallocated(t *testing.T) {
	big := frameBytes(true, opBinary, make([]byte, 4<<20))
	in := append(append(append([]byte{}, big...), frameBytes(true, opText, []byte("4hi"))...),
		frameBytes(true, opClose, []byte{0x03, 0xe8})...)
	rd := &wsReader{src: bytes.NewReader(in), maxPayload: 8 << 20, discard: true}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := rd.next()
	runtime.ReadMemStats(&after)
	if err != nil || f.op != opClose || string(f.payload) != "\x03\xe8" {
		t.Fatalf("got op %d %q, %v; want the close frame", f.op, f.payload, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("%d bytes allocated to drop a 4 MB frame", n)
	}
}
