package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	wmstream "github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/jetstream"
	"github.com/sockgate/sockgate/transport/redisstream"
)

// defaultBatch is gateway.WorkerConfig's default BatchSize: the raw rows
// publish batches as large as a busy Worker's.
const defaultBatch = 512

// Raw publisher names.
const (
	rawPublish   = "redisstream Publish"
	rawIdem      = "redisstream PublishIdempotent"
	rawWatermill = "watermill-redisstream Publisher"
	rawJS        = "jetstream Publish"
	rawWMNATS    = "watermill-nats JetStream Publisher"
)

// measureRawRows publishes the sample message to a Redis stream without a
// Worker, in batches of the Worker's size, through transport/redisstream
// (Publish: the batch packed into few entries, their XADDs pipelined in one
// round trip; PublishIdempotent: one script per batch, what a Worker uses)
// and through
// watermill-redisstream's Publisher (one XADD round trip per message, as
// it publishes), from each -raw-producers count of goroutines.
func measureRawRows(ctx context.Context, b *brokers, o *options, batch int, sample []byte, progressf func(string, ...any)) ([]row, error) {
	var rows []row
	for _, g := range o.rawProducers {
		for _, name := range []string{rawPublish, rawIdem, rawWatermill, rawJS, rawWMNATS} {
			n := o.rawN
			if name == rawWatermill || name == rawWMNATS {
				n = o.watermillN
			}
			if n == 0 {
				continue
			}
			progressf("raw %s: %d messages in batches of %d from %d goroutine(s)", name, n, batch, g)
			r, err := measureRaw(ctx, b, name, g, n, batch, sample)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// measureRaw publishes count copies of payload, split among goroutines,
// each in batches of batch, through a fresh publisher of the named kind
// on its own go-redis client with default options, timed until the last
// batch is confirmed.
func measureRaw(ctx context.Context, b *brokers, name string, goroutines, count, batch int, payload []byte) (row, error) {
	r := row{Kind: kindRaw, Transport: name, Label: "raw " + name, Producers: goroutines, Count: count,
		Ceiling: ceilXAdd, CPUPerMsg: -1, BrokerBusy: -1}
	if name == rawJS || name == rawWMNATS {
		return measureRawJetStream(ctx, b, r, goroutines, count, batch, payload)
	}
	client := redis.NewClient(&redis.Options{Addr: b.redis.Addr()})
	var publish func(ctx context.Context, worker int, msgs [][]byte) error
	switch name {
	case rawPublish, rawIdem:
		r.Label += map[string]string{rawPublish: " (pipelined)", rawIdem: " (script)"}[name]
		ps, err := redisstream.New(redisstream.Config{Client: client, Logger: discard})
		if err != nil {
			_ = client.Close()
			return r, err
		}
		defer func() {
			_ = ps.Close()
			flushRedis(client)
			_ = client.Close()
		}()
		if name == rawPublish {
			publish = func(ctx context.Context, _ int, msgs [][]byte) error {
				n, err := ps.Publish(ctx, channel, msgs)
				if err == nil && n != len(msgs) {
					err = fmt.Errorf("%d of %d confirmed", n, len(msgs))
				}
				return err
			}
			break
		}
		// One producer per goroutine, numbering its messages as a
		// Worker's writer does.
		next := make([]uint64, goroutines)
		producer := make([]string, goroutines)
		for i := range producer {
			producer[i], next[i] = "transportbench-raw-"+strconv.Itoa(i), 1
		}
		publish = func(ctx context.Context, w int, msgs [][]byte) error {
			n, err := ps.PublishIdempotent(ctx, channel, transport.Sequence{Producer: producer[w], First: next[w]}, msgs)
			next[w] += uint64(n)
			if err == nil && n != len(msgs) {
				err = fmt.Errorf("%d of %d confirmed", n, len(msgs))
			}
			return err
		}
	case rawWatermill:
		// MAXLEN as transport/redisstream's, so both trim alike.
		wp, err := wmstream.NewPublisher(wmstream.PublisherConfig{Client: client, DefaultMaxlen: redisstream.DefaultMaxLen},
			watermill.NopLogger{})
		if err != nil {
			_ = client.Close()
			return r, fmt.Errorf("transportbench: watermill-redisstream: %w", err)
		}
		defer func() {
			flushRedis(client)
			_ = wp.Close() // closes client
		}()
		publish = func(_ context.Context, _ int, msgs [][]byte) error {
			// A watermill message per payload, with the UUID every
			// watermill message carries; building it is part of
			// publishing through watermill.
			ms := make([]*message.Message, len(msgs))
			for i, m := range msgs {
				ms[i] = message.NewMessage(watermill.NewUUID(), m)
			}
			return wp.Publish(channel, ms...)
		}
	default:
		_ = client.Close()
		return r, fmt.Errorf("transportbench: unknown raw publisher %q", name)
	}

	// Connect outside the timed part.
	if err := client.Ping(ctx).Err(); err != nil {
		return r, fmt.Errorf("transportbench: %s: %w", name, err)
	}
	return timeRaw(r, b.redisPID, goroutines, count, batch, payload, func(w int, msgs [][]byte) error { return publish(ctx, w, msgs) })
}

// timeRaw runs publish from goroutines, count copies of payload in all in
// batches of batch, and fills r's figures; brokerPID is metered.
func timeRaw(r row, brokerPID, goroutines, count, batch int, payload []byte, publish func(worker int, msgs [][]byte) error) (row, error) {
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		errOnce   sync.Once
		firstErr  error
		published atomic.Uint64
		calls     atomic.Uint64
	)
	for w := range goroutines {
		share := count / goroutines
		if w < count%goroutines {
			share++
		}
		msgs := make([][]byte, batch)
		for i := range msgs {
			msgs[i] = payload
		}
		wg.Go(func() {
			<-start
			for share > 0 {
				k := min(batch, share)
				if err := publish(w, msgs[:k]); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				calls.Add(1)
				published.Add(uint64(k))
				share -= k
			}
		})
	}
	m := startMeter(brokerPID)
	close(start)
	wg.Wait()
	elapsed := m.stop(&r.CPUPerMsg, &r.BrokerBusy, count)
	if firstErr != nil {
		return r, fmt.Errorf("transportbench: %s: %w", r.Transport, firstErr)
	}
	r.Seconds = elapsed.Seconds()
	r.Published = published.Load()
	r.Publishes = calls.Load()
	r.Rate = float64(r.Published) / r.Seconds
	if r.Publishes > 0 {
		r.MeanBatch = float64(r.Published) / float64(r.Publishes)
	}
	return r, nil
}

// measureRawJetStream is measureRaw on JetStream: transport/jetstream's
// Publish (a batch packed into few JetStream messages, published
// asynchronously) against watermill-nats/v2's JetStream Publisher (one
// synchronous publish, a round trip, per message), each to a fresh file
// stream configured like the transport's.
func measureRawJetStream(ctx context.Context, b *brokers, r row, goroutines, count, batch int, payload []byte) (row, error) {
	r.Ceiling = ceilJS
	nc, err := nats.Connect(b.nats.URL(), nats.ReconnectBufSize(-1))
	if err != nil {
		return r, fmt.Errorf("transportbench: %s: %w", r.Transport, err)
	}
	defer nc.Close()
	jsStreams++
	stream := "TBR" + strconv.Itoa(jsStreams)
	ps, err := jetstream.New(jetstream.Config{Conn: nc, Stream: stream, Logger: discard})
	if err != nil {
		return r, fmt.Errorf("transportbench: %s: %w", r.Transport, err)
	}
	defer func() {
		_ = ps.Close()
		deleteStream(nc, stream)
	}()
	// Create the stream outside the timed part: one message through ours.
	if _, err := ps.Publish(ctx, channel, [][]byte{payload}); err != nil {
		return r, fmt.Errorf("transportbench: %s: create the stream: %w", r.Transport, err)
	}
	var publish func(w int, msgs [][]byte) error
	if r.Transport == rawJS {
		r.Label += " (packed, async)"
		publish = func(_ int, msgs [][]byte) error {
			n, err := ps.Publish(ctx, channel, msgs)
			if err == nil && n != len(msgs) {
				err = fmt.Errorf("%d of %d confirmed", n, len(msgs))
			}
			return err
		}
	} else {
		wp, err := wmnats.NewPublisherWithNatsConn(nc, wmnats.PublisherPublishConfig{
			Marshaler: &wmnats.NATSMarshaler{},
			SubjectCalculator: func(_, topic string) *wmnats.SubjectDetail {
				return &wmnats.SubjectDetail{Primary: stream + "." + topic}
			},
		}, watermill.NopLogger{})
		if err != nil {
			return r, fmt.Errorf("transportbench: watermill-nats: %w", err)
		}
		// Not closed: its Close closes nc, which this function owns.
		publish = func(_ int, msgs [][]byte) error {
			ms := make([]*message.Message, len(msgs))
			for i, m := range msgs {
				ms[i] = message.NewMessage(watermill.NewUUID(), m)
			}
			return wp.Publish(stream+"."+channel, ms...) // the topic is the subject
		}
	}
	return timeRaw(r, b.natsPID, goroutines, count, batch, payload, publish)
}
