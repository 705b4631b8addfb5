package main

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/bench/benchutil"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

// progress is the small struct every producer emits, the same shape as
// the gateway benchmarks' and the Python script's.
type progress = benchutil.Progress

// emitConfig sizes one gateway throughput measurement.
type emitConfig struct {
	Addr      string // redis-server host:port
	Channel   string
	Producers int // goroutines emitting at once
	Count     int // emits in all, split evenly among the producers
	QueueSize int // gateway.WorkerConfig.QueueSize
	BatchSize int // gateway.WorkerConfig.BatchSize
	PoolSize  int // go-redis pool size; 0 keeps go-redis's default
	// Redis, when set, is the server whose CPU use is reported.
	Redis *redisServer
}

// emitResult is what one measurement observed.
type emitResult struct {
	Producers int     `json:"producers"`
	Count     int     `json:"count"`
	Seconds   float64 `json:"seconds"`
	Rate      float64 `json:"rate"` // published messages per second
	Published uint64  `json:"published"`
	Dropped   uint64  `json:"dropped"`
	Failed    uint64  `json:"failed"`
	QueueSize int     `json:"queue_size"`
	BatchSize int     `json:"batch_size"`
	// Publishes counts Publish calls (round trips); Count/Publishes is
	// the mean batch the writer achieved.
	Publishes uint64  `json:"publishes"`
	MeanBatch float64 `json:"mean_batch"`
	// CPUPerMsg is this process's CPU time (producers, writer, go-redis,
	// garbage collector) per published message, in nanoseconds; -1 when
	// unknown.
	CPUPerMsg float64 `json:"cpu_ns_per_msg"`
	// RedisBusy is the share of one core redis-server used meanwhile; -1
	// when unknown.
	RedisBusy float64 `json:"redis_busy"`
}

// countingPub wraps a Publisher to count round trips and messages.
type countingPub struct {
	transport.Publisher
	calls atomic.Uint64
}

func (p *countingPub) Publish(ctx context.Context, channel string, msgs [][]byte) (int, error) {
	p.calls.Add(1)
	return p.Publisher.Publish(ctx, channel, msgs)
}

// measureEmit emits cfg.Count small structs to user rooms from
// cfg.Producers goroutines through a fresh gateway.Worker over redispubsub,
// with WaitIfFull so nothing is dropped, and times them until Flush returns:
// the rate is published messages per second, not queued ones.
func measureEmit(ctx context.Context, cfg emitConfig) (emitResult, error) {
	res := emitResult{Producers: cfg.Producers, Count: cfg.Count, QueueSize: cfg.QueueSize, BatchSize: cfg.BatchSize,
		CPUPerMsg: -1, RedisBusy: -1}
	client := redis.NewClient(&redis.Options{Addr: cfg.Addr, PoolSize: cfg.PoolSize})
	defer client.Close()
	rp, err := redispubsub.New(redispubsub.Config{Client: client})
	if err != nil {
		return res, fmt.Errorf("benchcmp: redispubsub: %w", err)
	}
	defer rp.Close()
	pub := &countingPub{Publisher: rp}
	g, err := gateway.NewWorker(gateway.WorkerConfig{
		Publisher: pub,
		Channel:   cfg.Channel,
		QueueSize: cfg.QueueSize,
		BatchSize: cfg.BatchSize,
	})
	if err != nil {
		return res, fmt.Errorf("benchcmp: gateway: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Close(cctx)
	}()

	// Start the writer and open the connection outside the timed region.
	if err := g.EmitToUser(ctx, "warmup", "progress", progress{Job: "warmup"}, gateway.WaitIfFull()); err != nil {
		return res, err
	}
	if err := g.Flush(ctx); err != nil {
		return res, err
	}
	before := g.Stats()
	calls0 := pub.calls.Load()
	runtime.GC()

	users := make([]string, cfg.Producers)
	for i := range users {
		users[i] = strconv.Itoa(1000 + i)
	}
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
		wg.Add(1)
		go func(user string, share int) {
			defer wg.Done()
			<-start
			for i := range share {
				err := g.EmitToUser(ctx, user, "progress", progress{Job: "resize-42", Pct: i % 100}, gateway.WaitIfFull())
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		}(users[p], share)
	}
	redisCPU0 := time.Duration(-1)
	if cfg.Redis != nil {
		redisCPU0 = cfg.Redis.cpu()
	}
	cpu0, t0 := benchutil.ProcessCPU(), time.Now()
	close(start)
	wg.Wait()
	if firstErr != nil {
		return res, fmt.Errorf("benchcmp: emit: %w", firstErr)
	}
	if err := g.Flush(ctx); err != nil {
		return res, fmt.Errorf("benchcmp: flush: %w", err)
	}
	elapsed := time.Since(t0)
	cpu1 := benchutil.ProcessCPU()
	if cfg.Redis != nil {
		res.RedisBusy = cfg.Redis.busy(redisCPU0, elapsed)
	}

	after := g.Stats()
	res.Seconds = elapsed.Seconds()
	res.Published = after.Confirmed() - before.Confirmed()
	res.Dropped = after.Dropped - before.Dropped
	res.Failed = after.Failed - before.Failed
	res.Rate = float64(res.Published) / res.Seconds
	if cpu0 >= 0 && cpu1 >= 0 && res.Published > 0 {
		res.CPUPerMsg = float64(cpu1-cpu0) / float64(res.Published)
	}
	res.Publishes = pub.calls.Load() - calls0
	if res.Publishes > 0 {
		res.MeanBatch = float64(res.Published) / float64(res.Publishes)
	}
	return res, nil
}
