// Package jetstream is the NATS JetStream transport: channels are subjects
// of one stream (Config.Stream, subjects "<Stream>.<channel>"), kept by
// JetStream with MaxAge/MaxMsgs retention.
//
// Guarantees: Publish returns how many leading messages JetStream
// acknowledged (PubAcks of asynchronous publishes, awaited in order).
// Subscribe reads with an ordered consumer from the message after the
// stream's last one at the time it returns: at most once, but it resumes
// after a reconnect without gaps while the messages are retained.
// SubscribeAck reads through a durable consumer per node and channel
// (Config.Consumer): every node sees every message, acknowledged
// explicitly. A new subscription of the consumer restarts it right after
// its ack floor (the last message acknowledged in order), so after a
// reconnect or a restart the node gets, in stream order and at once, every
// message it had not acknowledged, then new ones; any consume error ends
// the subscription so that the next one restarts from the ack floor.
// Delivery.ID is the stream sequence; duplicates are possible (at least
// once) and are dropped by the receiver by ID.
//
// nats.go's jetstream API is used directly rather than watermill-nats:
// ordered, resumable delivery needs the ack floor and the consumer's start
// sequence, which watermill's subscriber does not expose; see
// docs/transports.md.
package jetstream

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/sockgate/sockgate/internal/pack"
	"github.com/sockgate/sockgate/internal/shutdown"
	"github.com/sockgate/sockgate/transport"
)

// Defaults.
const (
	DefaultStream  = "SOCKGATE"
	DefaultMaxAge  = 24 * time.Hour
	DefaultMaxMsgs = 1_000_000
	// DefaultDuplicates is JetStream's own default duplicate window.
	DefaultDuplicates = 2 * time.Minute
	buffer            = 1024
	opTimeout         = 10 * time.Second
	closeWait         = time.Second // for nats.go to stop a consumer
)

// ErrConfig reports an invalid Config or channel name.
var ErrConfig = errors.New("jetstream: invalid configuration")

// Config configures a PubSub.
type Config struct {
	// Conn is the NATS connection (required); PubSub never closes it.
	// Connect it with nats.ReconnectBufSize(-1): nats.go otherwise keeps
	// publishes made while it reconnects and sends them after the
	// reconnect, ahead of the retry of what the broker lost, so publish
	// order does not survive a broker restart (New logs a warning).
	Conn *nats.Conn
	// Stream is the JetStream stream (created or updated on first use);
	// default "SOCKGATE".
	Stream string
	// Consumer is this node's durable name, stable across restarts;
	// required for SubscribeAck.
	Consumer string
	// MaxAge and MaxMsgs bound the stream's retention; defaults 24 h and
	// 1,000,000 messages. A node away longer loses what was discarded.
	MaxAge  time.Duration
	MaxMsgs int64
	// Duplicates is how long JetStream remembers the message IDs of
	// PublishIdempotent (the stream's duplicate window): a retry after a
	// broker restart later than this can store a message twice. Default
	// DefaultDuplicates; at most MaxAge.
	Duplicates time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// PubSub is a transport.Publisher, transport.Subscriber and
// transport.AckSubscriber on JetStream.
type PubSub struct {
	cfg Config
	log *slog.Logger
	js  js.JetStream

	life        *shutdown.Group
	mu          sync.Mutex
	streamReady bool

	floors    map[string]uint64 // durable name -> the last stream sequence this process acknowledged in order (under mu)
	repeats   atomic.Uint64     // messages PublishIdempotent found already stored
	malformed atomic.Uint64     // stored messages that did not unpack
}

var (
	_ transport.Publisher     = (*PubSub)(nil)
	_ transport.Subscriber    = (*PubSub)(nil)
	_ transport.AckSubscriber = (*PubSub)(nil)
	_ transport.Pinger        = (*PubSub)(nil)

	_ transport.IdempotentPublisher = (*PubSub)(nil)
	_ transport.Replayer            = (*PubSub)(nil)
)

// New returns a PubSub; it makes no request until first used.
func New(cfg Config) (*PubSub, error) {
	if cfg.Conn == nil {
		return nil, fmt.Errorf("%w: Conn is nil", ErrConfig)
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if strings.ContainsAny(cfg.Stream, " .*>\t\r\n/\\") {
		return nil, fmt.Errorf("%w: Stream %q: a stream name cannot contain spaces, dots, wildcards or slashes", ErrConfig, cfg.Stream)
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxMsgs == 0 {
		cfg.MaxMsgs = DefaultMaxMsgs
	}
	if cfg.MaxAge < 0 || cfg.MaxMsgs < 0 || cfg.Duplicates < 0 {
		return nil, fmt.Errorf("%w: MaxAge, MaxMsgs and Duplicates must not be negative", ErrConfig)
	}
	if cfg.Duplicates == 0 {
		cfg.Duplicates = min(DefaultDuplicates, cfg.MaxAge)
	}
	if cfg.Duplicates > cfg.MaxAge {
		return nil, fmt.Errorf("%w: Duplicates %v exceeds MaxAge %v", ErrConfig, cfg.Duplicates, cfg.MaxAge)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	j, err := js.New(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if cfg.Conn.Opts.ReconnectBufSize >= 0 {
		cfg.Logger.Warn("jetstream: the NATS connection keeps publishes made while it reconnects and sends them " +
			"after the reconnect, so a batch retried after a broker restart can be stored after later messages; " +
			"connect with nats.ReconnectBufSize(-1) to keep publish order across restarts")
	}
	return &PubSub{cfg: cfg, log: cfg.Logger, js: j, life: shutdown.New()}, nil
}

// subject maps channel to its subject, refusing what is not one literal
// subject.
func (p *PubSub) subject(channel string) (string, error) {
	if channel == "" || strings.ContainsAny(channel, " \t\r\n") {
		return "", fmt.Errorf("%w: channel %q: empty or contains whitespace", ErrConfig, channel)
	}
	for _, tok := range strings.Split(channel, ".") {
		if tok == "" || tok == "*" || tok == ">" {
			return "", fmt.Errorf("%w: channel %q: empty token or wildcard", ErrConfig, channel)
		}
	}
	return p.cfg.Stream + "." + channel, nil
}

// stream creates or updates the stream on first use; a failure is tried
// again on the next call.
func (p *PubSub) stream(ctx context.Context) error {
	p.mu.Lock()
	ready := p.streamReady
	p.mu.Unlock()
	if ready {
		return nil
	}
	_, err := p.js.CreateOrUpdateStream(ctx, js.StreamConfig{
		Name:       p.cfg.Stream,
		Subjects:   []string{p.cfg.Stream + ".>"},
		MaxAge:     p.cfg.MaxAge,
		MaxMsgs:    p.cfg.MaxMsgs,
		Duplicates: p.cfg.Duplicates,
		Storage:    js.FileStorage,
		Discard:    js.DiscardOld,
	})
	if err == nil {
		p.mu.Lock()
		p.streamReady = true
		p.mu.Unlock()
	}
	return err
}

func (p *PubSub) closed() bool { return p.life.Closed() }

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, opTimeout)
}

// Publish sends msgs asynchronously and waits for their acknowledgements
// in order.
func (p *PubSub) Publish(ctx context.Context, channel string, msgs [][]byte) (int, error) {
	return p.publish(ctx, channel, nil, msgs)
}

// PublishIdempotent is Publish with a message ID per message
// ("<Producer>-<number>", the Nats-Msg-Id header): JetStream stores each ID
// once within Config.Duplicates and acknowledges a repeat without storing
// it, so retrying after a lost acknowledgement stores no duplicate.
func (p *PubSub) PublishIdempotent(ctx context.Context, channel string, seq transport.Sequence, msgs [][]byte) (int, error) {
	if seq.Producer == "" {
		return 0, fmt.Errorf("%w: PublishIdempotent to %q: empty producer", ErrConfig, channel)
	}
	return p.publish(ctx, channel, &seq, msgs)
}

func (p *PubSub) publish(ctx context.Context, channel string, seq *transport.Sequence, msgs [][]byte) (int, error) {
	if p.closed() {
		return 0, fmt.Errorf("jetstream: publish to %q: %w", channel, transport.ErrClosed)
	}
	subj, err := p.subject(channel)
	if err != nil {
		return 0, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if err := p.stream(ctx); err != nil {
		return 0, fmt.Errorf("jetstream: publish to %q: stream %q: %w", channel, p.cfg.Stream, err)
	}
	// Each chunk of msgs that fits in the server's max payload is one
	// stored message (packed when it holds several, see pack.go); a retry
	// of msgs[n:] chunks the same way from there, so the IDs repeat.
	limit := min(pack.Limit, int(p.cfg.Conn.MaxPayload())-packSlack)
	type sent struct {
		f js.PubAckFuture
		n int // messages in the chunk
	}
	var futures []sent
	var prefix []byte
	if seq != nil {
		prefix = append([]byte(seq.Producer), '-')
	}
	for i := 0; i < len(msgs); {
		// A publish while reconnecting would wait in nats.go's reconnect
		// buffer and overtake the retry of what the broker lost: stop
		// here and let the caller retry in order (with
		// nats.ReconnectBufSize(-1), such a publish fails instead).
		if st := p.cfg.Conn.Status(); st != nats.CONNECTED {
			err = fmt.Errorf("connection %v", st)
			break
		}
		k := pack.Chunk(msgs[i:], limit)
		m := &nats.Msg{Subject: subj}
		if k == 1 {
			m.Data = msgs[i]
		} else {
			m.Header = nats.Header{packHeader: []string{strconv.Itoa(k)}}
			m.Data = pack.Append(make([]byte, 0, limit/4), msgs[i:i+k])
		}
		var opts []js.PublishOpt
		if seq != nil {
			// "<producer>-<first>" for one message, "<producer>-<first>-<last>"
			// for a pack: a pack chunked differently on a retry is stored
			// again (a duplicate) rather than taken for the old one (a loss).
			id := strconv.AppendUint(prefix, seq.First+uint64(i), 10)
			if k > 1 {
				id = strconv.AppendUint(append(id, '-'), seq.First+uint64(i+k-1), 10)
			}
			opts = append(opts, js.WithMsgID(string(id)))
		}
		var f js.PubAckFuture
		if f, err = p.js.PublishMsgAsync(m, opts...); err != nil {
			break
		}
		futures = append(futures, sent{f, k})
		i += k
	}
	confirmed, queued := 0, 0
	for _, s := range futures {
		queued += s.n
	}
	for _, s := range futures {
		select {
		case ack := <-s.f.Ok():
			if ack != nil && ack.Duplicate {
				p.repeats.Add(uint64(s.n))
			}
		case err := <-s.f.Err():
			return confirmed, fmt.Errorf("jetstream: publish to %q: %d of %d confirmed: %w", channel, confirmed, len(msgs), err)
		case <-ctx.Done():
			return confirmed, fmt.Errorf("jetstream: publish to %q: %d of %d confirmed: %w", channel, confirmed, len(msgs), ctx.Err())
		}
		confirmed += s.n
	}
	if queued < len(msgs) {
		return queued, fmt.Errorf("jetstream: publish to %q: %d of %d sent: %w", channel, queued, len(msgs), err)
	}
	return len(msgs), nil
}

func (p *PubSub) begin() error {
	if !p.life.Add(1) {
		return transport.ErrClosed
	}
	return nil
}

// Subscribe delivers every message published to channel after it returns.
func (p *PubSub) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	return ordered(p, ctx, channel, "", func(m js.Msg) [][]byte {
		parts, err := p.unpack(channel, m)
		if err != nil {
			return nil
		}
		return parts
	})
}

// SubscribeFrom delivers the messages of channel after the stream
// sequence after ("" for the oldest the stream retains), then new ones,
// with an ordered consumer: a replay from a position, no durable consumer,
// nothing to acknowledge (Delivery.Ack does nothing).
func (p *PubSub) SubscribeFrom(ctx context.Context, channel, after string) (<-chan transport.Delivery, error) {
	if after == "" {
		after = "0"
	}
	// "<seq>" starts after that stored message; "<seq>-<i>" inside a
	// pack starts at that stored message, after its message i.
	var skipSeq uint64
	skipIdx := -1
	if h, l, ok := strings.Cut(after, "-"); ok {
		s, err1 := strconv.ParseUint(h, 10, 64)
		i, err2 := strconv.Atoi(l)
		if err1 != nil || err2 != nil || s == 0 || i < 0 {
			return nil, fmt.Errorf("%w: SubscribeFrom %q: position %q is not a stream sequence", ErrConfig, channel, after)
		}
		skipSeq, skipIdx, after = s, i, strconv.FormatUint(s-1, 10)
	}
	return ordered(p, ctx, channel, after, func(m js.Msg) []transport.Delivery {
		md, err := m.Metadata()
		if err != nil {
			p.log.Warn("jetstream: message without metadata skipped", "channel", channel, "error", err)
			return nil
		}
		parts, err := p.unpack(channel, m)
		if err != nil {
			return nil
		}
		packed := len(parts) > 1 || m.Headers().Get(packHeader) != ""
		out := make([]transport.Delivery, 0, len(parts))
		for i, d := range parts {
			if md.Sequence.Stream == skipSeq && i <= skipIdx {
				continue
			}
			out = append(out, transport.Delivery{Data: d, ID: packedID(md.Sequence.Stream, i, packed), Ack: noAck})
		}
		return out
	})
}

// unpack returns the messages m carries; a malformed pack is logged,
// counted in Malformed and skipped.
func (p *PubSub) unpack(channel string, m js.Msg) ([][]byte, error) {
	parts, err := unpack(m.Headers(), m.Data())
	if err != nil {
		p.malformed.Add(1)
		p.log.Error("jetstream: malformed message skipped", "channel", channel, "error", err)
	}
	return parts, err
}

// Malformed is how many stored messages could not be unpacked and were
// skipped (and acknowledged, so that they do not come back).
func (p *PubSub) Malformed() uint64 { return p.malformed.Load() }

func noAck() {}

// ordered runs an ordered consumer of channel from the stream sequence
// after after ("" for the end of the stream at the time of the call) and
// hands each message, converted by conv, to the returned Go channel.
func ordered[T any](p *PubSub, ctx context.Context, channel, after string, conv func(js.Msg) []T) (<-chan T, error) {
	subj, err := p.subject(channel)
	if err != nil {
		return nil, err
	}
	var start uint64
	if after != "" {
		n, err := strconv.ParseUint(after, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: SubscribeFrom %q: position %q is not a stream sequence", ErrConfig, channel, after)
		}
		start = n + 1
	}
	if err := p.begin(); err != nil {
		return nil, fmt.Errorf("jetstream: subscribe to %q: %w", channel, err)
	}
	fail := func(err error) (<-chan T, error) {
		p.life.Exit()
		return nil, fmt.Errorf("jetstream: subscribe to %q: %w", channel, err)
	}
	octx, cancel := withTimeout(ctx)
	defer cancel()
	if err := p.stream(octx); err != nil {
		return fail(err)
	}
	if after == "" {
		s, err := p.js.Stream(octx, p.cfg.Stream)
		if err != nil {
			return fail(err)
		}
		start = s.CachedInfo().State.LastSeq + 1
	}
	c, err := p.js.OrderedConsumer(octx, p.cfg.Stream, js.OrderedConsumerConfig{
		FilterSubjects: []string{subj},
		DeliverPolicy:  js.DeliverByStartSequencePolicy,
		OptStartSeq:    max(start, 1),
	})
	if err != nil {
		return fail(err)
	}
	out := make(chan T, buffer)
	sctx, stop := context.WithCancel(ctx)
	var (
		outMu sync.Mutex // guards out as in SubscribeAck
		ended bool
	)
	cc, err := c.Consume(func(m js.Msg) {
		vs := conv(m)
		outMu.Lock()
		defer outMu.Unlock()
		for _, v := range vs {
			if ended || sctx.Err() != nil {
				ended = true // nothing after a message left out (see SubscribeAck)
				return
			}
			select {
			case out <- v:
			case <-sctx.Done():
				return
			case <-p.life.Closing():
				return
			}
		}
	})
	if err != nil {
		stop()
		return fail(err)
	}
	go func() {
		defer p.life.Exit()
		defer close(out)
		select {
		case <-sctx.Done():
		case <-p.life.Closing():
		}
		stop()
		cc.Stop()
		outMu.Lock() // a callback in progress returns at once: sctx is done
		ended = true
		outMu.Unlock()
		select {
		case <-cc.Closed():
		case <-time.After(closeWait):
			p.log.Debug("jetstream: consumer still winding down; not waiting", "channel", channel)
		}
	}()
	return out, nil
}

// durable names the node's consumer of channel: its name and a hash of
// the channel (consumer names cannot hold every character a channel can).
func (p *PubSub) durable(channel string) string {
	h := sha256.Sum256([]byte(channel))
	return p.cfg.Consumer + "_" + hex.EncodeToString(h[:8])
}

// SubscribeAck reads channel through this node's durable consumer; see the
// package doc.
func (p *PubSub) SubscribeAck(ctx context.Context, channel string) (<-chan transport.Delivery, error) {
	if p.cfg.Consumer == "" || strings.ContainsAny(p.cfg.Consumer, " .*>\t\r\n/\\") {
		return nil, fmt.Errorf("%w: Consumer %q: a durable name per node is required (no spaces, dots, wildcards or slashes)", ErrConfig, p.cfg.Consumer)
	}
	subj, err := p.subject(channel)
	if err != nil {
		return nil, err
	}
	if err := p.begin(); err != nil {
		return nil, fmt.Errorf("jetstream: subscribe to %q: %w", channel, err)
	}
	fail := func(err error) (<-chan transport.Delivery, error) {
		p.life.Exit()
		return nil, fmt.Errorf("jetstream: subscribe to %q: %w", channel, err)
	}
	octx, cancel := withTimeout(ctx)
	defer cancel()
	if err := p.stream(octx); err != nil {
		return fail(err)
	}
	// Each subscription gets a consumer of its own, named after the node,
	// the channel and a fresh generation, so that nothing an ended
	// subscription still sends (a pull request nats.go re-issues after a
	// reconnect, an ack) can reach the new one: the server hands a pull
	// the next message, and takes an ack for a message not yet delivered
	// as a reason to skip ahead to it.
	base := p.durable(channel)
	name := base + "_" + generation()
	cfg := js.ConsumerConfig{
		Durable:       name,
		FilterSubject: subj,
		AckPolicy:     js.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: buffer,
		DeliverPolicy: js.DeliverNewPolicy,
		// A node away longer than the stream keeps messages has nothing
		// left to resume; its consumer goes too.
		InactiveThreshold: p.cfg.MaxAge,
	}
	// The new consumer starts right after the ack floor (the last message
	// acknowledged in order) of the node's earlier ones, which it deletes,
	// or of what this process itself acknowledged, whichever is later: what
	// was delivered and not acknowledged comes again at once and in order.
	// A server that restarted may report a stale floor, or, still
	// recovering, no consumer at all; starting "new" then would skip what
	// was published since.
	local, known := p.floor(base)
	floor, found, err := p.retire(octx, base)
	if err != nil {
		return fail(err)
	}
	switch {
	case found || known:
		if !found {
			p.log.Warn("jetstream: the server has lost this node's consumer; resuming after the last message this process acknowledged",
				"channel", channel, "consumer", base, "after", local)
		}
		cfg.DeliverPolicy = js.DeliverByStartSequencePolicy
		cfg.OptStartSeq = max(floor, local) + 1
	}
	c, err := p.js.CreateOrUpdateConsumer(octx, p.cfg.Stream, cfg)
	if err != nil {
		return fail(err)
	}
	p.log.Debug("jetstream: subscribed", "channel", channel, "consumer", name, "start", cfg.OptStartSeq)
	out := make(chan transport.Delivery, buffer)
	pos := &position{pending: map[uint64]struct{}{}, max: cfg.OptStartSeq - min(cfg.OptStartSeq, 1)}
	// Acks stop when the subscription ends: the next subscription deletes
	// and recreates the consumer under the same name, and the server takes
	// an ack for a message the new consumer has not delivered yet as a
	// reason to skip ahead to it. An ack not sent means a redelivery, which
	// the receiver drops by ID. Acks go out on the connection that then
	// carries the delete request, so those sent before reach the old
	// consumer.
	var (
		ackMu   sync.RWMutex
		ackable = true
	)
	sctx, stop := context.WithCancel(ctx)
	// ended guards out: once set (after stop), the callback sends nothing,
	// so out can be closed without waiting for nats.go to wind the
	// consumer down (which can take until its pull expires when the
	// connection is gone).
	var (
		outMu sync.Mutex
		ended bool
	)
	cc, err := c.Consume(func(m js.Msg) {
		md, err := m.Metadata()
		if err != nil {
			p.log.Warn("jetstream: message without metadata skipped", "channel", channel, "error", err)
			return
		}
		parts, err := p.unpack(channel, m)
		if err != nil {
			_ = m.Ack() // it would only come back malformed
			return
		}
		packed := len(parts) > 1 || m.Headers().Get(packHeader) != ""
		seq := md.Sequence.Stream
		pos.delivered(seq)
		acks := pack.Countdown(len(parts), func() {
			pos.acked(seq)
			ackMu.RLock()
			defer ackMu.RUnlock()
			if ackable {
				_ = m.Ack()
			}
		})
		outMu.Lock()
		defer outMu.Unlock()
		for i, data := range parts {
			// Once the subscription is ending nothing more is handed
			// over: a select with sctx done may still pick the send, and a
			// later message delivered after one left out would make the
			// receiver drop the redelivery of the one left out as a
			// duplicate (its ID is lower).
			if ended || sctx.Err() != nil {
				ended = true
				return
			}
			d := transport.Delivery{Data: data, ID: packedID(md.Sequence.Stream, i, packed), Ack: acks[i]}
			select {
			case out <- d:
			case <-sctx.Done():
				return
			case <-p.life.Closing():
				return
			}
		}
	}, js.ConsumeErrHandler(func(_ js.ConsumeContext, err error) {
		// Any trouble ends this subscription; the next one restarts from
		// the ack floor, so nothing is skipped.
		p.log.Warn("jetstream: consume error; ending the subscription", "channel", channel, "error", err)
		stop()
	}))
	if err != nil {
		stop()
		return fail(err)
	}
	// A lost connection ends the subscription too: pull responses in
	// flight are gone, and the consumer would redeliver them only after
	// the ack wait, behind newer messages.
	status := p.cfg.Conn.StatusChanged(nats.RECONNECTING, nats.DISCONNECTED, nats.CLOSED)
	go func() {
		defer p.life.Exit()
		defer close(out)
		defer stop()
		defer p.cfg.Conn.RemoveStatusListener(status)
		select {
		case <-sctx.Done():
		case <-p.life.Closing():
		case st := <-status:
			p.log.Warn("jetstream: connection lost; ending the subscription to resume from the ack floor", "channel", channel, "status", st.String())
		}
		stop()
		ackMu.Lock()
		ackable = false
		ackMu.Unlock()
		cc.Stop()
		outMu.Lock() // a callback in progress returns at once: sctx is done
		ended = true
		outMu.Unlock()
		p.setFloor(base, pos)
		select {
		case <-cc.Closed():
		case <-time.After(closeWait):
			p.log.Debug("jetstream: consumer still winding down; not waiting", "channel", channel)
		}
	}()
	return out, nil
}

// Ping checks the connection and JetStream with an account info request.
func (p *PubSub) Ping(ctx context.Context) error {
	if p.closed() {
		return fmt.Errorf("jetstream: ping: %w", transport.ErrClosed)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := p.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream: ping: %w", err)
	}
	return nil
}

// Close ends every subscription and makes later calls return
// transport.ErrClosed; it does not close the connection. Idempotent.
func (p *PubSub) Close() error {
	p.life.Close()
	return nil
}

// Repeats is how many messages PublishIdempotent was given that the broker
// already held (retries after a lost confirmation) and so did not store
// again.
func (p *PubSub) Repeats() uint64 { return p.repeats.Load() }

// position follows one SubscribeAck subscription: the stored messages it
// handed out and which of them were acknowledged.
type position struct {
	mu      sync.Mutex
	pending map[uint64]struct{} // delivered, not (fully) acknowledged
	max     uint64              // the last sequence delivered (or the one before the start)
}

func (p *position) delivered(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending[seq] = struct{}{}
	p.max = max(p.max, seq)
}

func (p *position) acked(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pending, seq)
}

// floor is the last sequence before which everything delivered was
// acknowledged.
func (p *position) floor() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.max
	for seq := range p.pending {
		f = min(f, seq-1)
	}
	return f
}

// setFloor records where a subscription of durable name left off (never
// moving backwards).
func (p *PubSub) setFloor(name string, pos *position) {
	f := pos.floor()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.floors == nil {
		p.floors = map[string]uint64{}
	}
	if f > p.floors[name] {
		p.floors[name] = f
	}
}

// floor returns what setFloor recorded for durable name, if anything.
func (p *PubSub) floor(name string) (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.floors[name]
	return f, ok
}

// generation names one subscription's consumer: random, so that two
// subscriptions never share one.
func generation() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// retire deletes the node's earlier consumers of a channel (base, as
// named before generations, and base_<generation>) and returns the latest
// ack floor among them; found is false when there was none.
func (p *PubSub) retire(ctx context.Context, base string) (floor uint64, found bool, err error) {
	s, err := p.js.Stream(ctx, p.cfg.Stream)
	if err != nil {
		return 0, false, err
	}
	names := s.ConsumerNames(ctx)
	var old []string
	for n := range names.Name() {
		if n == base || strings.HasPrefix(n, base+"_") {
			old = append(old, n)
		}
	}
	if err := names.Err(); err != nil {
		return 0, false, err
	}
	for _, n := range old {
		c, err := s.Consumer(ctx, n)
		if errors.Is(err, js.ErrConsumerNotFound) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		info, err := c.Info(ctx)
		if err != nil {
			return 0, false, err
		}
		floor, found = max(floor, info.AckFloor.Stream), true
		if err := s.DeleteConsumer(ctx, n); err != nil && !errors.Is(err, js.ErrConsumerNotFound) {
			return 0, false, err
		}
	}
	return floor, found, nil
}
