package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/bench/benchutil"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/jetstream"
	"github.com/sockgate/sockgate/transport/memory"
	"github.com/sockgate/sockgate/transport/natsps"
	"github.com/sockgate/sockgate/transport/redispubsub"
	"github.com/sockgate/sockgate/transport/redisstream"
)

// channel is the channel (stream, subject) every measurement publishes to.
const channel = "sockgate-bench"

// progress is the small struct every producer emits: the payload of
// bench/benchcmp and of the gateway benchmarks.
type progress = benchutil.Progress

var discard = slog.New(slog.DiscardHandler)

// opened is a transport set up for one measurement.
type opened struct {
	pub       transport.Publisher
	label     string // the row's label
	ceiling   string // the key of its broker's ceiling; "" for none
	brokerPID int    // -1: in process
	close     func()
}

// jsStreams numbers the JetStream streams of a run, one per measurement.
var jsStreams int

// openTransport connects a fresh Publisher of the named transport to b,
// with default options. close releases it and empties what it stored
// (Redis: FLUSHALL; JetStream: the stream is deleted), so every
// measurement starts from an empty broker.
func openTransport(ctx context.Context, b *brokers, name string) (*opened, error) {
	switch name {
	case trRedis, trStreams:
		client := redis.NewClient(&redis.Options{Addr: b.redis.Addr()})
		var (
			pub   transport.Publisher
			err   error
			label = "Worker redis (redispubsub)"
			ceil  = ceilPublish
		)
		if name == trRedis {
			pub, err = redispubsub.New(redispubsub.Config{Client: client})
		} else {
			pub, err = redisstream.New(redisstream.Config{Client: client, Logger: discard})
			label, ceil = "Worker redis-streams (redisstream)", ceilXAdd
		}
		if err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("transportbench: %s: %w", name, err)
		}
		return &opened{pub: pub, label: label, ceiling: ceil, brokerPID: b.redisPID, close: func() {
			_ = pub.Close()
			flushRedis(client)
			_ = client.Close()
		}}, nil
	case trNATS:
		nc, err := nats.Connect(b.nats.URL())
		if err != nil {
			return nil, fmt.Errorf("transportbench: nats: %w", err)
		}
		ps, err := natsps.New(natsps.Config{Conn: nc, Logger: discard})
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("transportbench: nats: %w", err)
		}
		return &opened{pub: ps, label: "Worker nats (natsps)", ceiling: ceilNATS, brokerPID: b.natsPID, close: func() {
			_ = ps.Close()
			nc.Close()
		}}, nil
	case trJS:
		// As di connects it: no reconnect buffer (see transport/jetstream).
		nc, err := nats.Connect(b.nats.URL(), nats.ReconnectBufSize(-1))
		if err != nil {
			return nil, fmt.Errorf("transportbench: jetstream: %w", err)
		}
		jsStreams++
		stream := "TBW" + strconv.Itoa(jsStreams)
		ps, err := jetstream.New(jetstream.Config{Conn: nc, Stream: stream, Logger: discard})
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("transportbench: jetstream: %w", err)
		}
		return &opened{pub: ps, label: "Worker jetstream (jetstream)", ceiling: ceilJS, brokerPID: b.natsPID, close: func() {
			_ = ps.Close()
			deleteStream(nc, stream)
			nc.Close()
		}}, nil
	case trMemory:
		ps := memory.New()
		return &opened{pub: ps, label: "Worker memory (memory)", brokerPID: -1, close: func() { _ = ps.Close() }}, nil
	}
	return nil, fmt.Errorf("transportbench: unknown transport %q", name)
}

// flushRedis empties the run's own redis-server between measurements.
func flushRedis(client *redis.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = client.FlushAll(ctx).Err()
}

// deleteStream removes a JetStream stream a measurement filled.
func deleteStream(nc *nats.Conn, stream string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if j, err := js.New(nc); err == nil {
		_ = j.DeleteStream(ctx, stream)
	}
}

// workerConfig sizes one Worker measurement.
type workerConfig struct {
	Transport string
	Producers int // goroutines emitting at once
	Count     int // emits in all, split evenly among the producers
	QueueSize int // gateway.WorkerConfig.QueueSize; 0 is the default
	BatchSize int // gateway.WorkerConfig.BatchSize; 0 is the default
}

// measureWorker emits cfg.Count small structs to user rooms from
// cfg.Producers goroutines through a fresh gateway.Worker over a fresh
// Publisher of cfg.Transport, with WaitIfFull so that nothing is dropped,
// and times them from the first emit until Flush returns: the rate counts
// messages the broker confirmed, not queued ones. The Worker's counters
// say how many were published and dropped.
func measureWorker(ctx context.Context, b *brokers, cfg workerConfig) (row, error) {
	r := row{Kind: kindWorker, Transport: cfg.Transport, Producers: cfg.Producers, Count: cfg.Count, CPUPerMsg: -1, BrokerBusy: -1}
	t, err := openTransport(ctx, b, cfg.Transport)
	if err != nil {
		return r, err
	}
	defer t.close()
	r.Label, r.Ceiling = t.label, t.ceiling
	pub, calls := counted(t.pub)
	g, err := gateway.NewWorker(gateway.WorkerConfig{
		Publisher: pub, Channel: channel,
		QueueSize: cfg.QueueSize, BatchSize: cfg.BatchSize,
	})
	if err != nil {
		return r, fmt.Errorf("transportbench: %s: gateway: %w", cfg.Transport, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = g.Close(cctx)
	}()

	// Start the writer, connect, create the stream, load the script:
	// outside the timed part.
	if err := g.EmitToUser(ctx, "warmup", "progress", progress{Job: "warmup"}, gateway.WaitIfFull()); err != nil {
		return r, fmt.Errorf("transportbench: %s: warm-up: %w", cfg.Transport, err)
	}
	if err := g.Flush(ctx); err != nil {
		return r, fmt.Errorf("transportbench: %s: warm-up flush: %w", cfg.Transport, err)
	}
	before := g.Stats()
	calls0 := calls.Load()
	runtime.GC()

	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		errOnce  sync.Once
		firstErr error
	)
	for p := range cfg.Producers {
		share := cfg.Count / cfg.Producers
		if p < cfg.Count%cfg.Producers {
			share++
		}
		user := strconv.Itoa(1000 + p)
		wg.Go(func() {
			<-start
			for i := range share {
				err := g.EmitToUser(ctx, user, "progress", progress{Job: "resize-42", Pct: i % 100}, gateway.WaitIfFull())
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	m := startMeter(t.brokerPID)
	close(start)
	wg.Wait()
	if firstErr != nil {
		return r, fmt.Errorf("transportbench: %s: emit: %w", cfg.Transport, firstErr)
	}
	if err := g.Flush(ctx); err != nil {
		return r, fmt.Errorf("transportbench: %s: flush: %w", cfg.Transport, err)
	}
	elapsed := m.stop(&r.CPUPerMsg, &r.BrokerBusy, cfg.Count)

	after := g.Stats()
	r.Seconds = elapsed.Seconds()
	r.Published = after.Confirmed() - before.Confirmed()
	r.Dropped = after.Dropped - before.Dropped
	r.Failed = after.Failed - before.Failed
	r.Rate = float64(r.Published) / r.Seconds
	r.Publishes = calls.Load() - calls0
	if r.Publishes > 0 {
		r.MeanBatch = float64(r.Published) / float64(r.Publishes)
	}
	return r, nil
}

// meter reads the clock and the CPU times of this process and of a broker
// at the start of a measurement.
type meter struct {
	t0        time.Time
	cpu0      time.Duration
	pid       int
	brokerCPU time.Duration
}

func startMeter(brokerPID int) *meter {
	return &meter{pid: brokerPID, brokerCPU: benchutil.ChildCPU(brokerPID), cpu0: benchutil.ProcessCPU(), t0: time.Now()}
}

// stop returns the time elapsed and sets this process's CPU time per
// message (ns) and the broker's share of one core, or leaves them at -1
// when unknown.
func (m *meter) stop(cpuPerMsg, brokerBusy *float64, msgs int) time.Duration {
	elapsed := time.Since(m.t0)
	cpu1, bcpu1 := benchutil.ProcessCPU(), benchutil.ChildCPU(m.pid)
	if m.cpu0 >= 0 && cpu1 >= 0 && msgs > 0 {
		*cpuPerMsg = float64(cpu1-m.cpu0) / float64(msgs)
	}
	if m.brokerCPU >= 0 && bcpu1 >= 0 && elapsed > 0 {
		*brokerBusy = float64(bcpu1-m.brokerCPU) / float64(elapsed)
	}
	return elapsed
}

// countingPub counts the Publish calls (round trips) a Worker makes.
type countingPub struct {
	transport.Publisher
	calls *atomic.Uint64
}

func (p countingPub) Publish(ctx context.Context, channel string, msgs [][]byte) (int, error) {
	p.calls.Add(1)
	return p.Publisher.Publish(ctx, channel, msgs)
}

// countingIdem is countingPub for a transport.IdempotentPublisher, which
// the Worker then uses instead of Publish: the wrapper keeps that
// capability visible.
type countingIdem struct {
	countingPub
	idem transport.IdempotentPublisher
}

func (p countingIdem) PublishIdempotent(ctx context.Context, channel string, seq transport.Sequence, msgs [][]byte) (int, error) {
	p.calls.Add(1)
	return p.idem.PublishIdempotent(ctx, channel, seq, msgs)
}

// counted wraps pub to count its calls, keeping the optional capability
// the Worker looks for.
func counted(pub transport.Publisher) (transport.Publisher, *atomic.Uint64) {
	calls := &atomic.Uint64{}
	c := countingPub{Publisher: pub, calls: calls}
	if idem, ok := pub.(transport.IdempotentPublisher); ok {
		return countingIdem{countingPub: c, idem: idem}, calls
	}
	return c, calls
}
