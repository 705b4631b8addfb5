package socketio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/sockgate/sockgate/internal/protocol"
)

// Socket.IO v5 packet types.
const (
	typeConnect      byte = '0'
	typeDisconnect   byte = '1'
	typeEvent        byte = '2'
	typeAck          byte = '3'
	typeConnectError byte = '4'
	typeBinaryEvent  byte = '5'
	typeBinaryAck    byte = '6'
)

// maxAttachments bounds the attachments one client packet may announce.
const maxAttachments = 1000

// noAck marks a packet without an ack id.
const noAck = ^uint64(0)

// packet is a decoded Socket.IO packet received from a client.
type packet struct {
	typ         byte
	nsp         string
	id          uint64 // noAck when absent
	attachments int
	payload     []byte // the JSON after the header; nil when absent
}

// decodePacket parses the text form of a Socket.IO packet:
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// It checks the header and that the payload is one valid JSON value, and
// per type what the payload must be. It does not keep data beyond the
// returned packet's payload slice (which aliases data).
func decodePacket(data []byte) (packet, error) {
	p := packet{nsp: "/", id: noAck}
	if len(data) == 0 {
		return p, fmt.Errorf("%w: empty packet", ErrMalformed)
	}
	p.typ = data[0]
	if p.typ < typeConnect || p.typ > typeBinaryAck {
		return p, fmt.Errorf("%w: unknown packet type %q", ErrMalformed, data[0])
	}
	i := 1
	if p.typ == typeBinaryEvent || p.typ == typeBinaryAck {
		j := i
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		if j == i || j >= len(data) || data[j] != '-' || j-i > 4 {
			return p, fmt.Errorf("%w: binary packet without a valid attachment count", ErrMalformed)
		}
		n, _ := strconv.Atoi(string(data[i:j]))
		if n < 1 || n > maxAttachments {
			return p, fmt.Errorf("%w: attachment count %d outside 1..%d", ErrMalformed, n, maxAttachments)
		}
		p.attachments = n
		i = j + 1
	}
	if i < len(data) && data[i] == '/' {
		j := bytes.IndexByte(data[i:], ',')
		if j < 0 {
			p.nsp = string(data[i:])
			i = len(data)
		} else {
			p.nsp = string(data[i : i+j])
			i += j + 1
		}
	}
	if i < len(data) && data[i] >= '0' && data[i] <= '9' {
		j := i
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		id, err := strconv.ParseUint(string(data[i:j]), 10, 64)
		if err != nil || id == noAck {
			return p, fmt.Errorf("%w: ack id %q out of range", ErrMalformed, data[i:j])
		}
		p.id = id
		i = j
	}
	if i < len(data) {
		p.payload = data[i:]
		if !json.Valid(p.payload) {
			return p, fmt.Errorf("%w: payload is not valid JSON", ErrMalformed)
		}
	}
	first := firstByte(p.payload)
	switch p.typ {
	case typeConnect:
		if p.payload != nil && first != '{' {
			return p, fmt.Errorf("%w: CONNECT payload must be an object", ErrMalformed)
		}
		if p.id != noAck {
			return p, fmt.Errorf("%w: CONNECT with an ack id", ErrMalformed)
		}
	case typeDisconnect:
		if p.payload != nil || p.id != noAck {
			return p, fmt.Errorf("%w: DISCONNECT with a payload or ack id", ErrMalformed)
		}
	case typeConnectError:
		return p, fmt.Errorf("%w: CONNECT_ERROR is a server-to-client packet", ErrMalformed)
	case typeEvent, typeBinaryEvent:
		if first != '[' {
			return p, fmt.Errorf("%w: EVENT payload must be an array", ErrMalformed)
		}
	case typeAck, typeBinaryAck:
		if first != '[' {
			return p, fmt.Errorf("%w: ACK payload must be an array", ErrMalformed)
		}
		if p.id == noAck {
			return p, fmt.Errorf("%w: ACK without an ack id", ErrMalformed)
		}
	}
	return p, nil
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return c
		}
	}
	return 0
}

// splitArray splits a JSON array, already validated (decodePacket checks
// json.Valid), into its elements without copying them: the elements alias
// payload, so an event holds its bytes once (the bound of
// Config.EventQueueBytes counts them once).
func splitArray(payload []byte) ([]json.RawMessage, error) {
	b := trimJSONSpace(payload)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, fmt.Errorf("%w: payload is not an array", ErrMalformed)
	}
	inner := b[1 : len(b)-1]
	elems := make([]json.RawMessage, 0, 4)
	depth, start, inStr, esc := 0, 0, false, false
	for i, c := range inner {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 0 {
				elems = append(elems, json.RawMessage(trimJSONSpace(inner[start:i:i])))
				start = i + 1
			}
		}
	}
	if last := trimJSONSpace(inner[start:]); len(last) > 0 || len(elems) > 0 {
		elems = append(elems, json.RawMessage(last))
	}
	for _, e := range elems {
		if len(e) == 0 { // only invalid JSON gets here ("[1,]")
			return nil, fmt.Errorf("%w: empty array element", ErrMalformed)
		}
	}
	return elems, nil
}

// trimJSONSpace trims JSON's whitespace (space, tab, CR, LF) around b.
func trimJSONSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// eventName returns the event name of an EVENT payload's first element: a
// JSON string (or, as socket.io allows, a number) that is not reserved.
func eventName(first json.RawMessage) (string, error) {
	switch firstByte(first) {
	case '"':
		var name string
		if err := json.Unmarshal(first, &name); err != nil {
			return "", fmt.Errorf("%w: event name: %w", ErrMalformed, err)
		}
		if protocol.Reserved(name) {
			return "", fmt.Errorf("%w: reserved event name %q", ErrMalformed, name)
		}
		return name, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(bytes.TrimSpace(first)), nil
	}
	return "", fmt.Errorf("%w: event name must be a string", ErrMalformed)
}

// appendHeader appends a packet header: type, attachment count, namespace
// and ack id.
func appendHeader(b []byte, typ byte, attachments int, nsp string, id uint64) []byte {
	b = append(b, typ)
	if attachments > 0 {
		b = strconv.AppendInt(b, int64(attachments), 10)
		b = append(b, '-')
	}
	if nsp != "/" && nsp != "" {
		b = append(b, nsp...)
		b = append(b, ',')
	}
	if id != noAck {
		b = strconv.AppendUint(b, id, 10)
	}
	return b
}

// appendJSONString appends s as a JSON string. Printable ASCII takes a fast
// path; anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
