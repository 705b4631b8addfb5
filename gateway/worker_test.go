package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport"
)

const wait = 10 * time.Second

// fakePub records published messages. While down is set, Publish fails;
// while gate is non-nil, Publish waits on it (or ctx).
type fakePub struct {
	mu      sync.Mutex
	msgs    [][]byte
	calls   int
	down    atomic.Bool
	gate    chan struct{}
	arrived chan struct{} // receives after every successful Publish
}

func newFakePub() *fakePub { return &fakePub{arrived: make(chan struct{}, 1<<16)} }

func (p *fakePub) Publish(ctx context.Context, channel string, msgs [][]byte) (int, error) {
	p.mu.Lock()
	p.calls++
	gate := p.gate
	p.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if p.down.Load() {
		return 0, errors.New("fake: connection refused")
	}
	p.mu.Lock()
	for _, m := range msgs {
		p.msgs = append(p.msgs, append([]byte(nil), m...))
	}
	p.mu.Unlock()
	p.arrived <- struct{}{}
	return len(msgs), nil
}

func (p *fakePub) Close() error { return nil }

func (p *fakePub) decoded(t *testing.T) []*codec.Message {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	c := codec.NewPython(codec.PythonConfig{})
	out := make([]*codec.Message, 0, len(p.msgs))
	for _, raw := range p.msgs {
		m, err := c.Decode(raw)
		require.NoError(t, err, "decode %s", raw)
		out = append(out, m)
	}
	return out
}

func (p *fakePub) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.msgs)
}

var _ transport.Publisher = (*fakePub)(nil)

func newWorker(t *testing.T, cfg gateway.WorkerConfig) *gateway.Worker {
	t.Helper()
	g, err := gateway.NewWorker(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = g.Close(ctx)
	})
	return g
}

func flush(t *testing.T, g gateway.Gateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, g.Flush(ctx))
}

func TestEmitsReachPublisherWithTheirMeaning(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, HostID: "h1"})
	ctx := context.Background()

	require.NoError(t, g.EmitToUser(ctx, "42", "progress", map[string]any{"pct": 50}))
	require.NoError(t, g.EmitToRoom(ctx, "team:7", "r", "x", gateway.ToRooms("team:8"), gateway.Except("sidA", "sidB")))
	require.NoError(t, g.Broadcast(ctx, "notice", gateway.Args{1, "two"}, gateway.WithNamespace("/admin")))
	require.NoError(t, g.Broadcast(ctx, "none", nil))
	require.NoError(t, g.EnterRoom(ctx, "sidX", "team:7"))
	require.NoError(t, g.LeaveRoom(ctx, "sidX", "team:7", gateway.WithNamespace("/admin")))
	require.NoError(t, g.CloseRoom(ctx, "team:7"))
	require.NoError(t, g.Disconnect(ctx, "sidY"))
	flush(t, g)

	msgs := pub.decoded(t)
	require.Len(t, msgs, 8)
	for _, m := range msgs {
		assert.Equal(t, "h1", m.HostID)
	}
	assert.Equal(t, codec.MethodEmit, msgs[0].Method)
	assert.Equal(t, "progress", msgs[0].Event)
	assert.Equal(t, []string{"user:42"}, msgs[0].Rooms)
	assert.Equal(t, "/", msgs[0].Namespace)
	assert.Equal(t, []any{map[string]any{"pct": jsonNum("50")}}, msgs[0].Arguments())

	assert.Equal(t, []string{"team:7", "team:8"}, msgs[1].Rooms)
	assert.Equal(t, []string{"sidA", "sidB"}, msgs[1].Skip)

	assert.Nil(t, msgs[2].Rooms)
	assert.Equal(t, "/admin", msgs[2].Namespace)
	assert.Equal(t, []any{jsonNum("1"), "two"}, msgs[2].Arguments())
	assert.Empty(t, msgs[3].Arguments())

	assert.Equal(t, codec.MethodEnterRoom, msgs[4].Method)
	assert.Equal(t, "sidX", msgs[4].SID)
	assert.Equal(t, "team:7", msgs[4].Room())
	assert.Equal(t, codec.MethodLeaveRoom, msgs[5].Method)
	assert.Equal(t, "/admin", msgs[5].Namespace)
	assert.Equal(t, codec.MethodCloseRoom, msgs[6].Method)
	assert.Equal(t, "team:7", msgs[6].Room())
	assert.Equal(t, codec.MethodDisconnect, msgs[7].Method)
	assert.Equal(t, "sidY", msgs[7].SID)

	s := g.Stats()
	assert.Equal(t, uint64(8), s.Emitted)
	assert.Equal(t, uint64(8), s.Published)
	assert.Zero(t, s.Dropped)
	assert.True(t, s.Connected)
}

func TestUserRoomNaming(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, UserRoom: func(id string) string { return "u/" + id }})
	require.NoError(t, g.EmitToUser(context.Background(), "7", "e", 1))
	flush(t, g)
	assert.Equal(t, []string{"u/7"}, pub.decoded(t)[0].Rooms)
}

func TestBadInputIsRefusedAndNothingPublished(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub})
	ctx := context.Background()
	cyclic := map[string]any{}
	cyclic["self"] = cyclic

	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"NaN", func() error { return g.EmitToUser(ctx, "1", "e", math.NaN()) }, codec.ErrUnsupportedValue},
		{"Inf in map", func() error { return g.EmitToUser(ctx, "1", "e", map[string]any{"x": math.Inf(1)}) }, codec.ErrUnsupportedValue},
		{"NaN in struct", func() error { return g.EmitToUser(ctx, "1", "e", struct{ F float64 }{math.NaN()}) }, codec.ErrUnsupportedValue},
		{"channel", func() error { return g.EmitToUser(ctx, "1", "e", make(chan int)) }, codec.ErrUnsupportedValue},
		{"func", func() error { return g.Broadcast(ctx, "e", gateway.Args{1, func() {}}) }, codec.ErrUnsupportedValue},
		{"cycle", func() error { return g.EmitToRoom(ctx, "r", "e", cyclic) }, codec.ErrUnsupportedValue},
		{"reserved connect", func() error { return g.EmitToUser(ctx, "1", "connect", 1) }, gateway.ErrReservedEvent},
		{"reserved disconnect", func() error { return g.Broadcast(ctx, "disconnect", 1) }, gateway.ErrReservedEvent},
		{"empty event", func() error { return g.Broadcast(ctx, "", 1) }, gateway.ErrInvalidArgument},
		{"empty user", func() error { return g.EmitToUser(ctx, "", "e", 1) }, gateway.ErrInvalidArgument},
		{"empty room", func() error { return g.EmitToRoom(ctx, "", "e", 1) }, gateway.ErrInvalidArgument},
		{"enter without sid", func() error { return g.EnterRoom(ctx, "", "r") }, gateway.ErrInvalidArgument},
		{"leave without room", func() error { return g.LeaveRoom(ctx, "s", "") }, gateway.ErrInvalidArgument},
		{"close without room", func() error { return g.CloseRoom(ctx, "") }, gateway.ErrInvalidArgument},
		{"disconnect without sid", func() error { return g.Disconnect(ctx, "") }, gateway.ErrInvalidArgument},
	}
	for _, tc := range cases {
		err := tc.call()
		require.Error(t, err, tc.name)
		assert.ErrorIs(t, err, tc.want, tc.name)
	}
	require.NoError(t, g.EmitToUser(ctx, "1", "fine", 1))
	flush(t, g)
	assert.Equal(t, 1, pub.count(), "only the valid emit is published")
	s := g.Stats()
	assert.Equal(t, uint64(1), s.Emitted, "refused calls are not counted as emitted")
}

func TestNaNErrorNamesTheProblem(t *testing.T) {
	t.Parallel()
	g := newWorker(t, gateway.WorkerConfig{Publisher: newFakePub()})
	err := g.EmitToUser(context.Background(), "1", "e", map[string]any{"pct": math.NaN()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NaN")
	assert.Contains(t, err.Error(), "pct")
}

func TestLegacyDialectRefusesWhatOldServersCannotTake(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, Codec: codec.NewPython(codec.PythonConfig{Dialect: codec.Legacy})})
	ctx := context.Background()
	assert.ErrorIs(t, g.EmitToUser(ctx, "1", "e", gateway.Args{1, 2}), codec.ErrDialect)
	assert.ErrorIs(t, g.EmitToUser(ctx, "1", "e", 1, gateway.ToRooms("other")), codec.ErrDialect)
	assert.ErrorIs(t, g.EmitToUser(ctx, "1", "e", []byte{1}), codec.ErrDialect)
	require.NoError(t, g.EmitToUser(ctx, "1", "e", []int{1, 2, 3}), "a list as one argument is fine")
	flush(t, g)
	assert.Equal(t, 1, pub.count())
}

func TestFullQueueDropsAndCountsWithoutBlocking(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	pub.gate = make(chan struct{}) // the writer holds its first batch
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, QueueSize: 4, BatchSize: 1})
	ctx := context.Background()

	for i := range 100 {
		require.NoError(t, g.EmitToUser(ctx, "1", "e", i))
	}
	s := g.Stats()
	assert.Equal(t, uint64(100), s.Emitted)
	assert.GreaterOrEqual(t, s.Dropped, uint64(100-4-1), "at most the queue plus one batch in flight are kept")

	close(pub.gate)
	flush(t, g)
	s = g.Stats()
	assert.Equal(t, s.Emitted, s.Published+s.Dropped)
	assert.Equal(t, int(s.Published), pub.count())
	assert.Zero(t, s.Queued)
}

func TestWaitIfFullWaitsUntilDeadline(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	pub.gate = make(chan struct{})
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, QueueSize: 1, BatchSize: 1})
	bg := context.Background()
	// One message in flight and one queued; everything after waits.
	require.NoError(t, g.EmitToUser(bg, "1", "e", 0))
	require.Eventually(t, func() bool {
		pub.mu.Lock()
		defer pub.mu.Unlock()
		return pub.calls == 1
	}, wait, time.Millisecond)
	require.NoError(t, g.EmitToUser(bg, "1", "e", 1))

	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	err := g.EmitToUser(ctx, "1", "e", 2, gateway.WaitIfFull())
	assert.ErrorIs(t, err, gateway.ErrQueueFull)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// A waiting emit succeeds once the queue drains.
	done := make(chan error, 1)
	go func() { done <- g.EmitToUser(bg, "1", "e", 3, gateway.WaitIfFull()) }()
	close(pub.gate)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(wait):
		t.Fatal("WaitIfFull emit did not complete after the queue drained")
	}
	flush(t, g)
	s := g.Stats()
	assert.Equal(t, uint64(4), s.Emitted)
	assert.Equal(t, uint64(3), s.Published)
	assert.Equal(t, uint64(1), s.Dropped)
}

func TestBrokerOutageRetriesAndResumes(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	pub.down.Store(true)
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
	ctx := context.Background()
	for i := range 10 {
		require.NoError(t, g.EmitToUser(ctx, "1", "e", i))
	}
	require.Eventually(t, func() bool { return g.Stats().Failed > 0 }, wait, time.Millisecond)
	assert.False(t, g.Stats().Connected)

	pub.down.Store(false)
	flush(t, g)
	s := g.Stats()
	assert.Equal(t, uint64(10), s.Published)
	assert.Equal(t, uint64(1), s.Reconnects)
	assert.True(t, s.Connected)
	msgs := pub.decoded(t)
	for i, m := range msgs {
		assert.Equal(t, []any{jsonNum(fmt.Sprint(i))}, m.Arguments(), "order kept across retries")
	}
}

func TestLocalOnlyCountsDrops(t *testing.T) {
	t.Parallel()
	g := newWorker(t, gateway.WorkerConfig{})
	require.NoError(t, g.EmitToUser(context.Background(), "1", "e", 1))
	flush(t, g)
	s := g.Stats()
	assert.Equal(t, uint64(1), s.Emitted)
	assert.Equal(t, uint64(1), s.Dropped)
	assert.False(t, s.Connected)
}

func TestCloseIsIdempotentAndDrains(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	g, err := gateway.NewWorker(gateway.WorkerConfig{Publisher: pub})
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 50 {
		require.NoError(t, g.EmitToUser(ctx, "1", "e", i))
	}
	require.NoError(t, g.Close(ctx))
	require.NoError(t, g.Close(ctx))
	assert.Equal(t, 50, pub.count())
	assert.ErrorIs(t, g.EmitToUser(ctx, "1", "e", 1), gateway.ErrClosed)
	assert.ErrorIs(t, g.CloseRoom(ctx, "r"), gateway.ErrClosed)
	s := g.Stats()
	assert.Equal(t, uint64(50), s.Emitted)
	assert.Equal(t, uint64(50), s.Published)
}

func TestCloseWithDeadlineDropsWhatIsLeft(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	pub.gate = make(chan struct{}) // never opens: the broker hangs
	g, err := gateway.NewWorker(gateway.WorkerConfig{Publisher: pub, QueueSize: 8, BatchSize: 2})
	require.NoError(t, err)
	bg := context.Background()
	for i := range 5 {
		require.NoError(t, g.EmitToUser(bg, "1", "e", i))
	}
	// A waiting emitter is released by Close.
	waiting := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			if err := g.EmitToUser(bg, "1", "e", i, gateway.WaitIfFull()); err != nil {
				waiting <- err
				return
			}
		}
	}()
	require.Eventually(t, func() bool { return g.Stats().Queued >= 8 }, wait, time.Millisecond)

	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	err = g.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	select {
	case err := <-waiting:
		assert.ErrorIs(t, err, gateway.ErrClosed)
	case <-time.After(wait):
		t.Fatal("Close did not release a WaitIfFull emitter")
	}
	s := g.Stats()
	assert.Equal(t, s.Emitted, s.Published+s.Dropped, "every accepted message is accounted for: %+v", s)
	assert.Zero(t, s.Queued)
	assert.Zero(t, pub.count())
}

func TestConcurrentEmitsKeepPerGoroutineOrder(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub, QueueSize: 1 << 16})
	const producers, each = 8, 500
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := g.EmitToUser(context.Background(), fmt.Sprint(p), "seq", i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	flush(t, g)
	next := map[string]int{}
	for _, m := range pub.decoded(t) {
		user := m.Rooms[0]
		want := next[user]
		assert.Equal(t, []any{jsonNum(fmt.Sprint(want))}, m.Arguments(), user)
		next[user] = want + 1
	}
	assert.Len(t, next, producers)
	s := g.Stats()
	assert.Equal(t, uint64(producers*each), s.Published)
}

func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	_, err := gateway.NewWorker(gateway.WorkerConfig{QueueSize: -1})
	assert.ErrorIs(t, err, gateway.ErrInvalidArgument)
	_, err = gateway.NewWorker(gateway.WorkerConfig{RetryMin: time.Second, RetryMax: time.Millisecond})
	assert.ErrorIs(t, err, gateway.ErrInvalidArgument)
}

// Every message a Worker publishes carries the next number of its own
// counter (codec.Message.Seq), whatever its method, so that receivers can
// drop one delivered twice; another Worker numbers on its own.
func TestMessagesCarryIncreasingSeq(t *testing.T) {
	t.Parallel()
	pub := newFakePub()
	g := newWorker(t, gateway.WorkerConfig{Publisher: pub})
	ctx := context.Background()
	require.NoError(t, g.Broadcast(ctx, "a", 1))
	require.NoError(t, g.EmitToUser(ctx, "u", "b", 2))
	require.NoError(t, g.EnterRoom(ctx, "sid", "r"))
	require.NoError(t, g.CloseRoom(ctx, "r"))
	require.Error(t, g.Broadcast(ctx, "", 1), "an empty event name is still refused to callers")
	flush(t, g)
	msgs := pub.decoded(t)
	require.Len(t, msgs, 4)
	require.NotZero(t, msgs[0].Seq)
	for i := 1; i < len(msgs); i++ {
		assert.Equal(t, msgs[i-1].Seq+1, msgs[i].Seq, "message %d", i)
	}
}
