//go:build integration

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireNode skips (or fails under CI=true) when node or the installed
// socket.io peer is missing.
func requireNode(t *testing.T, root string) {
	t.Helper()
	_, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(root, "test/peers/node/node_modules/socket.io/package.json"))
	}
	if err == nil {
		return
	}
	msg := fmt.Sprintf("node with socket.io is not usable (%v); run npm ci in test/peers/node", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// TestMeasureServers runs a small fan-out against both servers, unpinned,
// with both load clients, and checks that every event reached every client
// in order and latencies were recorded.
func TestMeasureServers(t *testing.T) {
	root := repoRoot()
	bin := filepath.Join(t.TempDir(), "fanout-server")
	build := exec.Command("go", "build", "-o", bin, "./fanoutbench/server")
	build.Dir = filepath.Join(root, "bench")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./fanoutbench/server: %v\n%s", err, out)
	}
	servers := map[string][]string{
		"node": {"node", filepath.Join(root, "test/peers/node/fanout_server.js"), "0"},
		"ours": {bin, "-addr", "127.0.0.1:0"},
	}
	for _, mode := range []string{"epoll", "goroutines"} {
		o, err := parseFlags([]string{"-clients", "20", "-burst", "50", "-warmup", "5", "-rounds", "1",
			"-rate", "50", "-steady", "400ms", "-idle", "10s", "-no-pin", "-client", mode}, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		for name, argv := range servers {
			t.Run(name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				measureSmall(t, o, root, name, argv)
			})
		}
	}
}

// measureSmall measures one server with o and checks the result.
func measureSmall(t *testing.T, o *options, root, name string, argv []string) {
	if name == "node" {
		requireNode(t, root)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := &serverResult{Name: name, Label: name}
	if err := measureServer(ctx, o, root, -1, argv, r, t.Logf); err != nil {
		t.Fatal(err)
	}
	b := r.Bursts[0]
	if b.Expected != 50*20 || b.Delivered != b.Expected || b.Lost != 0 || b.Misordered != 0 || b.Rate <= 0 {
		t.Errorf("burst: %+v", b)
	}
	s := r.Steady
	if s == nil || s.Events != 20 || s.Delivered != 20*20 || s.Misordered != 0 || s.P50Ms <= 0 || s.MaxMs < s.P99Ms || len(s.CDF) == 0 {
		t.Errorf("steady: %+v", s)
	}
	if s != nil && s.Negative > 0 {
		t.Errorf("%d negative latencies: the send time in the payload is wrong", s.Negative)
	}
	if r.RSSAfter <= 0 || r.RSSPeak < r.RSSAfter || r.Disconnects != 0 {
		t.Errorf("rss %d peak %d disconnects %d", r.RSSAfter, r.RSSPeak, r.Disconnects)
	}
	if name == "ours" && !strings.Contains(string(r.Stats), "room") {
		t.Errorf("stats %s", r.Stats)
	}
}
