package redispubsub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

func TestNewRequiresClient(t *testing.T) {
	t.Parallel()
	ps, err := redispubsub.New(redispubsub.Config{})
	assert.Nil(t, ps)
	assert.ErrorIs(t, err, redispubsub.ErrNoClient)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	ch := channelName(t)

	sub, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	// No waiting: Subscribe returns only once Redis confirmed it.
	n, err := e.ps.Publish(ctx, ch, [][]byte{[]byte("one"), []byte("two"), []byte("three")})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, "one", string(next(t, sub)))
	assert.Equal(t, "two", string(next(t, sub)))
	assert.Equal(t, "three", string(next(t, sub)))

	n, err = e.ps.Publish(ctx, ch, nil)
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestPing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	require.NoError(t, e.ps.Ping(testCtx(t)))
	e.mr.Close()
	err := e.ps.Ping(testCtx(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redispubsub: ping")
}

func TestBinarySafePayloads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	ch := channelName(t)

	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	big[0], big[len(big)/2], big[len(big)-1] = 0, 0, 0
	payloads := [][]byte{
		{0},
		{0, 0, 0},
		{0xff, 0xfe, 0, '\r', '\n', '$', '*', 0x80},
		[]byte("*3\r\n$7\r\nmessage\r\n"), // looks like RESP
		{},
		big,
	}
	sub, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	n, err := e.ps.Publish(ctx, ch, payloads)
	require.NoError(t, err)
	require.Equal(t, len(payloads), n)
	for i, want := range payloads {
		got := next(t, sub)
		require.Truef(t, bytes.Equal(want, got), "payload %d: %d bytes, got %d", i, len(want), len(got))
	}
}

// TestPayloadIsACopy checks that a delivered slice is the subscriber's own.
func TestPayloadIsACopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	ch := channelName(t)
	sub1, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	sub2, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	msg := []byte("original")
	_, err = e.ps.Publish(ctx, ch, [][]byte{msg})
	require.NoError(t, err)
	msg[0] = 'X' // the caller may reuse its buffer after Publish
	a, b := next(t, sub1), next(t, sub2)
	a[0] = 'Y'
	assert.Equal(t, "original", string(b))
}

func TestOrderingOneCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	ch := channelName(t)
	const total = 10_000

	sub, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	all := msgs("m", total)
	received := collect(t, sub, total)
	n, err := e.ps.Publish(ctx, ch, all)
	require.NoError(t, err)
	require.Equal(t, total, n)
	requireSame(t, all, <-received)
}

func TestOrderingManyCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	ch := channelName(t)
	const total = 10_000

	sub, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	all := msgs("m", total)
	received := collect(t, sub, total)
	for i, size := 0, 1; i < total; i, size = i+size, size%37+1 { // batches of 1..37
		batch := all[i:min(i+size, total)]
		n, err := e.ps.Publish(ctx, ch, batch)
		require.NoError(t, err)
		require.Equal(t, len(batch), n)
	}
	requireSame(t, all, <-received)
}

// TestConcurrentPublishersKeepTheirOrder: concurrent calls are not ordered
// relative to each other, but each publisher's messages arrive in order.
func TestConcurrentPublishersKeepTheirOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	ch := channelName(t)
	const publishers, each = 8, 500

	sub, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	received := collect(t, sub, publishers*each)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			all := msgs(fmt.Sprint("p", p), each)
			for i := 0; i < each; i += 10 {
				n, err := e.ps.Publish(ctx, ch, all[i:i+10])
				assert.NoError(t, err)
				assert.Equal(t, 10, n)
			}
		})
	}
	wg.Wait()
	got := <-received
	nextIdx := map[string]int{}
	for _, m := range got {
		var p string
		var i int
		_, err := fmt.Sscanf(string(bytes.Replace(m, []byte("-"), []byte(" "), 1)), "%s %d", &p, &i)
		require.NoError(t, err)
		require.Equalf(t, nextIdx[p], i, "publisher %s out of order", p)
		nextIdx[p]++
	}
	assert.Len(t, nextIdx, publishers)
}

func TestNoLeakAcrossChannels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	chA, chB := channelName(t, "a"), channelName(t, "b")

	subA, err := e.ps.Subscribe(ctx, chA)
	require.NoError(t, err)
	subB, err := e.ps.Subscribe(ctx, chB)
	require.NoError(t, err)

	_, err = e.ps.Publish(ctx, chA, [][]byte{[]byte("a1")})
	require.NoError(t, err)
	_, err = e.ps.Publish(ctx, chB, [][]byte{[]byte("b1")})
	require.NoError(t, err)
	_, err = e.ps.Publish(ctx, chA+"x", [][]byte{[]byte("other")})
	require.NoError(t, err)
	_, err = e.ps.Publish(ctx, chA, [][]byte{[]byte("a2"), []byte("end")})
	require.NoError(t, err)
	_, err = e.ps.Publish(ctx, chB, [][]byte{[]byte("end")})
	require.NoError(t, err)

	assert.Equal(t, "a1", string(next(t, subA)))
	assert.Equal(t, "a2", string(next(t, subA)))
	assert.Equal(t, "end", string(next(t, subA)))
	assert.Equal(t, "b1", string(next(t, subB)))
	assert.Equal(t, "end", string(next(t, subB)))
}

func TestAfterClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	require.NoError(t, e.ps.Close())
	require.NoError(t, e.ps.Close(), "Close is idempotent")

	n, err := e.ps.Publish(ctx, channelName(t), [][]byte{[]byte("x")})
	assert.ErrorIs(t, err, transport.ErrClosed)
	assert.Zero(t, n)
	_, err = e.ps.Subscribe(ctx, channelName(t))
	assert.ErrorIs(t, err, transport.ErrClosed)
	assert.ErrorIs(t, e.ps.Ping(ctx), transport.ErrClosed)

	// The injected client is not closed.
	require.NoError(t, e.client.Ping(ctx).Err())
}

func TestCloseUnblocksSubscribers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	ch := channelName(t)

	idle, err := e.ps.Subscribe(ctx, ch) // blocked in Receive
	require.NoError(t, err)
	full, err := e.ps.Subscribe(ctx, ch) // blocked handing over a message
	require.NoError(t, err)
	_, err = e.ps.Publish(ctx, ch, msgs("m", redispubsub.SubscriptionBuffer+10))
	require.NoError(t, err)
	for range redispubsub.SubscriptionBuffer + 10 {
		next(t, idle)
	}

	var wg sync.WaitGroup
	for range 3 { // concurrently, and more than once
		wg.Go(func() { assert.NoError(t, e.ps.Close()) })
	}
	wg.Wait()
	requireClosed(t, idle)
	requireClosed(t, full)
	require.Eventually(t, func() bool { return numSub(e.mr, ch) == 0 }, wait, wait/100)
}

func TestContextCancelClosesChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ch := channelName(t)
	ctx, cancel := context.WithCancel(testCtx(t))

	sub, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	other, err := e.ps.Subscribe(testCtx(t), ch)
	require.NoError(t, err)
	require.Equal(t, 2, numSub(e.mr, ch))

	cancel()
	requireClosed(t, sub)
	require.Eventually(t, func() bool { return numSub(e.mr, ch) == 1 }, wait, wait/100)

	// The other subscription is untouched.
	_, err = e.ps.Publish(testCtx(t), ch, [][]byte{[]byte("still here")})
	require.NoError(t, err)
	assert.Equal(t, "still here", string(next(t, other)))
}

func TestSubscribeErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.ps.Subscribe(ctx, channelName(t))
	require.ErrorIs(t, err, context.Canceled)

	e.mr.Close()
	_, err = e.ps.Subscribe(testCtx(t), channelName(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redispubsub: subscribe to")
}

// publishHook makes miniredis stop answering at the k-th PUBLISH
// (counting from 1): that one and every later PUBLISH on the same
// connection are swallowed (never run, never answered), and when the
// last-th arrives, so that the server has read the whole batch, fail runs.
// (Closing a socket with unread input sends a TCP reset, which can destroy
// replies already sent; reading everything first keeps the test exact.)
func publishHook(mr *miniredis.Miniredis, k, last int64, fail func(*server.Peer)) {
	var seen atomic.Int64
	var mu sync.Mutex
	var failing *server.Peer
	mr.Server().SetPreHook(func(p *server.Peer, cmd string, _ ...string) bool {
		if cmd != "PUBLISH" {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if failing != nil && failing != p {
			return false
		}
		switch i := seen.Add(1); {
		case i < k:
			return false
		case i == k:
			failing = p
		case i == last:
			fail(p)
		}
		return true
	})
}

// TestPartialFailure closes the server in the middle of a batch: Publish
// reports an error and exactly the acknowledged prefix.
func TestPartialFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	const k = 40
	publishHook(e.mr, k, 100, func(*server.Peer) { go e.mr.Close() })

	n, err := e.ps.Publish(ctx, channelName(t), msgs("m", 100))
	require.Error(t, err)
	assert.NotErrorIs(t, err, transport.ErrClosed)
	assert.Contains(t, err.Error(), "redispubsub: publish to")
	assert.Equal(t, k-1, n, "the first k-1 PUBLISHes were acknowledged")

	// With the server gone nothing is acknowledged.
	n, err = e.ps.Publish(ctx, channelName(t), msgs("m", 10))
	require.Error(t, err)
	assert.Zero(t, n)
}

// TestFailedBatchIsNotResent drops the connection (the server stays up) in
// the middle of a batch. go-redis would resend the whole pipeline on a new
// connection by itself, duplicating the acknowledged prefix; Publish must
// not let it.
func TestFailedBatchIsNotResent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	ch := channelName(t)
	const k = 25
	sub, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	publishHook(e.mr, k, 60, func(p *server.Peer) { p.Close() })

	all := msgs("m", 60)
	n, err := e.ps.Publish(ctx, ch, all)
	require.Error(t, err)
	require.Equal(t, k-1, n)

	// The caller retries the rest itself.
	m, err := e.ps.Publish(ctx, ch, all[n:])
	require.NoError(t, err)
	require.Equal(t, len(all)-n, m)
	for i := range all {
		require.Equal(t, string(all[i]), string(next(t, sub)), "message %d", i)
	}
	_, err = e.ps.Publish(ctx, ch, [][]byte{[]byte("end")})
	require.NoError(t, err)
	require.Equal(t, "end", string(next(t, sub)), "no duplicate before the end marker")
}

// TestReconnect restarts the server on the same address: go-redis
// reconnects and resubscribes, the Go channel stays open and new messages
// arrive.
func TestReconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	ch := channelName(t)

	sub, err := e.ps.Subscribe(ctx, ch)
	require.NoError(t, err)
	_, err = e.ps.Publish(ctx, ch, [][]byte{[]byte("before")})
	require.NoError(t, err)
	require.Equal(t, "before", string(next(t, sub)))

	addr := e.mr.Addr()
	e.mr.Close()
	mr2 := miniredis.NewMiniRedis()
	require.NoError(t, mr2.StartAddr(addr))
	t.Cleanup(mr2.Close)

	require.Eventually(t, func() bool { return numSub(mr2, ch) == 1 }, wait, wait/100,
		"not resubscribed; logs:\n%s", e.logs)
	// A pooled publishing connection may have died with the old server;
	// the caller (the gateway) retries, and so does this test.
	require.Eventually(t, func() bool {
		_, err := e.ps.Publish(ctx, ch, [][]byte{[]byte("after")})
		return err == nil
	}, wait, wait/100)
	require.Equal(t, "after", string(next(t, sub)))
	assert.True(t, e.logs.has(slog.LevelWarn, "receive failed"), e.logs.String())
	assert.True(t, e.logs.has(slog.LevelInfo, "resubscribed"), e.logs.String())
}

// TestReceiveErrorsRetryPromptlyAndQuietly keeps the server down for a
// while: the loop probes Redis every 25-50 ms without spinning (a dial
// each time, counted by the client's Dialer), logs one Warn for the whole
// outage rather than one per attempt, and reports the loss once, to
// OnSubscription and to SubscribeReport's caller.
func TestReceiveErrorsRetryPromptlyAndQuietly(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	var dials atomic.Int64
	var nd net.Dialer
	client := redis.NewClient(&redis.Options{Addr: mr.Addr(), Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nd.DialContext(ctx, network, addr)
	}})
	t.Cleanup(func() { _ = client.Close() })
	logs := &logRecorder{}
	var hooked atomic.Int64
	ps, err := redispubsub.New(redispubsub.Config{Client: client, Logger: slog.New(logs),
		OnSubscription: func(_ string, up bool, _ error) {
			if !up {
				hooked.Add(1)
			}
		}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	ctx := testCtx(t)
	reports := make(chan bool, 16)
	sub, err := ps.SubscribeReport(ctx, channelName(t), func(up bool, err error) {
		if !up {
			assert.Error(t, err, "a loss comes with its error")
		}
		reports <- up
	})
	require.NoError(t, err)
	mr.Close()
	select {
	case up := <-reports:
		require.False(t, up, "the first report is the loss")
	case <-time.After(wait):
		t.Fatal("the loss was not reported")
	}

	start, from := timeNow(), dials.Load()
	require.Eventually(t, func() bool { return dials.Load()-from >= 8 }, wait, time.Millisecond,
		"Redis is probed again and again while it is down")
	elapsed, n := timeSince(start), dials.Load()-from
	t.Logf("%d dials in %v while Redis was down", n, elapsed)
	// At most two dials per attempt (go-redis redials once when it drops
	// the broken connection), attempts at least 25 ms apart.
	assert.LessOrEqual(t, n, 2*(elapsed.Milliseconds()/25+2), "retries must not spin")
	require.NoError(t, ps.Close())
	requireClosed(t, sub)
	assert.Equal(t, 1, countWarn(logs), "one Warn for an outage shorter than 5 s:\n%s", logs)
	assert.Equal(t, int64(1), hooked.Load(), "OnSubscription told of the loss once")
	assert.Empty(t, reports, "the loss is reported once")
}

func countWarn(l *logRecorder) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.Level == slog.LevelWarn {
			n++
		}
	}
	return n
}

// TestSharedClientSurvivesClose: a PubSub never closes the injected client,
// which another PubSub may share.
func TestSharedClientSurvivesClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	other, err := redispubsub.New(redispubsub.Config{Client: e.client})
	require.NoError(t, err)
	require.NoError(t, other.Close())
	n, err := e.ps.Publish(ctx, channelName(t), [][]byte{[]byte("x")})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// TestPublishCanceledContext reports the context error.
func TestPublishCanceledContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := e.ps.Publish(ctx, channelName(t), [][]byte{[]byte("x")})
	assert.Zero(t, n)
	assert.True(t, errors.Is(err, context.Canceled), err)
}

// collect receives want messages in the background and sends them on the
// returned channel (or fails the test at the deadline).
func collect(t *testing.T, sub <-chan []byte, want int) <-chan [][]byte {
	t.Helper()
	done := make(chan [][]byte, 1)
	go func() {
		got := make([][]byte, 0, want)
		for len(got) < want {
			select {
			case m, ok := <-sub:
				if !ok {
					done <- got
					return
				}
				got = append(got, m)
			case <-timeAfter(4 * wait):
				done <- got
				return
			}
		}
		done <- got
	}()
	return done
}

func requireSame(t *testing.T, want, got [][]byte) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		if !bytes.Equal(want[i], got[i]) {
			require.Failf(t, "out of order", "message %d: want %q, got %q", i, want[i], got[i])
		}
	}
}
