package benchutil

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
)

func TestSampleEmitIsOneEmit(t *testing.T) {
	b, err := SampleEmit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Method string `json:"method"`
		Event  string `json:"event"`
		Room   string `json:"room"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Method != "emit" || m.Event != "progress" || m.Room == "" {
		t.Fatalf("sample %s: %+v, %v", b, m, err)
	}
}

func TestMeasuresOnLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if LoadAverage() < 0 {
		t.Error("no load average")
	}
	if ProcessCPU() <= 0 {
		t.Error("no CPU time for this process")
	}
	if ChildCPU(1) < 0 {
		t.Error("no CPU time for pid 1")
	}
	if ChildCPU(0) != -1 {
		t.Error("pid 0 must be unknown")
	}
}
