//go:build integration

package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMeasureBoth runs a short, slow measurement against both servers.
func TestMeasureBoth(t *testing.T) {
	requireRedis(t)
	if why := checkPython("/usr/bin/python3"); why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o, err := parseFlags([]string{"-rates", "200", "-duration", "500ms", "-clients", "1", "-max-wait", "20s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	rep, err := measure(ctx, o, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if len(rep.Results) != 2 || rep.Results[1].Server != "python-socketio 5.7.2" || !strings.Contains(rep.Python, "python-socketio 5.7.2") {
		t.Fatalf("results %+v, python %q", rep.Results, rep.Python)
	}
	for _, r := range rep.Results {
		if r.EndedBy != "complete" || r.Lost != 0 || r.P50Ms <= 0 {
			t.Errorf("result %+v", r)
		}
	}
	var out strings.Builder
	printReport(&out, rep)
	if !strings.Contains(out.String(), "ratio python-socketio / sockgate") {
		t.Errorf("report lacks the ratios:\n%s", out.String())
	}
}
