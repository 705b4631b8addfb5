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

func TestFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Thousands(1234567.4), "1,234,567"}, {Thousands(-1234.6), "-1,235"}, {Thousands(12), "12"},
		{Percent(0.456), "46%"}, {Percent(-1), "n/a"}, {Micros(1500), "1.50 µs"}, {Micros(-1), "n/a"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
