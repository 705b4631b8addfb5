// Command transportbench measures gateway.Worker emit throughput over each
// transport, next to the brokers' own publishing ceilings on the same
// brokers, in one run. `make bench` runs it:
//
//	go -C bench run ./transportbench [flags]
//
// It starts its own redis-server (internal/testenv: a free 127.0.0.1
// port, nothing persisted) and its own nats-server with JetStream
// (internal/testenv: a free port, a temporary store directory), both
// killed when it exits, also on Ctrl-C, and measures in turn:
//
//  1. the ceilings: redis-benchmark's PUBLISH and an XADD MAXLEN ~ test
//     (50 clients, pipeline 16), and NATS core and JetStream publishing with
//     `nats bench` when the nats CLI is installed, otherwise with a nats.go
//     loop (core: Publish and a final Flush; JetStream: PublishAsync and
//     waiting for every ack); the output names which;
//  2. a fresh gateway.Worker per row over redispubsub, redisstream, natsps,
//     jetstream and memory, emitting the same small struct as
//     bench/benchcmp from 1 and 8 producer goroutines with WaitIfFull,
//     timed until Flush returns, nothing dropped;
//  3. raw publishers on Redis Streams, without a Worker, on the same
//     batches of the same encoded bytes: transport/redisstream's Publish
//     (the batch packed into few entries, their XADDs pipelined) and
//     PublishIdempotent (one script per batch, what a Worker uses), and
//     watermill-redisstream's Publisher (one XADD round trip per message).
//
// It prints each rate with its ratio to its broker's ceiling and to the
// redis pub/sub Worker with as many producers (a ceiling counts broker
// messages; the persistent transports pack many emits into one stream
// entry or JetStream message, so they can exceed it), and checks the target that
// the redis-streams and jetstream Workers stay within 2x of redis pub/sub.
// Sizes are flags; the defaults keep a run under about two minutes on a
// 2-core machine. -json writes the results to a file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockgate/sockgate/bench/benchutil"
)

// targetRatio is the target: a persistent transport's Worker publishes at
// least this share of what the redis pub/sub Worker does (within 2x).
const targetRatio = 0.5

// Transport names, as rows and -transports call them.
const (
	trRedis   = "redis"
	trStreams = "redis-streams"
	trNATS    = "nats"
	trJS      = "jetstream"
	trMemory  = "memory"
)

// checked are the transports the target is about.
var checked = []string{trStreams, trJS}

// options are the command-line flags.
type options struct {
	workerN    int
	producers  []int
	transports []string
	queueSize  int
	batchSize  int

	rbN, rbClients, rbPipeline int
	natsN, jsN                 int
	natsCLI                    string

	rawN, watermillN int
	rawProducers     []int

	jsonPath   string
	cpuProfile string
	strict     bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("transportbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.workerN, "n", 1_000_000, "Worker: emits per row, split among the producers")
	producers := fs.String("producers", "1,8", "Worker: comma-separated producer goroutine counts, one row each")
	transports := fs.String("transports", strings.Join([]string{trRedis, trStreams, trNATS, trJS, trMemory}, ","),
		"Worker: comma-separated transports to measure ("+trRedis+" is measured whenever the others are, as their reference)")
	fs.IntVar(&o.queueSize, "queue", 0, "Worker: WorkerConfig.QueueSize; 0 keeps the gateway's default")
	fs.IntVar(&o.batchSize, "batch", 0, "Worker: WorkerConfig.BatchSize; 0 keeps the gateway's default (also the raw rows' batch)")
	fs.IntVar(&o.rbN, "rb-n", 2_000_000, "redis-benchmark: requests per test (-n)")
	fs.IntVar(&o.rbClients, "rb-clients", 50, "redis-benchmark: parallel connections (-c)")
	fs.IntVar(&o.rbPipeline, "rb-pipeline", 16, "redis-benchmark: requests pipelined per connection (-P)")
	fs.IntVar(&o.natsN, "nats-n", 2_000_000, "NATS core ceiling: messages")
	fs.IntVar(&o.jsN, "js-n", 300_000, "JetStream ceilings: messages")
	fs.StringVar(&o.natsCLI, "nats-cli", "nats", "the nats CLI for `nats bench` ceilings; when not found (or empty) a nats.go loop measures them")
	fs.IntVar(&o.rawN, "raw-n", 1_000_000, "raw redisstream rows: messages per row (0 skips them)")
	fs.IntVar(&o.watermillN, "watermill-n", 40_000, "raw watermill-redisstream rows: messages per row (0 skips them)")
	rawProducers := fs.String("raw-producers", "1,8", "raw rows: comma-separated publishing goroutine counts")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process during the Worker and raw rows to this file")
	fs.BoolVar(&o.strict, "strict", false, "exit with status 1 when the target is missed")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("transportbench: unexpected arguments %q", fs.Args())
	}
	var err error
	if o.producers, err = counts("-producers", *producers); err != nil {
		return nil, err
	}
	if o.rawProducers, err = counts("-raw-producers", *rawProducers); err != nil {
		return nil, err
	}
	for _, s := range strings.Split(*transports, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case trRedis, trStreams, trNATS, trJS, trMemory:
		default:
			return nil, fmt.Errorf("transportbench: -transports: unknown transport %q", s)
		}
		if !slices.Contains(o.transports, s) {
			o.transports = append(o.transports, s)
		}
	}
	// redis pub/sub is every row's reference: always first.
	o.transports = slices.DeleteFunc(o.transports, func(s string) bool { return s == trRedis })
	o.transports = append([]string{trRedis}, o.transports...)
	if o.workerN < 1 || o.rbN < 1 || o.rbClients < 1 || o.rbPipeline < 1 || o.natsN < 1 || o.jsN < 1 {
		return nil, errors.New("transportbench: -n, -rb-n, -rb-clients, -rb-pipeline, -nats-n and -js-n must be positive")
	}
	if o.rawN < 0 || o.watermillN < 0 || o.queueSize < 0 || o.batchSize < 0 {
		return nil, errors.New("transportbench: -raw-n, -watermill-n, -queue and -batch must not be negative")
	}
	return o, nil
}

// counts parses a comma-separated list of positive counts.
func counts(name, s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("transportbench: %s: %q is not a positive count", name, f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// report is everything one run measured; -json writes it.
type report struct {
	Time         time.Time `json:"time"`
	Machine      machine   `json:"machine"`
	PayloadBytes int       `json:"payload_bytes"`
	RawBatch     int       `json:"raw_batch"` // messages per Publish call of the raw rows
	Ceilings     []ceiling `json:"ceilings"`
	Rows         []row     `json:"rows"`
	Checks       []check   `json:"checks"`
}

type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model,omitempty"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Redis      string `json:"redis_server"`
	NATS       string `json:"nats_server"`
	RedisAddr  string `json:"redis_addr"`
	NATSAddr   string `json:"nats_addr"`
	// LoadStart and LoadEnd are /proc/loadavg's 1-minute load average at
	// the start and the end (-1 when unknown).
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
}

// Ceiling keys.
const (
	ceilPublish = "redis-publish"
	ceilXAdd    = "redis-xadd"
	ceilNATS    = "nats-core"
	ceilJS      = "jetstream"
	ceilJSMsgID = "jetstream-msgid"
)

// ceiling is one measurement of a broker's own publishing rate.
type ceiling struct {
	Key     string  `json:"key"`
	Name    string  `json:"name"`    // what was published
	Tool    string  `json:"tool"`    // which program or loop, and how
	Command string  `json:"command"` // the command line, or a description of the loop
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"rate"` // messages per second
	// ClientCPUPerMsg is the publishing side's CPU time per message in
	// nanoseconds; BrokerBusy the share of one core the broker used
	// meanwhile. -1 when unknown.
	ClientCPUPerMsg float64 `json:"client_cpu_ns_per_msg"`
	BrokerBusy      float64 `json:"broker_busy"`
}

// Row kinds.
const (
	kindWorker = "worker"
	kindRaw    = "raw"
)

// row is one Worker or raw-publisher measurement.
type row struct {
	Kind      string  `json:"kind"`
	Transport string  `json:"transport"` // a transport name, or the raw publisher's
	Label     string  `json:"label"`
	Producers int     `json:"producers"` // goroutines emitting or publishing at once
	Count     int     `json:"count"`
	Seconds   float64 `json:"seconds"`
	Rate      float64 `json:"rate"` // published messages per second
	Published uint64  `json:"published"`
	Dropped   uint64  `json:"dropped"`
	Failed    uint64  `json:"failed"`
	// Publishes counts Publish calls (round trips); MeanBatch is
	// Published/Publishes.
	Publishes uint64  `json:"publishes"`
	MeanBatch float64 `json:"mean_batch"`
	// CPUPerMsg is this process's CPU time per message in nanoseconds;
	// BrokerBusy the share of one core the broker used. -1 when unknown.
	CPUPerMsg  float64 `json:"cpu_ns_per_msg"`
	BrokerBusy float64 `json:"broker_busy"`
	// Ceiling is the key of the broker ceiling the row is compared with;
	// VsCeiling and VsRedis are the ratios (0 when there is none).
	Ceiling   string  `json:"ceiling,omitempty"`
	VsCeiling float64 `json:"vs_ceiling,omitempty"`
	VsRedis   float64 `json:"vs_redis_pubsub_worker,omitempty"`
}

// check is the target for one transport and producer count.
type check struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Value  string `json:"value"`
	Pass   bool   `json:"pass"`
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	e := benchutil.NewEnv("transportbench", os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	finished := make(chan struct{})
	go func() {
		// After Ctrl-C, run has a few seconds to unwind (everything it
		// waits on watches ctx); if it does not, stop the brokers here.
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
		select {
		case <-finished:
		case <-t.C:
			e.Close()
			fmt.Fprintln(os.Stderr, "transportbench: interrupted; brokers stopped")
			os.Exit(130)
		}
	}()
	rep, err := run(ctx, opts, e, os.Stdout, os.Stderr)
	e.Close()
	close(finished)
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		fmt.Fprintln(os.Stderr, "transportbench: interrupted; brokers stopped")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, r := range rep.Rows {
		if r.Dropped > 0 || r.Published != uint64(r.Count) {
			os.Exit(1) // printed in the table; never a valid measurement
		}
	}
	if opts.strict {
		for _, c := range rep.Checks {
			if !c.Pass {
				os.Exit(1)
			}
		}
	}
}

// run starts the brokers, performs every measurement, prints the table to
// stdout and progress to stderr. The brokers run until e.close.
func run(ctx context.Context, o *options, e *benchutil.Env, stdout, stderr io.Writer) (*report, error) {
	if err := checkTools(); err != nil {
		return nil, err
	}
	progressf := func(format string, args ...any) { fmt.Fprintf(stderr, "transportbench: "+format+"\n", args...) }
	rep := &report{Time: time.Now().UTC(), Machine: describeMachine()}

	b, err := startBrokers(e)
	if err != nil {
		return nil, err
	}
	rep.Machine.Redis, rep.Machine.NATS = b.redisVersion, b.natsVersion
	rep.Machine.RedisAddr, rep.Machine.NATSAddr = b.redis.Addr(), b.nats.Addr()
	progressf("redis-server %s on %s, nats-server %s on %s", b.redisVersion, b.redis.Addr(), b.natsVersion, b.nats.Addr())

	sample, err := benchutil.SampleEmit(ctx)
	if err != nil {
		return nil, fmt.Errorf("transportbench: encode a sample message: %w", err)
	}
	rep.PayloadBytes = len(sample)

	cs, err := measureCeilings(ctx, b, o, sample, progressf)
	if err != nil {
		return nil, err
	}
	rep.Ceilings = cs

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return nil, fmt.Errorf("transportbench: -cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("transportbench: -cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	for _, name := range o.transports {
		for _, p := range o.producers {
			progressf("Worker over %s: %d emits from %d producer(s)", name, o.workerN, p)
			r, err := measureWorker(ctx, b, workerConfig{
				Transport: name, Producers: p, Count: o.workerN,
				QueueSize: o.queueSize, BatchSize: o.batchSize,
			})
			if err != nil {
				return nil, err
			}
			rep.Rows = append(rep.Rows, r)
		}
	}
	rep.RawBatch = o.batchSize
	if rep.RawBatch == 0 {
		rep.RawBatch = defaultBatch
	}
	raws, err := measureRawRows(ctx, b, o, rep.RawBatch, sample, progressf)
	if err != nil {
		return nil, err
	}
	rep.Rows = append(rep.Rows, raws...)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
		progressf("CPU profile written to %s (go tool pprof -top %s)", o.cpuProfile, o.cpuProfile)
	}

	rep.Machine.LoadEnd = benchutil.LoadAverage()
	compare(rep)
	rep.Checks = checks(rep)
	printReport(stdout, rep)
	if o.jsonPath != "" {
		if err := benchutil.WriteJSON(o.jsonPath, rep); err != nil {
			return nil, fmt.Errorf("transportbench: -json: %w", err)
		}
		progressf("results written to %s", o.jsonPath)
	}
	return rep, nil
}

// compare fills each row's ratios: to its broker's ceiling, and to the
// redis pub/sub Worker row with as many producers.
func compare(rep *report) {
	ceil := map[string]float64{}
	for _, c := range rep.Ceilings {
		ceil[c.Key] = c.Rate
	}
	redis := map[int]float64{}
	for _, r := range rep.Rows {
		if r.Kind == kindWorker && r.Transport == trRedis {
			redis[r.Producers] = r.Rate
		}
	}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if c := ceil[r.Ceiling]; c > 0 {
			r.VsCeiling = r.Rate / c
		}
		if ref := redis[r.Producers]; ref > 0 {
			r.VsRedis = r.Rate / ref
		}
	}
}

// checks evaluates the target for every checked transport's Worker rows.
func checks(rep *report) []check {
	var cs []check
	for _, r := range rep.Rows {
		if r.Kind != kindWorker || !slices.Contains(checked, r.Transport) {
			continue
		}
		c := check{
			Name:   fmt.Sprintf("%s Worker, %d producer(s), vs redis pub/sub Worker", r.Transport, r.Producers),
			Target: fmt.Sprintf(">= %.2f", targetRatio),
			Value:  "n/a (no redis pub/sub row)",
		}
		if r.VsRedis > 0 {
			c.Value = fmt.Sprintf("%.2f", r.VsRedis)
			c.Pass = r.VsRedis >= targetRatio && r.Dropped == 0 && r.Published == uint64(r.Count)
		}
		if r.Dropped > 0 {
			c.Value += fmt.Sprintf(", %d dropped", r.Dropped)
		}
		cs = append(cs, c)
	}
	return cs
}

func describeMachine() machine {
	return machine{
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPUModel:   benchutil.CPUModel(),
		Go:         runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		LoadStart:  benchutil.LoadAverage(),
		LoadEnd:    -1,
	}
}
