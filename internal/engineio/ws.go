package engineio

// A minimal RFC 6455 server: the opening handshake, frame reading (masking,
// fragmentation, control frames, size limit, UTF-8 check) and frame
// building. Server frames are never masked and never compressed (no
// extension is negotiated), so a frame can be built once and written to
// every connection.

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"
)

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close status codes (RFC 6455 section 7.4.1).
const (
	closeNormal        = 1000
	closeGoingAway     = 1001
	closeProtocolError = 1002
	closeInvalidData   = 1007
	closePolicy        = 1008
	closeTooBig        = 1009
)

// wsError is a protocol violation by the client: the connection is closed
// with code and the Engine.IO reason.
type wsError struct {
	code   uint16
	reason string // Engine.IO close reason
	msg    string
}

func (e *wsError) Error() string { return "engineio: websocket: " + e.msg }

// appendFrame appends one unmasked final frame holding prefix+payload.
func appendFrame(dst []byte, op byte, prefix, payload []byte) []byte {
	n := len(prefix) + len(payload)
	if dst == nil {
		dst = make([]byte, 0, n+10)
	}
	switch {
	case n < 126:
		dst = append(dst, 0x80|op, byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|op, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|op, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, prefix...)
	return append(dst, payload...)
}

// closeFrame builds a close frame with a status code and a short text.
func closeFrame(code uint16, text string) []byte {
	if len(text) > 123 {
		text = text[:123]
		for !utf8.ValidString(text) { // do not cut a character in two
			text = text[:len(text)-1]
		}
	}
	p := binary.BigEndian.AppendUint16(nil, code)
	return appendFrame(nil, opClose, p, []byte(text))
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func wsAccept(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(wsGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// checkUpgrade tells whether r is a valid websocket opening handshake.
func checkUpgrade(r *http.Request) error {
	switch {
	case r.Method != http.MethodGet:
		return errors.New("websocket handshake must be GET")
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return errors.New(`missing "Connection: Upgrade"`)
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return errors.New(`missing "Upgrade: websocket"`)
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return errors.New("unsupported Sec-WebSocket-Version (want 13)")
	}
	k, err := base64.StdEncoding.DecodeString(r.Header.Get("Sec-WebSocket-Key"))
	if err != nil || len(k) != 16 {
		return errors.New("bad Sec-WebSocket-Key")
	}
	return nil
}

// hijackWebsocket completes the handshake checked by checkUpgrade and
// returns the raw connection and any bytes the client sent after its
// request (already read by the HTTP server).
func hijackWebsocket(w http.ResponseWriter, r *http.Request) (net.Conn, []byte, error) {
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijacked (HTTP/2, a wrapping ResponseWriter): still ours to answer.
		writeError(w, http.StatusBadRequest, codeBadRequest, "websocket needs an HTTP/1.1 connection that can be taken over")
		return nil, nil, fmt.Errorf("engineio: websocket hijack: %w", err)
	}
	// Take what the HTTP server's reader holds, then drop it so an idle
	// connection does not keep its 4 KB buffers.
	var pre []byte
	if n := brw.Reader.Buffered(); n > 0 {
		pre = make([]byte, n)
		_, _ = io.ReadFull(brw.Reader, pre)
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	b.WriteString(wsAccept(r.Header.Get("Sec-WebSocket-Key")))
	b.WriteString("\r\n\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("engineio: websocket handshake write: %w", err)
	}
	return nc, pre, nil
}

// wsReader reads client frames with a small buffer; payloads larger than
// the buffer are read straight into their own slice.
type wsReader struct {
	nc         net.Conn
	src        io.Reader // nc, or another reader in tests
	buf        [128]byte
	r, w       int
	maxPayload int
	pending    []byte // bytes read by the HTTP server before the hijack
	msg        []byte // message being assembled from fragments
	msgOp      byte
	inMsg      bool
	// discard: data frames are read through the small buffer and dropped,
	// never allocated (the session is closed; only its close frame matters).
	discard bool
}

func newWSReader(nc net.Conn, pre []byte, maxPayload int) *wsReader {
	rd := &wsReader{nc: nc, src: nc, maxPayload: maxPayload}
	rd.pending = pre
	return rd
}

// readFull fills p from the buffer, the pending bytes and the connection.
func (rd *wsReader) readFull(p []byte) error {
	for len(p) > 0 {
		if len(rd.pending) > 0 {
			n := copy(p, rd.pending)
			rd.pending = rd.pending[n:]
			p = p[n:]
			continue
		}
		if rd.r < rd.w {
			n := copy(p, rd.buf[rd.r:rd.w])
			rd.r += n
			p = p[n:]
			continue
		}
		if len(p) >= len(rd.buf) {
			n, err := io.ReadFull(rd.src, p)
			if err != nil {
				return err
			}
			p = p[n:]
			continue
		}
		n, err := rd.src.Read(rd.buf[:])
		if n == 0 && err != nil {
			return err
		}
		rd.r, rd.w = 0, n
	}
	return nil
}

// skip reads and drops n bytes: what is buffered, then through a pooled
// scratch buffer.
func (rd *wsReader) skip(n uint64) error {
	for n > 0 && len(rd.pending) > 0 {
		k := min(n, uint64(len(rd.pending)))
		rd.pending, n = rd.pending[k:], n-k
	}
	if k := min(n, uint64(rd.w-rd.r)); k > 0 {
		rd.r, n = rd.r+int(k), n-k
	}
	if n == 0 {
		return nil
	}
	bp := skipBufs.Get().(*[]byte)
	defer skipBufs.Put(bp)
	for n > 0 {
		m, err := rd.src.Read((*bp)[:min(n, uint64(len(*bp)))])
		n -= uint64(m)
		if err != nil && n > 0 {
			return err
		}
	}
	return nil
}

// skipBufs are the scratch buffers of wsReader.skip.
var skipBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// frame is one read frame.
type frame struct {
	op      byte
	payload []byte
}

// next returns the next complete message (text or binary) or control
// frame. Fragmented messages are reassembled; control frames may arrive
// between fragments and are returned on their own.
func (rd *wsReader) next() (frame, error) {
	for {
		var h [8]byte
		if err := rd.readFull(h[:2]); err != nil {
			return frame{}, err
		}
		fin := h[0]&0x80 != 0
		if h[0]&0x70 != 0 {
			return frame{}, &wsError{closeProtocolError, ReasonParseError, "reserved bits set (no extension was negotiated)"}
		}
		op := h[0] & 0x0F
		if h[1]&0x80 == 0 {
			return frame{}, &wsError{closeProtocolError, ReasonParseError, "client frame not masked"}
		}
		n := uint64(h[1] & 0x7F)
		switch n {
		case 126:
			if err := rd.readFull(h[:2]); err != nil {
				return frame{}, err
			}
			n = uint64(binary.BigEndian.Uint16(h[:2]))
		case 127:
			if err := rd.readFull(h[:8]); err != nil {
				return frame{}, err
			}
			n = binary.BigEndian.Uint64(h[:8])
		}
		var key [4]byte
		if err := rd.readFull(key[:]); err != nil {
			return frame{}, err
		}
		control := op >= 0x8
		if control {
			if op != opClose && op != opPing && op != opPong {
				return frame{}, &wsError{closeProtocolError, ReasonParseError, fmt.Sprintf("unknown opcode %d", op)}
			}
			if !fin || n > 125 {
				return frame{}, &wsError{closeProtocolError, ReasonParseError, "fragmented or oversized control frame"}
			}
		} else {
			switch op {
			case opContinuation:
				if !rd.inMsg {
					return frame{}, &wsError{closeProtocolError, ReasonParseError, "continuation frame without a message"}
				}
			case opText, opBinary:
				if rd.inMsg {
					return frame{}, &wsError{closeProtocolError, ReasonParseError, "new message inside a fragmented one"}
				}
			default:
				return frame{}, &wsError{closeProtocolError, ReasonParseError, fmt.Sprintf("unknown opcode %d", op)}
			}
			if n > uint64(rd.maxPayload) || uint64(len(rd.msg))+n > uint64(rd.maxPayload) {
				return frame{}, &wsError{closeTooBig, ReasonPayloadTooBig, fmt.Sprintf("message above the %d byte limit", rd.maxPayload)}
			}
		}
		if !control && rd.discard {
			if err := rd.skip(n); err != nil {
				return frame{}, err
			}
			rd.msg, rd.inMsg = nil, false
			continue
		}
		var payload []byte
		if control {
			payload = make([]byte, n)
			if err := rd.readFull(payload); err != nil {
				return frame{}, err
			}
			unmask(payload, key, 0)
			return frame{op: op, payload: payload}, nil
		}
		start := len(rd.msg)
		if rd.msg == nil && fin {
			rd.msg = make([]byte, n)
		} else {
			rd.msg = append(rd.msg, make([]byte, n)...)
		}
		if err := rd.readFull(rd.msg[start:]); err != nil {
			return frame{}, err
		}
		unmask(rd.msg[start:], key, 0)
		if op != opContinuation {
			rd.msgOp = op
			rd.inMsg = true
		}
		if !fin {
			continue
		}
		f := frame{op: rd.msgOp, payload: rd.msg}
		rd.msg, rd.inMsg = nil, false
		if f.op == opText && !utf8.Valid(f.payload) {
			return frame{}, &wsError{closeInvalidData, ReasonParseError, "text frame is not valid UTF-8"}
		}
		return f, nil
	}
}

func unmask(b []byte, key [4]byte, pos int) {
	// Word at a time for long payloads.
	if len(b) >= 16 {
		k := uint64(key[pos&3]) | uint64(key[(pos+1)&3])<<8 | uint64(key[(pos+2)&3])<<16 | uint64(key[(pos+3)&3])<<24
		k |= k << 32
		for len(b) >= 8 {
			v := binary.LittleEndian.Uint64(b)
			binary.LittleEndian.PutUint64(b, v^k)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
}
