package socketio

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockgate/sockgate/auth"
)

// fakeClock is the clock of a token verifier and the timers of socket
// expiries: time moves only with advance, which fires the due timers in
// the caller's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]struct{}
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	f  func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1767225600, 0), timers: map[*fakeTimer]struct{}{}}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) afterFunc(d time.Duration, f func()) tokenTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers[t] = struct{}{}
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, ok := t.c.timers[t]
	delete(t.c.timers, t)
	return ok
}

// advance moves the clock by d and fires the timers due by then.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t)
			delete(c.timers, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// armed returns how many timers wait to fire.
func (c *fakeClock) armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// tokenSetup is a server whose "/" uses TokenAuthWith on a fake clock,
// and a client connected as alice with a token valid for a minute.
type tokenSetup struct {
	s       *Server
	f       *fake
	so      *Socket
	clk     *fakeClock
	v       *auth.HMAC
	start   time.Time
	reasons chan string
}

func newTokenSetup(t *testing.T, expire bool) *tokenSetup {
	t.Helper()
	clk := newFakeClock()
	v, err := auth.NewHMAC([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	v = v.WithClock(clk.Now)
	s := newTestServer(t, Config{})
	s.Of("/").Use(TokenAuthWith(TokenAuthConfig{Verifier: v, Expire: expire, afterFunc: clk.afterFunc}))
	conns := connected(s.Of("/"))
	tok, err := v.Mint("alice", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	f := dial(t, s)
	f.connect("/", `{"token":"`+tok+`"}`)
	so := await(t, conns)
	reasons := make(chan string, 2)
	so.OnDisconnect(func(r string) { reasons <- r })
	return &tokenSetup{s: s, f: f, so: so, clk: clk, v: v, start: clk.Now(), reasons: reasons}
}

// mint returns a token for user, issued now on the fake clock.
func (ts *tokenSetup) mint(t *testing.T, user string, ttl time.Duration) string {
	t.Helper()
	tok, err := ts.v.Mint(user, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// refresh sends TokenRefreshEvent with arguments args (JSON) and ack id
// and returns the ack's argument.
func (ts *tokenSetup) refresh(t *testing.T, id int, args string) tokenRefreshAck {
	t.Helper()
	ts.f.text(fmt.Sprintf(`2%d["%s"%s]`, id, TokenRefreshEvent, args))
	got := ts.f.nextText()
	pfx := fmt.Sprintf("3%d", id)
	if !strings.HasPrefix(got, pfx) {
		t.Fatalf("got %q, want the ack %s[...]", got, pfx)
	}
	var ack []tokenRefreshAck
	if err := json.Unmarshal([]byte(got[len(pfx):]), &ack); err != nil || len(ack) != 1 {
		t.Fatalf("ack %q: %v", got, err)
	}
	return ack[0]
}

// expectExpired checks that the client got TokenExpiredEvent for exp and
// then DISCONNECT, and that the disconnect handlers got the reason.
func (ts *tokenSetup) expectExpired(t *testing.T, exp time.Time) {
	t.Helper()
	ts.f.expect(fmt.Sprintf(`2["%s",{"reason":"token expired","expires":%d}]`, TokenExpiredEvent, exp.Unix()))
	ts.f.expect("1")
	if r := await(t, ts.reasons); r != ReasonTokenExpired {
		t.Fatalf("disconnect reason %q, want %q", r, ReasonTokenExpired)
	}
	if n := ts.clk.armed(); n != 0 {
		t.Fatalf("%d timers still armed after the expiry", n)
	}
}

// expectConnected checks that nothing was sent and the socket is still
// connected.
func (ts *tokenSetup) expectConnected(t *testing.T, when string) {
	t.Helper()
	if n := ts.f.pending(); n != 0 {
		t.Fatalf("%s: %d packets sent, the first %q", when, n, ts.f.nextText())
	}
	if st := ts.s.Stats(); st.Connected != 1 || st.TokenExpiries != 0 || len(ts.reasons) != 0 {
		t.Fatalf("%s: socket not connected any more (stats %+v)", when, st)
	}
}

func TestTokenExpiryDisconnects(t *testing.T) {
	t.Parallel()
	ts := newTokenSetup(t, true)
	exp := ts.start.Add(time.Minute)
	if got := ts.so.TokenExpires(); !got.Equal(exp) {
		t.Fatalf("TokenExpires %s, want %s", got, exp)
	}
	if n := ts.clk.armed(); n != 1 {
		t.Fatalf("%d timers armed, want 1", n)
	}
	ts.clk.advance(time.Minute + auth.Leeway - time.Second)
	ts.expectConnected(t, "a second before exp+Leeway")
	ts.clk.advance(time.Second)
	ts.expectExpired(t, exp)
	if st := ts.s.Stats(); st.TokenExpiries != 1 || st.Connected != 0 || st.Disconnects != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTokenRefreshExtends(t *testing.T) {
	t.Parallel()
	ts := newTokenSetup(t, true)
	unhandled := make(chan string, 1)
	ts.so.On(TokenRefreshEvent, func(e *Event) { unhandled <- e.Name })

	ts.clk.advance(30 * time.Second)
	exp2 := ts.clk.Now().Add(2 * time.Minute)
	ack := ts.refresh(t, 1, `,"`+ts.mint(t, "alice", 2*time.Minute)+`"`)
	if !ack.OK || ack.Expires != exp2.Unix() || ack.Error != "" {
		t.Fatalf("ack %+v, want ok with expires %d", ack, exp2.Unix())
	}
	if got := ts.so.TokenExpires(); !got.Equal(exp2) {
		t.Fatalf("TokenExpires %s, want %s", got, exp2)
	}
	if n := ts.clk.armed(); n != 1 {
		t.Fatalf("%d timers armed after the refresh, want 1 (the old one stopped)", n)
	}
	ts.clk.advance(time.Minute) // well past the first token's exp+Leeway
	ts.expectConnected(t, "past the first token's expiry")

	// A refresh without an ack request works too, silently.
	exp3 := ts.clk.Now().Add(3 * time.Minute)
	ts.f.text(`2["` + TokenRefreshEvent + `","` + ts.mint(t, "alice", 3*time.Minute) + `"]`)
	if got := ts.so.TokenExpires(); !got.Equal(exp3) {
		t.Fatalf("TokenExpires %s after a refresh without ack, want %s", got, exp3)
	}
	ts.clk.advance(2*time.Minute + auth.Leeway) // past the second token's
	ts.expectConnected(t, "past the second token's expiry")
	ts.clk.advance(time.Minute)
	ts.expectExpired(t, exp3)
	if st := ts.s.Stats(); st.TokenRefreshes != 2 || st.TokenRefreshRefused != 0 || st.TokenExpiries != 1 || st.Unhandled != 0 {
		t.Fatalf("stats %+v", st)
	}
	if len(unhandled) != 0 {
		t.Fatal("the refresh event reached the socket's handler")
	}
}

func TestTokenRefreshRefused(t *testing.T) {
	t.Parallel()
	ts := newTokenSetup(t, true)
	other, err := auth.NewHMAC([]byte(strings.Repeat("o", 32)))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.WithClock(ts.clk.Now).Mint("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := ts.v.WithClock(func() time.Time { return ts.start.Add(-time.Hour) }).Mint("alice", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, args, want string
	}{
		{"wrong user", `,"` + ts.mint(t, "bob", time.Hour) + `"`, `the token names user "bob", the socket's user is "alice"`},
		{"bad signature", `,"` + forged + `"`, "auth: invalid signature"},
		{"expired", `,"` + stale + `"`, "auth: token expired or not yet valid: expired at"},
		{"garbage", `,"garbage"`, "auth: malformed token"},
		{"not a string", `,42`, "want one argument, the new token as a string"},
		{"no argument", ``, "want one argument, the new token as a string"},
		{"two arguments", `,"` + ts.mint(t, "alice", time.Hour) + `","x"`, "want one argument, the new token as a string"},
	}
	for i, c := range cases {
		ack := ts.refresh(t, i+1, c.args)
		if ack.OK || ack.Expires != 0 || !strings.HasPrefix(ack.Error, ErrTokenRefused.Error()+": ") || !strings.Contains(ack.Error, c.want) {
			t.Errorf("%s: ack %+v, want a refusal naming %q", c.name, ack, c.want)
		}
		if got := ts.so.TokenExpires(); !got.Equal(ts.start.Add(time.Minute)) {
			t.Fatalf("%s: TokenExpires changed to %s", c.name, got)
		}
	}
	if st := ts.s.Stats(); st.TokenRefreshRefused != uint64(len(cases)) || st.TokenRefreshes != 0 || st.Unhandled != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The socket kept its first token's expiry.
	ts.clk.advance(time.Minute + auth.Leeway)
	ts.expectExpired(t, ts.start.Add(time.Minute))
}

func TestTokenExpiryTimerStoppedOnDisconnect(t *testing.T) {
	t.Parallel()
	ts := newTokenSetup(t, true)
	if n := ts.clk.armed(); n != 1 {
		t.Fatalf("%d timers armed, want 1", n)
	}
	ts.f.text("1")
	if r := await(t, ts.reasons); r != "client namespace disconnect" {
		t.Fatalf("reason %q", r)
	}
	if n := ts.clk.armed(); n != 0 {
		t.Fatalf("%d timers still armed after the disconnect", n)
	}
	// A refresh for a namespace no longer connected is ignored.
	ts.f.text(`21["` + TokenRefreshEvent + `","` + ts.mint(t, "alice", time.Hour) + `"]`)
	if n := ts.clk.armed(); n != 0 || ts.f.pending() != 0 {
		t.Fatalf("refresh after disconnect: %d timers, %d packets", n, ts.f.pending())
	}
	if st := ts.s.Stats(); st.TokenExpiries != 0 || st.TokenRefreshes != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTokenRefreshWithoutExpire(t *testing.T) {
	t.Parallel()
	ts := newTokenSetup(t, false)
	if n := ts.clk.armed(); n != 0 {
		t.Fatalf("%d timers armed without Expire", n)
	}
	exp2 := ts.clk.Now().Add(time.Hour)
	if ack := ts.refresh(t, 1, `,"`+ts.mint(t, "alice", time.Hour)+`"`); !ack.OK || ack.Expires != exp2.Unix() {
		t.Fatalf("ack %+v", ack)
	}
	if ack := ts.refresh(t, 2, `,"`+ts.mint(t, "bob", time.Hour)+`"`); ack.OK {
		t.Fatalf("another user's token accepted without Expire: %+v", ack)
	}
	ts.clk.advance(2 * time.Hour)
	ts.expectConnected(t, "past every token's expiry, without Expire")
	if st := ts.s.Stats(); st.TokenRefreshes != 1 || st.TokenRefreshRefused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTokenRefreshEventIsOrdinaryWithoutTokenAuth(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	got := make(chan string, 1)
	s.Of("/").OnConnection(func(so *Socket) {
		so.On(TokenRefreshEvent, func(e *Event) {
			var v string
			_ = e.Args.Bind(&v)
			got <- v
		})
	})
	f := dial(t, s)
	f.connect("/", "")
	f.text(`2["` + TokenRefreshEvent + `","x"]`)
	if v := await(t, got); v != "x" {
		t.Fatalf("handler got %q", v)
	}
	if so := s.Of("/"); so.RoomSize("user:") != 0 {
		t.Fatal("a user room was joined")
	}
}

func TestTokenAuthWithPanicsWithoutVerifier(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	TokenAuthWith(TokenAuthConfig{Expire: true})
}

// BenchmarkTokenExpiryTimer arms the expiry of b.N sockets (real runtime
// timers, an hour away, all held at once) and stops them, as 10k+
// connected sockets with Expire would: it reports the time and heap per
// armed socket.
func BenchmarkTokenExpiryTimer(b *testing.B) {
	v, err := auth.NewHMAC([]byte(strings.Repeat("k", 32)))
	if err != nil {
		b.Fatal(err)
	}
	cfg := &TokenAuthConfig{Verifier: v, Expire: true,
		afterFunc: func(d time.Duration, f func()) tokenTimer { return time.AfterFunc(d, f) }}
	expires := time.Now().Add(time.Hour)
	sock := &Socket{}
	toks := make([]*socketToken, b.N)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range toks {
		t := &socketToken{cfg: cfg, user: "u", expires: expires}
		t.start(sock)
		toks[i] = t
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heapB/socket")
	b.StartTimer()
	for _, t := range toks {
		t.stop()
	}
}
