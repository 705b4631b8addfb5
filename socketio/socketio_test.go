package socketio

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/internal/engineio"
)

// connected returns a channel receiving the namespace's new sockets.
func connected(n *Namespace) <-chan *Socket {
	ch := make(chan *Socket, 64)
	n.OnConnection(func(s *Socket) { ch <- s })
	return ch
}

func TestConnectAndEvents(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	events := make(chan *Event, 4)
	s.Of("/").OnConnection(func(so *Socket) {
		so.On("hello", func(e *Event) { events <- e })
	})
	f := dial(t, s)
	sid := f.connect("/", "")
	if len(sid) != 20 || sid == f.conn.id {
		t.Fatalf("sid %q: want 20 chars, not the engine id", sid)
	}
	f.text(`2["hello","world",{"n":1}]`)
	e := await(t, events)
	var w string
	var obj struct{ N int }
	if err := e.Args.Bind(&w, &obj); err != nil || w != "world" || obj.N != 1 || e.Name != "hello" || e.WantsAck() {
		t.Fatalf("event %+v: %q %+v %v", e, w, obj, err)
	}
	if e.Socket.ID() != sid || e.Args.Len() != 2 || string(e.Args.Raw(1)) != `{"n":1}` || e.Args.Raw(2) != nil {
		t.Fatalf("socket/args mismatch")
	}
	if err := e.Args.Bind(nil, nil, &w); !errors.Is(err, ErrArgs) {
		t.Fatalf("Bind too many: %v", err)
	}
	if err := e.Args.Bind(new(int)); !errors.Is(err, ErrArgs) || !strings.Contains(err.Error(), "argument 0") {
		t.Fatalf("Bind wrong type: %v", err)
	}
	if err := e.Ack(); !errors.Is(err, ErrNoAck) {
		t.Fatalf("Ack without request: %v", err)
	}
	if err := e.Socket.Emit("greet", "you", 2); err != nil {
		t.Fatal(err)
	}
	f.expect(`2["greet","you",2]`)
	// unhandled events are counted
	f.text(`2["nobody"]`)
	f.text(`2["hello"]`)
	await(t, events)
	if st := s.Stats(); st.Unhandled != 1 || st.Connected != 1 || st.Connects != 1 || st.Clients != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNamespaces(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	admin := connected(s.Of("admin"))
	f := dial(t, s)
	f.connect("/admin", "")
	so := await(t, admin)
	if so.Namespace().Name() != "/admin" || so.Handshake().Namespace != "/admin" {
		t.Fatalf("namespace %q", so.Namespace().Name())
	}
	got := make(chan string, 1)
	so.On("x", func(e *Event) { got <- e.Name })
	f.text(`2/admin,["x"]`)
	if await(t, got) != "x" {
		t.Fatal("event")
	}
	so.Emit("y", 1)
	f.expect(`2/admin,["y",1]`)
	s.Of("/admin").Emit("all")
	f.expect(`2/admin,["all"]`)
	// unknown namespace
	f.text(`0/nope,`)
	f.expect(`4/nope,{"message":"Invalid namespace"}`)
	// the main namespace too, on the same connection
	f.connect("/", `{}`)
	if st := s.Stats(); st.Connected != 2 || st.Refused != 1 || st.Clients != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMiddlewares(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	var order []string
	var mu sync.Mutex
	n := s.Of("/")
	n.Use(func(ctx context.Context, hs *Handshake) error {
		mu.Lock()
		order = append(order, "a")
		mu.Unlock()
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		var a struct{ Name string }
		if err := hs.BindAuth(&a); err != nil {
			return err
		}
		switch a.Name {
		case "refuse":
			return &ConnectError{Message: "go away", Data: map[string]int{"code": 7}}
		case "plain":
			return errors.New("plain refusal")
		case "panic":
			panic("boom")
		}
		hs.SetUser(a.Name)
		hs.Join("extra")
		return nil
	})
	n.Use(func(ctx context.Context, hs *Handshake) error {
		mu.Lock()
		order = append(order, "b")
		mu.Unlock()
		if hs.Request == nil || hs.User() == "" {
			return errors.New("second middleware ran without the first's user")
		}
		return nil
	})
	conns := connected(n)

	f := dial(t, s)
	f.text(`0{"Name":"refuse"}`)
	f.expect(`4{"message":"go away","data":{"code":7}}`)
	f.text(`0{"Name":"plain"}`)
	f.expect(`4{"message":"plain refusal"}`)
	f.text(`0`)
	f.expect(`4{"message":"socketio: handshake has no auth payload"}`)
	f.text(`0{"Name":"panic"}`)
	f.expect(`4{"message":"internal error"}`)
	sid := f.connect("/", `{"Name":"42"}`)
	so := await(t, conns)
	if so.UserID() != "42" || so.ID() != sid {
		t.Fatalf("user %q", so.UserID())
	}
	want := []string{sid, "extra", "user:42"}
	if got := so.Rooms(); fmt.Sprint(got) != fmt.Sprint(sortedCopy(want)) {
		t.Fatalf("rooms %v, want %v", got, want)
	}
	mu.Lock()
	if got := strings.Join(order, ""); got != "aaaaab" {
		t.Errorf("middleware order %q", got)
	}
	mu.Unlock()
	if st := s.Stats(); st.Refused != 4 || st.Connects != 1 || st.HandlerPanics != 1 {
		t.Fatalf("stats %+v", st)
	}
	// the user room reaches the socket
	n.To("user:42").Emit("to-user", "x")
	f.expect(`2["to-user","x"]`)
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestUserRoomConfig(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{UserRoom: func(id string) string { return "u/" + id }})
	s.Of("/").Use(func(_ context.Context, hs *Handshake) error { hs.SetUser("7"); return nil })
	conns := connected(s.Of("/"))
	f := dial(t, s)
	f.connect("/", "")
	so := await(t, conns)
	if s.Of("/").RoomSize("u/7") != 1 || so.UserID() != "7" {
		t.Fatal("custom user room not joined")
	}
}

func TestTokenAuth(t *testing.T) {
	t.Parallel()
	v, err := auth.NewHMAC([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := auth.NewHMAC([]byte(strings.Repeat("o", 32)))
	s := newTestServer(t, Config{})
	s.Of("/").Use(TokenAuth(v))
	conns := connected(s.Of("/"))
	good, _ := v.Mint("alice", time.Hour)
	forged, _ := other.Mint("alice", time.Hour)

	f := dial(t, s)
	for _, a := range []string{"", `{}`, `{"token":""}`, `{"token":"garbage"}`, `{"token":"` + forged + `"}`, `{"token":7}`} {
		f.text("0" + a)
		f.expect(`4{"message":"unauthorized"}`)
	}
	f.connect("/", `{"token":"`+good+`"}`)
	so := await(t, conns)
	if so.UserID() != "alice" || s.Of("/").RoomSize("user:alice") != 1 {
		t.Fatalf("user %q", so.UserID())
	}
}

// TestTokenAuthKeySet: TokenAuth takes any auth.Verifier; a KeySet with an
// Ed25519 key and the user in "uid" sets the socket's user from that
// claim, and a token signed by another key is refused.
func TestTokenAuthKeySet(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	key, err := auth.PublicKey("k1", pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewKeySet(auth.KeySetConfig{Keys: []auth.Key{key}, UserClaim: "uid"})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(k ed25519.PrivateKey) string {
		now := time.Now().Unix()
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"uid": "bob", "sub": "x", "iat": now, "exp": now + 600})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := newTestServer(t, Config{})
	s.Of("/").Use(TokenAuth(v))
	conns := connected(s.Of("/"))
	f := dial(t, s)
	f.text(`0{"token":"` + mint(otherPriv) + `"}`)
	f.expect(`4{"message":"unauthorized"}`)
	f.connect("/", `{"token":"`+mint(priv)+`"}`)
	so := await(t, conns)
	if so.UserID() != "bob" || s.Of("/").RoomSize("user:bob") != 1 {
		t.Fatalf("user %q", so.UserID())
	}
}

func TestUnknownNamespaceAndDuplicateConnect(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	f := dial(t, s)
	f.text(`0/x,{"a":1}`)
	f.expect(`4/x,{"message":"Invalid namespace"}`)
	sid := f.connect("/", "")
	if sid2 := f.connect("/", ""); sid2 != sid {
		t.Fatalf("second CONNECT got a new sid %q != %q", sid2, sid)
	}
	if st := s.Stats(); st.Connected != 1 {
		t.Fatalf("connected %d", st.Connected)
	}
}

func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{ConnectTimeout: 20 * time.Millisecond})
	f := dial(t, s)
	f.waitClosed()
	if st := s.Stats(); st.ConnectTimeouts != 1 || st.Clients != 0 {
		t.Fatalf("stats %+v", st)
	}
	// a client that connects in time stays
	s2 := newTestServer(t, Config{ConnectTimeout: 50 * time.Millisecond})
	g := dial(t, s2)
	g.connect("/", "")
	time.Sleep(100 * time.Millisecond) // the timeout must not fire; nothing to await
	g.conn.mu.Lock()
	closed := g.conn.closed
	g.conn.mu.Unlock()
	if closed || s2.Stats().ConnectTimeouts != 0 {
		t.Fatal("connected client closed by the connect timeout")
	}
}

func TestEmitRefusesBadPayloadAndReservedNames(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	conns := connected(s.Of("/"))
	f := dial(t, s)
	f.connect("/", "")
	so := await(t, conns)
	ch := make(chan int)
	bad := []struct {
		args []any
		want string
	}{
		{[]any{mathNaN()}, "NaN"},
		{[]any{map[string]any{"p": mathInf()}}, "Inf"},
		{[]any{1, ch}, "chan int"},
		{[]any{struct{ C chan int }{ch}}, "chan int"},
	}
	n := s.Of("/")
	for _, b := range bad {
		for name, emit := range map[string]func() error{
			"socket":    func() error { return so.Emit("e", b.args...) },
			"namespace": func() error { return n.Emit("e", b.args...) },
			"room":      func() error { return n.To(so.ID()).Emit("e", b.args...) },
			"ack": func() error {
				_, err := so.EmitWithAck(context.Background(), "e", b.args...)
				return err
			},
		} {
			err := emit()
			if !errors.Is(err, ErrPayload) || !strings.Contains(err.Error(), b.want) {
				t.Errorf("%s emit %v: err = %v, want ErrPayload naming %s", name, b.args, err, b.want)
			}
		}
	}
	for _, r := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if err := so.Emit(r); !errors.Is(err, ErrReservedEvent) {
			t.Errorf("emit %q: %v", r, err)
		}
		if err := n.Emit(r); !errors.Is(err, ErrReservedEvent) {
			t.Errorf("namespace emit %q: %v", r, err)
		}
	}
	if f.pending() != 0 {
		t.Fatalf("%d packets reached the wire", f.pending())
	}
	if so.pendingAcks() != 0 {
		t.Fatalf("%d ack entries left", so.pendingAcks())
	}
	if st := s.Stats(); st.EmitErrors != uint64(len(bad)*4+12) {
		t.Fatalf("EmitErrors %d", st.EmitErrors)
	}
}

func TestBinaryBothWays(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	events := make(chan *Event, 1)
	s.Of("/").OnConnection(func(so *Socket) { so.On("up", func(e *Event) { events <- e }) })
	f := dial(t, s)
	f.connect("/", "")
	f.text(`52-3["up",{"_placeholder":true,"num":0},{"meta":"m","data":{"_placeholder":true,"num":1}}]`)
	f.bin([]byte{0, 1, 2})
	f.bin([]byte("second"))
	e := await(t, events)
	var top []byte
	var nested struct {
		Meta string
		Data []byte
	}
	if err := e.Args.Bind(&top, &nested); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(top, []byte{0, 1, 2}) || string(nested.Data) != "second" || nested.Meta != "m" {
		t.Fatalf("bound %v %+v", top, nested)
	}
	if b, ok := e.Args.Bytes(0); !ok || len(b) != 3 {
		t.Fatal("Bytes(0)")
	}
	if _, ok := e.Args.Bytes(1); ok {
		t.Fatal("Bytes(1) is not a top-level attachment")
	}
	// binary ack answer
	if err := e.Ack([]byte{9}, "t"); err != nil {
		t.Fatal(err)
	}
	f.expect(`61-3[{"_placeholder":true,"num":0},"t"]`)
	if p := f.next(); !p.Binary() || !bytes.Equal(p.Data(), []byte{9}) {
		t.Fatalf("attachment %v", p)
	}
	if err := e.Ack(); !errors.Is(err, ErrNoAck) {
		t.Fatalf("second Ack: %v", err)
	}
	// server to client, nested
	so := e.Socket
	if err := so.Emit("down", map[string]any{"a": []any{[]byte("x")}}, []byte("y")); err != nil {
		t.Fatal(err)
	}
	f.expect(`52-["down",{"a":[{"_placeholder":true,"num":0}]},{"_placeholder":true,"num":1}]`)
	if a, b := f.next(), f.next(); string(a.Data()) != "x" || string(b.Data()) != "y" || !a.Binary() {
		t.Fatal("attachments out of order")
	}
}

func TestBinaryProtocolErrors(t *testing.T) {
	t.Parallel()
	for name, steps := range map[string][]string{
		"binary without header":     {"B:x"},
		"text while attachments":    {`51-["a",{"_placeholder":true,"num":0}]`, `2["b"]`},
		"placeholder out of range":  {`51-["a",{"_placeholder":true,"num":3}]`, "B:x"},
		"unused attachment":         {`52-["a",{"_placeholder":true,"num":0}]`, "B:x", "B:y"},
		"not socket.io":             {"hello"},
		"reserved event":            {`2["disconnect"]`},
		"connect_error from client": {`4{"message":"x"}`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, Config{})
			reasons := make(chan string, 1)
			s.Of("/").OnConnection(func(so *Socket) { so.OnDisconnect(func(r string) { reasons <- r }) })
			f := dial(t, s)
			f.connect("/", "")
			for _, st := range steps {
				if b, ok := strings.CutPrefix(st, "B:"); ok {
					f.bin([]byte(b))
				} else {
					f.text(st)
				}
			}
			if r := await(t, reasons); r != engineio.ReasonParseError {
				t.Fatalf("reason %q", r)
			}
			f.waitClosed()
			if st := s.Stats(); st.ProtocolErrors != 1 || st.Connected != 0 || st.Clients != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestAcksFromClient(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	s.Of("/").OnConnection(func(so *Socket) {
		so.On("sum", func(e *Event) {
			var a, b int
			if err := e.Args.Bind(&a, &b); err != nil {
				e.Ack("error", err.Error())
				return
			}
			if !e.WantsAck() {
				panic("no ack wanted")
			}
			go e.Ack(a + b) // from another goroutine
		})
	})
	f := dial(t, s)
	f.connect("/", "")
	f.text(`2123["sum",2,3]`)
	f.expect(`3123[5]`)
}

func TestEmitWithAck(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	conns := connected(s.Of("/"))
	f := dial(t, s)
	f.connect("/", "")
	so := await(t, conns)

	type result struct {
		a   *Args
		err error
	}
	res := make(chan result, 1)
	go func() {
		a, err := so.EmitWithAck(context.Background(), "q", 1)
		res <- result{a, err}
	}()
	f.expect(`20["q",1]`)
	f.text(`30["answer",{"x":2}]`)
	r := await(t, res)
	var s1 string
	var obj struct{ X int }
	if r.err != nil || r.a.Bind(&s1, &obj) != nil || s1 != "answer" || obj.X != 2 {
		t.Fatalf("ack %+v", r)
	}
	// a late or unknown ack is ignored
	f.text(`30["again"]`)
	f.text(`399[]`)

	// timeout
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := so.EmitWithAck(ctx, "slow")
	if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout err %v", err)
	}
	f.expect(`21["slow"]`)
	if so.pendingAcks() != 0 || s.Stats().AckTimeouts != 1 {
		t.Fatalf("pending %d after timeout", so.pendingAcks())
	}
	// cancel
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() {
		a, err := so.EmitWithAck(ctx2, "c")
		res <- result{a, err}
	}()
	f.expect(`22["c"]`)
	cancel2()
	if r := await(t, res); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancel err %v", r.err)
	}
	// disconnect while waiting
	go func() {
		a, err := so.EmitWithAck(context.Background(), "d")
		res <- result{a, err}
	}()
	f.expect(`23["d"]`)
	f.text("1")
	if r := await(t, res); !errors.Is(r.err, ErrDisconnected) {
		t.Fatalf("disconnect err %v", r.err)
	}
	if so.pendingAcks() != 0 {
		t.Fatalf("pending %d after disconnect", so.pendingAcks())
	}
	if _, err := so.EmitWithAck(context.Background(), "e"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("after disconnect: %v", err)
	}
	if err := so.Emit("e"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("emit after disconnect: %v", err)
	}
}

func TestRoomsBroadcast(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	n := s.Of("/")
	conns := connected(n)
	var fs []*fake
	var socks []*Socket
	for range 4 {
		f := dial(t, s)
		f.connect("/", "")
		fs = append(fs, f)
		socks = append(socks, await(t, conns))
	}
	socks[0].Join("a", "b")
	socks[1].Join("a")
	socks[2].Join("b")
	// 3 in no room
	if n.RoomSize("a") != 2 || n.RoomSize("b") != 2 || n.RoomSize("none") != 0 {
		t.Fatal("room sizes")
	}
	check := func(emit func() error, want ...bool) {
		t.Helper()
		if err := emit(); err != nil {
			t.Fatal(err)
		}
		var shared *engineio.Packet
		for i, f := range fs {
			if !want[i] {
				if f.pending() != 0 {
					t.Fatalf("socket %d got %q", i, f.nextText())
				}
				continue
			}
			p := f.next()
			if shared != nil && p != shared {
				t.Fatalf("socket %d got its own packet, not the shared one", i)
			}
			shared = p
			if f.pending() != 0 {
				t.Fatalf("socket %d got a duplicate", i)
			}
		}
	}
	check(func() error { return n.Emit("all") }, true, true, true, true)
	check(func() error { return n.To("a").Emit("x") }, true, true, false, false)
	check(func() error { return n.To("a", "b").Emit("x") }, true, true, true, false)
	check(func() error { return n.To("a", "b", "a").Emit("x") }, true, true, true, false)
	check(func() error { return n.To("a").Except("b").Emit("x") }, false, true, false, false)
	check(func() error { return n.Except("a").Emit("x") }, false, false, true, true)
	check(func() error { return n.To("a").To("b").Except("a").Emit("x") }, false, false, true, false)
	check(func() error { return socks[0].To("a").Emit("x") }, false, true, false, false)
	check(func() error { return n.To(socks[3].ID()).Emit("x") }, false, false, false, true)
	check(func() error { return n.To("nobody").Emit("x") }, false, false, false, false)
	// Broadcast values are immutable
	base := n.To("a")
	_ = base.Except("a")
	check(func() error { return base.Emit("x") }, true, true, false, false)

	socks[0].Leave("a")
	if got := socks[0].Rooms(); fmt.Sprint(got) != fmt.Sprint(sortedCopy([]string{socks[0].ID(), "b"})) {
		t.Fatalf("rooms %v", got)
	}
	// a client cannot join rooms: there is no packet for it, and an event
	// named "join" is just an event.
	fs[3].text(`2["join","a"]`)
	fs[3].text(`2["subscribe","a"]`)
	if n.RoomSize("a") != 1 {
		t.Fatal("client changed rooms")
	}
	fs[1].text("1")
	if n.RoomSize("a") != 0 || len(socks[1].Rooms()) != 0 {
		t.Fatal("disconnected socket still in rooms")
	}
	socks[1].Join("a") // no effect once disconnected
	if n.RoomSize("a") != 0 {
		t.Fatal("disconnected socket joined")
	}
	if st := s.Stats(); st.Broadcasts != 11 || st.Deliveries != 4+2+3+3+1+2+1+1+1+0+2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRoomMembershipConcurrent: 8 goroutines join and leave one room
// 200k times in total; a member that never leaves is never lost, each
// socket is a member right after its Join, and the final size is exact.
func TestRoomMembershipConcurrent(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	n := s.Of("/")
	conns := connected(n)
	const workers, total = 8, 200_000
	socks := make([]*Socket, workers+1)
	for i := range socks {
		dial(t, s).connect("/", "")
		socks[i] = await(t, conns)
	}
	anchor := socks[workers]
	anchor.Join("r")
	in := func(so *Socket) bool {
		n.ad.mu.RLock()
		defer n.ad.mu.RUnlock()
		_, ok := n.ad.rooms["r"][so]
		return ok
	}
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := range workers {
		wg.Add(1)
		go func(so *Socket) {
			defer wg.Done()
			for i := range total / workers {
				so.Join("r")
				if !in(so) {
					errs <- fmt.Sprintf("worker %d iteration %d: not a member after Join", w, i)
					return
				}
				if !in(anchor) {
					errs <- fmt.Sprintf("worker %d iteration %d: the anchor lost its membership", w, i)
					return
				}
				if i%2 == 0 || i == total/workers-1 {
					so.Leave("r")
				}
				if i%1000 == 0 {
					if sz := n.RoomSize("r"); sz < 1 || sz > workers+1 {
						errs <- fmt.Sprintf("room size %d", sz)
						return
					}
				}
			}
		}(socks[w])
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if sz := n.RoomSize("r"); sz != 1 || !in(anchor) {
		t.Fatalf("final room size %d, want 1 (the anchor)", sz)
	}
	for _, so := range socks[:workers] {
		so.Join("r")
	}
	if sz := n.RoomSize("r"); sz != workers+1 {
		t.Fatalf("room size %d, want %d", sz, workers+1)
	}
}

func TestDisconnectReasons(t *testing.T) {
	t.Parallel()
	cases := []struct {
		reason string
		do     func(f *fake, s *Server, so *Socket)
		packet string // what the client gets, if anything
	}{
		{"client namespace disconnect", func(f *fake, _ *Server, _ *Socket) { f.text("1") }, ""},
		{"server namespace disconnect", func(_ *fake, _ *Server, so *Socket) { so.Disconnect() }, "1"},
		{"transport close", func(f *fake, _ *Server, _ *Socket) { f.conn.end(engineio.ReasonTransportClose) }, ""},
		{"ping timeout", func(f *fake, _ *Server, _ *Socket) { f.conn.end(engineio.ReasonPingTimeout) }, ""},
		{"transport error", func(f *fake, _ *Server, _ *Socket) { f.conn.end(engineio.ReasonTransportError) }, ""},
		{"server shutting down", func(_ *fake, s *Server, _ *Socket) {
			if err := s.Close(context.Background()); err != nil {
				panic(err)
			}
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, Config{})
			conns := connected(s.Of("/"))
			f := dial(t, s)
			f.connect("/", "")
			so := await(t, conns)
			reasons := make(chan string, 2)
			so.OnDisconnect(func(r string) { reasons <- r })
			so.Join("room")
			c.do(f, s, so)
			if r := await(t, reasons); r != c.reason {
				t.Fatalf("reason %q, want %q", r, c.reason)
			}
			if c.packet != "" {
				f.expect(c.packet)
			}
			so.Disconnect() // idempotent: no second handler call, no packet
			if len(reasons) != 0 || f.pending() != 0 {
				t.Fatal("second disconnect did something")
			}
			if st := s.Stats(); st.Connected != 0 || st.Disconnects != 1 || s.Of("/").RoomSize("room") != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestSlowClient(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	n := s.Of("/")
	conns := connected(n)
	var fs []*fake
	for i := range 3 {
		f := dial(t, s)
		if i == 0 {
			f.conn.limit = 5 // CONNECT answer + 4 events
		}
		f.connect("/", "")
		fs = append(fs, f)
	}
	var slow *Socket
	for range 3 {
		if so := await(t, conns); so.client.conn == fs[0].conn {
			slow = so
		}
	}
	reasons := make(chan string, 1)
	for _, so := range []*Socket{slow} {
		so.OnDisconnect(func(r string) { reasons <- r })
	}
	for i := range 10 {
		if err := n.Emit("tick", i); err != nil {
			t.Fatal(err)
		}
	}
	if r := await(t, reasons); r != "send queue full" {
		t.Fatalf("reason %q", r)
	}
	for _, f := range fs[1:] {
		if f.pending() != 10 {
			t.Fatalf("fast client got %d of 10", f.pending())
		}
	}
	fs[0].waitClosed()
	if st := s.Stats(); st.SlowDisconnects != 1 || st.Connected != 2 || st.SendErrors < 1 || st.Deliveries != 24 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerCloseRefusesNew(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal("second Close", err)
	}
	f := dial(t, s)
	f.conn.mu.Lock()
	defer f.conn.mu.Unlock()
	if !f.conn.closed {
		t.Fatal("connection accepted after Close")
	}
}

func TestHandlerPanicRecovered(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	ok := make(chan bool, 1)
	s.Of("/").OnConnection(func(so *Socket) {
		so.On("boom", func(*Event) { panic("boom") })
		so.On("ok", func(*Event) { ok <- true })
	})
	f := dial(t, s)
	f.connect("/", "")
	f.text(`2["boom"]`)
	f.text(`2["ok"]`)
	await(t, ok)
	if s.Stats().HandlerPanics != 1 {
		t.Fatal("panic not counted")
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{{PingInterval: -1}, {MaxPayload: -1}, {SendQueue: -1}, {ConnectTimeout: -time.Second}} {
		if _, err := newServer(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestHandshakeBindAuth(t *testing.T) {
	t.Parallel()
	hs := &Handshake{Auth: json.RawMessage(`{"a":1}`)}
	var v struct{ A int }
	if err := hs.BindAuth(&v); err != nil || v.A != 1 {
		t.Fatal(err)
	}
	if err := hs.BindAuth(new(string)); err == nil {
		t.Fatal("want a decode error")
	}
	if err := (&Handshake{}).BindAuth(&v); !errors.Is(err, ErrNoAuth) {
		t.Fatal(err)
	}
}

// TestConcurrentUse runs emits, broadcasts, joins, acks and disconnects at
// once, for the race detector, and checks the counters add up.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	n := s.Of("/")
	conns := connected(n)
	const clients = 16
	fs := make([]*fake, clients)
	socks := make([]*Socket, clients)
	for i := range fs {
		fs[i] = dial(t, s)
		fs[i].connect("/", "")
		socks[i] = await(t, conns)
	}
	var wg sync.WaitGroup
	for i, so := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				so.Join(fmt.Sprint("r", j%4))
				_ = so.Emit("self", j)
				_ = n.To("r1", "r2").Except("r3").Emit("b", j, []byte{byte(j)})
				so.Leave(fmt.Sprint("r", (j+1)%4))
				_ = so.Rooms()
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				_, _ = so.EmitWithAck(ctx, "q")
				cancel()
			}
			if i%2 == 0 {
				so.Disconnect()
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.Connected != clients/2 || st.Disconnects != clients/2 {
		t.Fatalf("stats %+v", st)
	}
	for _, so := range socks {
		if so.pendingAcks() != 0 {
			t.Fatal("ack entries leaked")
		}
	}
	n.ad.mu.RLock()
	defer n.ad.mu.RUnlock()
	for room, m := range n.ad.rooms {
		if len(m) == 0 {
			t.Errorf("empty room %q kept", room)
		}
		for so := range m {
			if !so.live {
				t.Errorf("disconnected socket in room %q", room)
			}
		}
	}
}

// TestAckInsideHandler: a handler may wait for an acknowledgement from its
// own client, and the disconnect handlers run after earlier events.
func TestAckInsideHandler(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	order := make(chan string, 8)
	s.Of("/").OnConnection(func(so *Socket) {
		so.On("confirm", func(e *Event) {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			a, err := so.EmitWithAck(ctx, "sure?")
			var yes bool
			if err != nil || a.Bind(&yes) != nil {
				order <- fmt.Sprint("error ", err)
				return
			}
			order <- fmt.Sprint("confirmed ", yes)
		})
		so.On("later", func(e *Event) { order <- "later" })
		so.OnDisconnect(func(r string) { order <- "disconnect" })
	})
	f := dial(t, s)
	f.connect("/", "")
	f.text(`2["confirm"]`)
	f.text(`2["later"]`)
	f.expect(`20["sure?"]`)
	f.text(`30[true]`)
	f.text("1")
	for _, want := range []string{"confirmed true", "later", "disconnect"} {
		if got := await(t, order); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// TestCloseWaitsForHandlers: Server.Close returns after running handlers.
func TestCloseWaitsForHandlers(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	started := make(chan struct{})
	release := make(chan struct{})
	finished := make(chan struct{})
	s.Of("/").OnConnection(func(so *Socket) {
		so.On("work", func(*Event) {
			close(started)
			<-release
			close(finished)
		})
	})
	f := dial(t, s)
	f.connect("/", "")
	f.text(`2["work"]`)
	await(t, started)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a busy handler: %v", err)
	}
	close(release)
	await(t, finished)
}

// TestConnectedSocketIsFindableOnceAnnounced: a client reacting to its
// CONNECT answer at once (a request that makes the server look its socket
// up, or emit to its user room) must find the socket registered. The
// look-up starts the moment the answer is handed to the transport.
func TestConnectedSocketIsFindableOnceAnnounced(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	ns := s.Of("/")
	for i := 0; i < 20; i++ {
		found := make(chan bool, 1)
		conn := newFakeConn()
		conn.onSend = func(p *engineio.Packet) {
			d := string(p.Data())
			if !strings.HasPrefix(d, `0{"sid":"`) {
				return
			}
			sid := strings.TrimSuffix(strings.TrimPrefix(d, `0{"sid":"`), `"}`)
			go func() { // the client's reaction, racing the server
				_, ok := ns.Socket(sid)
				found <- ok
			}()
			// Give the reaction every chance to win the race: the server
			// may go on registering only after it answered or after 50 ms.
			select {
			case ok := <-found:
				found <- ok
			case <-time.After(50 * time.Millisecond):
			}
		}
		f := dialConn(t, s, conn)
		f.connect("/", "")
		if !await(t, found) {
			t.Fatalf("attempt %d: socket not registered when its CONNECT answer was sent", i)
		}
	}
}
