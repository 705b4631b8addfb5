package engineio

import (
	"net"
	"sync"
)

// pktBuf is a connection's send queue. Buffers come from size-classed
// pools and go back once written, so an idle connection holds none and a
// burst reuses arrays instead of growing new ones.
type pktBuf struct{ s []*Packet }

// bufPools[i] holds buffers of capacity 8<<i (8 to 128Ki packets).
var bufPools [15]sync.Pool

func bufClass(n int) int {
	c := 0
	for 8<<c < n {
		c++
	}
	return c
}

func getBuf(n int) *pktBuf {
	c := bufClass(n)
	if c >= len(bufPools) {
		return &pktBuf{s: make([]*Packet, 0, n)}
	}
	if b, _ := bufPools[c].Get().(*pktBuf); b != nil {
		return b
	}
	return &pktBuf{s: make([]*Packet, 0, 8<<c)}
}

func putBuf(b *pktBuf) {
	if b == nil {
		return
	}
	clear(b.s) // do not keep packets alive
	b.s = b.s[:0]
	if c := bufClass(cap(b.s)); c < len(bufPools) && cap(b.s) == 8<<c {
		bufPools[c].Put(b)
	}
}

// pushLocked appends pkts to the queue (c.mu held).
func (c *conn) pushLocked(pkts ...*Packet) {
	switch {
	case c.q == nil:
		c.q = getBuf(len(pkts))
	case len(c.q.s)+len(pkts) > cap(c.q.s):
		nb := getBuf(max(2*cap(c.q.s), len(c.q.s)+len(pkts)))
		nb.s = append(nb.s, c.q.s...)
		putBuf(c.q)
		c.q = nb
	}
	c.q.s = append(c.q.s, pkts...)
}

// queuedLocked is the number of packets waiting (c.mu held).
func (c *conn) queuedLocked() int {
	if c.q == nil {
		return 0
	}
	return len(c.q.s)
}

// takeLocked removes and returns the whole queue, nil when empty (c.mu held).
func (c *conn) takeLocked() *pktBuf {
	b := c.q
	c.q = nil
	c.qBytes = 0
	if b != nil && len(b.s) == 0 {
		putBuf(b)
		return nil
	}
	return b
}

// dropQueueLocked discards what is queued (c.mu held).
func (c *conn) dropQueueLocked() {
	putBuf(c.q)
	c.q = nil
	c.qBytes = 0
}

// iovecs pools the writers' net.Buffers.
var iovecs = sync.Pool{New: func() any { return new(net.Buffers) }}
