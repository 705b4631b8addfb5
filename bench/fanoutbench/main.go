// Command fanoutbench measures Socket.IO fan-out, in one run, for sockgate's
// socketio server and for Node socket.io 4.8, and checks the targets of
// issue 3. `make bench` runs it after benchcmp:
//
//	go -C bench run ./fanoutbench [-json FILE] [-chart ../docs/fanout.svg]
//
// For each server in turn it starts the server process pinned to one core
// (taskset -c 0): bench/fanoutbench/server (built with go build) and
// test/peers/node/fanout_server.js. This process, the load client,
// re-executes itself under taskset -c 1. Against each server it:
//
//  1. connects -clients raw websocket clients (EIO=4, transport=websocket,
//     Socket.IO CONNECT to "/"; the server joins each to room "bench") and
//     reads the server's VmRSS before and after: RSS per 1k clients;
//  2. asks the server (POST /emit) to emit -burst events of -size bytes to
//     the room as fast as it can, -rounds times after a warm-up burst, and
//     times each from the request to the last client's last event:
//     deliveries/s, time to last delivery, losses and disconnects;
//  3. asks for -rate events/s for -steady; each event carries the server's
//     send time (Unix ns) and the clients compute each delivery's latency:
//     p50, p99, max.
//
// It prints a table with both servers, the ratio ours/Node and PASS/FAIL
// against the targets; -json writes the results, -chart an SVG.
// docs/fanout.md describes the method and the figures.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sockgate/sockgate/bench/benchutil"
)

// Targets from issue 3.
const (
	targetRatio    = 5.0                   // our deliveries/s over Node's, at least
	targetP99      = 20 * time.Millisecond // p99 latency at the steady rate, below
	targetRSSPer1k = 20 << 20              // bytes of RSS per 1k clients, below
)

const pinnedEnv = "FANOUTBENCH_PINNED"

// options are the command-line flags.
type options struct {
	servers    []string
	clients    int
	dialPar    int
	burst      int
	warmup     int
	rounds     int
	size       int
	rate       int
	steady     time.Duration
	idle       time.Duration
	serverCPU  int
	clientCPU  int
	clientMode string
	noPin      bool
	node       string
	sendQueue  int
	jsonPath   string
	chartPath  string
	fromJSON   string
	strict     bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("fanoutbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	servers := fs.String("servers", "ours,node", "comma-separated servers to measure: ours, node")
	fs.IntVar(&o.clients, "clients", 1000, "websocket clients connected to each server")
	fs.IntVar(&o.dialPar, "dial-parallel", 50, "client handshakes in flight at once")
	fs.IntVar(&o.burst, "burst", 1000, "events per max fan-out burst (each to every client)")
	fs.IntVar(&o.warmup, "warmup", 100, "events in the unmeasured warm-up burst (0 skips)")
	fs.IntVar(&o.rounds, "rounds", 3, "measured bursts per server; the table shows the median")
	fs.IntVar(&o.size, "size", 200, "bytes per Socket.IO event packet, about")
	fs.IntVar(&o.rate, "rate", 100, "steady rate: events per second")
	fs.DurationVar(&o.steady, "steady", 10*time.Second, "steady rate: duration (0 skips)")
	fs.DurationVar(&o.idle, "idle", 5*time.Second, "give up waiting for lost events after this long without any delivery")
	fs.IntVar(&o.serverCPU, "server-cpu", 0, "CPU the server process is pinned to")
	fs.IntVar(&o.clientCPU, "client-cpu", 1, "CPU the load client (this process) is pinned to")
	fs.BoolVar(&o.noPin, "no-pin", false, "do not pin anything with taskset")
	fs.StringVar(&o.clientMode, "client", "epoll", "load client: epoll (one thread, cheapest) or goroutines (one per connection)")
	fs.StringVar(&o.node, "node", "node", "the node binary")
	fs.IntVar(&o.sendQueue, "send-queue", 0, "our server: socketio Config.SendQueue; 0 keeps the default")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&o.chartPath, "chart", "", "write an SVG chart of the results to this file (e.g. ../docs/fanout.svg)")
	fs.StringVar(&o.fromJSON, "from-json", "", "measure nothing: print the table of, and -chart, a file written by -json")
	fs.BoolVar(&o.strict, "strict", false, "exit with status 1 when a target is missed")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.clientMode != "epoll" && o.clientMode != "goroutines" {
		return nil, fmt.Errorf("fanoutbench: -client: %q is neither epoll nor goroutines", o.clientMode)
	}
	for _, s := range strings.Split(*servers, ",") {
		s = strings.TrimSpace(s)
		if s != "ours" && s != "node" {
			return nil, fmt.Errorf("fanoutbench: -servers: %q is neither ours nor node", s)
		}
		o.servers = append(o.servers, s)
	}
	if o.clients < 1 || o.dialPar < 1 || o.burst < 1 || o.rounds < 1 || o.size < 0 || o.rate < 1 || o.warmup < 0 {
		return nil, errors.New("fanoutbench: -clients, -dial-parallel, -burst, -rounds and -rate must be positive, -size and -warmup not negative")
	}
	return o, nil
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
	if opts.fromJSON != "" {
		if err := replay(opts, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := pinSelf(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, opts, os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		fmt.Fprintln(os.Stderr, "fanoutbench: interrupted; servers stopped")
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

// replay prints the table of a saved -json report and writes its chart.
func replay(o *options, stdout io.Writer) error {
	b, err := os.ReadFile(o.fromJSON)
	if err != nil {
		return fmt.Errorf("fanoutbench: -from-json: %w", err)
	}
	rep := &report{}
	if err := json.Unmarshal(b, rep); err != nil {
		return fmt.Errorf("fanoutbench: -from-json %s: %w", o.fromJSON, err)
	}
	printReport(stdout, rep)
	if o.chartPath != "" {
		if err := os.WriteFile(o.chartPath, []byte(renderSVG(rep)), 0o644); err != nil {
			return fmt.Errorf("fanoutbench: -chart: %w", err)
		}
	}
	return nil
}

// pinSelf re-executes this program under taskset -c clientCPU, once. The
// Go runtime then sees one CPU (GOMAXPROCS 1).
func pinSelf(o *options) error {
	if o.noPin || os.Getenv(pinnedEnv) != "" {
		return nil
	}
	if runtime.NumCPU() < 2 {
		fmt.Fprintln(os.Stderr, "fanoutbench: fewer than 2 CPUs: nothing is pinned")
		o.noPin = true
		return nil
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return errors.New("fanoutbench: taskset not found (install util-linux) or pass -no-pin")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("fanoutbench: re-exec under taskset: %w", err)
	}
	argv := append([]string{"taskset", "-c", strconv.Itoa(o.clientCPU), self}, os.Args[1:]...)
	env := append(os.Environ(), pinnedEnv+"=1")
	return fmt.Errorf("fanoutbench: re-exec under taskset: %w", syscall.Exec(ts, argv, env))
}

// report is everything one run measured; -json writes it.
type report struct {
	Time     time.Time      `json:"time"`
	Machine  machine        `json:"machine"`
	Setup    setup          `json:"setup"`
	Servers  []serverResult `json:"servers"`
	Checks   []check        `json:"checks"`
	Warnings []string       `json:"warnings,omitempty"`
}

type setup struct {
	Clients    int     `json:"clients"`
	EventBytes int     `json:"event_bytes"`
	Burst      int     `json:"burst"`
	Rounds     int     `json:"rounds"`
	Rate       int     `json:"steady_rate"`
	SteadySecs float64 `json:"steady_seconds"`
	ServerCPU  string  `json:"server_cpu"`
	ClientCPU  string  `json:"client_cpu"`
	ClientMode string  `json:"client_mode"`
}

type machine struct {
	CPUs       int     `json:"cpus"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	CPUModel   string  `json:"cpu_model,omitempty"`
	Go         string  `json:"go"`
	Node       string  `json:"node,omitempty"`
	OS         string  `json:"os"`
	LoadStart  float64 `json:"load_start"`
	LoadEnd    float64 `json:"load_end"`
}

// serverResult is one server's measurements.
type serverResult struct {
	Name    string `json:"name"`
	Label   string `json:"label"`
	Skipped string `json:"skipped,omitempty"`

	RSSBefore  int64   `json:"rss_before_bytes"`
	RSSAfter   int64   `json:"rss_connected_bytes"`
	RSSPer1k   float64 `json:"rss_per_1k_clients_bytes"`
	RSSPeak    int64   `json:"rss_peak_bytes"`
	ConnectSec float64 `json:"connect_seconds"`

	Bursts []burstResult `json:"bursts"`
	// Median is the burst with the median deliveries/s.
	Median *burstResult `json:"median,omitempty"`

	Steady *steadyResult `json:"steady,omitempty"`

	Disconnects int             `json:"client_disconnects"`
	Stats       json.RawMessage `json:"server_stats,omitempty"`
}

type burstResult struct {
	Events          int     `json:"events"`
	Expected        int64   `json:"expected_deliveries"`
	Delivered       int64   `json:"delivered"`
	Lost            int64   `json:"lost"`
	Misordered      int64   `json:"misordered"`
	Disconnects     int     `json:"disconnects"`
	LastDeliverySec float64 `json:"time_to_last_delivery_seconds"`
	EmitSec         float64 `json:"server_emit_seconds"`
	Rate            float64 `json:"deliveries_per_second"`
	ServerBusy      float64 `json:"server_cpu_share"`
	ClientBusy      float64 `json:"client_cpu_share"`
}

type steadyResult struct {
	Events      int        `json:"events"`
	Rate        int        `json:"rate"`
	Expected    int64      `json:"expected_deliveries"`
	Delivered   int64      `json:"delivered"`
	Lost        int64      `json:"lost"`
	Misordered  int64      `json:"misordered"`
	Disconnects int        `json:"disconnects"`
	P50Ms       float64    `json:"p50_ms"`
	P99Ms       float64    `json:"p99_ms"`
	P999Ms      float64    `json:"p999_ms"`
	MaxMs       float64    `json:"max_ms"`
	Negative    int64      `json:"negative_samples,omitempty"`
	ServerBusy  float64    `json:"server_cpu_share"`
	ClientBusy  float64    `json:"client_cpu_share"`
	CDF         []cdfPoint `json:"cdf"`
}

// check is one target and whether this run met it.
type check struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Value  string `json:"value"`
	Pass   bool   `json:"pass"`
}

// run measures every selected server, prints the table and writes the
// files asked for.
func run(ctx context.Context, o *options, stdout, stderr io.Writer) (*report, error) {
	progressf := func(format string, args ...any) { fmt.Fprintf(stderr, "fanoutbench: "+format+"\n", args...) }
	root := repoRoot()
	rep := &report{Time: time.Now().UTC(), Machine: describeMachine(o.node)}
	rep.Setup = setup{Clients: o.clients, EventBytes: o.size, Burst: o.burst, Rounds: o.rounds,
		Rate: o.rate, SteadySecs: o.steady.Seconds(), ServerCPU: "not pinned", ClientCPU: "not pinned",
		ClientMode: o.clientMode}
	serverCPU := -1
	if !o.noPin {
		serverCPU = o.serverCPU
		rep.Setup.ServerCPU = "taskset -c " + strconv.Itoa(o.serverCPU)
		rep.Setup.ClientCPU = "taskset -c " + strconv.Itoa(o.clientCPU)
	}
	tmp, err := os.MkdirTemp("", "fanoutbench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	for _, name := range o.servers {
		var argv []string
		r := serverResult{Name: name}
		switch name {
		case "ours":
			r.Label = "sockgate socketio"
			bin := filepath.Join(tmp, "fanout-server")
			progressf("building ./bench/fanoutbench/server")
			build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./fanoutbench/server")
			build.Dir = filepath.Join(root, "bench")
			if out, err := build.CombinedOutput(); err != nil {
				r.Skipped = fmt.Sprintf("go build ./fanoutbench/server failed: %v: %s", err, firstLines(string(out), 5))
				progressf("ours: %s", r.Skipped)
				rep.Servers = append(rep.Servers, r)
				continue
			}
			argv = []string{bin, "-addr", "127.0.0.1:0", "-send-queue", strconv.Itoa(o.sendQueue)}
		case "node":
			r.Label = "Node socket.io " + nodePackageVersion(root)
			argv = []string{o.node, filepath.Join(root, "test/peers/node/fanout_server.js"), "0"}
		}
		if err := measureServer(ctx, o, root, serverCPU, argv, &r, progressf); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r.Skipped = err.Error()
			progressf("%s: %v", name, err)
		}
		rep.Servers = append(rep.Servers, r)
	}

	rep.Machine.LoadEnd = benchutil.LoadAverage()
	rep.Checks = checks(rep)
	rep.Warnings = warnings(rep)
	printReport(stdout, rep)
	if o.jsonPath != "" {
		if err := benchutil.WriteJSON(o.jsonPath, rep); err != nil {
			return nil, fmt.Errorf("fanoutbench: -json: %w", err)
		}
		progressf("results written to %s", o.jsonPath)
	}
	if o.chartPath != "" {
		if err := os.WriteFile(o.chartPath, []byte(renderSVG(rep)), 0o644); err != nil {
			return nil, fmt.Errorf("fanoutbench: -chart: %w", err)
		}
		progressf("chart written to %s", o.chartPath)
	}
	return rep, nil
}

// measureServer starts one server, measures it and stops it.
func measureServer(ctx context.Context, o *options, root string, cpu int, argv []string, r *serverResult, progressf func(string, ...any)) error {
	progressf("%s: starting %s", r.Name, strings.Join(argv, " "))
	srv, err := startServer(ctx, r.Label, root, cpu, argv...)
	if err != nil {
		return err
	}
	defer srv.stop()
	fail := func(err error) error {
		if out := srv.lastOutput(); out != "" {
			return fmt.Errorf("%w (server output: %s)", err, firstLines(out, 5))
		}
		return err
	}
	// Let the runtime settle before the baseline RSS.
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		return err
	}
	if r.RSSBefore, err = procStatus(srv.pid, "VmRSS"); err != nil {
		return fail(err)
	}

	progressf("%s: connecting %d clients to %s", r.Name, o.clients, srv.addr)
	t0 := time.Now()
	fl, err := dialFleet(ctx, srv.addr, o.clients, o.dialPar, o.clientMode == "epoll")
	if err != nil {
		return fail(fmt.Errorf("fanoutbench: connect: %w", err))
	}
	defer fl.close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := srv.roomSize(ctx)
		if err != nil {
			return fail(err)
		}
		if n == o.clients {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("fanoutbench: room \"bench\" has %d members, want %d", n, o.clients))
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	r.ConnectSec = time.Since(t0).Seconds()
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	if r.RSSAfter, err = procStatus(srv.pid, "VmRSS"); err != nil {
		return fail(err)
	}
	r.RSSPer1k = float64(r.RSSAfter-r.RSSBefore) * 1000 / float64(o.clients)
	progressf("%s: RSS %s before, %s with %d clients", r.Name, mib(r.RSSBefore), mib(r.RSSAfter), o.clients)

	if o.warmup > 0 {
		progressf("%s: warm-up burst of %d events", r.Name, o.warmup)
		if _, err := burst(ctx, o, srv, fl, o.warmup); err != nil {
			return fail(err)
		}
	}
	for i := range o.rounds {
		b, err := burst(ctx, o, srv, fl, o.burst)
		if err != nil {
			return fail(err)
		}
		progressf("%s: burst %d/%d: %s deliveries/s, last delivery after %.3f s, lost %d, server CPU %s, client CPU %s",
			r.Name, i+1, o.rounds, benchutil.Thousands(b.Rate), b.LastDeliverySec, b.Lost, benchutil.Percent(b.ServerBusy), benchutil.Percent(b.ClientBusy))
		r.Bursts = append(r.Bursts, b)
	}
	sorted := slices.Clone(r.Bursts)
	slices.SortFunc(sorted, func(a, b burstResult) int {
		switch {
		case a.Rate < b.Rate:
			return -1
		case a.Rate > b.Rate:
			return 1
		}
		return 0
	})
	m := sorted[len(sorted)/2]
	r.Median = &m

	if o.steady > 0 {
		n := max(1, int(o.steady.Seconds()*float64(o.rate)))
		progressf("%s: steady %d events/s for %s", r.Name, o.rate, o.steady)
		s, err := steady(ctx, o, srv, fl, n)
		if err != nil {
			return fail(err)
		}
		progressf("%s: steady: p50 %.2f ms, p99 %.2f ms, max %.2f ms, lost %d", r.Name, s.P50Ms, s.P99Ms, s.MaxMs, s.Lost)
		r.Steady = s
	}
	if r.RSSPeak, err = procStatus(srv.pid, "VmHWM"); err != nil {
		return fail(err)
	}
	r.Disconnects = int(fl.disconnects.Load())
	r.Stats = srv.rawStats(ctx)
	return nil
}

// burst measures one max fan-out burst of k events.
func burst(ctx context.Context, o *options, srv *serverProc, fl *fleet, k int) (burstResult, error) {
	disc0 := fl.disconnects.Load()
	p := fl.start(int64(k), nil)
	defer fl.stop()
	cpu0, self0 := mustCPU(srv.pid), selfCPU()
	t0 := time.Now()
	reply, err := srv.emit(ctx, k, o.size, 0)
	if err != nil {
		return burstResult{}, err
	}
	fl.wait(ctx, p, o.idle)
	if err := fl.err(); err != nil {
		return burstResult{}, err
	}
	total, last := fl.delivered()
	end := time.Now()
	wall := end.Sub(t0)
	cpu1, self1 := mustCPU(srv.pid), selfCPU()
	b := burstResult{
		Events:      k,
		Expected:    int64(k) * int64(len(fl.conns)),
		Delivered:   total,
		Disconnects: int(fl.disconnects.Load() - disc0),
		EmitSec:     float64(reply.Ns) / 1e9,
	}
	b.Lost = b.Expected - b.Delivered
	b.Misordered = fl.misordered()
	if last > 0 {
		b.LastDeliverySec = time.Duration(last - t0.UnixNano()).Seconds()
		b.Rate = float64(total) / b.LastDeliverySec
	}
	// CPU shares over the burst, to the last delivery when all arrived
	// (otherwise the idle wait would dilute them).
	span := wall
	if b.Lost == 0 && b.LastDeliverySec > 0 {
		span = time.Duration(b.LastDeliverySec * 1e9)
	}
	b.ServerBusy = share(cpu1-cpu0, span)
	b.ClientBusy = share(self1-self0, span)
	return b, nil
}

// steady measures latency at o.rate events/s for n events.
func steady(ctx context.Context, o *options, srv *serverProc, fl *fleet, n int) (*steadyResult, error) {
	disc0 := fl.disconnects.Load()
	h := newHistogram()
	p := fl.start(int64(n), h)
	defer fl.stop()
	cpu0, self0 := mustCPU(srv.pid), selfCPU()
	t0 := time.Now()
	if _, err := srv.emit(ctx, n, o.size, o.rate); err != nil {
		return nil, err
	}
	fl.wait(ctx, p, o.idle)
	if err := fl.err(); err != nil {
		return nil, err
	}
	wall := time.Since(t0)
	cpu1, self1 := mustCPU(srv.pid), selfCPU()
	total, _ := fl.delivered()
	s := &steadyResult{
		Events: n, Rate: o.rate,
		Expected:    int64(n) * int64(len(fl.conns)),
		Delivered:   total,
		Disconnects: int(fl.disconnects.Load() - disc0),
		P50Ms:       float64(h.quantile(0.50)) / 1e6,
		P99Ms:       float64(h.quantile(0.99)) / 1e6,
		P999Ms:      float64(h.quantile(0.999)) / 1e6,
		MaxMs:       float64(h.max.Load()) / 1e6,
		Negative:    h.neg.Load(),
		ServerBusy:  share(cpu1-cpu0, wall),
		ClientBusy:  share(self1-self0, wall),
		CDF:         h.cdf(200),
	}
	s.Lost = s.Expected - s.Delivered
	s.Misordered = fl.misordered()
	return s, nil
}

func mustCPU(pid int) time.Duration {
	d, err := procCPU(pid)
	if err != nil {
		return -1
	}
	return d
}

func share(cpu, wall time.Duration) float64 {
	if cpu < 0 || wall <= 0 {
		return -1
	}
	return cpu.Seconds() / wall.Seconds()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// find returns the measured result named name, or nil.
func (rep *report) find(name string) *serverResult {
	for i := range rep.Servers {
		if rep.Servers[i].Name == name && rep.Servers[i].Skipped == "" {
			return &rep.Servers[i]
		}
	}
	return nil
}

// checks evaluates the targets against rep; a target that could not be
// measured fails.
func checks(rep *report) []check {
	ours, node := rep.find("ours"), rep.find("node")
	c1 := check{Name: "max fan-out deliveries/s, ours / Node", Target: fmt.Sprintf(">= %.0fx, no loss", targetRatio), Value: "not measured"}
	if ours != nil && node != nil && ours.Median != nil && node.Median != nil && node.Median.Rate > 0 {
		ratio := ours.Median.Rate / node.Median.Rate
		c1.Value = fmt.Sprintf("%.2fx", ratio)
		c1.Pass = ratio >= targetRatio && ours.Median.Lost == 0
		if ours.Median.Lost > 0 {
			c1.Value += fmt.Sprintf(", %d lost", ours.Median.Lost)
		}
	}
	c2 := check{Name: fmt.Sprintf("p99 latency at %d events/s (ours)", rep.Setup.Rate), Target: "< " + targetP99.String() + ", no loss", Value: "not measured"}
	if ours != nil && ours.Steady != nil {
		c2.Value = fmt.Sprintf("%.2f ms", ours.Steady.P99Ms)
		c2.Pass = ours.Steady.P99Ms < float64(targetP99)/1e6 && ours.Steady.Lost == 0
		if ours.Steady.Lost > 0 {
			c2.Value += fmt.Sprintf(", %d lost", ours.Steady.Lost)
		}
	}
	c3 := check{Name: "RSS per 1k connected clients (ours)", Target: "< " + mib(targetRSSPer1k), Value: "not measured"}
	if ours != nil {
		c3.Value = mib(int64(ours.RSSPer1k))
		c3.Pass = ours.RSSPer1k < targetRSSPer1k
	}
	return []check{c1, c2, c3}
}

// warnings notes what makes the figures doubtful.
func warnings(rep *report) []string {
	var w []string
	m := rep.Machine
	if m.LoadStart > 0.75*float64(m.CPUs) {
		w = append(w, fmt.Sprintf("the machine was busy when the run started (load %.2f on %d CPUs): figures are low; rerun when it is idle", m.LoadStart, m.CPUs))
	}
	for _, s := range rep.Servers {
		if s.Median != nil && s.Median.ClientBusy > 0.9 {
			w = append(w, fmt.Sprintf("%s: the load client used %s of its core during the bursts: it may be the bottleneck, the server's rate may be higher", s.Label, benchutil.Percent(s.Median.ClientBusy)))
		}
		if s.Median != nil && s.Median.ServerBusy >= 0 && s.Median.ServerBusy < 0.8 && s.Median.ClientBusy <= 0.9 {
			w = append(w, fmt.Sprintf("%s: the server used only %s of its core during the bursts: something else limited it (other load on the machine?)", s.Label, benchutil.Percent(s.Median.ServerBusy)))
		}
		if s.Disconnects > 0 {
			w = append(w, fmt.Sprintf("%s: %d clients were disconnected by the server during the run", s.Label, s.Disconnects))
		}
	}
	return w
}

// printReport writes the comparison table and notes.
func printReport(w io.Writer, rep *report) {
	m, su := rep.Machine, rep.Setup
	fmt.Fprintf(w, "\nsockgate fan-out benchmark, %s\n", rep.Time.Format(time.RFC3339))
	fmt.Fprintf(w, "machine: %d CPUs %s, %s, %s, node %s\n", m.CPUs, m.CPUModel, m.OS, m.Go, m.Node)
	fmt.Fprintf(w, "setup: %d websocket clients in room \"bench\", ~%d-byte events; server %s, load client %s (%s, GOMAXPROCS %d)\n",
		su.Clients, su.EventBytes, su.ServerCPU, su.ClientCPU, su.ClientMode, m.GOMAXPROCS)
	fmt.Fprintf(w, "max fan-out: median of %d bursts of %d events to every client; steady: %d events/s for %.0f s\n",
		su.Rounds, su.Burst, su.Rate, su.SteadySecs)
	fmt.Fprintf(w, "load average: %.2f at start, %.2f at end\n\n", m.LoadStart, m.LoadEnd)

	ours, node := rep.find("ours"), rep.find("node")
	cols := []*serverResult{ours, node}
	label := func(s *serverResult, fallback string) string {
		if s == nil {
			return fallback + " (not measured)"
		}
		return s.Label
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "measurement\t%s\t%s\tours/Node\ttarget\tresult\n", label(ours, "sockgate socketio"), label(node, "Node socket.io"))
	type row struct {
		name   string
		val    func(*serverResult) (float64, bool)
		format func(float64) string
		check  int // index into rep.Checks, -1 for none
	}
	burstVal := func(f func(*burstResult) float64) func(*serverResult) (float64, bool) {
		return func(s *serverResult) (float64, bool) {
			if s == nil || s.Median == nil {
				return 0, false
			}
			return f(s.Median), true
		}
	}
	steadyVal := func(f func(*steadyResult) float64) func(*serverResult) (float64, bool) {
		return func(s *serverResult) (float64, bool) {
			if s == nil || s.Steady == nil {
				return 0, false
			}
			return f(s.Steady), true
		}
	}
	ms := func(v float64) string { return fmt.Sprintf("%.2f ms", v) }
	rows := []row{
		{"max fan-out, deliveries/s", burstVal(func(b *burstResult) float64 { return b.Rate }), benchutil.Thousands, 0},
		{fmt.Sprintf("time to last delivery (%d events)", su.Burst), burstVal(func(b *burstResult) float64 { return b.LastDeliverySec }), func(v float64) string { return fmt.Sprintf("%.3f s", v) }, -1},
		{"burst deliveries lost", burstVal(func(b *burstResult) float64 { return float64(b.Lost) }), benchutil.Thousands, -1},
		{"burst deliveries out of order", burstVal(func(b *burstResult) float64 { return float64(b.Misordered) }), benchutil.Thousands, -1},
		{"server CPU during burst", burstVal(func(b *burstResult) float64 { return b.ServerBusy }), benchutil.Percent, -1},
		{"load client CPU during burst", burstVal(func(b *burstResult) float64 { return b.ClientBusy }), benchutil.Percent, -1},
		{fmt.Sprintf("latency p50 at %d/s", su.Rate), steadyVal(func(s *steadyResult) float64 { return s.P50Ms }), ms, -1},
		{fmt.Sprintf("latency p99 at %d/s", su.Rate), steadyVal(func(s *steadyResult) float64 { return s.P99Ms }), ms, 1},
		{fmt.Sprintf("latency max at %d/s", su.Rate), steadyVal(func(s *steadyResult) float64 { return s.MaxMs }), ms, -1},
		{"steady deliveries lost", steadyVal(func(s *steadyResult) float64 { return float64(s.Lost) }), benchutil.Thousands, -1},
		{"RSS per 1k clients", func(s *serverResult) (float64, bool) {
			if s == nil {
				return 0, false
			}
			return s.RSSPer1k, true
		}, func(v float64) string { return mib(int64(v)) }, 2},
		{fmt.Sprintf("RSS with %d clients", su.Clients), func(s *serverResult) (float64, bool) {
			if s == nil {
				return 0, false
			}
			return float64(s.RSSAfter), true
		}, func(v float64) string { return mib(int64(v)) }, -1},
		{"RSS peak (VmHWM)", func(s *serverResult) (float64, bool) {
			if s == nil {
				return 0, false
			}
			return float64(s.RSSPeak), true
		}, func(v float64) string { return mib(int64(v)) }, -1},
		{"clients disconnected by the server", func(s *serverResult) (float64, bool) {
			if s == nil {
				return 0, false
			}
			return float64(s.Disconnects), true
		}, benchutil.Thousands, -1},
	}
	for _, r := range rows {
		cells := make([]string, 2)
		vals := make([]float64, 2)
		oks := make([]bool, 2)
		for i, s := range cols {
			vals[i], oks[i] = r.val(s)
			cells[i] = "-"
			if oks[i] {
				cells[i] = r.format(vals[i])
			}
		}
		ratio := ""
		if oks[0] && oks[1] && vals[1] > 0 && vals[0] >= 0 {
			ratio = fmt.Sprintf("%.2f", vals[0]/vals[1])
		}
		target, result := "", ""
		if r.check >= 0 && r.check < len(rep.Checks) {
			target, result = rep.Checks[r.check].Target, passFail(rep.Checks[r.check].Pass)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.name, cells[0], cells[1], ratio, target, result)
	}
	tw.Flush()

	fmt.Fprintln(w, "\ntargets:")
	for _, c := range rep.Checks {
		fmt.Fprintf(w, "  %s  %s: %s (target %s)\n", passFail(c.Pass), c.Name, c.Value, c.Target)
	}
	for _, s := range rep.Servers {
		if s.Skipped != "" {
			fmt.Fprintf(w, "\n%s not measured: %s\n", s.Label, s.Skipped)
		}
	}
	if len(rep.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, x := range rep.Warnings {
			fmt.Fprintln(w, "WARNING:", x)
		}
	}
	fmt.Fprintln(w, "\nevery burst (deliveries/s, time to last delivery, lost):")
	for _, s := range rep.Servers {
		if len(s.Bursts) == 0 {
			continue
		}
		var parts []string
		for _, b := range s.Bursts {
			parts = append(parts, fmt.Sprintf("%s/s %.3f s %d", benchutil.Thousands(b.Rate), b.LastDeliverySec, b.Lost))
		}
		fmt.Fprintf(w, "  %s: %s\n", s.Label, strings.Join(parts, "; "))
	}
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// mib formats bytes as MiB ("MB" in the sense).
func mib(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, " | ")
}

func describeMachine(node string) machine {
	m := machine{
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		LoadStart:  benchutil.LoadAverage(),
	}
	// NumCPU is this process's affinity (1 once pinned): count the machine's.
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name":
				if m.CPUModel == "" {
					m.CPUModel = strings.TrimSpace(v)
				}
			case "processor":
				n++
			}
		}
		if n > 0 {
			m.CPUs = n
		}
	}
	if out, err := exec.Command(node, "--version").Output(); err == nil {
		m.Node = strings.TrimSpace(string(out))
	}
	return m
}

// nodePackageVersion reads the installed socket.io's version.
func nodePackageVersion(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "test/peers/node/node_modules/socket.io/package.json"))
	if err != nil {
		return "(version unknown)"
	}
	var p struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &p) != nil || p.Version == "" {
		return "(version unknown)"
	}
	return p.Version
}
