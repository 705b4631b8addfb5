package socketio

import (
	"slices"
	"sync"
	"testing"
)

// recCluster records what the server hands to its Cluster.
type recCluster struct {
	mu  sync.Mutex
	out []Outbound
}

func (r *recCluster) Publish(o Outbound) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o.Rooms = slices.Clone(o.Rooms)
	o.Except = slices.Clone(o.Except)
	o.Args = slices.Clone(o.Args)
	r.out = append(r.out, o)
}

func (r *recCluster) take() []Outbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.out
	r.out = nil
	return out
}

func TestClusterPublishOncePerBroadcast(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	if s.Cluster() != nil {
		t.Fatal("a new server has a cluster")
	}
	rc := &recCluster{}
	s.SetCluster(rc)
	if s.Cluster() != rc {
		t.Fatal("Cluster() does not return what SetCluster set")
	}
	n := s.Of("/")
	socks := connected(n)
	a, b := dial(t, s), dial(t, s)
	sidA := a.connect("/", "")
	sa := await(t, socks)
	b.connect("/", "")
	await(t, socks)
	sa.Join("r1")

	if err := n.Emit("all", 1); err != nil {
		t.Fatal(err)
	}
	a.expect(`2["all",1]`)
	b.expect(`2["all",1]`)
	if err := n.To("r1").Except("r2").Emit("room", "x", 2); err != nil {
		t.Fatal(err)
	}
	a.expect(`2["room","x",2]`)
	if err := sa.To("r1").Emit("others"); err != nil {
		t.Fatal(err)
	}
	if err := n.Except(sidA).Emit("notA"); err != nil {
		t.Fatal(err)
	}
	b.expect(`2["notA"]`)
	// Local broadcasts and direct emits are not handed to the cluster.
	if err := n.To("r1").Local().Emit("local"); err != nil {
		t.Fatal(err)
	}
	a.expect(`2["local"]`)
	if err := n.Local().Except(sidA).Emit("local2"); err != nil {
		t.Fatal(err)
	}
	b.expect(`2["local2"]`)
	if err := sa.Emit("direct"); err != nil {
		t.Fatal(err)
	}
	a.expect(`2["direct"]`)
	// An event that cannot be encoded reaches neither clients nor cluster.
	if err := n.Emit("connect"); err == nil {
		t.Fatal("reserved event accepted")
	}

	got := rc.take()
	want := []Outbound{
		{Namespace: "/", Event: "all", Args: []any{1}},
		{Namespace: "/", Rooms: []string{"r1"}, Except: []string{"r2"}, Event: "room", Args: []any{"x", 2}},
		{Namespace: "/", Rooms: []string{"r1"}, Except: []string{sidA}, Event: "others"},
		{Namespace: "/", Except: []string{sidA}, Event: "notA"},
	}
	if len(got) != len(want) {
		t.Fatalf("cluster got %d broadcasts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Namespace != w.Namespace || g.Event != w.Event || !slices.Equal(g.Rooms, w.Rooms) ||
			!slices.Equal(g.Except, w.Except) || len(g.Args) != len(w.Args) {
			t.Errorf("broadcast %d: got %+v, want %+v", i, g, w)
		}
		for j := range w.Args {
			if g.Args[j] != w.Args[j] {
				t.Errorf("broadcast %d arg %d: got %v, want %v", i, j, g.Args[j], w.Args[j])
			}
		}
	}
	if a.pending() != 0 || b.pending() != 0 {
		t.Fatalf("unexpected extra packets: a %d, b %d", a.pending(), b.pending())
	}

	s.SetCluster(nil)
	if err := n.Emit("after"); err != nil {
		t.Fatal(err)
	}
	if got := rc.take(); len(got) != 0 {
		t.Fatalf("cluster removed but got %+v", got)
	}
}

func TestNamespaceSocketCloseRoomLookup(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	if _, ok := s.Lookup("/nope"); ok {
		t.Fatal("Lookup found a namespace never created")
	}
	if _, ok := s.Lookup("/nope"); ok {
		t.Fatal("Lookup created the namespace")
	}
	n := s.Of("/chat")
	if got, ok := s.Lookup("chat"); !ok || got != n {
		t.Fatal("Lookup does not find /chat")
	}
	socks := connected(n)
	a, b := dial(t, s), dial(t, s)
	sidA := a.connect("/chat", "")
	sa := await(t, socks)
	sidB := b.connect("/chat", "")
	sb := await(t, socks)

	if got, ok := n.Socket(sidA); !ok || got != sa {
		t.Fatalf("Socket(%q) = %v, %v", sidA, got, ok)
	}
	if _, ok := n.Socket("missing"); ok {
		t.Fatal("Socket found a missing id")
	}
	if _, ok := s.Of("/").Socket(sidA); ok {
		t.Fatal("Socket found a socket of another namespace")
	}
	// A room named like a socket id but holding another socket is not it.
	sb.Join(sidA + "x")
	if _, ok := n.Socket(sidA + "x"); ok {
		t.Fatal("Socket matched a room, not an id")
	}

	sa.Join("r")
	sb.Join("r", "keep")
	if got := n.To("r").Sockets(); len(got) != 2 {
		t.Fatalf("Sockets of r: %d, want 2", len(got))
	}
	if got := n.To("r", "keep").Except(sidB).Sockets(); len(got) != 1 || got[0] != sa {
		t.Fatalf("Sockets of r,keep except B: %v", got)
	}
	n.CloseRoom("r")
	if n.RoomSize("r") != 0 {
		t.Fatalf("room r has %d sockets after CloseRoom", n.RoomSize("r"))
	}
	if !slices.Equal(sb.Rooms(), slices.Sorted(slices.Values([]string{sidB, "keep", sidA + "x"}))) {
		t.Fatalf("B's rooms after CloseRoom: %v", sb.Rooms())
	}
	n.CloseRoom("none") // no such room: nothing happens

	sa.Disconnect()
	if _, ok := n.Socket(sidA); ok {
		t.Fatal("Socket found a disconnected socket")
	}
}

func BenchmarkBroadcastNoCluster(b *testing.B) {
	s := newTestServer(b, Config{})
	n := s.Of("/")
	socks := connected(n)
	f := dial(b, s)
	f.connect("/", "")
	await(b, socks)
	b.ReportAllocs()
	for b.Loop() {
		if err := n.To("nobody").Emit("e", 1); err != nil {
			b.Fatal(err)
		}
	}
}
