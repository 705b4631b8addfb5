package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockgate/sockgate/bench/benchutil"
	"github.com/sockgate/sockgate/internal/testenv"
)

// requireTools skips the test, or fails it under CI=true, unless the
// brokers and redis-benchmark are installed.
func requireTools(t *testing.T) {
	t.Helper()
	if err := checkTools(); err != nil {
		testenv.SkipOrFail(t, err.Error())
	}
}

// TestRunSmall runs the whole command with tiny sizes: every measurement
// completes with nothing dropped, the table, the checks and the JSON are
// written, and the brokers are gone once the environment is closed.
func TestRunSmall(t *testing.T) {
	requireTools(t)
	jsonPath := filepath.Join(t.TempDir(), "out.json")
	o, err := parseFlags([]string{
		"-n", "3000", "-rb-n", "5000", "-nats-n", "5000", "-js-n", "1000",
		"-raw-n", "2000", "-watermill-n", "200", "-batch", "100",
		"-nats-cli=", "-json", jsonPath,
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, progress bytes.Buffer
	e := benchutil.NewEnv("transportbench", &progress)
	defer e.Close()
	rep, err := run(ctx, o, e, &out, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	if len(rep.Ceilings) != 5 {
		t.Errorf("%d ceilings, want 5: %+v", len(rep.Ceilings), rep.Ceilings)
	}
	for _, c := range rep.Ceilings {
		if c.Rate <= 0 {
			t.Errorf("ceiling %s: rate %v", c.Name, c.Rate)
		}
	}
	// 5 transports x 2 producer counts, then 5 raw publishers x 2.
	if want := 5*2 + 5*2; len(rep.Rows) != want {
		t.Errorf("%d rows, want %d", len(rep.Rows), want)
	}
	for _, r := range rep.Rows {
		if r.Rate <= 0 || r.Published != uint64(r.Count) || r.Dropped != 0 {
			t.Errorf("%s, %d producers: rate %v, published %d of %d, dropped %d",
				r.Label, r.Producers, r.Rate, r.Published, r.Count, r.Dropped)
		}
		if r.Kind == kindWorker && r.Transport != trMemory && r.VsCeiling <= 0 {
			t.Errorf("%s: no ratio to its ceiling", r.Label)
		}
		if r.VsRedis <= 0 {
			t.Errorf("%s: no ratio to the redis pub/sub Worker", r.Label)
		}
	}
	if len(rep.Checks) != 4 {
		t.Errorf("%d checks, want 4: %+v", len(rep.Checks), rep.Checks)
	}
	for _, want := range []string{
		"Worker jetstream (jetstream)", "Worker redis-streams (redisstream)", "raw watermill-redisstream Publisher", "raw watermill-nats JetStream Publisher",
		"ceiling: redis XADD", "nats.go loop", "within 2x of redis pub/sub", "redis-streams Worker, 8 producer(s)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Rows) != len(rep.Rows) {
		t.Errorf("-json: %v, %d rows", err, len(back.Rows))
	}

	// Closing the environment kills both brokers.
	e.Close()
	for _, addr := range []string{rep.Machine.RedisAddr, rep.Machine.NATSAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			t.Errorf("%s still accepts connections after close", addr)
		}
	}
}

// TestNATSBench measures the NATS ceilings with the nats CLI, when it is
// installed (it is not a Debian package, so this is never required).
func TestNATSBench(t *testing.T) {
	requireTools(t)
	cli, err := exec.LookPath("nats")
	if err != nil {
		t.Skip("the nats CLI is not installed")
	}
	e := benchutil.NewEnv("transportbench", &bytes.Buffer{})
	defer e.Close()
	b, err := startBrokers(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{ceilNATS, ceilJS, ceilJSMsgID} {
		c, err := natsBench(context.Background(), b, cli, kind, 2000, 201)
		if err != nil {
			t.Fatal(err)
		}
		if c.Rate <= 0 || c.Tool != "nats bench" {
			t.Errorf("%s: %+v", kind, c)
		}
	}
}

func TestCSVRate(t *testing.T) {
	redis7 := `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"XADD sockgate-bench MAXLEN ~ 100000 * d xxxx","530504.00","1.390","0.552","1.319","2.383","3.207","5.767"
`
	if got, err := csvRate([]byte(redis7), "rps"); err != nil || got != 530504 {
		t.Errorf("redis-benchmark: got %v, %v", got, err)
	}
	natsBench := `#RunID,ClientID,MsgCount,MsgBytes,MsgsPerSec,BytesPerSec,DurationSecs,MinLatencyMicroSecs
TH52g8QUr3y33sSkLytk2m,P0,600000,60300000,100565,20213724.719637,2.983122,2062.885000
`
	if got, err := csvRate([]byte(natsBench), "MsgsPerSec"); err != nil || got != 100565 {
		t.Errorf("nats bench: got %v, %v", got, err)
	}
	for _, bad := range []string{"", `"test","rps"` + "\n", `"test","rps"` + "\n" + `"x","n/a"` + "\n", "a,b\n1,2\n"} {
		if _, err := csvRate([]byte(bad), "rps"); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestFlags(t *testing.T) {
	o, err := parseFlags([]string{"-transports", "jetstream,memory"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.transports, ","); got != "redis,jetstream,memory" {
		t.Errorf("transports %q: redis pub/sub, the reference, must come first", got)
	}
	for _, args := range [][]string{
		{"-producers", "0"}, {"-producers", "x"}, {"-n", "0"}, {"-transports", "kafka"},
		{"-raw-n", "-1"}, {"extra"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}

func TestCompareAndChecks(t *testing.T) {
	rep := &report{
		Ceilings: []ceiling{{Key: ceilPublish, Name: "redis PUBLISH", Rate: 1000}, {Key: ceilJS, Name: "JetStream", Rate: 200}},
		Rows: []row{
			{Kind: kindWorker, Transport: trRedis, Producers: 1, Count: 10, Published: 10, Rate: 800, Ceiling: ceilPublish},
			{Kind: kindWorker, Transport: trStreams, Producers: 1, Count: 10, Published: 10, Rate: 400, Ceiling: ceilXAdd},
			{Kind: kindWorker, Transport: trJS, Producers: 1, Count: 10, Published: 10, Rate: 100, Ceiling: ceilJS},
			{Kind: kindWorker, Transport: trJS, Producers: 8, Count: 10, Published: 10, Rate: 100, Ceiling: ceilJS},
			{Kind: kindRaw, Transport: rawWatermill, Producers: 1, Count: 10, Published: 10, Rate: 8},
		},
	}
	compare(rep)
	if r := rep.Rows[0]; r.VsCeiling != 0.8 || r.VsRedis != 1 {
		t.Errorf("redis row: %+v", r)
	}
	if r := rep.Rows[1]; r.VsCeiling != 0 || r.VsRedis != 0.5 {
		t.Errorf("streams row (its ceiling missing): %+v", r)
	}
	if r := rep.Rows[2]; r.VsCeiling != 0.5 || r.VsRedis != 0.125 {
		t.Errorf("jetstream row: %+v", r)
	}
	if r := rep.Rows[4]; r.VsRedis != 0.01 {
		t.Errorf("raw row: %+v", r)
	}
	cs := checks(rep)
	rep.Checks = cs
	want := []bool{true, false, false}
	if len(cs) != len(want) {
		t.Fatalf("checks: %+v", cs)
	}
	for i, c := range cs {
		if c.Pass != want[i] {
			t.Errorf("check %q = %v, want %v", c.Name, c.Pass, want[i])
		}
	}
	if !strings.Contains(cs[2].Value, "n/a") {
		t.Errorf("a row without a redis row to compare with: %+v", cs[2])
	}
	var buf bytes.Buffer
	printReport(&buf, rep)
	for _, s := range []string{"0.80 of PUBLISH", "0.50 of JetStream publish", "PASS", "FAIL", "raw rows:"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, buf.String())
		}
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999.6: "1,000", 1234567: "1,234,567"} {
		if got := benchutil.Thousands(in); got != want {
			t.Errorf("benchutil.Thousands(%v) = %q, want %q", in, got, want)
		}
	}
}
