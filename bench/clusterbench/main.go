// Command clusterbench measures end-to-end latency from a worker's emit to
// a websocket client, through Redis pub/sub and a Socket.IO server that is
// a member of the channel: sockgate's Go server (socketio + cluster.Manager)
// next to python-socketio 5.7.2's AsyncServer with AsyncRedisManager, in
// one run. `make bench` runs it:
//
//	go -C bench run ./clusterbench [flags]
//
// It starts its own redis-server on a free 127.0.0.1 port, the Go server
// (this binary re-executed in a server role, see server.go) on channel
// "clusterbench-go" and the python server (test/peers/python/py_server.py,
// run with /usr/bin/python3) on channel "clusterbench-py", and connects
// -clients websocket clients (our own minimal client, client.go) to each;
// every client is in room "bench". Then, for each server in turn and each
// rate (-rates, default 1,000 and 20,000 events/s), a Go gateway.Worker
// over transport/redispubsub emits ["tick", {"p": phase, "i": seq, "t":
// send time in Unix ns}] to room "bench" at that paced rate for -duration.
// Each client notes the arrival time of every event: latency = arrival -
// "t" (one host, one clock). The phase ends when every client has every
// event, or -idle passes without a delivery, or -max-wait after the last
// emit; what did not arrive by then is reported as lost.
//
// It prints a table of p50, p99, max latency and loss per server and rate,
// with the ratio python/Go, and with -json writes the results to a file.
// A missing python-socketio is reported and its rows skipped.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/bench/benchutil"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

// options are the command-line flags.
type options struct {
	rates    []int
	duration time.Duration
	clients  int
	idle     time.Duration
	maxWait  time.Duration
	python   string
	noPython bool
	jsonPath string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == roleGoServer {
		os.Exit(runGoServer(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("clusterbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	rates := fs.String("rates", "1000,20000", "comma-separated emit `rates` in events per second")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "how long the worker emits at each rate")
	fs.IntVar(&o.clients, "clients", 2, "websocket clients per server, all in the room")
	fs.DurationVar(&o.idle, "idle", 3*time.Second, "end a phase when no event arrived for this long")
	fs.DurationVar(&o.maxWait, "max-wait", 30*time.Second, "end a phase this long after the last emit at the latest")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "interpreter with python-socketio 5.7.2 and aiohttp")
	fs.BoolVar(&o.noPython, "no-python", false, "skip the python-socketio server")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this `file`")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r < 1 {
			return nil, fmt.Errorf("clusterbench: -rates: %q is not a positive integer", f)
		}
		o.rates = append(o.rates, r)
	}
	if fs.NArg() > 0 || o.duration <= 0 || o.clients < 1 || o.idle <= 0 || o.maxWait <= 0 {
		return nil, errors.New("clusterbench: want no arguments, -duration > 0, -clients >= 1, -idle > 0 and -max-wait > 0")
	}
	return &o, nil
}

// result is one server at one rate.
type result struct {
	Server        string  `json:"server"`
	Rate          int     `json:"rate"`
	Clients       int     `json:"clients"`
	Sent          int     `json:"sent"`
	SendSeconds   float64 `json:"send_seconds"`  // first to last emit
	AchievedRate  float64 `json:"achieved_rate"` // sent / send_seconds
	WorkerDropped uint64  `json:"worker_dropped"`
	Expected      int64   `json:"expected"` // sent × clients
	Delivered     int64   `json:"delivered"`
	Lost          int64   `json:"lost"`
	LossPct       float64 `json:"loss_pct"`
	Duplicates    int64   `json:"duplicates"`
	P50Ms         float64 `json:"p50_ms"`
	P90Ms         float64 `json:"p90_ms"`
	P99Ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`
	// DrainSeconds is from the last emit to the last delivery.
	DrainSeconds float64 `json:"drain_seconds"`
	// DeliveredRate is the events each client received per second, from
	// the first emit to the last delivery: below Rate when the server
	// falls behind.
	DeliveredRate float64 `json:"delivered_rate"`
	// EndedBy says why the phase ended: "complete", "idle" or "max-wait".
	EndedBy string `json:"ended_by"`
	// ServerCPU is the server process's CPU time over the phase's wall
	// time (1.0 = one core busy); -1 when unknown.
	ServerCPU float64 `json:"server_cpu"`
	// ClientErrors lists clients whose connection ended during the phase.
	ClientErrors []string `json:"client_errors,omitempty"`
}

// report is the whole run.
type report struct {
	Started  time.Time `json:"started"`
	Go       string    `json:"go"`
	CPUs     int       `json:"cpus"`
	Redis    string    `json:"redis"`
	Python   string    `json:"python,omitempty"`
	PySkip   string    `json:"python_skipped,omitempty"`
	Duration string    `json:"duration_per_rate"`
	Results  []result  `json:"results"`
	// GoServer is the Go server's GET /stats at the end: its
	// cluster.Manager's counters (every event went through it).
	GoServer json.RawMessage `json:"go_server_stats,omitempty"`
}

// server is a server under test with its clients.
type server struct {
	name    string
	channel string
	p       *proc
	clients []*client
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, err)
		return 2
	}
	rep, err := measure(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	printReport(stdout, rep)
	if o.jsonPath != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.jsonPath, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "clusterbench:", err)
			return 1
		}
		fmt.Fprintf(stdout, "results written to %s\n", o.jsonPath)
	}
	return 0
}

func measure(ctx context.Context, o *options, stderr io.Writer) (*report, error) {
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "clusterbench: "+format+"\n", a...) }
	rep := &report{Started: time.Now().UTC(), Go: runtime.Version(), CPUs: runtime.NumCPU(), Duration: o.duration.String()}

	addr, stopRedis, err := startRedis()
	if err != nil {
		return nil, err
	}
	defer stopRedis()
	rep.Redis = benchutil.Version("redis-server")
	logf("redis-server %s on %s", rep.Redis, addr)
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()

	var servers []*server
	defer func() {
		for _, s := range servers {
			for _, c := range s.clients {
				c.close()
			}
			s.p.stop()
		}
	}()

	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("clusterbench: find own executable: %w", err)
	}
	goSrv := &server{name: "sockgate (Go)", channel: "clusterbench-go"}
	if goSrv.p, err = startProc("go server", exe, roleGoServer, "--redis", addr, "--channel", goSrv.channel); err != nil {
		return nil, err
	}
	servers = append(servers, goSrv)
	goAddr, err := goSrv.p.waitLine(ctx, "LISTEN ")
	if err != nil {
		return nil, err
	}
	if err := connectClients(ctx, goSrv, goAddr, o.clients, rc); err != nil {
		return nil, err
	}
	logf("%s on %s (pid %d): %d clients in room %q, channel %q", goSrv.name, goAddr, goSrv.p.cmd.Process.Pid, o.clients, benchRoom, goSrv.channel)

	if o.noPython {
		rep.PySkip = "-no-python"
	} else if why := checkPython(o.python); why != "" {
		rep.PySkip = why
		logf("python-socketio skipped: %s", why)
	} else {
		pySrv := &server{name: "python-socketio 5.7.2", channel: "clusterbench-py"}
		script, err := pyScript()
		if err != nil {
			return nil, err
		}
		if pySrv.p, err = startProc("python server", o.python, script, "--redis-url", "redis://"+addr+"/0", "--channel", pySrv.channel,
			"--join", "bench", "--serve-forever"); err != nil {
			return nil, err
		}
		servers = append(servers, pySrv)
		line, err := pySrv.p.waitLine(ctx, `{"ready": `)
		if err != nil {
			return nil, err
		}
		pyAddr := "127.0.0.1:" + strings.TrimSuffix(line, "}")
		if err := connectClients(ctx, pySrv, pyAddr, o.clients, rc); err != nil {
			return nil, err
		}
		rep.Python = pythonVersion(o.python)
		logf("%s on %s (pid %d): %d clients, channel %q", pySrv.name, pyAddr, pySrv.p.cmd.Process.Pid, o.clients, pySrv.channel)
	}

	phase := int64(0)
	for _, s := range servers {
		ps, err := redispubsub.New(redispubsub.Config{Client: rc})
		if err != nil {
			return nil, err
		}
		gw, err := gateway.NewWorker(gateway.WorkerConfig{Publisher: ps, Channel: s.channel})
		if err != nil {
			return nil, err
		}
		// Warm up: the worker connects on its first emit; the server
		// ignores events of an unknown phase.
		_ = gw.EmitToRoom(ctx, benchRoom, "tick", tick{P: -1}, gateway.WaitIfFull())
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = gw.Flush(fctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("clusterbench: warm-up flush: %w", err)
		}
		for _, rate := range o.rates {
			phase++
			logf("%s: %d events/s for %s ...", s.name, rate, o.duration)
			r, err := runPhase(ctx, o, s, gw, phase, rate)
			if err != nil {
				return nil, err
			}
			logf("%s: %d events/s: p50 %.2f ms, p99 %.2f ms, max %.1f ms, lost %d of %d (%s)",
				s.name, rate, r.P50Ms, r.P99Ms, r.MaxMs, r.Lost, r.Expected, r.EndedBy)
			rep.Results = append(rep.Results, r)
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = gw.Close(cctx)
		cancel()
		_ = ps.Close()
	}
	rep.GoServer = fetchStats(ctx, goAddr)
	return rep, nil
}

// fetchStats returns the Go server's GET /stats, or nil.
func fetchStats(ctx context.Context, addr string) json.RawMessage {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/stats", nil)
	if err != nil {
		return nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || !json.Valid(b) {
		return nil
	}
	return bytes.TrimSpace(b)
}

// connectClients dials n clients to addr once the server has subscribed.
func connectClients(ctx context.Context, s *server, addr string, n int, rc *redis.Client) error {
	if err := waitSubscribed(ctx, rc, s.channel); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	for range n {
		c, err := dial(ctx, addr)
		if err != nil {
			return fmt.Errorf("clusterbench: connect to %s: %w", s.name, err)
		}
		s.clients = append(s.clients, c)
	}
	return nil
}

// tick is the payload of every event.
type tick struct {
	P int64 `json:"p"`
	I int64 `json:"i"`
	T int64 `json:"t"`
}

// runPhase emits rate events per second for o.duration to the room and
// collects what the server's clients received.
func runPhase(ctx context.Context, o *options, s *server, gw *gateway.Worker, phase int64, rate int) (result, error) {
	n := int(int64(rate) * int64(o.duration) / int64(time.Second))
	r := result{Server: s.name, Rate: rate, Clients: len(s.clients), Sent: n, ServerCPU: -1}
	for _, c := range s.clients {
		c.start(phase, n)
	}
	drop0 := gw.Stats().Dropped
	cpu0, t0 := s.p.cpu(), time.Now()

	// Paced: every millisecond (or as soon as the scheduler wakes us),
	// emit the events that are due by now.
	start := time.Now()
	sent := 0
	for sent < n {
		due := min(n, int(float64(time.Since(start))*float64(rate)/float64(time.Second))+1)
		for ; sent < due; sent++ {
			if err := gw.EmitToRoom(ctx, benchRoom, "tick", tick{P: phase, I: int64(sent), T: time.Now().UnixNano()}, gateway.WaitIfFull()); err != nil {
				return r, fmt.Errorf("clusterbench: emit: %w", err)
			}
		}
		if sent < n {
			next := start.Add(time.Duration(float64(sent) * float64(time.Second) / float64(rate)))
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
	lastEmit := time.Now()
	r.SendSeconds = lastEmit.Sub(start).Seconds()
	if r.SendSeconds > 0 {
		r.AchievedRate = float64(n) / r.SendSeconds
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := gw.Flush(fctx)
	cancel()
	if err != nil {
		return r, fmt.Errorf("clusterbench: flush: %w", err)
	}
	r.WorkerDropped = gw.Stats().Dropped - drop0

	r.EndedBy = waitDelivered(ctx, s.clients, n, lastEmit, o.idle, o.maxWait)
	if cpu1 := s.p.cpu(); cpu0 >= 0 && cpu1 >= 0 {
		r.ServerCPU = float64(cpu1-cpu0) / float64(time.Since(t0))
	}
	var all []int64
	var last time.Time
	for _, c := range s.clients {
		_, at, _ := c.progress()
		if at.After(last) {
			last = at
		}
		lat, dups := c.stop()
		all = append(all, lat...)
		r.Duplicates += dups
		select {
		case <-c.done:
			r.ClientErrors = append(r.ClientErrors, fmt.Sprint(c.err))
		default:
		}
	}
	r.Expected = int64(n) * int64(len(s.clients))
	r.Delivered = int64(len(all))
	r.Lost = r.Expected - r.Delivered
	r.LossPct = 100 * float64(r.Lost) / float64(r.Expected)
	if !last.IsZero() {
		r.DrainSeconds = max(0, last.Sub(lastEmit).Seconds())
		if span := last.Sub(start).Seconds(); span > 0 {
			r.DeliveredRate = float64(r.Delivered) / float64(len(s.clients)) / span
		}
	}
	slices.Sort(all)
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := min(len(all)-1, max(0, int(p*float64(len(all))+0.999999)-1))
		return float64(all[i]) / 1e6
	}
	r.P50Ms, r.P90Ms, r.P99Ms = q(0.50), q(0.90), q(0.99)
	if len(all) > 0 {
		r.MaxMs = float64(all[len(all)-1]) / 1e6
	}
	return r, nil
}

// waitDelivered waits until every client has n events, or idle passes
// without a delivery, or maxWait after lastEmit; it says which.
func waitDelivered(ctx context.Context, clients []*client, n int, lastEmit time.Time, idle, maxWait time.Duration) string {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		complete := true
		var last time.Time
		for _, c := range clients {
			got, at, _ := c.progress()
			complete = complete && got >= n
			if at.After(last) {
				last = at
			}
		}
		if complete {
			return "complete"
		}
		if last.Before(lastEmit) {
			last = lastEmit
		}
		switch {
		case time.Since(last) > idle:
			return "idle"
		case time.Since(lastEmit) > maxWait:
			return "max-wait"
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return "interrupted"
		}
	}
}

// checkPython returns why the python server cannot run, or "".
func checkPython(py string) string {
	if _, err := exec.LookPath(py); err != nil {
		return fmt.Sprintf("%s not found", py)
	}
	if out, err := exec.Command(py, "-c", "import socketio, aiohttp, redis").CombinedOutput(); err != nil {
		return fmt.Sprintf("%s lacks python-socketio, aiohttp or redis (apt-get install python3-socketio python3-aiohttp python3-redis): %s",
			py, strings.TrimSpace(string(out)))
	}
	return ""
}

func pythonVersion(py string) string {
	out, err := exec.Command(py, "-c", "import sys, importlib.metadata as m; print(sys.version.split()[0], m.version('python-socketio'))").Output()
	if err != nil {
		return ""
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return strings.TrimSpace(string(out))
	}
	return "python " + f[0] + ", python-socketio " + f[1]
}

// pyScript is the python server of the integration suites
// (test/peers/python/py_server.py, run with --join bench --serve-forever),
// found from the source tree whatever the working directory.
func pyScript() (string, error) {
	p := testenv.PythonPeer("py_server.py")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("clusterbench: %w", err)
	}
	return p, nil
}

// printReport prints the table: one row per rate and measure, Go next to
// python, and the ratio python/Go.
func printReport(w io.Writer, rep *report) {
	fmt.Fprintf(w, "\nEnd-to-end latency: gateway.Worker emit -> Redis %s pub/sub -> Socket.IO server -> websocket client\n", rep.Redis)
	fmt.Fprintf(w, "(%s, %d CPUs; %s per rate; one host, one clock; latency = arrival - send time in the event)\n", rep.Go, rep.CPUs, rep.Duration)
	if rep.Python != "" {
		fmt.Fprintf(w, "python server: %s\n", rep.Python)
	}
	if rep.PySkip != "" {
		fmt.Fprintf(w, "python-socketio skipped: %s\n", rep.PySkip)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rate/s\tserver\tclients\tdelivered\tlost\tp50 ms\tp90 ms\tp99 ms\tmax ms\tdrain s\trecv/s\tserver CPU\tended\t")
	byKey := map[string]result{}
	for _, r := range rep.Results {
		byKey[fmt.Sprintf("%d/%s", r.Rate, r.Server)] = r
		cpu := "n/a"
		if r.ServerCPU >= 0 {
			cpu = fmt.Sprintf("%.0f%%", 100*r.ServerCPU)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d/%d\t%.2f%%\t%.2f\t%.2f\t%.2f\t%.1f\t%.2f\t%.0f\t%s\t%s\t\n",
			r.Rate, r.Server, r.Clients, r.Delivered, r.Expected, r.LossPct, r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs, r.DrainSeconds, r.DeliveredRate, cpu, r.EndedBy)
	}
	_ = tw.Flush()
	if rep.Python != "" {
		printRatios(w, rep, byKey)
	}
	if len(rep.GoServer) > 0 {
		fmt.Fprintf(w, "\nGo server GET /stats: %s\n", rep.GoServer)
	}
	for _, r := range rep.Results {
		if r.WorkerDropped > 0 || r.Duplicates > 0 || len(r.ClientErrors) > 0 {
			fmt.Fprintf(w, "note: %s at %d/s: worker dropped %d, duplicates %d, client errors %q\n",
				r.Server, r.Rate, r.WorkerDropped, r.Duplicates, r.ClientErrors)
		}
	}
}

// printRatios prints python's figures over ours per rate.
func printRatios(w io.Writer, rep *report, byKey map[string]result) {
	fmt.Fprintln(w, "\nratio python-socketio / sockgate (above 1: ours is faster)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rate/s\tp50\tp99\tmax\tloss (python, ours)\t")
	var rates []int
	for _, r := range rep.Results {
		if !slices.Contains(rates, r.Rate) {
			rates = append(rates, r.Rate)
		}
	}
	ratio := func(a, b float64) string {
		if b <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1fx", a/b)
	}
	for _, rate := range rates {
		g, ok1 := byKey[fmt.Sprintf("%d/sockgate (Go)", rate)]
		p, ok2 := byKey[fmt.Sprintf("%d/python-socketio 5.7.2", rate)]
		if !ok1 || !ok2 {
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.2f%%, %.2f%%\t\n", rate, ratio(p.P50Ms, g.P50Ms), ratio(p.P99Ms, g.P99Ms), ratio(p.MaxMs, g.MaxMs), p.LossPct, g.LossPct)
	}
	_ = tw.Flush()
}
