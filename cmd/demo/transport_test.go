package main

import (
	"context"
	"strings"
	"testing"
)

// TestDemoOverMemory: with SOCKET_TRANSPORT=memory the roles run in this
// process and meet on its in-memory broker.
func TestDemoOverMemory(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	runPipelineOver(t, "memory", "the worker, listener and job roles run in this process")
}

// TestDemoOverRedisStreams: the embedded Redis serves the redis-streams
// transport too.
func TestDemoOverRedisStreams(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	runPipelineOver(t, "redis-streams", "demo: REDIS_URL is unset: started an embedded Redis (miniredis) on 127.0.0.1:")
}

// TestDemoBadTransport: an unknown SOCKET_TRANSPORT stops the demo with
// exit 2 and a message naming the variable, before anything starts.
func TestDemoBadTransport(t *testing.T) {
	t.Setenv("SOCKET_TRANSPORT", "bogus")
	var stdout, stderr safeBuffer
	code := run(context.Background(), []string{"-web=false"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `demo: environment: config: SOCKET_TRANSPORT="bogus": unknown transport (want redis, redis-streams, nats, jetstream, memory)`) {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if stdout.String() != "" {
		t.Errorf("the demo started something: %q", stdout.String())
	}
}

// TestDemoNATSDown: a NATS server that does not answer is reported at
// once, with the address, exit 1.
func TestDemoNATSDown(t *testing.T) {
	t.Setenv("SOCKET_TRANSPORT", "nats")
	t.Setenv("NATS_URL", "nats://127.0.0.1:1") // nothing listens on port 1
	var stdout, stderr safeBuffer
	code := run(context.Background(), []string{"-web=false"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "demo: nats nats://127.0.0.1:1 unreachable") {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}
