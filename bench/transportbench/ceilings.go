package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/bench/benchutil"
	"github.com/sockgate/sockgate/transport/jetstream"
	"github.com/sockgate/sockgate/transport/redisstream"
)

// measureCeilings measures what each broker takes from its own
// benchmark tool (or, for NATS without the nats CLI, a plain nats.go
// loop), publishing payloads as large as sample to the run's brokers.
func measureCeilings(ctx context.Context, b *brokers, o *options, sample []byte, progressf func(string, ...any)) ([]ceiling, error) {
	var cs []ceiling
	payload := bytes.Repeat([]byte("x"), len(sample)) // printable, for the command lines
	maxLen := strconv.Itoa(redisstream.DefaultMaxLen)

	progressf("ceiling: redis-benchmark PUBLISH, %d requests, %d clients, pipeline %d", o.rbN, o.rbClients, o.rbPipeline)
	c, err := redisBenchmark(ctx, b, o, "publish", channel, string(payload))
	if err != nil {
		return nil, err
	}
	c.Key, c.Name = ceilPublish, "redis PUBLISH"
	cs = append(cs, c)

	progressf("ceiling: redis-benchmark XADD MAXLEN ~ %s, %d requests", maxLen, o.rbN)
	c, err = redisBenchmark(ctx, b, o, "XADD", channel, "MAXLEN", "~", maxLen, "*", "d", string(payload))
	if err != nil {
		return nil, err
	}
	c.Key, c.Name = ceilXAdd, "redis XADD MAXLEN ~ "+maxLen
	cs = append(cs, c)
	client := redis.NewClient(&redis.Options{Addr: b.redis.Addr()})
	flushRedis(client)
	_ = client.Close()

	cli := ""
	if o.natsCLI != "" {
		if p, err := exec.LookPath(o.natsCLI); err == nil {
			cli = p
		}
	}
	for _, kind := range []string{ceilNATS, ceilJS, ceilJSMsgID} {
		n := o.jsN
		if kind == ceilNATS {
			n = o.natsN
		}
		var c ceiling
		var err error
		if cli != "" {
			progressf("ceiling: %s with nats bench, %d messages", kind, n)
			c, err = natsBench(ctx, b, cli, kind, n, len(payload))
		} else {
			progressf("ceiling: %s with a nats.go loop (no nats CLI), %d messages", kind, n)
			c, err = natsLoop(ctx, b, kind, n, payload)
		}
		if err != nil {
			return nil, err
		}
		c.Key = kind
		switch kind {
		case ceilNATS:
			c.Name = "NATS core publish"
		case ceilJS:
			c.Name = "JetStream publish, file store"
		case ceilJSMsgID:
			c.Name = "JetStream publish + Nats-Msg-Id"
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// redisBenchmark runs one redis-benchmark test of command against the
// run's redis-server.
func redisBenchmark(ctx context.Context, b *brokers, o *options, command ...string) (ceiling, error) {
	args := append([]string{
		"-h", "127.0.0.1", "-p", port(b.redis.Addr()),
		"-c", strconv.Itoa(o.rbClients), "-P", strconv.Itoa(o.rbPipeline),
		"-n", strconv.Itoa(o.rbN), "-q", "--csv",
	}, command...)
	shown := append([]string(nil), args...)
	shown[len(shown)-1] = fmt.Sprintf("<%d bytes>", len(command[len(command)-1]))
	shown[3] = "PORT"
	c := ceiling{
		Tool:    fmt.Sprintf("redis-benchmark -c %d -P %d", o.rbClients, o.rbPipeline),
		Command: "redis-benchmark " + strings.Join(shown, " "),
		Count:   o.rbN, ClientCPUPerMsg: -1, BrokerBusy: -1,
	}
	cmd := exec.CommandContext(ctx, "redis-benchmark", args...)
	cmd.SysProcAttr = benchutil.DieWithParent()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	var unused float64
	m := startMeter(b.redisPID)
	out, err := cmd.Output()
	elapsed := m.stop(&unused, &c.BrokerBusy, o.rbN)
	if err != nil {
		return c, fmt.Errorf("transportbench: %s: %w: %s", c.Command, err, strings.TrimSpace(stderr.String()))
	}
	c.Seconds = elapsed.Seconds()
	if ps := cmd.ProcessState; ps != nil {
		c.ClientCPUPerMsg = float64(ps.UserTime()+ps.SystemTime()) / float64(o.rbN)
	}
	c.Rate, err = csvRate(out, "rps")
	if err != nil {
		return c, fmt.Errorf("transportbench: %s: %w", c.Command, err)
	}
	return c, nil
}

// port returns the port of host:port.
func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

// csvRate reads column col of the first data row of CSV output whose
// header names its columns: redis-benchmark --csv ("rps") and nats bench
// --csv ("MsgsPerSec", in a header starting with '#').
func csvRate(out []byte, col string) (float64, error) {
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return 0, fmt.Errorf("output is not CSV: %w: %q", err, out)
	}
	if len(recs) < 2 {
		return 0, fmt.Errorf("no result in %q", out)
	}
	i := -1
	for j, h := range recs[0] {
		if strings.TrimPrefix(h, "#") == col {
			i = j
		}
	}
	if i < 0 || i >= len(recs[1]) {
		return 0, fmt.Errorf("no %q column in %q", col, out)
	}
	v, err := strconv.ParseFloat(recs[1][i], 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive number", col, recs[1][i])
	}
	return v, nil
}

// jsCeilings numbers the ceilings' JetStream streams.
var jsCeilings int

// ceilingStream is a fresh stream for one JetStream ceiling, configured as
// transport/jetstream configures its own with default options.
func ceilingStream(ctx context.Context, j js.JetStream) (string, error) {
	jsCeilings++
	name := "TBCEIL" + strconv.Itoa(jsCeilings)
	_, err := j.CreateOrUpdateStream(ctx, js.StreamConfig{
		Name:       name,
		Subjects:   []string{name + ".>"},
		MaxAge:     jetstream.DefaultMaxAge,
		MaxMsgs:    jetstream.DefaultMaxMsgs,
		Duplicates: jetstream.DefaultDuplicates,
		Storage:    js.FileStorage,
		Discard:    js.DiscardOld,
	})
	return name, err
}

// natsBench runs `nats bench` for kind: core publishing, or JetStream
// asynchronous publishing (with --dedup for ceilJSMsgID) to a fresh file
// stream, which is deleted afterwards.
func natsBench(ctx context.Context, b *brokers, cli, kind string, n, size int) (ceiling, error) {
	dir, err := os.MkdirTemp("", "transportbench-natsbench-")
	if err != nil {
		return ceiling{}, err
	}
	defer os.RemoveAll(dir)
	csvFile := filepath.Join(dir, "bench.csv")
	common := []string{"--msgs", strconv.Itoa(n), "--size", strconv.Itoa(size) + "B", "--no-progress", "--csv", csvFile}
	var args []string
	var stream string
	if kind == ceilNATS {
		args = append([]string{"bench", "pub", "tbceil.core"}, common...)
	} else {
		jsCeilings++
		stream = "TBCEIL" + strconv.Itoa(jsCeilings)
		args = append([]string{"bench", "js", "pub", "async", stream + ".bench", "--stream", stream, "--create", "--storage", "file"}, common...)
		if kind == ceilJSMsgID {
			args = append(args, "--dedup")
		}
	}
	shown := strings.Join(args, " ")
	shown = strings.Replace(shown, csvFile, "FILE", 1)
	c := ceiling{Tool: "nats bench", Command: "nats -s URL " + shown, Count: n, ClientCPUPerMsg: -1, BrokerBusy: -1}
	cmd := exec.CommandContext(ctx, cli, append([]string{"-s", b.nats.URL()}, args...)...)
	cmd.SysProcAttr = benchutil.DieWithParent()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	var unused float64
	m := startMeter(b.natsPID)
	err = cmd.Run()
	elapsed := m.stop(&unused, &c.BrokerBusy, n)
	if stream != "" {
		if nc, cerr := nats.Connect(b.nats.URL()); cerr == nil {
			deleteStream(nc, stream)
			nc.Close()
		}
	}
	if err != nil {
		return c, fmt.Errorf("transportbench: %s: %w: %s (run with -nats-cli= to measure with a nats.go loop instead)",
			c.Command, err, strings.TrimSpace(out.String()))
	}
	c.Seconds = elapsed.Seconds()
	if ps := cmd.ProcessState; ps != nil {
		c.ClientCPUPerMsg = float64(ps.UserTime()+ps.SystemTime()) / float64(n)
	}
	data, err := os.ReadFile(csvFile)
	if err != nil {
		return c, fmt.Errorf("transportbench: %s wrote no CSV: %w", c.Command, err)
	}
	if c.Rate, err = csvRate(data, "MsgsPerSec"); err != nil {
		return c, fmt.Errorf("transportbench: %s: %w", c.Command, err)
	}
	return c, nil
}

// natsLoop measures kind with nats.go on one connection: core publishing
// is Publish n times, then Flush (a server round trip, so every message
// was processed); JetStream publishing is PublishAsync n times with up to
// 4,000 unacknowledged (nats.go's default), then waiting for every ack,
// to a fresh file stream configured like transport/jetstream's, deleted
// afterwards.
func natsLoop(ctx context.Context, b *brokers, kind string, n int, payload []byte) (ceiling, error) {
	c := ceiling{Count: n, ClientCPUPerMsg: -1, BrokerBusy: -1}
	nc, err := nats.Connect(b.nats.URL())
	if err != nil {
		return c, fmt.Errorf("transportbench: %s ceiling: %w", kind, err)
	}
	defer nc.Close()
	if kind == ceilNATS {
		c.Tool = "nats.go loop"
		c.Command = "nats.go, one connection: Publish n times, then Flush (the nats CLI was not found)"
		m := startMeter(b.natsPID)
		for i := range n {
			if err := nc.Publish("tbceil.core", payload); err != nil {
				return c, fmt.Errorf("transportbench: %s ceiling: %w", kind, err)
			}
			if i%65536 == 0 && ctx.Err() != nil {
				return c, ctx.Err()
			}
		}
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := nc.FlushWithContext(fctx); err != nil {
			return c, fmt.Errorf("transportbench: %s ceiling: flush: %w", kind, err)
		}
		c.Seconds = m.stop(&c.ClientCPUPerMsg, &c.BrokerBusy, n).Seconds()
		c.Rate = float64(n) / c.Seconds
		return c, nil
	}

	var failed atomic.Uint64
	j, err := js.New(nc, js.WithPublishAsyncMaxPending(4000),
		js.WithPublishAsyncErrHandler(func(js.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		return c, fmt.Errorf("transportbench: %s ceiling: %w", kind, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	stream, err := ceilingStream(sctx, j)
	cancel()
	if err != nil {
		return c, fmt.Errorf("transportbench: %s ceiling: create the stream: %w", kind, err)
	}
	defer deleteStream(nc, stream)
	c.Tool = "nats.go loop"
	c.Command = "nats.go, one connection: PublishAsync n times (at most 4,000 unacknowledged), then wait for every ack (the nats CLI was not found)"
	msgID := kind == ceilJSMsgID
	if msgID {
		c.Command = "nats.go, one connection: PublishAsync with WithMsgID n times (at most 4,000 unacknowledged), then wait for every ack (the nats CLI was not found)"
	}
	subject := stream + ".bench"
	// A full window of 4,000 waits for acks; the default 200 ms before
	// giving up is short for a busy disk.
	opts := []js.PublishOpt{js.WithStallWait(time.Minute)}
	idPrefix := []byte("tbceil-")
	m := startMeter(b.natsPID)
	for i := range n {
		o := opts
		if msgID {
			o = append(opts[:1:1], js.WithMsgID(string(strconv.AppendInt(idPrefix, int64(i), 10))))
		}
		if _, err := j.PublishAsync(subject, payload, o...); err != nil {
			return c, fmt.Errorf("transportbench: %s ceiling: publish %d: %w", kind, i, err)
		}
		if i%4096 == 0 && ctx.Err() != nil {
			return c, ctx.Err()
		}
	}
	select {
	case <-j.PublishAsyncComplete():
	case <-ctx.Done():
		return c, ctx.Err()
	}
	c.Seconds = m.stop(&c.ClientCPUPerMsg, &c.BrokerBusy, n).Seconds()
	if f := failed.Load(); f > 0 {
		return c, fmt.Errorf("transportbench: %s ceiling: %d of %d publishes failed", kind, f, n)
	}
	c.Rate = float64(n) / c.Seconds
	return c, nil
}
