package cluster_test

import (
	"context"
	"testing"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/socketio"
)

// nullPub confirms every message without sending it anywhere.
type nullPub struct{}

func (nullPub) Publish(_ context.Context, _ string, msgs [][]byte) (int, error) {
	return len(msgs), nil
}
func (nullPub) Close() error { return nil }

// BenchmarkBroadcastPublished: a namespace broadcast with no local
// recipient, encoded and queued for the cluster.
func BenchmarkBroadcastPublished(b *testing.B) {
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := cluster.New(cluster.Config{Server: srv, Publisher: nullPub{}})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer m.Close(context.Background())
	n := srv.Of("/")
	payload := map[string]any{"pct": 50, "job": "j-1"}
	b.ReportAllocs()
	for b.Loop() {
		if err := n.To("user:42").Emit("progress", payload); err != nil {
			b.Fatal(err)
		}
	}
}
