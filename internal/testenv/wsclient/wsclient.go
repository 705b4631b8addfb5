// Package wsclient is the client side of RFC 6455 framing that the attack
// tests (test/attack) and the benchmark load clients (bench/fanoutbench,
// bench/clusterbench) share: reading whole messages from a server and
// building masked client frames, with no allocation per message beyond the
// caller's buffer.
package wsclient

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Opcodes.
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// ErrFrame reports a frame a server must not send (masked, unknown
// opcode, too large).
var ErrFrame = errors.New("wsclient: bad frame")

// ErrClosed is returned when the server sent a close frame.
var ErrClosed = errors.New("wsclient: close frame received")

// ReadMessage reads one whole data message (joining continuation frames)
// into buf[:0] and returns it; it is valid until buf is reused. Pings are
// answered through pong (nil: ignored); pongs are skipped. Frames above
// maxFrame bytes are refused.
func ReadMessage(r io.Reader, buf []byte, maxFrame uint64, pong func(payload []byte) error) ([]byte, error) {
	buf = buf[:0]
	for {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		if h[1]&0x80 != 0 {
			return nil, fmt.Errorf("%w: masked frame from the server", ErrFrame)
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(r, e[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(r, e[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(e[:])
		}
		if n > maxFrame {
			return nil, fmt.Errorf("%w: %d-byte frame", ErrFrame, n)
		}
		if op >= OpClose { // control frame
			p := make([]byte, n)
			if _, err := io.ReadFull(r, p); err != nil {
				return nil, err
			}
			switch op {
			case OpClose:
				return nil, fmt.Errorf("%w: %x", ErrClosed, p)
			case OpPing:
				if pong != nil {
					if err := pong(p); err != nil {
						return nil, err
					}
				}
			case OpPong:
			default:
				return nil, fmt.Errorf("%w: opcode %d", ErrFrame, op)
			}
			continue
		}
		if op > OpBinary {
			return nil, fmt.Errorf("%w: opcode %d", ErrFrame, op)
		}
		off := len(buf)
		if cap(buf)-off < int(n) {
			nb := make([]byte, off, off+int(n)+256)
			copy(nb, buf)
			buf = nb
		}
		buf = buf[:off+int(n)]
		if _, err := io.ReadFull(r, buf[off:]); err != nil {
			return nil, err
		}
		if fin {
			return buf, nil
		}
	}
}

// AppendFrame appends one final, masked client frame (clients must mask)
// with opcode op and payload p to dst.
func AppendFrame(dst []byte, op byte, p []byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(p); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	dst = append(dst, mask[:]...)
	for i, b := range p {
		dst = append(dst, b^mask[i&3])
	}
	return dst
}

// ScanInt returns the integer after key (e.g. `"i":`) in a JSON text, any
// spacing around the colon; the load clients read their counters this way
// without decoding JSON.
func ScanInt(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	i += len(key)
	for i < len(b) && (b[i] == ' ' || b[i] == ':') {
		i++
	}
	var v int64
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	return v, i > start
}

// ErrHandshake reports a failed websocket opening handshake.
var ErrHandshake = errors.New("wsclient: handshake failed")

// Upgrade performs the opening handshake for path on conn (host is the
// Host header) and returns a reader of bufSize over r, the source of
// conn's bytes (conn itself, or a wrapper of it), positioned after the
// server's response. It checks the 101 status and Sec-WebSocket-Accept.
func Upgrade(conn io.Writer, r io.Reader, host, path string, bufSize int) (*bufio.Reader, error) {
	var key [16]byte
	_, _ = rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + k +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, bufSize)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("%w: status %s", ErrHandshake, resp.Status)
	}
	h := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(h[:]); got != want {
		return nil, fmt.Errorf("%w: Sec-WebSocket-Accept %q, want %q", ErrHandshake, got, want)
	}
	return br, nil
}
