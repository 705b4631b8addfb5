//go:build integration

package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// deleteStream removes the test's stream from the shared server.
func deleteStream(t *testing.T, url, stream string) {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Errorf("delete stream %s: %v", stream, err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		err = js.DeleteStream(ctx, stream)
	}
	if err != nil {
		t.Errorf("delete stream %s: %v", stream, err)
	}
}

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
// on a stream of this test's own.
func TestEmitOverNATSTransports(t *testing.T) {
	url := natsURL(t)
	for _, tr := range []string{"nats", "jetstream"} {
		t.Run(tr, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv("SOCKET_TRANSPORT", tr)
			t.Setenv("NATS_URL", url)
			stream := fmt.Sprintf("CLITEST_%d", time.Now().UnixNano())
			t.Setenv("SOCKET_STREAM", stream)
			if tr == "jetstream" {
				t.Cleanup(func() { deleteStream(t, url, stream) })
			}
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
