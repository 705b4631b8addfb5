package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play the Go server: measure starts
// os.Executable(), which under "go test" is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == roleGoServer {
		os.Exit(runGoServer(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func TestScanInt(t *testing.T) {
	for _, tc := range []struct {
		body, key string
		want      int64
		ok        bool
	}{
		{`["tick",{"p":3,"i":17,"t":1795739656000000001}]`, `"t"`, 1795739656000000001, true},
		{`["tick", {"p": 3, "i": 17, "t": 42}]`, `"i"`, 17, true}, // python's default spacing
		{`["tick",{"i":17,"p":3,"t":42}]`, `"p"`, 3, true},        // keys re-sorted
		{`["tick",{"p":3}]`, `"t"`, 0, false},
		{`["tick",{"t":"x"}]`, `"t"`, 0, false},
	} {
		got, ok := scanInt([]byte(tc.body), tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("scanInt(%s, %s) = %d, %v; want %d, %v", tc.body, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-rates", "10, 20", "-clients", "3"}, io.Discard)
	if err != nil || len(o.rates) != 2 || o.rates[1] != 20 || o.clients != 3 {
		t.Fatalf("got %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"-rates", "0"}, {"-rates", "x"}, {"-clients", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// requireRedis skips the test (fails it under CI=true) without redis-server.
func requireRedis(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is required")
		}
		t.Skip("redis-server not installed")
	}
}

// TestMeasureGo runs a short measurement against the Go server alone:
// every event reaches both clients, through the server's cluster.Manager.
func TestMeasureGo(t *testing.T) {
	requireRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o, err := parseFlags([]string{"-rates", "200,2000", "-duration", "500ms", "-clients", "2", "-no-python", "-max-wait", "20s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	rep, err := measure(ctx, o, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if len(rep.Results) != 2 || rep.PySkip != "-no-python" {
		t.Fatalf("results %+v, python skipped %q", rep.Results, rep.PySkip)
	}
	var total int64
	for _, r := range rep.Results {
		if r.EndedBy != "complete" || r.Lost != 0 || r.Duplicates != 0 || r.Expected != int64(2*r.Sent) ||
			r.P50Ms <= 0 || r.P99Ms < r.P50Ms || r.MaxMs < r.P99Ms || len(r.ClientErrors) > 0 {
			t.Errorf("result %+v", r)
		}
		total += int64(r.Sent)
	}
	if rep.Results[0].Sent != 100 || rep.Results[1].Sent != 1000 {
		t.Errorf("sent %d and %d events, want 100 and 1000", rep.Results[0].Sent, rep.Results[1].Sent)
	}
	var st struct {
		Room    int
		Cluster struct{ Received, Applied uint64 }
	}
	if err := json.Unmarshal(rep.GoServer, &st); err != nil {
		t.Fatalf("Go server stats %s: %v", rep.GoServer, err)
	}
	// Every event (and the warm-up emit) went through the manager.
	if st.Room != 2 || st.Cluster.Applied < uint64(total) || st.Cluster.Received < st.Cluster.Applied {
		t.Errorf("Go server stats %s: want 2 clients in the room and at least %d applied", rep.GoServer, total)
	}
	var out strings.Builder
	printReport(&out, rep)
	for _, want := range []string{"sockgate (Go)", "p99 ms", "complete", "Go server GET /stats"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
