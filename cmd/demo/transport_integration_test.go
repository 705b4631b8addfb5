//go:build integration

package main

import (
	"os"
	"testing"
)

// TestDemoOverNATS runs the worker/listener part over NATS core and
// JetStream on the shared nats-server (SOCKGATE_TEST_NATS_URL), JetStream
// on a stream of this test's own.
func TestDemoOverNATS(t *testing.T) {
	url := os.Getenv("SOCKGATE_TEST_NATS_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SOCKGATE_TEST_NATS_URL is not set")
		}
		t.Skip("SOCKGATE_TEST_NATS_URL is not set")
	}
	for _, tr := range []string{"nats", "jetstream"} {
		t.Run(tr, func(t *testing.T) {
			t.Setenv("NATS_URL", url)
			// One small stream for every run: the channel is the test's own.
			t.Setenv("SOCKET_STREAM", "SOCKGATE_DEMOTEST")
			t.Setenv("SOCKET_STREAM_MAXLEN", "1000")
			runPipelineOver(t, tr, "demo: SOCKET_TRANSPORT="+tr+": using the NATS server in NATS_URL: "+url)
		})
	}
}
