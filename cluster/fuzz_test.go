package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/cluster"
)

// FuzzReceive feeds arbitrary bus messages to a node with a connected
// client: the listener must take every one (and survive), whatever it is.
func FuzzReceive(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "vectors", "*", "*.bin"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"method":"emit","event":"e","data":[1],"binary":false,"namespace":"/","room":null,"skip_sid":null,"callback":null,"host_id":"x"}`,
		`{"method":"emit","event":"e","data":[{"_placeholder":true,"num":0},"AA=="],"binary":true,"namespace":"/","room":"r","skip_sid":["a"],"callback":["s","/",1],"host_id":"x"}`,
		`{"method":"disconnect","sid":"s","namespace":"/","host_id":"x"}`,
		`{"method":"close_room","room":"r","namespace":"/"}`,
		`{"method":"callback","host_id":"x","sid":"s","namespace":"/","id":1,"args":[]}`,
		`{"method":"emit","event":"","data":[{"v":[NaN,-Infinity]},Infinity],"binary":false,"namespace":"/","room":"r","host_id":"x","sockgate_seq":5}`,
		`{"method":"emit","event":"e","data":[1],"binary":false,"namespace":"/","host_id":"x","sockgate_seq":5}`,
		"cos\nsystem\n(S'echo pwned'\ntR.",
		"\x80\x04",
	} {
		f.Add([]byte(s))
	}
	bus := newBus()
	n := newNode(f, bus, cluster.Config{AckTimeout: 10 * time.Millisecond})
	dialClient(f, n.base, "/", `{"rooms":["r"]}`)
	<-n.socks
	f.Fuzz(func(t *testing.T, data []byte) {
		before := n.mgr.Stats().Received
		_, err := bus.Publish(context.Background(), "socketio", [][]byte{data})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return n.mgr.Stats().Received == before+1 }, wait, 100*time.Microsecond)
	})
}
