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
			stream := fmt.Sprintf("DEMOTEST_%d", time.Now().UnixNano())
			t.Setenv("SOCKET_STREAM", stream)
			if tr == "jetstream" {
				t.Cleanup(func() { deleteStream(t, url, stream) })
			}
			runPipelineOver(t, tr, "demo: SOCKET_TRANSPORT="+tr+": using the NATS server in NATS_URL: "+url)
		})
	}
}

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
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = js.DeleteStream(ctx, stream)
	}
	if err != nil {
		t.Errorf("delete stream %s: %v", stream, err)
	}
}
