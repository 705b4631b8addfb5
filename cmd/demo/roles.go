package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/di"
	"github.com/sockgate/sockgate/gateway"
)

// progress is the payload of the worker's progress events.
type progress struct {
	Job string `json:"job"`
	Pct int    `json:"pct"`
}

// parseRole parses a child's flags (the parent passes them all).
func parseRole(name string, args []string, stderr io.Writer) (*jobFlags, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var j jobFlags
	j.define(fs, "socketio")
	j.defineBroker(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return &j, nil
}

// connect opens the broker j names (package di, as an application does),
// with the rest of the configuration from the environment. The returned
// function closes the broker; it is never nil.
func connect(j *jobFlags, log *slog.Logger) (config.Config, di.Broker, func(), error) {
	env, err := config.FromEnv()
	if err != nil {
		return env, di.Broker{}, func() {}, fmt.Errorf("environment: %w", err)
	}
	cfg := j.config(env)
	b, closeBroker, err := di.OpenBroker(cfg, log)
	return cfg, b, closeBroker, err
}

func newLogger(w io.Writer, role string) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})).With("process", role)
}

// runWorker is the worker process: it "syncs a sheet", emitting progress to
// user 42 after each step and "done" at the end, then flushes and exits.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "worker: "+format+"\n", a...)
		return 1
	}
	j, err := parseRole("worker", args, stderr)
	if err != nil {
		return 2
	}
	log := newLogger(stderr, "worker")
	cfg, b, closeBroker, err := connect(j, log)
	defer closeBroker()
	if err != nil {
		return fail("%v", err)
	}
	gw, err := gateway.NewWorker(di.WorkerConfig(cfg, b, log))
	if err != nil {
		return fail("%v", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = gw.Close(cctx)
	}()
	fmt.Fprintf(stdout, "worker: pid %d, gateway.Worker publishing on channel %q (%s); job sheet-sync for user 42 starts\n", os.Getpid(), j.channel, b)

	tick := time.NewTimer(0)
	defer tick.Stop()
	for i := 0; i <= j.steps; i++ {
		pct := i * 100 / j.steps
		if i > 0 {
			tick.Reset(j.interval) // simulated work between two updates
			select {
			case <-tick.C:
			case <-ctx.Done():
				return fail("interrupted at %d%%", pct)
			}
		}
		fmt.Fprintf(stdout, "worker: sheet-sync at %3d%%  -> EmitToUser(42, \"progress\", {job: sheet-sync, pct: %d})\n", pct, pct)
		if err := gw.EmitToUser(ctx, "42", "progress", progress{Job: "sheet-sync", Pct: pct}); err != nil {
			return fail("emit progress: %v", err)
		}
	}
	fmt.Fprintln(stdout, "worker: sheet-sync finished -> EmitToUser(42, \"done\", {job: sheet-sync, ok: true})")
	if err := gw.EmitToUser(ctx, "42", "done", map[string]any{"job": "sheet-sync", "ok": true}); err != nil {
		return fail("emit done: %v", err)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := gw.Flush(fctx); err != nil {
		return fail("flush: %v (stats %+v)", err, gw.Stats())
	}
	st := gw.Stats()
	fmt.Fprintf(stdout, "worker: flushed: emitted %d, published %d, dropped %d; exiting\n", st.Emitted, st.Published, st.Dropped)
	if st.Published != st.Emitted {
		return fail("%d of %d messages were not published", st.Emitted-st.Published, st.Emitted)
	}
	return 0
}

// runListener is the listener process: it subscribes to the channel the
// way a python-socketio server does and prints each message it decodes,
// until it sees the "done" event.
func runListener(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "listener: "+format+"\n", a...)
		return 1
	}
	j, err := parseRole("listener", args, stderr)
	if err != nil {
		return 2
	}
	_, b, closeBroker, err := connect(j, newLogger(stderr, "listener"))
	defer closeBroker()
	if err != nil {
		return fail("%v", err)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	msgs, err := b.Subscriber.Subscribe(sctx, j.channel)
	if err != nil {
		return fail("subscribe: %v", err)
	}
	fmt.Fprintf(stdout, "%s to channel %q (pid %d); decoding every message, as a python-socketio server would\n", readyMarker, j.channel, os.Getpid())

	dec := codec.NewPython(codec.PythonConfig{})
	for data := range msgs {
		m, err := dec.Decode(data)
		if err != nil {
			fmt.Fprintf(stderr, "listener: undecodable message (%d bytes): %v\n", len(data), err)
			continue
		}
		fmt.Fprintln(stdout, describe(m))
		if m.Method == codec.MethodEmit && m.Event == "done" {
			fmt.Fprintf(stdout, "%s event; exiting\n", doneMarker)
			stop()
			for range msgs { // let the subscription wind down
			}
			return 0
		}
	}
	return fail("stopped before the done event")
}

// describe renders a message as one human-readable line, with a progress
// bar for progress events.
func describe(m *codec.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listener: %s", m.Method)
	if m.Event != "" {
		fmt.Fprintf(&b, " %s", m.Event)
	}
	to := "everyone"
	if len(m.Rooms) > 0 {
		to = "[" + strings.Join(m.Rooms, ", ") + "]"
	}
	fmt.Fprintf(&b, " to %s", to)
	args := m.Arguments()
	switch len(args) {
	case 0:
	case 1:
		fmt.Fprintf(&b, ": %s", compact(args[0]))
	default:
		fmt.Fprintf(&b, ": %s", compact(args))
	}
	if m.Event == "progress" && len(args) == 1 {
		if obj, ok := args[0].(map[string]any); ok {
			if n, ok := obj["pct"].(json.Number); ok {
				if pct, err := n.Int64(); err == nil && pct >= 0 && pct <= 100 {
					const width = 20
					filled := int(pct) * width / 100
					fmt.Fprintf(&b, "  [%s%s] %d%%", strings.Repeat("#", filled), strings.Repeat(".", width-filled), pct)
				}
			}
		}
	}
	return b.String()
}

// compact renders a decoded value as JSON (numbers keep their digits).
func compact(v any) string {
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(out)
}

// jobMarker starts the line a job process prints when it has published
// everything (the parent reads the count from it).
const jobMarker = "job: flushed"

// runJobProcess is a job process of the browser part: it runs one
// simulated job, emitting "progress" {job, pct, round, pid, sender} after
// each step and "done" at the end to the user's room through a
// gateway.Worker on the broker, then flushes and exits. The demo's
// Socket.IO server receives the messages through its cluster.Manager and
// delivers them to the user's browsers.
func runJobProcess(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("job", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var j jobFlags
	j.define(fs, "socketio")
	j.defineBroker(fs)
	name := fs.String("job", "", "the job's `name`")
	round := fs.Int("round", 0, "the round the job belongs to")
	user := fs.String("user", demoUser, "the user whose room gets the events")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "job %s: "+format+"\n", append([]any{*name}, a...)...)
		return 1
	}
	if *name == "" || j.steps < 1 {
		return fail("want --job and --steps >= 1")
	}
	log := newLogger(stderr, "job")
	cfg, b, closeBroker, err := connect(&j, log)
	defer closeBroker()
	if err != nil {
		return fail("%v", err)
	}
	gw, err := gateway.NewWorker(di.WorkerConfig(cfg, b, log))
	if err != nil {
		return fail("%v", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = gw.Close(cctx)
	}()
	pid := os.Getpid()
	fmt.Fprintf(stdout, "job: %s (round %d) runs in worker pid %d, emitting to user %s through a gateway.Worker on channel %q\n",
		*name, *round, pid, *user, j.channel)

	tick := time.NewTimer(0)
	defer tick.Stop()
	for i := 0; i <= j.steps; i++ {
		if i > 0 {
			tick.Reset(j.interval) // simulated work between two updates
			select {
			case <-tick.C:
			case <-ctx.Done():
				return fail("interrupted at step %d", i)
			}
		}
		p := webProgress{Job: *name, Pct: i * 100 / j.steps, Round: *round, Pid: pid, Sender: senderWorker}
		if err := gw.EmitToUser(ctx, *user, "progress", p); err != nil {
			return fail("emit progress: %v", err)
		}
	}
	if err := gw.EmitToUser(ctx, *user, "done", webDone{Job: *name, OK: true, Round: *round, Pid: pid, Sender: senderWorker}); err != nil {
		return fail("emit done: %v", err)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := gw.Flush(fctx); err != nil {
		return fail("flush: %v (stats %+v)", err, gw.Stats())
	}
	st := gw.Stats()
	if st.Published != st.Emitted {
		return fail("%d of %d messages were not published", st.Emitted-st.Published, st.Emitted)
	}
	fmt.Fprintf(stdout, "%s: %s (pid %d) published %d messages\n", jobMarker, *name, pid, st.Published)
	return 0
}
