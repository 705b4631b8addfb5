package engineio

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// finalWriteTimeout bounds the last writes (queued packets and the close
// frame) of a websocket being closed.
const finalWriteTimeout = time.Second

// pollCloseTimeout is how long a closed polling session waits for the GET
// that collects its last packets.
const pollCloseTimeout = 10 * time.Second

// conn is one session. Its queue holds packets not yet written; on
// websocket a writer goroutine runs only while the queue is not empty, on
// polling the pending GET takes the queue.
type conn struct {
	s    *server
	id   string
	addr string // the client address the limiter accounts it to; "" when not limited
	req  *http.Request
	pub  *Conn
	done chan struct{} // closed after OnClose returned

	hmu sync.Mutex // serialises Handler calls

	mu      sync.Mutex
	value   any
	ws      bool     // the transport is websocket
	nc      net.Conn // the websocket, when ws
	q       *pktBuf  // the send queue; nil when empty
	qBytes  int      // payload bytes of the message packets in q
	writing bool     // a websocket writer goroutine runs
	// deadlineAt is when the writer last set the write deadline.
	deadlineAt time.Time

	closed    bool
	flush     bool   // write what is queued before closing
	closeCode uint16 // websocket close status
	closeText string

	// polling
	getActive  bool
	postActive bool
	pollWake   chan struct{} // 1-slot; made on the first GET that waits
	upgrading  bool
	probeNC    net.Conn // the websocket being probed during an upgrade
	probed     bool     // 3probe was sent: polls are answered with a noop at once

	// heartbeat
	timer        *time.Timer
	timerDue     time.Time // when the timer's next action is due
	awaitingPong bool
}

// enqueueLocked appends p without the queue bound (control packets) and
// wakes the transport. c.mu is held.
func (c *conn) enqueueLocked(p *Packet) {
	c.pushLocked(p)
	c.kickLocked()
}

func (c *conn) kickLocked() {
	if c.ws {
		if !c.writing {
			c.writing = true
			go c.wsWriter()
		}
		return
	}
	if c.pollWake != nil {
		select {
		case c.pollWake <- struct{}{}:
		default:
		}
	}
}

func (c *conn) send(pkts []*Packet) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if n := c.queuedLocked(); n+len(pkts) > c.s.cfg.SendQueue {
		c.mu.Unlock()
		c.closeWith(ReasonSlowClient, false, closePolicy, "send queue full")
		return fmt.Errorf("%w: %d packets waiting, limit %d", ErrQueueFull, n, c.s.cfg.SendQueue)
	}
	size := 0
	for _, p := range pkts {
		size += len(p.data)
	}
	if c.qBytes > 0 && c.qBytes+size > c.s.cfg.SendQueueBytes {
		n := c.qBytes
		c.mu.Unlock()
		c.closeWith(ReasonSlowClient, false, closePolicy, "send queue full")
		return fmt.Errorf("%w: %d bytes waiting, limit %d", ErrQueueFull, n, c.s.cfg.SendQueueBytes)
	}
	c.qBytes += size
	c.pushLocked(pkts...)
	c.kickLocked()
	c.mu.Unlock()
	return nil
}

// closeWith ends the session once: it stops the heartbeat, closes or
// flushes the transport, unregisters the session and calls OnClose (in
// its own goroutine, after any running handler call).
func (c *conn) closeWith(reason string, flush bool, code uint16, text string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.flush = flush
	c.closeCode, c.closeText = code, text
	if c.timer != nil {
		c.timer.Stop()
	}
	var toClose net.Conn
	keep := false
	if c.ws {
		if !flush {
			c.dropQueueLocked()
			toClose = c.nc
		}
		// The writer writes what is left and the close frame, then closes;
		// a write already blocked on a stalled client gets a short deadline.
		if flush && c.writing {
			_ = c.nc.SetWriteDeadline(time.Now().Add(finalWriteTimeout))
		}
		if !c.writing {
			c.writing = true
			go c.wsWriter()
		}
	} else {
		if !flush {
			c.dropQueueLocked()
		}
		c.pushLocked(pktClose)
		c.kickLocked()
		toClose = c.probeNC
		// Keep the session for the next GET to collect the queue and the
		// close packet (like the reference), but not for ever.
		keep = flush && !c.getActive
	}
	c.mu.Unlock()
	if toClose != nil {
		toClose.Close()
	}
	s := c.s
	if keep {
		time.AfterFunc(pollCloseTimeout, func() { s.remove(c) })
	} else {
		s.remove(c)
	}
	if c.addr != "" {
		s.limiter.release(c.addr)
	}
	s.open.Add(-1)
	s.closedN.Add(1)
	switch reason {
	case ReasonSlowClient:
		s.slow.Add(1)
	case ReasonPayloadTooBig:
		s.tooBig.Add(1)
		s.closeLog.Log(slog.LevelWarn, "engineio: connection closed: payload above MaxPayload",
			"sid", c.id, "max_payload", s.cfg.MaxPayload, "detail", text)
	case ReasonParseError:
		s.protoErr.Add(1)
		s.closeLog.Log(slog.LevelWarn, "engineio: connection closed: not Engine.IO or RFC 6455",
			"sid", c.id, "detail", text)
	}
	s.log.Debug("engineio: connection closed", "sid", c.id, "reason", reason)
	go func() {
		defer close(c.done)
		c.hmu.Lock()
		defer c.hmu.Unlock()
		s.cfg.Handler.OnClose(c.pub, reason)
	}()
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// wsWriter writes everything queued, coalescing the frames of a batch into
// one writev, until the queue is empty; on a closed connection it then
// writes the close frame and closes the socket.
func (c *conn) wsWriter() {
	for {
		c.mu.Lock()
		q := c.takeLocked()
		closed, nc := c.closed, c.nc
		if q == nil {
			if !closed {
				c.writing = false
				c.mu.Unlock()
				return
			}
			code, text, flush := c.closeCode, c.closeText, c.flush
			c.mu.Unlock()
			if !flush {
				nc.Close()
				return
			}
			_ = nc.SetWriteDeadline(time.Now().Add(finalWriteTimeout))
			_, _ = nc.Write(closeFrame(code, text))
			// Half-close and let the reader close the socket when the
			// client answers (closing with unread input would reset the
			// connection and could lose the last frames); force it later.
			if tc, ok := nc.(interface{ CloseWrite() error }); ok && tc.CloseWrite() == nil {
				time.AfterFunc(finalWriteTimeout, func() { nc.Close() })
			} else {
				nc.Close()
			}
			return
		}
		c.mu.Unlock()

		iov := iovecs.Get().(*net.Buffers)
		bufs := (*iov)[:0]
		for _, p := range q.s {
			bufs = append(bufs, p.frame())
		}
		// Setting a deadline costs a runtime timer update: refresh it only
		// when half of it is used, so every write still has at least half
		// of WriteTimeout.
		now := time.Now()
		if closed {
			_ = nc.SetWriteDeadline(now.Add(finalWriteTimeout))
		} else if now.Sub(c.deadlineAt) > c.s.cfg.WriteTimeout/2 {
			_ = nc.SetWriteDeadline(now.Add(c.s.cfg.WriteTimeout))
			c.deadlineAt = now // only the running writer uses it
		}
		b := bufs
		_, err := b.WriteTo(nc)
		putBuf(q)
		clear(bufs)
		*iov = bufs[:0]
		iovecs.Put(iov)
		if err != nil {
			reason := ReasonTransportError
			if errors.Is(err, os.ErrDeadlineExceeded) {
				reason = ReasonSlowClient
			}
			c.closeWith(reason, false, 0, "")
			nc.Close()
			c.mu.Lock()
			c.dropQueueLocked()
			c.mu.Unlock()
			return
		}
	}
}

// onTimer runs the heartbeat: it sends a ping after PingInterval and
// closes the connection when no pong came PingTimeout after it.
func (c *conn) onTimer() {
	c.mu.Lock()
	if c.closed || time.Now().Before(c.timerDue) {
		// Closed, or a stale firing that raced with a Reset.
		c.mu.Unlock()
		return
	}
	if c.awaitingPong {
		c.mu.Unlock()
		c.closeWith(ReasonPingTimeout, true, closeGoingAway, "ping timeout")
		return
	}
	c.awaitingPong = true
	c.enqueueLocked(pktPing)
	c.resetTimerLocked(c.s.cfg.PingTimeout)
	c.mu.Unlock()
}

func (c *conn) onPong() {
	c.mu.Lock()
	if c.awaitingPong && !c.closed {
		c.awaitingPong = false
		c.resetTimerLocked(c.s.cfg.PingInterval)
	}
	c.mu.Unlock()
}

// errParse is returned by onPacket for input that is not Engine.IO.
var errParse = errors.New("engineio: parse error")

// onPacket handles one text packet from the client (c.hmu held).
func (c *conn) onPacket(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty packet", errParse)
	}
	switch b[0] {
	case typeMessage:
		c.deliver(b[1:], false)
	case typePong:
		c.onPong()
	case typePing:
		// Engine.IO v4 clients do not ping; answer like the reference.
		c.mu.Lock()
		if !c.closed {
			c.enqueueLocked(controlPacket(typePong, string(b[1:])))
		}
		c.mu.Unlock()
	case typeClose:
		c.closeWith(ReasonTransportClose, true, closeNormal, "")
	case typeNoop, typeUpgrade:
	default:
		return fmt.Errorf("%w: unknown packet type %q", errParse, b[0])
	}
	return nil
}

func (c *conn) deliver(data []byte, binary bool) {
	if c.isClosed() {
		return
	}
	c.s.cfg.Handler.OnMessage(c.pub, data, binary)
}

// pollGET answers a long-polling GET with what is queued, waiting until
// something is.
func (c *conn) pollGET(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.ws {
		c.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeBadRequest, "session was upgraded to websocket")
		return
	}
	if c.getActive {
		c.mu.Unlock()
		// Like the reference: overlapping polls close the session.
		c.closeWith(ReasonTransportError, true, 0, "")
		writeError(w, http.StatusBadRequest, codeBadRequest, "overlapping GET requests")
		return
	}
	c.getActive = true
	if c.pollWake == nil {
		c.pollWake = make(chan struct{}, 1)
	}
	wake := c.pollWake
	// While an upgrade is probed, a poll must not wait: the client pauses
	// polling (it waits for its GET to return) before it sends "5".
	for c.queuedLocked() == 0 && !c.closed && !c.ws && !c.probed {
		c.mu.Unlock()
		select {
		case <-wake:
		case <-r.Context().Done():
			c.mu.Lock()
			c.getActive = false
			c.mu.Unlock()
			c.closeWith(ReasonTransportError, false, 0, "")
			return
		}
		c.mu.Lock()
	}
	var q *pktBuf
	switch {
	case c.ws, c.probed && !c.closed && c.queuedLocked() == 0:
		q = &pktBuf{s: []*Packet{pktNoop}}
	default:
		if q = c.takeLocked(); q == nil { // closed, close packet already taken
			q = &pktBuf{s: []*Packet{pktClose}}
		}
	}
	c.getActive = false
	closed := c.closed
	c.mu.Unlock()
	if closed {
		c.s.remove(c)
	}
	writePayload(w, q.s)
	putBuf(q)
}

// pollPOST takes the packets of a polling POST.
func (c *conn) pollPOST(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.ws {
		c.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeBadRequest, "session was upgraded to websocket")
		return
	}
	if c.closed {
		c.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeUnknownSID, "")
		return
	}
	if c.postActive {
		c.mu.Unlock()
		c.closeWith(ReasonTransportError, true, 0, "")
		writeError(w, http.StatusBadRequest, codeBadRequest, "overlapping POST requests")
		return
	}
	c.postActive = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.postActive = false
		c.mu.Unlock()
	}()
	body, err := readBody(r, c.s.cfg.MaxPayload)
	if errors.Is(err, errTooBig) {
		c.closeWith(ReasonPayloadTooBig, true, 0, "")
		writeError(w, http.StatusRequestEntityTooLarge, codeBadRequest,
			fmt.Sprintf("payload above the %d byte limit", c.s.cfg.MaxPayload))
		return
	}
	if err != nil {
		c.closeWith(ReasonTransportError, false, 0, "")
		writeError(w, http.StatusBadRequest, codeBadRequest, "reading the body failed")
		return
	}
	c.hmu.Lock()
	err = c.onPayload(body)
	c.hmu.Unlock()
	if err != nil {
		c.s.log.Debug("engineio: bad polling payload", "sid", c.id, "err", err)
		c.closeWith(ReasonParseError, true, 0, "")
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", "2")
	_, _ = w.Write([]byte("ok"))
}

// onPayload handles the packets of a polling payload (c.hmu held). When
// the body holds several packets each message gets its own copy, so that
// what the handler keeps of one packet does not pin the whole body.
func (c *conn) onPayload(body []byte) error {
	several := bytes.IndexByte(body, 0x1e) >= 0
	for len(body) > 0 {
		var p []byte
		if i := bytes.IndexByte(body, 0x1e); i >= 0 {
			p, body = body[:i:i], body[i+1:]
		} else {
			p, body = body, nil
		}
		if several && len(p) > 0 && p[0] == typeMessage {
			p = bytes.Clone(p)
		}
		if len(p) > 0 && p[0] == 'b' {
			data := make([]byte, base64.StdEncoding.DecodedLen(len(p)-1))
			n, err := base64.StdEncoding.Decode(data, p[1:])
			if err != nil {
				return fmt.Errorf("%w: bad base64 in binary packet: %w", errParse, err)
			}
			c.deliver(data[:n:n], true)
			continue
		}
		if err := c.onPacket(p); err != nil {
			return err
		}
	}
	return nil
}

// upgrade runs the polling-to-websocket upgrade on r, then serves the
// websocket.
func (c *conn) upgrade(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.ws || c.upgrading || c.closed {
		c.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeBadRequest, "session is not upgradable")
		return
	}
	c.upgrading = true
	c.mu.Unlock()
	nc, pre, err := hijackWebsocket(w, r)
	if err != nil {
		c.mu.Lock()
		c.upgrading = false
		c.mu.Unlock()
		return
	}
	fail := func(why string) {
		c.s.log.Debug("engineio: upgrade failed", "sid", c.id, "why", why)
		// The session is back to plain polling before the client hears
		// of the failure, so that it may try again at once.
		c.mu.Lock()
		c.upgrading = false
		c.probeNC = nil
		c.probed = false
		c.mu.Unlock()
		_ = nc.SetWriteDeadline(time.Now().Add(finalWriteTimeout))
		_, _ = nc.Write(closeFrame(closePolicy, why))
		nc.Close()
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		nc.Close()
		return
	}
	c.probeNC = nc
	c.mu.Unlock()
	_ = nc.SetReadDeadline(time.Now().Add(c.s.cfg.UpgradeTimeout))
	rd := newWSReader(nc, pre, c.s.cfg.MaxPayload)
	f, err := rd.next()
	if err != nil || f.op != opText || string(f.payload) != "2probe" {
		fail("expected the 2probe packet")
		return
	}
	_ = nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	if _, err := nc.Write(appendFrame(nil, opText, nil, []byte("3probe"))); err != nil {
		fail("writing 3probe failed")
		return
	}
	// Release a waiting GET, and answer later ones at once, so the client
	// can pause polling whenever its GET is sent.
	c.mu.Lock()
	c.probed = true
	if c.pollWake != nil {
		select {
		case c.pollWake <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	for {
		f, err = rd.next()
		if err != nil {
			fail("expected the upgrade packet")
			return
		}
		if f.op == opText && string(f.payload) == "5" {
			break
		}
		if f.op == opPing || f.op == opPong || (f.op == opText && string(f.payload) == "2probe") {
			continue
		}
		fail("expected the upgrade packet")
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		nc.Close()
		return
	}
	c.ws = true
	c.nc = nc
	c.upgrading = false
	c.probeNC = nil
	c.probed = false
	// Drop noops meant for the polling transport.
	if c.q != nil {
		q := c.q.s[:0]
		for _, p := range c.q.s {
			if p != pktNoop {
				q = append(q, p)
			}
		}
		clear(c.q.s[len(q):])
		c.q.s = q
	}
	if c.pollWake != nil {
		select {
		case c.pollWake <- struct{}{}:
		default:
		}
	}
	if c.queuedLocked() > 0 {
		c.kickLocked()
	}
	c.mu.Unlock()
	c.s.upgraded.Add(1)
	_ = nc.SetReadDeadline(time.Time{})
	go c.readLoop(rd)
}

// readLoop reads the websocket until it ends. Once the session is closed
// it reads on only for the client's close frame, dropping data unread.
func (c *conn) readLoop(rd *wsReader) {
	for {
		rd.discard = rd.discard || c.isClosed()
		f, err := rd.next()
		if (err != nil || f.op == opClose) && c.isClosed() {
			// We closed first: this is the end of the close handshake.
			rd.nc.Close()
			return
		}
		if err != nil {
			var we *wsError
			if errors.As(err, &we) {
				c.closeWith(we.reason, true, we.code, we.msg)
			} else {
				c.closeWith(ReasonTransportClose, false, 0, "")
			}
			return
		}
		switch f.op {
		case opText:
			c.hmu.Lock()
			err := c.onPacket(f.payload)
			c.hmu.Unlock()
			if err != nil {
				c.closeWith(ReasonParseError, true, closeInvalidData, err.Error())
				return
			}
		case opBinary:
			c.hmu.Lock()
			c.deliver(f.payload, true)
			c.hmu.Unlock()
		case opPing:
			c.mu.Lock()
			if !c.closed {
				c.enqueueLocked(&Packet{rawFrame: appendFrame(nil, opPong, nil, f.payload)})
			}
			c.mu.Unlock()
		case opPong:
		case opClose:
			code, werr := parseClose(f.payload)
			if werr != nil {
				c.closeWith(werr.reason, true, werr.code, werr.msg)
				return
			}
			c.closeWith(ReasonTransportClose, true, code, "")
			return
		}
	}
}

// parseClose checks a client's close frame payload (RFC 6455 5.5.1: empty,
// or a 2-byte status code and a UTF-8 reason) and returns the code to
// echo: 1000 for an empty payload. A 1-byte payload or a code a client
// may not send is a protocol error (1002); a reason that is not UTF-8 is
// invalid data (1007, RFC 6455 8.1).
func parseClose(p []byte) (uint16, *wsError) {
	switch {
	case len(p) == 0:
		return closeNormal, nil
	case len(p) == 1:
		return 0, &wsError{closeProtocolError, ReasonParseError, "close frame with a 1-byte payload"}
	}
	code := binary.BigEndian.Uint16(p)
	if !validCloseCode(code) {
		return 0, &wsError{closeProtocolError, ReasonParseError, fmt.Sprintf("invalid close code %d", code)}
	}
	if !utf8.Valid(p[2:]) {
		return 0, &wsError{closeInvalidData, ReasonParseError, "close reason is not valid UTF-8"}
	}
	return code, nil
}

// validCloseCode reports whether a client may send code (RFC 6455 7.4).
func validCloseCode(code uint16) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code < 1000 || code > 1014:
		return false
	case code == 1004 || code == 1005 || code == 1006:
		return false
	}
	return true
}

// resetTimerLocked schedules the heartbeat's next action in d (c.mu held).
func (c *conn) resetTimerLocked(d time.Duration) {
	c.timerDue = time.Now().Add(d)
	c.timer.Reset(d)
}
