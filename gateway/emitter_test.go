package gateway_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
)

// meaning is what a client receives from a message: everything but the
// host id and the sequence number.
type meaning struct {
	Event, Namespace string
	Args             []any
	Rooms, Skip      []string
}

func meanings(t *testing.T, pub *fakePub) []meaning {
	t.Helper()
	var out []meaning
	for _, m := range pub.decoded(t) {
		out = append(out, meaning{m.Event, m.Namespace, m.Arguments(), m.Rooms, m.Skip})
	}
	return out
}

// TestEmitterIsTheDataForm: each builder emit publishes the same message
// as the EmitToRoom / Broadcast call it stands for.
func TestEmitterIsTheDataForm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	builder, data := newFakePub(), newFakePub()
	b := newWorker(t, gateway.WorkerConfig{Publisher: builder, HostID: "h"})
	d := newWorker(t, gateway.WorkerConfig{Publisher: data, HostID: "h"})

	require.NoError(t, b.To("team:7").Except("sidA").Emit(ctx, "message", "alice", "hello"))
	require.NoError(t, d.EmitToRoom(ctx, "team:7", "message", gateway.Args{"alice", "hello"}, gateway.Except("sidA")))

	require.NoError(t, b.To("team:7", "team:8").To("team:9").Of("/chat").Emit(ctx, "one", map[string]int{"pct": 5}))
	require.NoError(t, d.EmitToRoom(ctx, "team:7", "one", map[string]int{"pct": 5}, gateway.ToRooms("team:8", "team:9"), gateway.WithNamespace("/chat")))

	require.NoError(t, b.To().Except("s1", "s2").Emit(ctx, "ping"))
	require.NoError(t, d.Broadcast(ctx, "ping", nil, gateway.Except("s1", "s2")))

	require.NoError(t, gateway.To(b).WaitIfFull().Emit(ctx, "list", gateway.Args{1, 2}))
	require.NoError(t, d.Broadcast(ctx, "list", gateway.Args{gateway.Args{1, 2}}, gateway.WaitIfFull()))

	flush(t, b)
	flush(t, d)
	got, want := meanings(t, builder), meanings(t, data)
	require.Len(t, got, 4)
	require.Equal(t, want, got)
	require.Equal(t, []any{"alice", "hello"}, got[0].Args, "variadic args are the handler's arguments")
	require.Equal(t, []string{"team:7", "team:8", "team:9"}, got[1].Rooms)
	require.Nil(t, got[2].Rooms, "no rooms: the whole namespace")
	require.Len(t, got[3].Args, 1, "a single Args is one argument, a list")
}

// TestEmitterCopies: To and Except return a copy; two emits built from
// one base do not see each other's additions.
func TestEmitterCopies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pub := newFakePub()
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub})
	base := g.To("a", "b")
	x, y := base.Except("s1"), base.Except("s2")
	require.NoError(t, x.To("c").Emit(ctx, "e"))
	require.NoError(t, y.To("d").Emit(ctx, "e"))
	require.NoError(t, base.Emit(ctx, "e"))
	flush(t, g)
	got := meanings(t, pub)
	require.Equal(t, []string{"a", "b", "c"}, got[0].Rooms)
	require.Equal(t, []string{"s1"}, got[0].Skip)
	require.Equal(t, []string{"a", "b", "d"}, got[1].Rooms)
	require.Equal(t, []string{"s2"}, got[1].Skip)
	require.Equal(t, []string{"a", "b"}, got[2].Rooms)
	require.Empty(t, got[2].Skip)
}

// TestEmitterRefusesEmptyNames and resolves a nil Gateway from the
// context.
func TestEmitterRefusesEmptyNamesAndUsesTheContext(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub})
	ctx := gateway.NewContext(context.Background(), g)
	require.ErrorIs(t, g.To("a", "").Emit(ctx, "e"), gateway.ErrInvalidArgument)
	require.ErrorIs(t, g.To("a").Except("").Emit(ctx, "e"), gateway.ErrInvalidArgument)
	require.ErrorIs(t, g.To("a").Emit(ctx, "connect"), gateway.ErrReservedEvent)
	require.NoError(t, gateway.To(nil, "via-ctx").Emit(ctx, "e", 1))
	var zero gateway.Emitter
	require.NoError(t, zero.Emit(ctx, "e"))
	flush(t, g)
	got := meanings(t, pub)
	require.Len(t, got, 2, "the refused emits published nothing")
	require.Equal(t, []string{"via-ctx"}, got[0].Rooms)
	require.Nil(t, got[1].Rooms)
}

func TestArgsData(t *testing.T) {
	t.Parallel()
	var none *int
	for _, tt := range []struct {
		name string
		args []any
		want any
	}{
		{"none", nil, nil},
		{"one", []any{"x"}, "x"},
		{"one nil", []any{nil}, gateway.Args{nil}},
		{"one typed nil", []any{none}, none},
		{"one Args", []any{gateway.Args{1, 2}}, gateway.Args{gateway.Args{1, 2}}},
		{"two", []any{1, "two"}, gateway.Args{1, "two"}},
	} {
		require.Equal(t, tt.want, gateway.ArgsData(tt.args...), tt.name)
	}
	// The codec agrees: nil alone is one null argument.
	m := codec.Message{Data: gateway.ArgsData(nil)}
	require.Equal(t, []any{nil}, m.Arguments())
}

// BenchmarkEmitter measures the builder form next to the EmitToRoom call
// it stands for (BenchmarkEmitToUser is the hot path; the builder does not
// touch it).
func BenchmarkEmitter(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		emit func(g *gateway.Worker, p benchProgress) error
	}{
		{"EmitToRoom", func(g *gateway.Worker, p benchProgress) error { return g.EmitToRoom(ctx, "team:7", "progress", p) }},
		{"To.Emit", func(g *gateway.Worker, p benchProgress) error { return g.To("team:7").Emit(ctx, "progress", p) }},
		{"To.Except.Emit", func(g *gateway.Worker, p benchProgress) error {
			return g.To("team:7").Except("sidA").Emit(ctx, "progress", p)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := newBenchWorker(b, &discardPub{})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := bc.emit(g, benchProgress{Job: "resize-42", Pct: i % 100}); err != nil {
					b.Fatal(err)
				}
			}
			finish(b, g)
		})
	}
}
