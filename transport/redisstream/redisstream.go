// Package redisstream is the Redis Streams transport: a channel is a
// stream (key = channel name), capped with XADD MAXLEN ~. It is persistent:
// with a durable consumer name per server node (Config.Consumer), a node
// that was disconnected or restarted resumes with the first entry it has
// not acknowledged (transport.AckSubscriber).
//
// Guarantees: Publish returns how many leading entries Redis confirmed
// (XADD replies of one pipelined round trip). Subscribe (no consumer) reads
// with XREAD from the last entry at the time it returns: at most once, like
// pub/sub, but a reconnect resumes from the last entry read, so a short
// disconnect loses nothing that is still in the stream. SubscribeAck reads
// through a consumer group named after the consumer (one group per node, so
// every node sees every entry): after a reconnect or restart it first
// re-reads its pending entries (delivered, not acknowledged), then new
// ones; at least once, in stream order; Delivery.ID is the entry ID.
// Entries trimmed by MAXLEN before a long-disconnected node read them are
// lost to it (size MaxLen for the longest outage to ride out).
//
// go-redis is used directly rather than watermill-redisstream: the
// transport needs one group per node and pipelined XADDs with a confirmed
// prefix, which map onto the commands one to one; see docs/transports.md.
package redisstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/internal/backoff"
	"github.com/sockgate/sockgate/internal/pack"
	"github.com/sockgate/sockgate/internal/shutdown"
	"github.com/sockgate/sockgate/transport"
)

// Defaults.
const (
	DefaultMaxLen = 100_000
	// DefaultProducerTTL bounds how long a producer's number is kept.
	DefaultProducerTTL = 24 * time.Hour
	// field is the entry field that holds a single message; a pack of
	// several (internal/pack framing) is in packField with its count in
	// countField.
	field      = "d"
	packField  = "p"
	countField = "n"
	// block is how long one blocking read waits; it bounds how late a
	// cancelled subscription notices.
	block    = 500 * time.Millisecond
	batch    = 256
	ackQueue = 4 * batch
)

// retry is the wait after a failed read: 50 ms, doubling with each failure
// in a row up to 1 s.
var retry = backoff.Policy{Min: 50 * time.Millisecond, Max: time.Second}

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("redisstream: invalid configuration")

// Config configures a PubSub.
type Config struct {
	// Client is the Redis client (required). PubSub never closes it. Each
	// subscription holds one of its connections while it waits in a
	// blocking read (up to 500 ms), so its PoolSize must exceed the number
	// of subscriptions (a server node has one), and its ReadTimeout (3 s
	// by default) must exceed 500 ms.
	Client redis.UniversalClient
	// Consumer is this node's durable consumer name, stable across
	// restarts (SOCKET_NODE_ID); required for SubscribeAck.
	Consumer string
	// MaxLen caps each stream, approximately (XADD MAXLEN ~); default
	// DefaultMaxLen.
	MaxLen int64
	// ProducerTTL is how long PublishIdempotent remembers a producer's
	// last number after its last append; default DefaultProducerTTL. A
	// producer retrying later than this can append a message twice.
	ProducerTTL time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// PubSub is a transport.Publisher, transport.Subscriber and
// transport.AckSubscriber on Redis Streams.
type PubSub struct {
	cfg  Config
	log  *slog.Logger
	life *shutdown.Group

	repeats   atomic.Uint64 // messages PublishIdempotent found already stored
	malformed atomic.Uint64 // entries that were not messages
}

var (
	_ transport.Publisher     = (*PubSub)(nil)
	_ transport.Subscriber    = (*PubSub)(nil)
	_ transport.AckSubscriber = (*PubSub)(nil)
	_ transport.Pinger        = (*PubSub)(nil)

	_ transport.IdempotentPublisher = (*PubSub)(nil)
	_ transport.Replayer            = (*PubSub)(nil)
)

// New returns a PubSub on cfg.Client.
func New(cfg Config) (*PubSub, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: Client is nil", ErrConfig)
	}
	if cfg.MaxLen < 0 {
		return nil, fmt.Errorf("%w: MaxLen %d is negative", ErrConfig, cfg.MaxLen)
	}
	if cfg.MaxLen == 0 {
		cfg.MaxLen = DefaultMaxLen
	}
	if cfg.ProducerTTL < 0 {
		return nil, fmt.Errorf("%w: ProducerTTL %v is negative", ErrConfig, cfg.ProducerTTL)
	}
	if cfg.ProducerTTL == 0 {
		cfg.ProducerTTL = DefaultProducerTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &PubSub{cfg: cfg, log: cfg.Logger, life: shutdown.New()}, nil
}

// start counts n goroutines of a subscription, or returns
// transport.ErrClosed.
func (p *PubSub) start(n int) error {
	if !p.life.Add(n) {
		return transport.ErrClosed
	}
	return nil
}

func (p *PubSub) closed() bool { return p.life.Closed() }

// entry is one stream entry of a batch: the messages msgs[from:to], as
// XADD field-value pairs (one message, or a pack of several).
type entry struct {
	to     int // end of its messages in the batch
	values []any
}

// entries cuts msgs into stream entries of at most pack.Limit bytes: a
// batch is stored as few entries, since Redis's cost is per entry.
func entries(msgs [][]byte) []entry {
	var out []entry
	for i := 0; i < len(msgs); {
		k := pack.Chunk(msgs[i:], pack.Limit)
		e := entry{to: i + k}
		if k == 1 {
			e.values = []any{field, msgs[i]}
		} else {
			e.values = []any{countField, k, packField, pack.Append(make([]byte, 0, pack.Limit/4), msgs[i:i+k])}
		}
		out = append(out, e)
		i += k
	}
	return out
}

// Publish appends msgs to channel's stream in one pipelined round trip,
// packed into as few entries as pack.Limit allows.
func (p *PubSub) Publish(ctx context.Context, channel string, msgs [][]byte) (int, error) {
	if p.closed() {
		return 0, fmt.Errorf("redisstream: publish to %q: %w", channel, transport.ErrClosed)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	es := entries(msgs)
	cmds, err := p.cfg.Client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, e := range es {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: channel, MaxLen: p.cfg.MaxLen, Approx: true, Values: e.values})
		}
		return nil
	})
	n := 0
	for i, c := range cmds {
		if c.Err() != nil {
			if err == nil {
				err = c.Err()
			}
			break
		}
		n = es[i].to
	}
	if n < len(msgs) {
		return n, fmt.Errorf("redisstream: publish to %q: %d of %d confirmed: %w", channel, n, len(msgs), err)
	}
	return n, nil
}

// appendOnce appends, in one atomic step, the entries whose last message
// is numbered above the producer's last appended number, and records the
// new last number. KEYS: stream, producer key. ARGV: MAXLEN, key TTL (ms),
// then per entry: the number of its last message, its message count, and
// its message (count 1) or pack. It returns how many messages it appended.
var appendOnce = redis.NewScript(`
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local added = 0
for i = 3, #ARGV, 3 do
	local n = tonumber(ARGV[i])
	if n > last then
		if ARGV[i+1] == '1' then
			redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', '` + field + `', ARGV[i+2])
		else
			redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', '` + countField + `', ARGV[i+1], '` + packField + `', ARGV[i+2])
		end
		last = n
		added = added + tonumber(ARGV[i+1])
	end
end
redis.call('SET', KEYS[2], string.format('%.0f', last), 'PX', ARGV[2])
return added
`)

// producerKey is where a producer's last appended number is kept: in the
// stream's hash slot (the channel as hash tag) for Redis Cluster.
func producerKey(channel, producer string) string {
	return "{" + channel + "}:sockgate-producer:" + producer
}

// PublishIdempotent appends msgs to channel's stream as Publish does,
// skipping every entry whose last message's number is not above the last
// one appended for seq.Producer (kept in a key next to the stream for Config.ProducerTTL
// after the producer's last append). The batch is appended atomically by
// one script, so after a restart of Redis (with appendonly) that lost the
// reply, retrying appends nothing twice. Channels containing '{' or '}'
// cannot name the producer key's slot and are published as with Publish.
func (p *PubSub) PublishIdempotent(ctx context.Context, channel string, seq transport.Sequence, msgs [][]byte) (int, error) {
	if seq.Producer == "" {
		return 0, fmt.Errorf("%w: PublishIdempotent to %q: empty producer", ErrConfig, channel)
	}
	if strings.ContainsAny(channel, "{}") {
		return p.Publish(ctx, channel, msgs)
	}
	if p.closed() {
		return 0, fmt.Errorf("redisstream: publish to %q: %w", channel, transport.ErrClosed)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	es := entries(msgs)
	args := make([]any, 0, 2+3*len(es))
	args = append(args, p.cfg.MaxLen, p.cfg.ProducerTTL.Milliseconds())
	from := 0
	for _, e := range es {
		// An entry is kept when its last number is new: one chunked
		// differently on a retry is appended again (a duplicate, never a
		// loss).
		args = append(args, seq.First+uint64(e.to-1), e.to-from, e.values[len(e.values)-1])
		from = e.to
	}
	added, err := appendOnce.Run(ctx, p.cfg.Client, []string{channel, producerKey(channel, seq.Producer)}, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("redisstream: publish to %q: 0 of %d confirmed: %w", channel, len(msgs), err)
	}
	if added < len(msgs) {
		p.repeats.Add(uint64(len(msgs) - added))
	}
	return len(msgs), nil
}

// lastID is the ID of the stream's newest entry, "0-0" when it has none.
func (p *PubSub) lastID(ctx context.Context, channel string) (string, error) {
	xs, err := p.cfg.Client.XRevRangeN(ctx, channel, "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(xs) == 0 {
		return "0-0", nil
	}
	return xs[0].ID, nil
}

// Subscribe delivers the messages added to channel after it returns.
func (p *PubSub) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	if err := p.start(1); err != nil {
		return nil, fmt.Errorf("redisstream: subscribe to %q: %w", channel, err)
	}
	from, err := p.lastID(ctx, channel)
	if err != nil {
		p.life.Exit()
		return nil, fmt.Errorf("redisstream: subscribe to %q: %w", channel, err)
	}
	out := make(chan []byte, batch)
	go func() {
		defer p.life.Exit()
		defer close(out)
		p.read(ctx, channel, from, func(x redis.XMessage) bool {
			msgs, _, _ := p.messages(channel, x)
			for _, m := range msgs {
				select {
				case out <- m:
				case <-ctx.Done():
					return false
				case <-p.life.Closing():
					return false
				}
			}
			return true
		})
	}()
	return out, nil
}

// SubscribeFrom delivers the messages of channel after the position after
// (a Delivery.ID: an entry ID, or "<entry ID>-<i>" inside a pack; "" for
// the oldest entry the stream still holds), then new ones, with XREAD: a
// replay from a position, no consumer group, nothing to acknowledge
// (Delivery.Ack does nothing). Entries trimmed by MAXLEN are gone.
func (p *PubSub) SubscribeFrom(ctx context.Context, channel, after string) (<-chan transport.Delivery, error) {
	if after == "" {
		after = "0-0"
	}
	from, skipEntry, skipIdx, ok := position(after)
	if !ok {
		return nil, fmt.Errorf("%w: SubscribeFrom %q: position %q is not a stream entry ID (<ms>-<seq>, or <ms>-<seq>-<i> in a pack)", ErrConfig, channel, after)
	}
	if err := p.start(1); err != nil {
		return nil, fmt.Errorf("redisstream: subscribe to %q: %w", channel, err)
	}
	out := make(chan transport.Delivery, batch)
	go func() {
		defer p.life.Exit()
		defer close(out)
		p.read(ctx, channel, from, func(x redis.XMessage) bool {
			msgs, packed, _ := p.messages(channel, x)
			for i, m := range msgs {
				if x.ID == skipEntry && i <= skipIdx {
					continue
				}
				select {
				case out <- transport.Delivery{Data: m, ID: deliveryID(x.ID, i, packed), Ack: noAck}:
				case <-ctx.Done():
					return false
				case <-p.life.Closing():
					return false
				}
			}
			return true
		})
	}()
	return out, nil
}

func noAck() {}

// deliveryID is the Delivery.ID of message i of entry id: the entry ID for
// a single message, "<entry ID>-<i>" in a pack.
func deliveryID(id string, i int, packed bool) string {
	if !packed {
		return id
	}
	return id + "-" + strconv.Itoa(i)
}

// position parses a SubscribeFrom position: "<ms>[-<seq>]" reads after
// that entry; "<ms>-<seq>-<i>" reads that entry again (from the ID before
// it) and skips its messages up to i.
func position(after string) (from, skipEntry string, skipIdx int, ok bool) {
	parts := strings.Split(after, "-")
	nums := make([]uint64, len(parts))
	for i, s := range parts {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return "", "", 0, false
		}
		nums[i] = n
	}
	switch len(parts) {
	case 1, 2:
		return after, "", -1, true
	case 3:
		entry := parts[0] + "-" + parts[1]
		ms, seq := nums[0], nums[1]
		switch {
		case seq > 0:
			seq--
		case ms > 0:
			ms, seq = ms-1, math.MaxUint64
		default:
			return "0-0", entry, int(nums[2]), nums[2] <= math.MaxInt32
		}
		return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq, 10), entry, int(nums[2]), nums[2] <= math.MaxInt32
	}
	return "", "", 0, false
}

// read reads channel's entries after from with XREAD, retrying through
// outages from the last entry handed to emit, until ctx ends, the PubSub
// closes or emit returns false.
func (p *PubSub) read(ctx context.Context, channel, from string, emit func(redis.XMessage) bool) {
	failures := 0
	for p.alive(ctx) {
		res, err := p.cfg.Client.XRead(ctx, &redis.XReadArgs{Streams: []string{channel, from}, Count: batch, Block: block}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if !p.alive(ctx) {
				return
			}
			failures++
			p.retry(ctx, channel, err, failures)
			continue
		}
		failures = p.recovered(channel, failures)
		for _, s := range res {
			for _, x := range s.Messages {
				from = x.ID
				if !emit(x) {
					return
				}
			}
		}
	}
}

// SubscribeAck reads channel through this node's consumer group; see the
// package doc.
func (p *PubSub) SubscribeAck(ctx context.Context, channel string) (<-chan transport.Delivery, error) {
	if p.cfg.Consumer == "" {
		return nil, fmt.Errorf("%w: Consumer is empty (a durable name per node is required)", ErrConfig)
	}
	if err := p.start(2); err != nil {
		return nil, fmt.Errorf("redisstream: subscribe to %q: %w", channel, err)
	}
	if err := p.createGroup(ctx, channel); err != nil {
		p.life.Exit() // the ack loop's count
		p.life.Exit() // the reader's
		return nil, fmt.Errorf("redisstream: subscribe to %q: %w", channel, err)
	}
	out := make(chan transport.Delivery, batch)
	a := &acks{ids: make(chan string, ackQueue), stop: make(chan struct{}), done: make(chan struct{})}
	go p.ackLoop(channel, a)
	go func() {
		defer p.life.Exit()
		p.readGroup(ctx, channel, out, a)
		// The ack loop sends what was acknowledged so far and exits before
		// out closes: an Ack made once the receiver saw the end is not sent
		// (the entry comes again to the next subscription).
		close(a.stop)
		<-a.done
		close(out)
	}()
	return out, nil
}

// acks carries one subscription's acknowledgements to its ack loop, which
// sends them with one XACK per batch instead of a round trip each.
type acks struct {
	ids  chan string
	stop chan struct{} // closed when the subscription's reads end
	done chan struct{} // closed when the ack loop has exited
}

// ackLoop sends the queued IDs in XACK batches until the subscription
// ends, then sends what is left (best effort: an ID not acknowledged is
// delivered again and dropped by the receiver).
func (p *PubSub) ackLoop(channel string, a *acks) {
	defer p.life.Exit()
	defer close(a.done)
	ids := make([]string, 0, batch)
	send := func() {
		if len(ids) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.cfg.Client.XAck(ctx, channel, p.cfg.Consumer, ids...).Err(); err != nil {
			p.log.Warn("redisstream: ack failed; the entries will be delivered again",
				"channel", channel, "entries", len(ids), "first", ids[0], "error", err)
		}
		ids = ids[:0]
	}
	for {
		select {
		case id := <-a.ids:
			ids = append(ids, id)
		fill:
			for len(ids) < cap(ids) {
				select {
				case id := <-a.ids:
					ids = append(ids, id)
				default:
					break fill
				}
			}
			send()
		case <-a.stop:
			for {
				select {
				case id := <-a.ids:
					ids = append(ids, id)
					if len(ids) == cap(ids) {
						send()
					}
				default:
					send()
					return
				}
			}
		}
	}
}

// createGroup creates the node's group at the stream's end (a new node
// does not replay history); an existing group keeps its position.
func (p *PubSub) createGroup(ctx context.Context, channel string) error {
	err := p.cfg.Client.XGroupCreateMkStream(ctx, channel, p.cfg.Consumer, "$").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return err
	}
	return nil
}

func (p *PubSub) readGroup(ctx context.Context, channel string, out chan<- transport.Delivery, a *acks) {
	pending := true // first the entries delivered to us and not acknowledged
	cursor := "0"
	failures := 0
	for p.alive(ctx) {
		id := ">"
		if pending {
			id = cursor
		}
		res, err := p.readGroupOnce(ctx, channel, id, !pending)
		if err != nil && !errors.Is(err, redis.Nil) {
			if !p.alive(ctx) {
				return
			}
			failures++
			if strings.HasPrefix(err.Error(), "NOGROUP") {
				// The stream or group was deleted (or Redis lost it):
				// create it again, from now.
				_ = p.createGroup(ctx, channel)
			}
			p.retry(ctx, channel, err, failures)
			pending, cursor = true, "0" // re-read what we were given
			continue
		}
		failures = p.recovered(channel, failures)
		n := 0
		for _, s := range res {
			for _, x := range s.Messages {
				n++
				cursor = x.ID
				if x.Values == nil {
					continue // pending, but trimmed away: nothing to deliver
				}
				msgs, packed, err := p.messages(channel, x)
				if err != nil {
					a.ack(x.ID) // it would only come back malformed
					continue
				}
				acks := pack.Countdown(len(msgs), func() { a.ack(x.ID) })
				for i, m := range msgs {
					d := transport.Delivery{Data: m, ID: deliveryID(x.ID, i, packed), Ack: acks[i]}
					select {
					case out <- d:
					case <-ctx.Done():
						return
					case <-p.life.Closing():
						return
					}
				}
			}
		}
		if pending && n == 0 {
			pending = false
		}
	}
}

// noRetry is an XREADGROUP that go-redis must not send again by itself
// (MaxRetries): when a connection breaks after Redis handed entries to a
// read, they are pending for this consumer, and a silent retry of ">" would
// go on past them; they would come only after the next failure. Failing
// instead makes readGroup re-read its pending entries first.
type noRetry struct{ *redis.XStreamSliceCmd }

// NoRetry tells go-redis not to retry the command.
func (noRetry) NoRetry() bool { return true }

// readGroupOnce runs one XREADGROUP of channel from id (">" for new
// entries, blocking up to block when wait is set).
func (p *PubSub) readGroupOnce(ctx context.Context, channel, id string, wait bool) ([]redis.XStream, error) {
	g := p.cfg.Consumer
	args := []any{"xreadgroup", "group", g, g, "count", batch}
	if wait {
		args = append(args, "block", block.Milliseconds())
	}
	args = append(args, "streams", channel, id)
	// The client's ReadTimeout (3 s by default) bounds the wait for the
	// reply, so it must exceed block (Config.Client).
	cmd := noRetry{redis.NewXStreamSliceCmd(ctx, args...)}
	_ = p.cfg.Client.Process(ctx, cmd)
	return cmd.Result()
}

// ack queues an entry's ID for the ack loop (waiting while the queue is
// full). An ack after the subscription ended is dropped: the entry stays
// pending, is delivered again after the next subscription, and the
// receiver drops it by ID. Delivery.Ack calls it once per entry, when every
// message of the entry was acknowledged.
func (a *acks) ack(id string) {
	select {
	case a.ids <- id:
	case <-a.done:
	}
}

// messages returns the messages entry x carries (packed reports a pack).
// An entry that is neither one message nor a valid pack is logged, counted
// in Malformed and skipped.
func (p *PubSub) messages(channel string, x redis.XMessage) (msgs [][]byte, packed bool, err error) {
	if v, ok := x.Values[field]; ok {
		return [][]byte{bytesOf(v)}, false, nil
	}
	n, err := strconv.Atoi(string(bytesOf(x.Values[countField])))
	if err == nil {
		msgs, err = pack.Split(bytesOf(x.Values[packField]), n)
	} else {
		err = fmt.Errorf("%w: entry has neither %q nor a count in %q", pack.ErrMalformed, field, countField)
	}
	if err != nil {
		p.malformed.Add(1)
		p.log.Error("redisstream: malformed entry skipped", "channel", channel, "id", x.ID, "error", err)
		return nil, false, err
	}
	return msgs, true, nil
}

// Malformed is how many entries could not be read as messages and were
// skipped (and acknowledged).
func (p *PubSub) Malformed() uint64 { return p.malformed.Load() }

func bytesOf(v any) []byte {
	switch v := v.(type) {
	case string:
		return []byte(v)
	case []byte:
		return v
	}
	return nil
}

func (p *PubSub) alive(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-p.life.Closing():
		return false
	default:
		return true
	}
}

// retry logs a failed read (the first of an outage at Warn) and waits a
// capped, growing delay.
func (p *PubSub) retry(ctx context.Context, channel string, err error, failures int) {
	if failures == 1 {
		p.log.Warn("redisstream: read failed, retrying", "channel", channel, "error", err)
	}
	backoff.Sleep(ctx, p.life.Closing(), retry.Delay(failures))
}

func (p *PubSub) recovered(channel string, failures int) int {
	if failures > 0 {
		p.log.Info("redisstream: reading again", "channel", channel, "failures", failures)
	}
	return 0
}

// Ping checks the connection.
func (p *PubSub) Ping(ctx context.Context) error {
	if p.closed() {
		return fmt.Errorf("redisstream: ping: %w", transport.ErrClosed)
	}
	if err := p.cfg.Client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstream: ping: %w", err)
	}
	return nil
}

// Close ends every subscription (within one blocking read, 500 ms) and
// makes later calls return transport.ErrClosed. It does not close the
// injected client. Idempotent.
func (p *PubSub) Close() error {
	p.life.Close()
	return nil
}

// Repeats is how many messages PublishIdempotent was given that the broker
// already held (retries after a lost confirmation) and so did not store
// again.
func (p *PubSub) Repeats() uint64 { return p.repeats.Load() }
