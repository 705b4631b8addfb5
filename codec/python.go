package codec

import (
	"encoding/base64"
	"fmt"
	"strconv"
)

// DefaultMaxMessageSize is the largest input Python.Decode accepts when
// PythonConfig.MaxMessageSize is not set: 16 MiB.
const DefaultMaxMessageSize = 16 << 20

// maxDepth bounds how deeply maps and lists may nest inside one argument,
// when encoding and when decoding, so that a cycle or a hostile message
// cannot exhaust the stack.
const maxDepth = 1000

// PythonConfig configures a Python codec.
type PythonConfig struct {
	// Dialect selects the format Encode writes, by the python-socketio
	// version of the servers that read it. The zero value is Current.
	// Decode reads every dialect; the only decoding rule that depends on
	// it is how a JSON message carrying a "binary" key is read (see Decode).
	Dialect Dialect
	// MaxMessageSize is the largest input, in bytes, that Decode accepts;
	// larger input is refused with ErrMalformed. Zero or negative means
	// DefaultMaxMessageSize (16 MiB).
	MaxMessageSize int
}

// Python encodes and decodes python-socketio's pub/sub messages: JSON in the
// three dialects described by Dialect, and, for decoding only, the pickles
// that python-socketio before 5.14 publishes.
//
// A Python is immutable and safe for concurrent use.
type Python struct {
	dialect Dialect
	maxSize int
}

var _ Codec = (*Python)(nil)

// NewPython returns a codec configured by cfg.
func NewPython(cfg PythonConfig) *Python {
	maxSize := cfg.MaxMessageSize
	if maxSize <= 0 {
		maxSize = DefaultMaxMessageSize
	}
	return &Python{dialect: cfg.Dialect, maxSize: maxSize}
}

// Dialect returns the dialect Encode writes.
func (p *Python) Dialect() Dialect { return p.dialect }

// Encode appends the JSON encoding of m in the configured dialect to dst.
//
// The envelope's keys come in the order python-socketio writes them. Data is
// written as the dialect requires (see Dialect and docs/codec.md): in Current
// it is always the argument list, in V514 and Legacy it is the single raw
// argument or null. []byte values found directly in the arguments or inside
// map[string]any, []any and Args travel as base64 attachments with
// "binary": true in Current and V514; Legacy refuses them. A non-zero Seq
// is written last, as "sockgate_seq". map[string]any
// keys are written sorted. Values of other types are written by
// encoding/json.
//
// Errors wrap ErrInvalidMessage (an incomplete message), ErrDialect (the
// dialect cannot express the message) or ErrUnsupportedValue (a value JSON
// cannot carry; the error names its path, such as data[0]["pct"], where
// data[i] is the i-th argument). On error Encode returns dst with its
// original length and nothing must be published.
func (p *Python) Encode(dst []byte, m *Message) ([]byte, error) {
	if m == nil {
		return dst, fmt.Errorf("%w: nil message", ErrInvalidMessage)
	}
	if p.dialect != Current && p.dialect != V514 && p.dialect != Legacy {
		return dst, fmt.Errorf("%w: unknown dialect %v", ErrDialect, p.dialect)
	}
	n := len(dst)
	var (
		out []byte
		err error
	)
	switch m.Method {
	case MethodEmit:
		out, err = p.encodeEmit(dst, m)
	case MethodDisconnect:
		out, err = encodeDisconnect(dst, m)
	case MethodEnterRoom, MethodLeaveRoom:
		out, err = encodeRoomOp(dst, m)
	case MethodCloseRoom:
		out, err = encodeCloseRoom(dst, m)
	case MethodCallback:
		out, err = encodeCallback(dst, m)
	case "":
		err = fmt.Errorf("%w: method: empty", ErrInvalidMessage)
	default:
		err = fmt.Errorf("%w: method: %w %q", ErrInvalidMessage, ErrUnknownMethod, string(m.Method))
	}
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

// An emit's Event may be empty: python-socketio servers deliver such an
// event (the gateways refuse one from their callers).
func (p *Python) encodeEmit(b []byte, m *Message) ([]byte, error) {
	if m.Callback != nil && m.Callback.SID == "" {
		return b, fmt.Errorf("%w: callback: empty sid", ErrInvalidMessage)
	}
	if p.dialect == Legacy && m.Rooms != nil && len(m.Rooms) != 1 {
		return b, fmt.Errorf("%w: room: a list of %d rooms needs python-socketio >= 5.14 "+
			"(5.7.2's asyncio server fails on a room list); emit once per room or use a newer dialect",
			ErrDialect, len(m.Rooms))
	}

	st := getEncState(p.dialect)
	defer putEncState(st)

	b = append(b, `{"method":"emit","event":`...)
	b = appendString(b, m.Event)
	b = append(b, `,"data":`...)
	dataStart := len(b)
	b, err := st.data(b, m.Data)
	if err != nil {
		return b, atRoot(err, "data")
	}
	binary := len(st.atts) > 0
	if binary {
		if st.placeholder {
			return b, fmt.Errorf("%w: data: a map with a truthy \"_placeholder\" key and a \"num\" key "+
				"cannot travel beside bytes: receivers would take it for a binary placeholder", ErrUnsupportedValue)
		}
		b = wrapAttachments(b, dataStart, st.atts)
	}
	if p.dialect != Legacy {
		if binary {
			b = append(b, `,"binary":true`...)
		} else {
			b = append(b, `,"binary":false`...)
		}
	}
	b = append(b, `,"namespace":`...)
	b = appendNamespace(b, m.Namespace)
	b = append(b, `,"room":`...)
	b = appendTargets(b, m.Rooms, true)
	b = append(b, `,"skip_sid":`...)
	b = appendTargets(b, m.Skip, false)
	b = append(b, `,"callback":`...)
	if c := m.Callback; c != nil {
		b = append(b, '[')
		b = appendString(b, c.SID)
		b = append(b, ',')
		b = appendNamespace(b, c.Namespace)
		b = append(b, ',')
		b = strconv.AppendInt(b, c.ID, 10)
		b = append(b, ']')
	} else {
		b = append(b, "null"...)
	}
	b = appendHostID(b, m.HostID)
	b = appendSeq(b, m.Seq)
	return append(b, '}'), nil
}

// wrapAttachments turns the deconstructed data written at b[start:] into
// [data, "<base64 attachment 0>", ...], the shape python-socketio gives a
// message whose "binary" flag is true.
func wrapAttachments(b []byte, start int, atts [][]byte) []byte {
	b = append(b, 0)
	copy(b[start+1:], b[start:len(b)-1])
	b[start] = '['
	for _, a := range atts {
		b = append(b, ',', '"')
		b = base64.StdEncoding.AppendEncode(b, a)
		b = append(b, '"')
	}
	return append(b, ']')
}

// appendTail ends the object of a message addressed to a namespace: its
// namespace, host_id and sockgate_seq fields and the closing brace.
func appendTail(b []byte, m *Message) []byte {
	b = append(b, `,"namespace":`...)
	b = appendNamespace(b, m.Namespace)
	b = appendHostID(b, m.HostID)
	b = appendSeq(b, m.Seq)
	return append(b, '}')
}

func encodeDisconnect(b []byte, m *Message) ([]byte, error) {
	if m.SID == "" {
		return b, fmt.Errorf("%w: sid: empty (disconnect needs the client's sid)", ErrInvalidMessage)
	}
	b = append(b, `{"method":"disconnect","sid":`...)
	b = appendString(b, m.SID)
	return appendTail(b, m), nil
}

func encodeRoomOp(b []byte, m *Message) ([]byte, error) {
	if m.SID == "" {
		return b, fmt.Errorf("%w: sid: empty (%s needs the client's sid)", ErrInvalidMessage, m.Method)
	}
	if len(m.Rooms) != 1 {
		return b, fmt.Errorf("%w: room: %s needs exactly one room, got %d", ErrInvalidMessage, m.Method, len(m.Rooms))
	}
	b = append(b, `{"method":"`...)
	b = append(b, m.Method...)
	b = append(b, `","sid":`...)
	b = appendString(b, m.SID)
	b = append(b, `,"room":`...)
	b = appendString(b, m.Rooms[0])
	return appendTail(b, m), nil
}

func encodeCloseRoom(b []byte, m *Message) ([]byte, error) {
	if len(m.Rooms) != 1 {
		return b, fmt.Errorf("%w: room: close_room needs exactly one room, got %d", ErrInvalidMessage, len(m.Rooms))
	}
	b = append(b, `{"method":"close_room","room":`...)
	b = appendString(b, m.Rooms[0])
	return appendTail(b, m), nil
}

func encodeCallback(b []byte, m *Message) ([]byte, error) {
	if m.HostID == "" {
		return b, fmt.Errorf("%w: host_id: empty (a callback is addressed to the host that asked for it)", ErrInvalidMessage)
	}
	if m.SID == "" {
		return b, fmt.Errorf("%w: sid: empty (callback needs the client's sid)", ErrInvalidMessage)
	}
	b = append(b, `{"method":"callback","host_id":`...)
	b = appendString(b, m.HostID)
	b = append(b, `,"sid":`...)
	b = appendString(b, m.SID)
	b = append(b, `,"namespace":`...)
	b = appendNamespace(b, m.Namespace)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, m.CallbackID, 10)
	b = append(b, `,"args":`...)
	st := getEncState(Current)
	defer putEncState(st)
	st.bytes = bytesCallback
	b, err := st.list(b, m.Arguments(), 0)
	if err != nil {
		return b, atRoot(err, "args")
	}
	b = appendSeq(b, m.Seq)
	return append(b, '}'), nil
}

func appendNamespace(b []byte, ns string) []byte {
	if ns == "" {
		return append(b, `"/"`...)
	}
	return appendString(b, ns)
}

// appendTargets writes a room or skip_sid value: null, one string, or a
// list. An empty non-nil room list addresses no client and is kept as [];
// an empty skip list skips nobody and is written as null.
func appendTargets(b []byte, ids []string, keepEmpty bool) []byte {
	switch {
	case ids == nil || (len(ids) == 0 && !keepEmpty):
		return append(b, "null"...)
	case len(ids) == 1:
		return appendString(b, ids[0])
	}
	b = append(b, '[')
	for i, s := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendHostID writes the host_id member; an empty HostID is omitted, as in
// the messages python-socketio 5.7.2 writes for close_room.
func appendHostID(b []byte, id string) []byte {
	if id == "" {
		return b
	}
	b = append(b, `,"host_id":`...)
	return appendString(b, id)
}

// seqKey is the envelope key of Message.Seq, which python-socketio ignores.
const seqKey = "sockgate_seq"

// appendSeq writes the sockgate_seq member; a zero Seq is omitted, so a
// message without one is written as python-socketio writes it.
func appendSeq(b []byte, seq uint64) []byte {
	if seq == 0 {
		return b
	}
	b = append(b, `,"`+seqKey+`":`...)
	return strconv.AppendUint(b, seq, 10)
}
