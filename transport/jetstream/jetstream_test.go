package jetstream_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/jetstream"
	"github.com/sockgate/sockgate/transport/transporttest"
)

// embedded starts an in-process NATS server with JetStream on a free port.
func embedded(t testing.TB) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
	})
	require.NoError(t, err)
	ns.Start()
	t.Cleanup(ns.Shutdown)
	require.True(t, ns.ReadyForConnections(10*time.Second), "nats-server did not start")
	return ns.ClientURL()
}

func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), nats.ReconnectBufSize(-1))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

func newPubSub(t testing.TB, url, stream, consumer string) *jetstream.PubSub {
	t.Helper()
	ps, err := jetstream.New(jetstream.Config{Conn: connect(t, url), Stream: stream, Consumer: consumer})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	return ps
}

// nodeName is a durable consumer name unique to the test and run.
func nodeName(t *testing.T) string {
	return "node-" + strings.ReplaceAll(transporttest.Channel(t), ":", "-")
}

func TestConformance(t *testing.T) {
	t.Parallel()
	url := embedded(t)
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		ps := newPubSub(t, url, "TT", nodeName(t))
		return ps, ps
	}, transporttest.Features{Persistent: true})
}

func TestConfig(t *testing.T) {
	t.Parallel()
	_, err := jetstream.New(jetstream.Config{})
	require.ErrorIs(t, err, jetstream.ErrConfig)
	nc := connect(t, embedded(t))
	_, err = jetstream.New(jetstream.Config{Conn: nc, Stream: "a.b"})
	require.ErrorIs(t, err, jetstream.ErrConfig)
	ps, err := jetstream.New(jetstream.Config{Conn: nc})
	require.NoError(t, err)
	_, err = ps.SubscribeAck(context.Background(), "c")
	require.ErrorIs(t, err, jetstream.ErrConfig, "a durable consumer name is required")
	_, err = ps.Publish(context.Background(), "a.*", [][]byte{[]byte("x")})
	require.ErrorIs(t, err, jetstream.ErrConfig)
}

// A stored message that does not unpack is logged, counted, acknowledged
// and skipped; the next one is delivered.
func TestMalformedPackIsCountedAndSkipped(t *testing.T) {
	t.Parallel()
	url := embedded(t)
	ps := newPubSub(t, url, "TTM", nodeName(t))
	channel := "malformed"
	ctx, cancel := context.WithTimeout(context.Background(), transporttest.Wait)
	defer cancel()
	ch, err := ps.SubscribeAck(ctx, channel)
	require.NoError(t, err)
	nc := connect(t, url)
	bad := &nats.Msg{Subject: "TTM." + channel, Header: nats.Header{"Sockgate-Pack": []string{"2"}}, Data: []byte{0x7f}}
	_, err = nc.RequestMsg(bad, transporttest.Wait)
	require.NoError(t, err)
	_, err = ps.Publish(ctx, channel, [][]byte{[]byte("good")})
	require.NoError(t, err)
	select {
	case d := <-ch:
		require.Equal(t, "good", string(d.Data))
		d.Ack()
	case <-ctx.Done():
		t.Fatal("the message after the malformed one never came")
	}
	require.Equal(t, uint64(1), ps.Malformed())
}

// A batch is stored as packs of at most 64 KB: many small messages arrive
// in order with IDs "<seq>-<i>", and a retried batch is stored once.
func TestBatchIsPackedAndRetriedOnce(t *testing.T) {
	t.Parallel()
	url := embedded(t)
	ps := newPubSub(t, url, "TTP", nodeName(t))
	channel := "packed"
	ctx, cancel := context.WithTimeout(context.Background(), transporttest.Wait)
	defer cancel()
	ch, err := ps.SubscribeAck(ctx, channel)
	require.NoError(t, err)
	msgs := make([][]byte, 2000)
	for i := range msgs {
		msgs[i] = []byte(strings.Repeat("x", 100) + string(rune('a'+i%26)))
	}
	seq := transport.Sequence{Producer: "p", First: 1}
	for range 2 { // the second call is a retry whose confirmation was lost
		n, err := ps.PublishIdempotent(ctx, channel, seq, msgs)
		require.NoError(t, err)
		require.Equal(t, len(msgs), n)
	}
	require.Equal(t, uint64(len(msgs)), ps.Repeats())
	seqs := map[string]bool{}
	for i := range msgs {
		select {
		case d := <-ch:
			require.Equal(t, string(msgs[i]), string(d.Data), "message %d", i)
			s, _, ok := strings.Cut(d.ID, "-")
			require.True(t, ok, "packed ID %q", d.ID)
			seqs[s] = true
			d.Ack()
		case <-ctx.Done():
			t.Fatalf("message %d never came", i)
		}
	}
	require.Greater(t, len(seqs), 1, "2000 x 101 bytes fit in no single 64 KB pack")
	require.Less(t, len(seqs), 10, "but in a few")
}

// A server that lost a node's consumer (restarted before it was stored,
// or answering while it recovers) must not make the node skip what was
// published meanwhile: it resumes after what this process acknowledged.
func TestLostConsumerResumesAfterWhatWasAcknowledged(t *testing.T) {
	t.Parallel()
	url := embedded(t)
	ps := newPubSub(t, url, "TTL", nodeName(t))
	channel := "lost"
	ctx, cancel := context.WithTimeout(context.Background(), transporttest.Wait)
	defer cancel()
	next := func(ch <-chan transport.Delivery, want string) {
		t.Helper()
		select {
		case d := <-ch:
			require.Equal(t, want, string(d.Data))
			d.Ack()
		case <-ctx.Done():
			t.Fatalf("%q never came", want)
		}
	}
	sctx, stop := context.WithCancel(ctx)
	ch, err := ps.SubscribeAck(sctx, channel)
	require.NoError(t, err)
	_, err = ps.Publish(ctx, channel, [][]byte{[]byte("a")})
	require.NoError(t, err)
	next(ch, "a")
	stop()
	for range ch { // the subscription ends
	}

	// The server forgets the consumer; a message is published meanwhile.
	j, err := js.New(connect(t, url))
	require.NoError(t, err)
	stream, err := j.Stream(ctx, "TTL")
	require.NoError(t, err)
	names := stream.ConsumerNames(ctx)
	deleted := 0
	for name := range names.Name() {
		require.NoError(t, j.DeleteConsumer(ctx, "TTL", name))
		deleted++
	}
	require.Equal(t, 1, deleted)
	_, err = ps.Publish(ctx, channel, [][]byte{[]byte("b")})
	require.NoError(t, err)

	ch, err = ps.SubscribeAck(ctx, channel)
	require.NoError(t, err)
	next(ch, "b")
}
