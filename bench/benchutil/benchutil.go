// Package benchutil holds what the `make bench` commands (bench/benchcmp,
// bench/transportbench, bench/fanoutbench, bench/clusterbench)
// measure the same way: the machine's load and CPU model, CPU time of this
// process and of a child, children that die with the command, and the
// bytes of one benchmark emit.
package benchutil

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/sockgate/sockgate/gateway"
)

// LoadAverage returns the 1-minute load average, or -1 where /proc/loadavg
// is missing.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// CPUModel returns /proc/cpuinfo's first "model name", or "".
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Progress is the small struct every benchmark emit carries (the same shape
// as the Python benchmark scripts').
type Progress struct {
	Job string `json:"job"`
	Pct int    `json:"pct"`
}

// capture keeps the last message published to it.
type capture struct {
	mu   sync.Mutex
	last []byte
}

func (c *capture) Publish(_ context.Context, _ string, msgs [][]byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(msgs) > 0 {
		c.last = bytes.Clone(msgs[len(msgs)-1])
	}
	return len(msgs), nil
}

func (c *capture) Close() error { return nil }

// SampleEmit returns the bytes a gateway.Worker publishes for one benchmark
// emit (EmitToUser of a Progress), so that broker tools can publish
// payloads of the same size.
func SampleEmit(ctx context.Context) ([]byte, error) {
	c := &capture{}
	w, err := gateway.NewWorker(gateway.WorkerConfig{Publisher: c})
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Close(ctx) }()
	if err := w.EmitToUser(ctx, "1000", "progress", Progress{Job: "resize-42", Pct: 57}); err != nil {
		return nil, err
	}
	if err := w.Flush(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, nil
}
