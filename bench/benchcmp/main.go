// Command benchcmp measures sockgate's emit throughput against
// redis-benchmark and python-socketio on the same Redis, in one run, and
// checks the targets of docs/benchmarks.md. `make bench` runs it:
//
//	go -C bench run ./benchcmp [flags]
//
// It starts its own redis-server on a free 127.0.0.1 port (killed at exit)
// and, against that server, runs in turn:
//
//  1. redis-benchmark's PUBLISH test (50 clients, pipeline 16) with payloads
//     as large as one of our messages: the baseline;
//  2. a gateway.Worker over redispubsub emitting a small struct from 1, 8
//     and 64 producer goroutines with WaitIfFull, timed until Flush returns;
//  3. python-socketio's write-only AsyncRedisManager (test/peers/python/py_emit.py,
//     sequential and 100 concurrent tasks), skipped with a note when the
//     interpreter lacks python3-socketio;
//  4. `go test -bench BenchmarkEmitToUser -benchmem ./gateway/`, the
//     caller-side cost of one emit.
//
// It prints a table with each rate, its ratio to redis-benchmark and PASS or
// FAIL against the targets, and with -json writes the results to a file.
// Every measurement's size is a flag; the defaults keep a run under about
// two minutes on a 2-core machine.
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
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sockgate/sockgate/bench/benchutil"
)

// Targets from the issue.
const (
	targetRatio   = 0.5  // our published rate / redis-benchmark's, at least
	targetNsPerOp = 1000 // caller-side ns per emit, below
	targetAllocs  = 3    // allocations per emit, at most
	headlineBench = "EmitToUser/struct"
)

// options are the command-line flags.
type options struct {
	rbN, rbClients, rbPipeline int
	payloadSize                int

	emitN       int
	producers   []int
	queueSize   int
	batchSize   int
	poolSize    int
	channel     string
	cpuProfile  string
	python      string
	pyN, pyConN int
	pyTasks     int
	skipPython  bool
	benchtime   string
	skipGoBench bool
	jsonPath    string
	strict      bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("benchcmp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.rbN, "rb-n", 2_000_000, "redis-benchmark: PUBLISH requests in all (-n)")
	fs.IntVar(&o.rbClients, "rb-clients", 50, "redis-benchmark: parallel connections (-c)")
	fs.IntVar(&o.rbPipeline, "rb-pipeline", 16, "redis-benchmark: requests pipelined per connection (-P)")
	fs.IntVar(&o.payloadSize, "payload-size", 0, "redis-benchmark: payload bytes; 0 means the size of one gateway message")
	fs.IntVar(&o.emitN, "n", 2_000_000, "gateway: emits per producer setting, split among the producers")
	producers := fs.String("producers", "1,8,64", "gateway: comma-separated producer goroutine counts, one measurement each")
	fs.IntVar(&o.queueSize, "queue", 0, "gateway: WorkerConfig.QueueSize; 0 keeps the gateway's default")
	fs.IntVar(&o.batchSize, "batch", 0, "gateway: WorkerConfig.BatchSize; 0 keeps the gateway's default")
	fs.IntVar(&o.poolSize, "pool", 0, "gateway: go-redis PoolSize; 0 keeps go-redis's default")
	fs.StringVar(&o.channel, "channel", "sockgate-bench", "pub/sub channel every measurement publishes to")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the gateway measurements to this file")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "interpreter with python3-socketio (Debian's, not pyenv's)")
	fs.IntVar(&o.pyN, "py-n", 20_000, "python: sequential emits (0 skips)")
	fs.IntVar(&o.pyConN, "py-concurrent-n", 40_000, "python: emits in the concurrent run (0 skips)")
	fs.IntVar(&o.pyTasks, "py-concurrency", 100, "python: tasks emitting at once in the concurrent run")
	fs.BoolVar(&o.skipPython, "skip-python", false, "skip the python-socketio measurement")
	fs.StringVar(&o.benchtime, "benchtime", "1s", "go test -benchtime for the gateway benchmarks")
	fs.BoolVar(&o.skipGoBench, "skip-gobench", false, "skip go test -bench")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&o.strict, "strict", false, "exit with status 1 when a target is missed")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, s := range strings.Split(*producers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("benchcmp: -producers: %q is not a positive count", s)
		}
		o.producers = append(o.producers, n)
	}
	if o.rbN < 1 || o.rbClients < 1 || o.rbPipeline < 1 || o.emitN < 1 || o.payloadSize < 0 {
		return nil, errors.New("benchcmp: -rb-n, -rb-clients, -rb-pipeline and -n must be positive, -payload-size not negative")
	}
	return o, nil
}

// report is everything one run measured; -json writes it.
type report struct {
	Time           time.Time    `json:"time"`
	Machine        machine      `json:"machine"`
	PayloadBytes   int          `json:"payload_bytes"`
	RedisBenchmark rbResult     `json:"redis_benchmark"`
	Gateway        []emitResult `json:"gateway"`
	Python         *pyResult    `json:"python,omitempty"`
	PythonSkipped  string       `json:"python_skipped,omitempty"`
	GoBench        []goBench    `json:"go_bench,omitempty"`
	GoBenchCommand string       `json:"go_bench_command,omitempty"`
	Checks         []check      `json:"checks"`
}

type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model,omitempty"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Redis      string `json:"redis_server"`
	// LoadStart and LoadEnd are /proc/loadavg's 1-minute load average
	// when the run started and ended (-1 when unknown). Figures taken
	// while other work kept the CPUs busy are low.
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
}

// check is one target and whether this run met it.
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, opts, os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		fmt.Fprintln(os.Stderr, "benchcmp: interrupted; redis-server stopped")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if opts.strict {
		for _, c := range rep.Checks {
			if !c.Pass {
				os.Exit(1)
			}
		}
	}
}

// run performs every measurement against one redis-server, prints the
// table to stdout and progress to stderr.
func run(ctx context.Context, o *options, stdout, stderr io.Writer) (*report, error) {
	if err := checkRedisTools(); err != nil {
		return nil, err
	}
	rep := &report{Time: time.Now().UTC(), Machine: describeMachine()}
	progressf := func(format string, args ...any) { fmt.Fprintf(stderr, "benchcmp: "+format+"\n", args...) }

	srv, err := startRedis()
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	rep.Machine.Redis = srv.version
	progressf("redis-server %s on %s", srv.version, srv.Addr())

	sample, err := benchutil.SampleEmit(ctx)
	if err != nil {
		return nil, fmt.Errorf("benchcmp: encode a sample message: %w", err)
	}
	rep.PayloadBytes = o.payloadSize
	if rep.PayloadBytes == 0 {
		rep.PayloadBytes = len(sample)
	}

	progressf("redis-benchmark: %d PUBLISH, %d clients, pipeline %d, %d-byte payload", o.rbN, o.rbClients, o.rbPipeline, rep.PayloadBytes)
	payload := []byte(strings.Repeat("x", rep.PayloadBytes))
	rep.RedisBenchmark, err = redisBenchmark(ctx, srv, o.rbClients, o.rbPipeline, o.rbN, o.channel, payload)
	if err != nil {
		return nil, err
	}

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return nil, fmt.Errorf("benchcmp: -cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("benchcmp: -cpuprofile: %w", err)
		}
	}
	for _, p := range o.producers {
		progressf("gateway: %d emits from %d producer(s)", o.emitN, p)
		r, err := measureEmit(ctx, emitConfig{
			Addr: srv.Addr(), Channel: o.channel, Producers: p, Count: o.emitN,
			QueueSize: o.queueSize, BatchSize: o.batchSize, PoolSize: o.poolSize,
			Redis: srv,
		})
		if err != nil {
			pprof.StopCPUProfile()
			return nil, err
		}
		rep.Gateway = append(rep.Gateway, r)
	}
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
		progressf("CPU profile of the gateway runs written to %s (go tool pprof -top %s)", o.cpuProfile, o.cpuProfile)
	}

	switch {
	case o.skipPython:
		rep.PythonSkipped = "skipped by -skip-python"
	default:
		if err := checkPython(ctx, o.python); err != nil {
			rep.PythonSkipped = err.Error()
			break
		}
		progressf("python-socketio: %d sequential, %d with %d tasks", o.pyN, o.pyConN, o.pyTasks)
		r, err := runPython(ctx, pyConfig{
			Interpreter: o.python, URL: srv.URL(), Channel: o.channel,
			N: o.pyN, ConcurrentN: o.pyConN, Concurrency: o.pyTasks,
		})
		if err != nil {
			return nil, err
		}
		rep.Python = r
	}
	srv.stop()

	if !o.skipGoBench {
		progressf("go test -bench BenchmarkEmitToUser -benchmem -benchtime %s ./gateway/", o.benchtime)
		res, cmd, err := runGoBench(ctx, o.benchtime)
		if err != nil {
			return nil, err
		}
		rep.GoBench, rep.GoBenchCommand = res, cmd
	}

	rep.Machine.LoadEnd = benchutil.LoadAverage()
	rep.Checks = checks(rep)
	printReport(stdout, rep)
	if o.jsonPath != "" {
		if err := benchutil.WriteJSON(o.jsonPath, rep); err != nil {
			return nil, fmt.Errorf("benchcmp: -json: %w", err)
		}
		progressf("results written to %s", o.jsonPath)
	}
	return rep, nil
}

// checks evaluates the targets against rep.
func checks(rep *report) []check {
	var cs []check
	for _, g := range rep.Gateway {
		ratio := g.Rate / rep.RedisBenchmark.Rate
		cs = append(cs, check{
			Name:   fmt.Sprintf("gateway, %d producer(s), vs redis-benchmark", g.Producers),
			Target: fmt.Sprintf(">= %.2f", targetRatio),
			Value:  fmt.Sprintf("%.2f", ratio),
			Pass:   ratio >= targetRatio && g.Dropped == 0,
		})
	}
	if b, ok := findBench(rep.GoBench, headlineBench); ok {
		cs = append(cs, check{
			Name:   "emit cost (" + headlineBench + ")",
			Target: fmt.Sprintf("< %d ns/op, <= %d allocs/op", targetNsPerOp, targetAllocs),
			Value:  fmt.Sprintf("%.0f ns/op, %.0f allocs/op", b.NsPerOp, b.AllocsOp),
			Pass:   b.NsPerOp < targetNsPerOp && b.AllocsOp <= targetAllocs && b.Metrics["dropped/op"] == 0,
		})
	}
	return cs
}

func findBench(bs []goBench, name string) (goBench, bool) {
	for _, b := range bs {
		if b.Name == name {
			return b, true
		}
	}
	return goBench{}, false
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// printReport writes the comparison table and notes.
func printReport(w io.Writer, rep *report) {
	m := rep.Machine
	fmt.Fprintf(w, "\nsockgate emit benchmark, %s\n", rep.Time.Format(time.RFC3339))
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d) %s, %s, %s, redis-server %s on 127.0.0.1\n",
		m.CPUs, m.GOMAXPROCS, m.CPUModel, m.OS, m.Go, m.Redis)
	fmt.Fprintf(w, "payload: %d bytes per message (one encoded gateway emit); no subscribers\n", rep.PayloadBytes)
	fmt.Fprintf(w, "load average: %.2f at start, %.2f at end\n", m.LoadStart, m.LoadEnd)
	if m.LoadStart > 0.75*float64(m.CPUs) {
		fmt.Fprintln(w, "WARNING: the machine was busy when the run started; rerun when it is idle")
	}
	fmt.Fprintln(w)

	rb := rep.RedisBenchmark.Rate
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\trate\tvs redis-benchmark\ttarget\tresult")
	fmt.Fprintf(tw, "redis-benchmark PUBLISH -c 50 -P 16\t%s msg/s\t1.00\tbaseline\t\n", benchutil.Thousands(rb))
	var ci int
	for _, g := range rep.Gateway {
		c := rep.Checks[ci]
		ci++
		fmt.Fprintf(tw, "sockgate Worker, %d producer(s)\t%s msg/s\t%.2f\t%s\t%s\n",
			g.Producers, benchutil.Thousands(g.Rate), g.Rate/rb, c.Target, passFail(c.Pass))
	}
	if p := rep.Python; p != nil {
		if s := p.Sequential; s != nil {
			fmt.Fprintf(tw, "python-socketio %s, sequential\t%s msg/s\t%.3f\t\t\n", p.PythonSocketIO, benchutil.Thousands(s.Rate), s.Rate/rb)
		}
		if c := p.Concurrent; c != nil {
			fmt.Fprintf(tw, "python-socketio %s, %d tasks\t%s msg/s\t%.3f\t\t\n", p.PythonSocketIO, c.Tasks, benchutil.Thousands(c.Rate), c.Rate/rb)
		}
	}
	for _, b := range rep.GoBench {
		target, result := "", ""
		if b.Name == headlineBench {
			c := rep.Checks[len(rep.Checks)-1]
			target, result = c.Target, passFail(c.Pass)
		}
		fmt.Fprintf(tw, "go bench %s\t%.0f ns/op, %.0f allocs\t\t%s\t%s\n",
			strings.TrimPrefix(b.Name, "EmitToUser/"), b.NsPerOp, b.AllocsOp, target, result)
	}
	tw.Flush()

	if p := rep.Python; p != nil && len(rep.Gateway) > 0 {
		fmt.Fprintln(w)
		first, last := rep.Gateway[0], rep.Gateway[len(rep.Gateway)-1]
		if s := p.Sequential; s != nil && s.Rate > 0 {
			fmt.Fprintf(w, "sockgate vs python-socketio: %d producer(s) / sequential = %.0fx\n", first.Producers, first.Rate/s.Rate)
		}
		if c := p.Concurrent; c != nil && c.Rate > 0 {
			fmt.Fprintf(w, "sockgate vs python-socketio: %d producer(s) / %d tasks = %.0fx\n", last.Producers, c.Tasks, last.Rate/c.Rate)
		}
	}
	if rep.PythonSkipped != "" {
		fmt.Fprintf(w, "\npython-socketio not measured: %s\n", rep.PythonSkipped)
	}

	fmt.Fprintln(w, "\nwhere the CPU went (client CPU per message in the publishing process; redis-server's share of one core):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tmessages\tseconds\tclient CPU/msg\tredis-server busy\tpublished\tdropped\tfailed\tround trips\tmean batch\tqueue/batch")
	r := rep.RedisBenchmark
	fmt.Fprintf(tw, "redis-benchmark\t%.0f\t%.2f\t%s\t%s\t\t\t\t\t\t\n", r.Rate*r.Seconds, r.Seconds, benchutil.Micros(r.ClientCPUPerMsg), benchutil.Percent(r.RedisBusy))
	for _, g := range rep.Gateway {
		fmt.Fprintf(tw, "sockgate, %d producer(s)\t%d\t%.2f\t%s\t%s\t%d\t%d\t%d\t%d\t%.0f\t%s/%s\n", g.Producers, g.Count, g.Seconds,
			benchutil.Micros(g.CPUPerMsg), benchutil.Percent(g.RedisBusy),
			g.Published, g.Dropped, g.Failed, g.Publishes, g.MeanBatch, orDefault(g.QueueSize), orDefault(g.BatchSize))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nbaseline: %s\n", rep.RedisBenchmark.Command)
	if rep.GoBenchCommand != "" {
		fmt.Fprintf(w, "go bench: %s\n", rep.GoBenchCommand)
	}
}

func orDefault(n int) string {
	if n == 0 {
		return "default"
	}
	return strconv.Itoa(n)
}

func describeMachine() machine {
	m := machine{
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		CPUModel:   benchutil.CPUModel(),
		LoadStart:  benchutil.LoadAverage(),
	}
	return m
}
