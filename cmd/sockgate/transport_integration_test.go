//go:build integration

package main

import (
	"os"
	"testing"
)

// natsURL is the shared nats-server (make integration:
// SOCKGATE_TEST_NATS_URL=nats://127.0.0.1:4222).
func natsURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("SOCKGATE_TEST_NATS_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SOCKGATE_TEST_NATS_URL is not set")
		}
		t.Skip("SOCKGATE_TEST_NATS_URL is not set")
	}
	return url
}

// TestEmitOverNATSTransports runs emit and listen over NATS core and
// JetStream on the shared server, chosen by SOCKET_TRANSPORT; JetStream
// on a small stream kept for these tests.
func TestEmitOverNATSTransports(t *testing.T) {
	url := natsURL(t)
	for _, tr := range []string{"nats", "jetstream"} {
		t.Run(tr, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv("SOCKET_TRANSPORT", tr)
			t.Setenv("NATS_URL", url)
			// One small stream for every run: the channel is the test's own.
			t.Setenv("SOCKET_STREAM", "SOCKGATE_CLITEST")
			t.Setenv("SOCKET_STREAM_MAXLEN", "1000")
			emitOver(t, tr)
		})
	}
}

// TestEmitOverSharedRedis runs emit and listen over both Redis transports
// on the shared redis-server (SOCKGATE_TEST_REDIS_ADDR).
func TestEmitOverSharedRedis(t *testing.T) {
	addr := os.Getenv("SOCKGATE_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("SOCKGATE_TEST_REDIS_ADDR is not set")
	}
	for _, tr := range []string{"redis", "redis-streams"} {
		t.Run(tr, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv("SOCKET_TRANSPORT", tr)
			t.Setenv("REDIS_URL", "redis://"+addr)
			emitOver(t, tr)
		})
	}
}
