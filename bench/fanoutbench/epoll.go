package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// epoller serves every connection of a fleet from one locked OS thread:
// level-triggered epoll, one read(2) per ready socket into a large buffer,
// every complete frame in it parsed in place. It costs the load client
// about one system call per batch of frames instead of a goroutine wake-up
// and two reads per frame.
type epoller struct {
	f     *fleet
	epfd  int
	byFD  map[int32]*wsConn
	stop  atomic.Bool
	done  chan struct{}
	fatal atomic.Pointer[error] // why the loop ended early, if it did
}

// newEpoller takes the fleet's handshaken connections out of Go's network
// poller (their sockets are duplicated, the net.Conns closed) and starts
// the loop.
func newEpoller(f *fleet) (*epoller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fanoutbench: epoll_create1: %w", err)
	}
	ep := &epoller{f: f, epfd: epfd, byFD: make(map[int32]*wsConn, len(f.conns)), done: make(chan struct{})}
	for _, c := range f.conns {
		if err := c.detach(); err != nil {
			ep.closeFDs()
			return nil, err
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
			ep.closeFDs()
			return nil, fmt.Errorf("fanoutbench: epoll_ctl: %w", err)
		}
		ep.byFD[int32(c.fd)] = c
	}
	go ep.loop()
	return ep, nil
}

// detach replaces c's net.Conn by a duplicate of its socket, keeping the
// bytes the handshake reader had buffered.
func (c *wsConn) detach() error {
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		return errors.New("fanoutbench: epoll needs TCP connections")
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var dupErr error
	if err := raw.Control(func(fd uintptr) { c.fd, dupErr = syscall.Dup(int(fd)) }); err != nil {
		return err
	}
	if dupErr != nil {
		return fmt.Errorf("fanoutbench: dup: %w", dupErr)
	}
	c.raw = true
	syscall.CloseOnExec(c.fd)
	if err := syscall.SetNonblock(c.fd, true); err != nil {
		return err
	}
	c.rbuf = make([]byte, readBuffer)
	c.rlen, _ = c.br.Read(c.rbuf[:min(c.br.Buffered(), len(c.rbuf))])
	c.br = nil
	return c.nc.Close()
}

func (ep *epoller) loop() {
	defer close(ep.done)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	events := make([]syscall.EpollEvent, 256)
	// Frames the handshake reader had already buffered.
	now := time.Now().UnixNano()
	for _, c := range ep.byFD {
		if c.rlen > 0 {
			if err := c.consume(now); err != nil {
				ep.fail(c, err)
			}
		}
	}
	for !ep.stop.Load() {
		n, err := syscall.EpollWait(ep.epfd, events, 100)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			err = fmt.Errorf("fanoutbench: epoll_wait: %w", err)
			ep.fatal.Store(&err)
			return
		}
		for i := range n {
			c := ep.byFD[events[i].Fd]
			if c == nil || c.dead.Load() {
				continue
			}
			if c.rlen == len(c.rbuf) {
				c.rbuf = append(c.rbuf, make([]byte, len(c.rbuf))...)
			}
			m, err := syscall.Read(c.fd, c.rbuf[c.rlen:])
			at := time.Now().UnixNano()
			switch {
			case err == syscall.EAGAIN || err == syscall.EINTR:
				continue
			case err != nil:
				ep.fail(c, err)
				continue
			case m == 0:
				ep.fail(c, io.EOF)
				continue
			}
			c.rlen += m
			if err := c.consume(at); err != nil {
				ep.fail(c, err)
			}
		}
	}
}

// fail closes a connection the server ended or broke, and counts it.
func (ep *epoller) fail(c *wsConn, err error) {
	if c.dead.Swap(true) {
		return
	}
	ep.f.disconnects.Add(1)
	s := err.Error()
	c.reason.Store(&s)
	_ = syscall.EpollCtl(ep.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	_ = syscall.Close(c.fd)
}

// close stops the loop and closes every socket.
func (ep *epoller) close() {
	if ep.stop.Swap(true) {
		return
	}
	<-ep.done
	ep.closeFDs()
}

func (ep *epoller) closeFDs() {
	for _, c := range ep.f.conns {
		if c != nil && c.raw && !c.dead.Swap(true) {
			_ = syscall.Close(c.fd)
		}
		if c != nil && c.nc != nil {
			_ = c.nc.Close()
		}
	}
	_ = syscall.Close(ep.epfd)
}

// consume handles every complete frame in c.rbuf[:c.rlen] (read at time
// at) and keeps the incomplete rest at the start of the buffer.
func (c *wsConn) consume(at int64) error {
	b := c.rbuf[:c.rlen]
	off := 0
	for {
		op, fin, payload, n, err := parseFrame(b[off:])
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		off += n
		if err := c.handleFrame(op, fin, payload, at); err != nil {
			return err
		}
	}
	c.rlen = copy(c.rbuf, b[off:])
	return nil
}

// handleFrame acts on one websocket frame; fragments are joined.
func (c *wsConn) handleFrame(op byte, fin bool, payload []byte, at int64) error {
	switch op {
	case 8:
		return fmt.Errorf("websocket close frame %x", payload)
	case 9:
		return c.writeFrame(0xA, payload)
	case 0xA:
		return nil
	}
	if !fin || len(c.frag) > 0 {
		c.frag = append(c.frag, payload...)
		if !fin {
			return nil
		}
		payload = c.frag
		defer func() { c.frag = c.frag[:0] }()
	}
	return c.handleMessage(payload, at)
}

// parseFrame decodes the server frame at the start of b. n is 0 when b
// does not hold the whole frame yet.
func parseFrame(b []byte) (op byte, fin bool, payload []byte, n int, err error) {
	if len(b) < 2 {
		return 0, false, nil, 0, nil
	}
	fin, op = b[0]&0x80 != 0, b[0]&0x0f
	if b[1]&0x80 != 0 {
		return 0, false, nil, 0, fmt.Errorf("%w: masked frame from the server", errFrame)
	}
	size, hdr := uint64(b[1]&0x7f), 2
	switch size {
	case 126:
		if len(b) < 4 {
			return 0, false, nil, 0, nil
		}
		size, hdr = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, false, nil, 0, nil
		}
		size, hdr = binary.BigEndian.Uint64(b[2:]), 10
	}
	if size > 16<<20 {
		return 0, false, nil, 0, fmt.Errorf("%w: %d-byte frame", errFrame, size)
	}
	end := hdr + int(size)
	if len(b) < end {
		return 0, false, nil, 0, nil
	}
	return op, fin, b[hdr:end], end, nil
}
