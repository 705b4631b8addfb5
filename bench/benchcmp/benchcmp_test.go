package main

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/sockgate/sockgate/bench/benchutil"
)

func TestParseBenchmarkCSV(t *testing.T) {
	redis7 := `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"publish bench xxxx","394788.78","1.670","0.392","1.455","3.319","3.975","9.151"
`
	if got, err := parseBenchmarkCSV([]byte(redis7)); err != nil || got != 394788.78 {
		t.Errorf("redis 7 output: got %v, %v", got, err)
	}
	old := `"PUBLISH bench xxxx","123456.00"` + "\n"
	if got, err := parseBenchmarkCSV([]byte(old)); err != nil || got != 123456 {
		t.Errorf("headerless output: got %v, %v", got, err)
	}
	for _, bad := range []string{"", `"test","rps"` + "\n", `"publish","n/a"` + "\n"} {
		if _, err := parseBenchmarkCSV([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/sockgate/sockgate/gateway
BenchmarkEmitToUser/struct-2         	 1493782	       805.2 ns/op	         0 dropped/op	     240 B/op	       3 allocs/op
BenchmarkEmitToUser/map              	  600000	      1905 ns/op	     700 B/op	      12 allocs/op
BenchmarkEmitToUser/miniredis-2      	   10000	     20000 ns/op
PASS
ok  	github.com/sockgate/sockgate/gateway	5.1s
`
	got := parseGoBench([]byte(out))
	if len(got) != 3 {
		t.Fatalf("got %d results, want 3: %+v", len(got), got)
	}
	s := got[0]
	if s.Name != "EmitToUser/struct" || s.Iterations != 1493782 || s.NsPerOp != 805.2 ||
		s.BytesPerOp != 240 || s.AllocsOp != 3 || s.Metrics["dropped/op"] != 0 {
		t.Errorf("struct: %+v", s)
	}
	if _, ok := s.Metrics["dropped/op"]; !ok {
		t.Errorf("struct: dropped/op metric missing: %+v", s)
	}
	if got[1].Name != "EmitToUser/map" || got[1].AllocsOp != 12 {
		t.Errorf("map: %+v", got[1])
	}
	if got[2].Name != "EmitToUser/miniredis" || got[2].NsPerOp != 20000 {
		t.Errorf("miniredis: %+v", got[2])
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999.6: "1,000", 1234567: "1,234,567", 452311.2: "452,311"} {
		if got := benchutil.Thousands(in); got != want {
			t.Errorf("benchutil.Thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestChecksAndTable(t *testing.T) {
	rep := &report{
		PayloadBytes:   180,
		RedisBenchmark: rbResult{Command: "redis-benchmark ...", Rate: 400_000},
		Gateway: []emitResult{
			{Producers: 1, Count: 100, Rate: 240_000, Published: 100},
			{Producers: 64, Count: 100, Rate: 150_000, Published: 100},
		},
		Python: &pyResult{PythonSocketIO: "5.7.2",
			Sequential: &pyRun{N: 10, Rate: 9000},
			Concurrent: &pyRun{N: 10, Rate: 10000, Tasks: 100}},
		GoBench: []goBench{
			{Name: "EmitToUser/struct", NsPerOp: 800, AllocsOp: 4, Metrics: map[string]float64{"dropped/op": 0}},
			{Name: "EmitToUser/map", NsPerOp: 1500, AllocsOp: 10},
		},
	}
	rep.Checks = checks(rep)
	want := []bool{true, false, false}
	if len(rep.Checks) != len(want) {
		t.Fatalf("checks: %+v", rep.Checks)
	}
	for i, c := range rep.Checks {
		if c.Pass != want[i] {
			t.Errorf("check %q = %v, want %v", c.Name, c.Pass, want[i])
		}
	}
	var buf bytes.Buffer
	printReport(&buf, rep)
	for _, s := range []string{"240,000 msg/s", "0.60", "FAIL", "PASS", "= 27x", "= 15x", "800 ns/op, 4 allocs"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, buf.String())
		}
	}
}

func TestCPUAccounting(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("CPU times are read on Linux")
	}
	// Burn a little CPU so both readings are above zero.
	x := 0
	for i := range 20_000_000 {
		x += i
	}
	_ = x
	if got := benchutil.ProcessCPU(); got <= 0 {
		t.Errorf("benchutil.ProcessCPU() = %v, want > 0", got)
	}
	if got := benchutil.ChildCPU(os.Getpid()); got < 0 {
		t.Errorf("benchutil.ChildCPU(self) = %v, want >= 0", got)
	}
	if got := benchutil.ChildCPU(-1); got != -1 {
		t.Errorf("benchutil.ChildCPU(-1) = %v, want -1", got)
	}
}
