package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/di"
	"github.com/sockgate/sockgate/transport/redisurl"
)

// Hidden first arguments that make the binary play a child role.
const (
	roleWorker   = "__worker"
	roleListener = "__listener"
	roleJob      = "__job"
)

// Lines the listener prints that the parent waits for.
const (
	readyMarker = "listener: subscribed"
	doneMarker  = "listener: saw done"
)

// run is the whole program; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case roleWorker:
			return runWorker(ctx, args[1:], stdout, stderr)
		case roleListener:
			return runListener(ctx, args[1:], stdout, stderr)
		case roleJob:
			return runJobProcess(ctx, args[1:], stdout, stderr)
		}
	}
	return runDemo(ctx, args, stdout, stderr)
}

// jobFlags are the settings every process of the demo shares. The broker
// is the parent's choice (SOCKET_TRANSPORT and its URL), handed to the
// children as flags; the rest of their configuration is the environment
// they inherit.
type jobFlags struct {
	transport, redisURL, natsURL string
	channel                      string
	steps                        int
	interval                     time.Duration
}

// defineBroker defines the flags a child role gets its broker from.
func (j *jobFlags) defineBroker(fs *flag.FlagSet) {
	fs.StringVar(&j.transport, "transport", config.DefaultTransport, "broker `transport`")
	fs.StringVar(&j.redisURL, "redis", "", "Redis `URL`")
	fs.StringVar(&j.natsURL, "nats", config.DefaultNATSURL, "NATS `URL`")
}

// config is env with j's broker and channel.
func (j *jobFlags) config(env config.Config) config.Config {
	env.Transport, env.RedisURL, env.NATSURL, env.Channel = j.transport, j.redisURL, j.natsURL, j.channel
	return env
}

// inProcess reports whether the children run in this process: the memory
// transport does not cross processes.
func (j *jobFlags) inProcess() bool { return j.transport == config.TransportMemory }

func (j *jobFlags) define(fs *flag.FlagSet, channel string) {
	fs.StringVar(&j.channel, "channel", channel, "pub/sub `channel` (env SOCKET_REDIS_CHANNEL)")
	fs.IntVar(&j.steps, "steps", 10, "progress events from 0% to 100%")
	fs.DurationVar(&j.interval, "interval", 250*time.Millisecond, "simulated work between progress events")
}

// args renders j as child-process flags.
func (j *jobFlags) args() []string {
	return append(j.brokerArgs(), "--channel", j.channel,
		"--steps", strconv.Itoa(j.steps), "--interval", j.interval.String())
}

// brokerArgs renders j's broker as child-process flags.
func (j *jobFlags) brokerArgs() []string {
	return []string{"--transport", j.transport, "--redis", j.redisURL, "--nats", j.natsURL}
}

func runDemo(ctx context.Context, args []string, rawStdout, rawStderr io.Writer) int {
	stdout, stderr := &lockedWriter{w: rawStdout}, &lockedWriter{w: rawStderr}
	fail := func(format string, a ...any) int {
		if ctx.Err() != nil { // Ctrl-C reaches the children too; say why they stopped
			format, a = "interrupted", nil
		}
		fmt.Fprintf(stderr, "demo: "+format+"\n", a...)
		return 1
	}
	env, err := config.FromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "demo: environment: %v\n", err)
		return 2
	}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var job jobFlags
	job.define(fs, env.Channel)
	var web webFlags
	web.define(fs)
	timeout := fs.Duration("timeout", 30*time.Second, "give up (exit 1) when the listener has not seen the done event by then;\n"+
		"with -once, also when no browser has completed a round of jobs by then")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: go run ./cmd/demo [flags]\n\n"+
			"A worker process emits sheet-sync progress to user 42 over the broker\n"+
			"SOCKET_TRANSPORT names (redis pub/sub by default; redis-streams, nats,\n"+
			"jetstream, memory); a listener process prints what it receives.\n"+
			"REDIS_URL unset: embedded Redis. memory: the roles run in this process.\n"+
			"Then a browser page, signed in as user 42 with a token in the printed URL,\n"+
			"shows progress bars of jobs run in separate worker processes, which emit\n"+
			"through the broker to sockgate's own Socket.IO server (it joins the channel\n"+
			"with a cluster.Manager), until Ctrl-C (-once: one round, for tests).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || job.steps < 1 || job.interval < 0 || *timeout <= 0 || web.pause < 0 || web.idle <= 0 || web.ttl < time.Second {
		fmt.Fprintln(stderr, "demo: want no arguments, --steps >= 1, --interval >= 0, --pause >= 0, --idle-timeout > 0, --token-ttl >= 1s and --timeout > 0")
		return 2
	}
	if job.channel == "" {
		job.channel = "socketio"
	}

	// One broker for both parts: SOCKET_TRANSPORT's, on Redis the
	// embedded one unless REDIS_URL is set.
	stopBroker, err := startBroker(ctx, env, &job, stdout)
	if err != nil {
		return fail("%v", err)
	}
	defer stopBroker()
	fmt.Fprintf(stdout, "demo: channel %q; job: %d progress steps, %s apart\n", job.channel, job.steps, job.interval)

	// The page's server listens and joins the channel first, so that a
	// port problem shows at once; its URL is printed after the
	// worker/listener run.
	var w *webDemo
	if web.enabled {
		if w, err = startWeb(ctx, env, web, job, stdout, stderr); err != nil {
			return fail("%v", err)
		}
		defer func() {
			if err := w.close(); err != nil {
				fmt.Fprintf(stderr, "demo: stop the web server: %v\n", err)
			}
		}()
	}
	if code := runPipeline(ctx, job, *timeout, stdout, stderr, fail); code != 0 || w == nil {
		return code
	}
	switch err := w.serve(ctx, web, *timeout); {
	case ctx.Err() != nil:
		fmt.Fprintln(stdout, "demo: interrupted; stopping the web server")
		return 0
	case err != nil:
		return fail("%v", err)
	}
	fmt.Fprintln(stdout, "demo: -once: a round of jobs ran and the browser has gone; exiting")
	return 0
}

// startBroker sets job's broker from env: SOCKET_TRANSPORT, and on the
// redis transports an embedded Redis (miniredis on 127.0.0.1, a random
// port) when REDIS_URL is unset. It checks that the broker answers, so
// that a NATS server that is down is reported at once. The returned
// function stops the embedded Redis.
func startBroker(ctx context.Context, env config.Config, job *jobFlags, stdout io.Writer) (stop func(), err error) {
	job.transport, job.redisURL, job.natsURL = env.Transport, env.RedisURL, env.NATSURL
	stop = func() {}
	switch {
	case job.inProcess():
		fmt.Fprintln(stdout, "demo: SOCKET_TRANSPORT=memory: the worker, listener and job roles run in this process, on its in-memory broker")
	case env.Transport == config.TransportNATS || env.Transport == config.TransportJetStream:
		fmt.Fprintf(stdout, "demo: SOCKET_TRANSPORT=%s: using the NATS server in NATS_URL: %s\n", env.Transport, redactURL(env.NATSURL))
	case env.RedisURL != "":
		fmt.Fprintf(stdout, "demo: using the Redis in REDIS_URL: %s (SOCKET_TRANSPORT=%s)\n", redisurl.Redact(env.RedisURL), env.Transport)
	default:
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start embedded Redis: %w", err)
		}
		job.redisURL = "redis://" + mr.Addr()
		fmt.Fprintf(stdout, "demo: REDIS_URL is unset: started an embedded Redis (miniredis) on %s (SOCKET_TRANSPORT=%s)\n", mr.Addr(), env.Transport)
		stop = func() {
			mr.Close()
			fmt.Fprintln(stdout, "demo: embedded Redis stopped")
		}
	}
	b, closeBroker, err := di.OpenBroker(job.config(env), nil)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = b.Ping(pctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("%s unreachable: %w", b, err)
		}
	}
	closeBroker()
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// redactURL is u without its password.
func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return u
}

// runPipeline runs the worker and listener processes over the broker until the
// listener has seen the job's done event; it returns the exit code.
func runPipeline(ctx context.Context, job jobFlags, timeout time.Duration, stdout, stderr io.Writer, fail func(string, ...any) int) int {
	began := time.Now()

	exe, err := os.Executable()
	if err != nil {
		return fail("find own executable: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ready, done := make(chan struct{}), make(chan struct{})
	listener, err := startChild(tctx, exe, job.inProcess(), roleListener, job.args(), stdout, stderr, func(line string) {
		switch {
		case strings.HasPrefix(line, readyMarker):
			closeOnce(ready)
		case strings.HasPrefix(line, doneMarker):
			closeOnce(done)
		}
	})
	if err != nil {
		return fail("start listener: %v", err)
	}
	fmt.Fprintf(stdout, "demo: started listener (pid %d); waiting until it has subscribed\n", listener.pid)
	// stopAll ends the children (interrupt, then kill) and reports why.
	stopAll := func(format string, a ...any) int {
		cancel()
		<-listener.exited
		return fail(format, a...)
	}
	select {
	case <-ready:
	case <-listener.exited:
		return fail("listener exited before subscribing: %v", listener.err)
	case <-tctx.Done():
		return stopAll("listener did not subscribe within %s: %v", timeout, context.Cause(tctx))
	}

	worker, err := startChild(tctx, exe, job.inProcess(), roleWorker, job.args(), stdout, stderr, nil)
	if err != nil {
		return stopAll("start worker: %v", err)
	}
	fmt.Fprintf(stdout, "demo: started worker (pid %d)\n", worker.pid)

	// Success: the listener saw "done" and exited 0, the worker exited 0.
	// stopRest interrupts the children still running and waits for them.
	lExited, wExited := listener.exited, worker.exited
	stopRest := func() {
		cancel()
		<-listener.exited
		<-worker.exited
	}
	for lExited != nil || wExited != nil {
		select {
		case <-lExited:
			lExited = nil
			if listener.err != nil {
				stopRest()
				return fail("listener failed: %v", listener.err)
			}
		case <-wExited:
			wExited = nil
			if worker.err != nil {
				stopRest()
				return fail("worker failed: %v", worker.err)
			}
		case <-tctx.Done():
			stopRest()
			return fail("the listener did not see the done event within %s", timeout)
		}
	}
	select {
	case <-done:
	default:
		return fail("listener exited without reporting the done event")
	}
	fmt.Fprintf(stdout, "demo: the listener saw the done event; worker and listener exited after %s\n",
		time.Since(began).Round(100*time.Millisecond))
	return 0
}

// child is a running child process.
type child struct {
	pid    int
	exited chan struct{} // closed when the process has exited; err is then set
	err    error
}

// startChild runs exe with role and args. Its stdout lines are copied to
// stdout (and shown to onLine), its stderr to stderr. Cancelling ctx
// interrupts it, and kills it if it has not exited two seconds later.
// With inProcess (the memory transport) the role runs in a goroutine of
// this process instead, and cancelling ctx stops it.
func startChild(ctx context.Context, exe string, inProcess bool, role string, args []string, stdout, stderr io.Writer, onLine func(string)) (*child, error) {
	if inProcess {
		return startInProcess(ctx, role, args, stdout, stderr, onLine), nil
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{role}, args...)...)
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill() // Windows cannot deliver an interrupt
		}
		return nil
	}
	cmd.WaitDelay = 2 * time.Second
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		copyLines(out, stdout, onLine)
		// Wait closes the pipe, so it runs after everything was read.
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// startInProcess runs role in a goroutine, as startChild would run it in
// a process: its pid is this process's.
func startInProcess(ctx context.Context, role string, args []string, stdout, stderr io.Writer, onLine func(string)) *child {
	c := &child{pid: os.Getpid(), exited: make(chan struct{})}
	pr, pw := io.Pipe()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		copyLines(pr, stdout, onLine)
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		code := run(ctx, append([]string{role}, args...), pw, stderr)
		_ = pw.Close()
		<-copied
		if code != 0 {
			c.err = fmt.Errorf("%s exited with code %d", strings.TrimPrefix(role, "__"), code)
		}
		close(c.exited)
	}()
	return c
}

// copyLines copies r's lines to stdout and shows each to onLine (when
// not nil), until r ends.
func copyLines(r io.Reader, stdout io.Writer, onLine func(string)) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(stdout, line)
		if onLine != nil {
			onLine(line)
		}
	}
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// lockedWriter serialises writes from the parent and its output copiers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
