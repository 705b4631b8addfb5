package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockgate/sockgate/internal/testenv/wsclient"
)

// The load client: raw websocket connections speaking just enough
// Engine.IO v4 / Socket.IO v5 to join "/" and count "tick" events. It
// decodes no JSON: it scans each event for the "i" and "t" fields. One
// goroutine per connection reads; writes happen only for the handshake and
// to answer engine pings.

var (
	errHandshake = errors.New("fanoutbench: handshake")
	errFrame     = errors.New("fanoutbench: bad frame")
)

// phase is one measurement the connections count events for.
type phase struct {
	k        int64      // events each connection should receive
	hist     *histogram // latency of every delivery; nil records none
	complete atomic.Int64
	n        int64         // connections in the phase
	done     chan struct{} // closed when complete reaches n
}

// fleet is the set of load-client connections to one server.
type fleet struct {
	conns []*wsConn
	cur   atomic.Pointer[phase]
	// disconnects counts connections the server closed (or that failed)
	// after the handshake.
	disconnects atomic.Int64
	wg          sync.WaitGroup
	ep          *epoller // nil: one goroutine per connection
}

// wsConn is one client connection.
type wsConn struct {
	f      *fleet
	nc     net.Conn
	br     *bufio.Reader
	tr     *timedReader
	buf    []byte
	fd     int    // the socket when detached (served by the epoller)
	raw    bool   // detached: fd is the socket, nc is closed
	rbuf   []byte // epoller: bytes read and not yet parsed are rbuf[:rlen]
	rlen   int
	frag   []byte       // epoller: a fragmented message so far
	next   int64        // the "i" expected next in the current phase
	got    atomic.Int64 // events received in the current phase
	misord atomic.Int64 // events whose "i" was not the one expected
	lastAt atomic.Int64 // Unix ns of the last event received
	dead   atomic.Bool
	reason atomic.Pointer[string]
}

// dialFleet opens n connections to addr with at most par handshakes in
// flight. With useEpoll one locked OS thread serves every connection
// through epoll (cheapest); otherwise a goroutine per connection does.
func dialFleet(ctx context.Context, addr string, n, par int, useEpoll bool) (*fleet, error) {
	f := &fleet{conns: make([]*wsConn, n)}
	sem := make(chan struct{}, par)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialOne(ctx, f, addr)
			if err != nil {
				errs <- fmt.Errorf("connection %d: %w", i, err)
				return
			}
			f.conns[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		f.close()
		return nil, err
	}
	if useEpoll {
		ep, err := newEpoller(f)
		if err != nil {
			f.close()
			return nil, err
		}
		f.ep = ep
		return f, nil
	}
	for _, c := range f.conns {
		f.wg.Add(1)
		go c.readLoop()
	}
	return f, nil
}

// close closes every connection and waits for the readers.
func (f *fleet) close() {
	if f.ep != nil {
		f.ep.close()
		return
	}
	for _, c := range f.conns {
		if c != nil {
			c.dead.Store(true)
			_ = c.nc.Close()
		}
	}
	f.wg.Wait()
}

// start begins a phase in which each connection expects k events.
func (f *fleet) start(k int64, hist *histogram) *phase {
	for _, c := range f.conns {
		c.got.Store(0)
		c.lastAt.Store(0)
		c.misord.Store(0)
	}
	p := &phase{k: k, hist: hist, n: int64(len(f.conns)), done: make(chan struct{})}
	f.cur.Store(p)
	return p
}

// stop ends the phase: later events are not counted.
func (f *fleet) stop() { f.cur.Store(nil) }

// err reports a failure of the load client itself (the epoll loop ended).
func (f *fleet) err() error {
	if f.ep != nil {
		if e := f.ep.fatal.Load(); e != nil {
			return *e
		}
	}
	return nil
}

// misordered counts events in the phase that did not carry the expected
// sequence number (duplicated, reordered or after a gap).
func (f *fleet) misordered() (n int64) {
	for _, c := range f.conns {
		n += c.misord.Load()
	}
	return n
}

// delivered is the number of events received in the phase so far, and the
// latest arrival time (Unix ns).
func (f *fleet) delivered() (total int64, last int64) {
	for _, c := range f.conns {
		total += c.got.Load()
		last = max(last, c.lastAt.Load())
	}
	return total, last
}

// wait waits until every connection has its k events, or until no event
// arrived for idle, or ctx ends.
func (f *fleet) wait(ctx context.Context, p *phase, idle time.Duration) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastTotal int64 = -1
	lastChange := time.Now()
	for {
		select {
		case <-p.done:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			total, _ := f.delivered()
			if total != lastTotal {
				lastTotal, lastChange = total, time.Now()
			} else if time.Since(lastChange) > idle {
				return
			}
		}
	}
}

func dialOne(ctx context.Context, f *fleet, addr string) (*wsConn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*wsConn, error) {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	tr := &timedReader{r: nc}
	br, err := wsclient.Upgrade(nc, tr, addr, "/socket.io/?EIO=4&transport=websocket", readBuffer)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", errHandshake, err))
	}
	c := &wsConn{f: f, nc: nc, br: br, tr: tr}
	// Engine.IO open, then Socket.IO CONNECT to "/" and its answer.
	msg, err := c.readMessage()
	if err != nil {
		return fail(err)
	}
	if len(msg) == 0 || msg[0] != '0' {
		return fail(fmt.Errorf("%w: first packet %q is not an Engine.IO open", errHandshake, msg))
	}
	if err := c.writeText([]byte("40")); err != nil {
		return fail(err)
	}
	for {
		msg, err := c.readMessage()
		if err != nil {
			return fail(err)
		}
		switch {
		case bytes.HasPrefix(msg, []byte("40")):
			_ = nc.SetDeadline(time.Time{})
			return c, nil
		case bytes.HasPrefix(msg, []byte("44")):
			return fail(fmt.Errorf("%w: CONNECT_ERROR %s", errHandshake, msg[2:]))
		case len(msg) == 1 && msg[0] == '2':
			if err := c.writeText([]byte("3")); err != nil {
				return fail(err)
			}
		}
	}
}

// readBuffer is each connection's read buffer: large, so that one read
// system call takes a whole backlog of frames.
const readBuffer = 32 << 10

// timedReader notes when each read returned: the arrival time of every
// frame in that read. One clock read per system call, not per event.
type timedReader struct {
	r  io.Reader
	at int64 // Unix ns
}

func (t *timedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.at = time.Now().UnixNano()
	return n, err
}

// readLoop counts events until the connection ends.
func (c *wsConn) readLoop() {
	defer c.f.wg.Done()
	err := c.serve()
	if !c.dead.Swap(true) {
		c.f.disconnects.Add(1)
		s := err.Error()
		c.reason.Store(&s)
		_ = c.nc.Close()
	}
}

func (c *wsConn) serve() error {
	for {
		msg, err := c.readMessage()
		if err != nil {
			return err
		}
		if err := c.handleMessage(msg, c.tr.at); err != nil {
			return err
		}
	}
}

// handleMessage acts on one Engine.IO packet that arrived at time at.
func (c *wsConn) handleMessage(msg []byte, at int64) error {
	if len(msg) == 0 {
		return nil
	}
	switch msg[0] {
	case '2': // engine ping
		return c.writeText([]byte("3"))
	case '1':
		return errors.New("engine.io close packet")
	case '4':
		if len(msg) > 1 && msg[1] == '2' {
			c.onEvent(msg[2:], at)
		} else if len(msg) > 1 && msg[1] == '1' {
			return errors.New("socket.io DISCONNECT")
		}
	}
	return nil
}

// onEvent counts one event that arrived at now; body is the packet after "42".
func (c *wsConn) onEvent(body []byte, now int64) {
	p := c.f.cur.Load()
	if p == nil {
		return
	}
	if i, ok := scanInt(body, `"i":`); ok {
		if c.got.Load() == 0 {
			c.next = 0
		}
		if i != c.next {
			c.misord.Add(1)
		}
		c.next = i + 1
	}
	c.lastAt.Store(now)
	if p.hist != nil {
		if t, ok := scanInt(body, `"t":`); ok {
			p.hist.add(now - t)
		}
	}
	if c.got.Add(1) == p.k {
		if p.complete.Add(1) == p.n {
			close(p.done)
		}
	}
}

// scanInt returns the non-negative integer following key in b.
func scanInt(b []byte, key string) (int64, bool) { return wsclient.ScanInt(b, key) }

// readMessage reads one whole websocket data message (joining fragments)
// and answers pings. The result is valid until the next call.
func (c *wsConn) readMessage() ([]byte, error) {
	m, err := wsclient.ReadMessage(c.br, c.buf, 16<<20, func(p []byte) error { return c.writeFrame(wsclient.OpPong, p) })
	if m != nil {
		c.buf = m
	}
	return m, err
}

func (c *wsConn) writeText(p []byte) error { return c.writeFrame(1, p) }

// writeFrame writes one masked frame (clients must mask). Only small
// frames are ever sent.
func (c *wsConn) writeFrame(op byte, p []byte) error {
	if len(p) > 125 {
		return fmt.Errorf("%w: %d-byte client frame", errFrame, len(p))
	}
	f := wsclient.AppendFrame(make([]byte, 0, 6+len(p)), op, p)
	if c.raw {
		for len(f) > 0 {
			n, err := syscall.Write(c.fd, f)
			if err == syscall.EAGAIN || err == syscall.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			f = f[n:]
		}
		return nil
	}
	_, err := c.nc.Write(f)
	return err
}
