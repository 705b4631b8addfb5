package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/sockgate/sockgate/internal/testenv/wsclient"
)

// The measuring client: one raw websocket connection speaking just enough
// Engine.IO v4 / Socket.IO v5 to join "/" and time "tick" events. It
// decodes no JSON: it scans each event for its "p" (phase), "i" (sequence)
// and "t" (send time, Unix ns) fields.

var errHandshake = errors.New("clusterbench: handshake")

// client is one connection to a server under test.
type client struct {
	nc net.Conn
	br *bufio.Reader
	wm sync.Mutex // serialises writes (pongs)

	mu     sync.Mutex
	phase  int64   // events of other phases are ignored
	lat    []int64 // latency of every delivery in the phase, ns
	seen   []bool  // by sequence number: duplicates are counted apart
	dups   int64
	last   time.Time     // arrival of the last counted event
	notify chan struct{} // closed and replaced on every counted event

	done chan struct{} // closed when the read loop ends
	err  error         // why it ended; set before done is closed
}

// dial connects to the Socket.IO server at addr (host:port) over the
// websocket transport and joins "/".
func dial(ctx context.Context, addr string) (*client, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*client, error) {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	br, err := wsclient.Upgrade(nc, nc, addr, "/socket.io/?EIO=4&transport=websocket", 64<<10)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", errHandshake, err))
	}
	c := &client{nc: nc, br: br, phase: -1, notify: make(chan struct{}), done: make(chan struct{})}
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
			go c.readLoop()
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

// start begins phase p, in which n events (sequence 0..n-1) are expected.
func (c *client) start(p int64, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.phase, c.lat, c.seen, c.dups = p, make([]int64, 0, n), make([]bool, n), 0
}

// stop ends the phase and returns its latencies and duplicates.
func (c *client) stop() (lat []int64, dups int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lat, dups = c.lat, c.dups
	c.phase, c.lat, c.seen = -1, nil, nil
	return lat, dups
}

// progress returns the events counted in the phase, the last arrival and
// a channel closed at the next counted event.
func (c *client) progress() (n int, last time.Time, next <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lat), c.last, c.notify
}

func (c *client) close() {
	_ = c.nc.Close()
	<-c.done
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		msg, err := c.readMessage()
		if err != nil {
			c.err = err
			return
		}
		now := time.Now().UnixNano()
		if len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case '2': // engine ping
			if err := c.writeText([]byte("3")); err != nil {
				c.err = err
				return
			}
		case '1':
			c.err = errors.New("engine.io close packet")
			return
		case '4':
			if len(msg) > 1 && msg[1] == '2' {
				c.onEvent(msg[2:], now)
			}
		}
	}
}

func (c *client) onEvent(body []byte, now int64) {
	p, ok1 := scanInt(body, `"p"`)
	i, ok2 := scanInt(body, `"i"`)
	t, ok3 := scanInt(body, `"t"`)
	if !ok1 || !ok2 || !ok3 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p != c.phase || i < 0 || i >= int64(len(c.seen)) {
		return
	}
	if c.seen[i] {
		c.dups++
		return
	}
	c.seen[i] = true
	c.lat = append(c.lat, now-t)
	c.last = time.Unix(0, now)
	close(c.notify)
	c.notify = make(chan struct{})
}

// scanInt returns the integer value of key in a JSON object (any spacing).
func scanInt(b []byte, key string) (int64, bool) { return wsclient.ScanInt(b, key) }

// readMessage reads one whole websocket data message (joining fragments)
// and answers pings.
func (c *client) readMessage() ([]byte, error) {
	return wsclient.ReadMessage(c.br, nil, 64<<20, func(p []byte) error { return c.writeFrame(wsclient.OpPong, p) })
}

func (c *client) writeText(p []byte) error { return c.writeFrame(0x1, p) }

// writeFrame writes one masked frame (clients must mask).
func (c *client) writeFrame(op byte, p []byte) error {
	c.wm.Lock()
	defer c.wm.Unlock()
	buf := wsclient.AppendFrame(make([]byte, 0, 14+len(p)), op, p)
	_ = c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(buf)
	return err
}
