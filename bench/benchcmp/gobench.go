package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/sockgate/sockgate/internal/testenv"
)

// goBench is one line of `go test -bench` output.
type goBench struct {
	Name       string             `json:"name"` // without the "Benchmark" prefix and the -GOMAXPROCS suffix
	Iterations int64              `json:"iterations"`
	NsPerOp    float64            `json:"ns_per_op"`
	BytesPerOp float64            `json:"bytes_per_op"`
	AllocsOp   float64            `json:"allocs_per_op"`
	Metrics    map[string]float64 `json:"metrics,omitempty"` // every other unit, e.g. dropped/op
}

// runGoBench runs the gateway's emit benchmarks with -benchmem in the
// sockgate module (the repository root) and parses their results.
func runGoBench(ctx context.Context, benchtime string) ([]goBench, string, error) {
	args := []string{"test", "-run", "^$", "-bench", "BenchmarkEmitToUser", "-benchmem", "-benchtime", benchtime, "./gateway/"}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = testenv.RepoPath(".")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, "", fmt.Errorf("benchcmp: go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	res := parseGoBench(out)
	if len(res) == 0 {
		return nil, "", fmt.Errorf("benchcmp: go test printed no benchmark results:\n%s", out)
	}
	return res, "go " + strings.Join(args, " "), nil
}

// parseGoBench reads result lines such as
//
//	BenchmarkEmitToUser/struct-2  1000000  812.3 ns/op  0 dropped/op  160 B/op  3 allocs/op
//
// and ignores every other line.
func parseGoBench(out []byte) []goBench {
	var res []goBench
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		iters, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		b := goBench{Name: name, Iterations: iters}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch unit := f[i+1]; unit {
			case "ns/op":
				b.NsPerOp = v
			case "B/op":
				b.BytesPerOp = v
			case "allocs/op":
				b.AllocsOp = v
			default:
				if b.Metrics == nil {
					b.Metrics = map[string]float64{}
				}
				b.Metrics[unit] = v
			}
		}
		res = append(res, b)
	}
	return res
}
