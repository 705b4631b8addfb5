package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/di"
	"github.com/sockgate/sockgate/gateway"
)

var benchEmitCommand = &command{
	name:     "bench emit",
	summary:  "measure emit throughput through a gateway.Worker to the broker",
	needsEnv: true,
	details: `
N producer goroutines emit a small payload to room "sockgate:bench" as fast
as the worker's queue accepts it (WaitIfFull: nothing is dropped for a full
queue), then the worker is flushed. The time includes the flush, so the
rate is what the broker confirmed (--transport, env SOCKET_TRANSPORT). Servers subscribed to the channel receive
every message: the default channel is "sockgate-bench", not your
application's.

Example:
  sockgate bench emit --redis redis://localhost:6379 --producers 8 --duration 5s`,
	setup: func(fs *flag.FlagSet, env config.Config) func(context.Context, *cli, []string) error {
		o := benchOptions{appChannel: channelOr(env.Channel)}
		o.broker.define(fs, env)
		fs.StringVar(&o.channel, "channel", "sockgate-bench", "pub/sub `channel`")
		fs.StringVar(&o.dialect, "dialect", env.Dialect.String(), "`dialect` to encode (env SOCKET_DIALECT)")
		fs.IntVar(&o.producers, "producers", 4, "emitting goroutines")
		fs.DurationVar(&o.duration, "duration", 5*time.Second, "how long to emit")
		fs.IntVar(&o.payloadSize, "payload-size", 64, "padding `bytes` in each payload")
		fs.DurationVar(&o.flushTimeout, "flush-timeout", 30*time.Second, "how long to wait for the broker to confirm what was queued")
		return func(ctx context.Context, c *cli, _ []string) error { return o.run(ctx, c) }
	},
}

type benchOptions struct {
	broker                 brokerFlags
	channel, dialect       string
	appChannel             string // names a Sentinel master, as python-socketio does
	producers, payloadSize int
	duration, flushTimeout time.Duration
}

// benchPayload is the emitted data: a small struct, as an application
// would send.
type benchPayload struct {
	Producer int    `json:"producer"`
	Seq      int    `json:"seq"`
	Pad      string `json:"pad"`
}

func (o *benchOptions) run(ctx context.Context, c *cli) error {
	if o.producers < 1 {
		return usagef("--producers must be at least 1")
	}
	if o.duration <= 0 || o.flushTimeout <= 0 {
		return usagef("--duration and --flush-timeout must be positive")
	}
	if o.payloadSize < 0 {
		return usagef("--payload-size must not be negative")
	}
	d, err := codec.ParseDialect(o.dialect)
	if err != nil {
		return usageError{fmt.Errorf("--dialect: %w", err)}
	}
	cfg, err := o.broker.config(c.env, o.appChannel)
	if err != nil {
		return err
	}
	cfg.Dialect = d
	log := newLogger(c.stderr)
	b, closeBroker, err := dialBroker(ctx, cfg, 5*time.Second, log)
	defer closeBroker()
	if err != nil {
		return err
	}
	wc := di.WorkerConfig(cfg, b, log) // the application's SOCKET_QUEUE_SIZE
	wc.Channel = o.channel
	gw, err := gateway.NewWorker(wc)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = gw.Close(cctx)
	}()
	fmt.Fprintf(c.stderr, "sockgate: bench emit: %d producers for %s, %d-byte padding, channel %q at %s\n",
		o.producers, o.duration, o.payloadSize, o.channel, b)

	pad := strings.Repeat("x", o.payloadSize)
	var stopped atomic.Bool
	timer := time.AfterFunc(o.duration, func() { stopped.Store(true) })
	defer timer.Stop()
	start := time.Now()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for p := range o.producers {
		wg.Go(func() {
			for seq := 0; !stopped.Load() && ctx.Err() == nil; seq++ {
				err := gw.EmitToRoom(ctx, "sockgate:bench", "bench", benchPayload{Producer: p, Seq: seq, Pad: pad}, gateway.WaitIfFull())
				if err != nil {
					if ctx.Err() == nil || !errors.Is(err, gateway.ErrQueueFull) {
						errOnce.Do(func() { firstErr = err })
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fctx, cancel := context.WithTimeout(ctx, o.flushTimeout)
	defer cancel()
	flushErr := gw.Flush(fctx)
	elapsed := time.Since(start)
	st := gw.Stats()
	rate := float64(st.Emitted) / elapsed.Seconds()
	fmt.Fprintf(c.stdout, "emit: %d msgs in %s = %.0f msgs/s (published %d, dropped %d)\n",
		st.Emitted, elapsed.Round(time.Millisecond), rate, st.Confirmed(), st.Dropped)
	switch {
	case ctx.Err() != nil:
		return errors.New("interrupted")
	case flushErr != nil:
		return fmt.Errorf("%d messages not confirmed within --flush-timeout %s", st.Queued, o.flushTimeout)
	}
	return nil
}
