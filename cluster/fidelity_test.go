package cluster_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/cluster"
)

// The same message bytes arriving twice (a publish retried after its reply
// was lost) reach the client once and are counted; the same Seq from
// another host, and a message without a Seq, are applied.
func TestSeqDuplicatesDropped(t *testing.T) {
	t.Parallel()
	bus := newBus()
	n := newNode(t, bus, cluster.Config{})
	c := dialClient(t, n.base, "/", `{"user":"42"}`)
	<-n.socks

	msg := []byte(`{"method":"emit","event":"once","data":[1],"binary":false,"namespace":"/","room":"user:42","skip_sid":null,"callback":null,"host_id":"w1","sockgate_seq":7}`)
	bus.raw(t, msg)
	bus.raw(t, msg)
	bus.raw(t, []byte(`{"method":"emit","event":"other-host","data":[2],"binary":false,"namespace":"/","room":"user:42","host_id":"w2","sockgate_seq":7}`))
	bus.raw(t, []byte(`{"method":"emit","event":"no-seq","data":[3],"binary":false,"namespace":"/","room":"user:42","host_id":"w1"}`))
	bus.raw(t, []byte(`{"method":"emit","event":"no-seq","data":[3],"binary":false,"namespace":"/","room":"user:42","host_id":"w1"}`))
	bus.raw(t, []byte(`{"method":"emit","event":"next","data":[4],"binary":false,"namespace":"/","room":"user:42","host_id":"w1","sockgate_seq":8}`))
	c.expect(`2["once",1]`)
	c.expect(`2["other-host",2]`)
	c.expect(`2["no-seq",3]`)
	c.expect(`2["no-seq",3]`) // without a Seq nothing can be told apart
	c.expect(`2["next",4]`)
	st := n.mgr.Stats()
	assert.Equal(t, uint64(1), st.SeqDuplicates)
	assert.Equal(t, uint64(6), st.Received)
	assert.Equal(t, uint64(5), st.Applied)
	assert.Zero(t, st.Malformed)
}

// Two nodes over one bus: what one publishes carries its Seq, and a
// redelivery of it is dropped by the other.
func TestSeqOfNodeBroadcasts(t *testing.T) {
	t.Parallel()
	bus := newBus()
	a := newNode(t, bus, cluster.Config{})
	b := newNode(t, bus, cluster.Config{})
	cb := dialClient(t, b.base, "/", `{"user":"7"}`)
	<-b.socks
	tap, err := bus.Subscribe(ctx(t), "socketio") // sees what a publishes
	require.NoError(t, err)
	require.NoError(t, a.nsp.To("user:7").Emit("hello", "x"))
	cb.expect(`2["hello","x"]`)
	sent := <-tap
	assert.Contains(t, string(sent), `"sockgate_seq":`)
	bus.raw(t, sent) // the same bytes again
	require.NoError(t, a.nsp.To("user:7").Emit("after", "y"))
	cb.expect(`2["after","y"]`)
	assert.Equal(t, uint64(1), b.mgr.Stats().SeqDuplicates)
}

// Both python servers deliver an event with an empty name and NaN or
// infinite arguments; our node does too, with the non-finite numbers as
// null (what JSON.stringify writes), wherever they are, and counts them.
func TestBusFidelity(t *testing.T) {
	t.Parallel()
	bus := newBus()
	n := newNode(t, bus, cluster.Config{})
	c := dialClient(t, n.base, "/", `{"user":"42"}`)
	<-n.socks

	// python-socketio 5.16 (json.dumps writes the literals).
	bus.raw(t, []byte(`{"method":"emit","event":"","data":[1],"binary":false,"namespace":"/","room":"user:42","skip_sid":null,"callback":null,"host_id":"py"}`))
	c.expect(`2["",1]`)
	bus.raw(t, []byte(`{"method":"emit","event":"m","data":[{"v":[NaN,Infinity,1.5],"w":{"x":-Infinity}},NaN],"binary":false,"namespace":"/","room":"user:42","skip_sid":null,"callback":null,"host_id":"py"}`))
	c.expect(`2["m",{"v":[null,null,1.5],"w":{"x":null}},null]`)
	// python-socketio 5.7.2: pickle.dumps of data = ({"v": [nan, inf]}, -inf)
	// (BINFLOAT opcodes), to every client of "/".
	pkl, err := hex.DecodeString("8004958f000000000000007d94288c066d6574686f64948c04656d6974948c056576656e74948c0166948c0464617461947d948c0176945d9428477ff8000000000000477ff0000000000000657347fff000000000000086948c096e616d657370616365948c012f948c04726f6f6d944e8c08736b69705f736964944e8c0863616c6c6261636b944e8c07686f73745f6964948c02707994752e")
	require.NoError(t, err)
	bus.raw(t, pkl)
	c.expect(`2["f",{"v":[null,null]},null]`)

	st := n.mgr.Stats()
	assert.Equal(t, uint64(2), st.NonFinite)
	assert.Equal(t, uint64(3), st.Applied)
	assert.Zero(t, st.Malformed+st.ApplyErrors)
}
