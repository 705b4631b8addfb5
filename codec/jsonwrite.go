package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// bytesPolicy says what the value writer does with a []byte.
type bytesPolicy int

const (
	// bytesAttach replaces it by a placeholder and records an attachment.
	bytesAttach bytesPolicy = iota
	// bytesLegacy refuses it: servers before 5.14 read no attachments.
	bytesLegacy
	// bytesCallback refuses it: python-socketio publishes a callback's
	// arguments with json.dumps, which cannot carry bytes.
	bytesCallback
)

// kv is one map member waiting to be written in key order.
type kv struct {
	k string
	v any
}

// encState is the scratch space of one Encode call. It is pooled so that
// encoding allocates nothing in the steady state.
type encState struct {
	dialect Dialect
	bytes   bytesPolicy

	atts        [][]byte // attachments, in placeholder order
	placeholder bool     // a map that looks like a placeholder was written

	kvs  []kv     // stack of map members being sorted and written
	strs []string // stack of map[string]string keys

	buf bytes.Buffer  // output of enc
	enc *json.Encoder // the encoding/json fallback, writing to buf
}

var encStatePool = sync.Pool{New: func() any {
	st := new(encState)
	st.enc = json.NewEncoder(&st.buf)
	st.enc.SetEscapeHTML(false)
	return st
}}

func getEncState(d Dialect) *encState {
	st := encStatePool.Get().(*encState)
	st.dialect = d
	st.bytes = bytesAttach
	if d == Legacy {
		st.bytes = bytesLegacy
	}
	return st
}

// Scratch larger than these limits is dropped rather than kept in the pool,
// so that one huge message does not pin its memory for the process lifetime.
const (
	maxPooledItems  = 4096
	maxPooledBuffer = 64 << 10
)

func putEncState(st *encState) {
	// Do not keep the caller's values reachable. The stacks are already
	// empty unless a json.Marshaler panicked half-way.
	clear(st.atts)
	st.atts = st.atts[:0]
	clear(st.kvs)
	st.kvs = st.kvs[:0]
	clear(st.strs)
	st.strs = st.strs[:0]
	st.placeholder = false
	if cap(st.atts) > maxPooledItems {
		st.atts = nil
	}
	if cap(st.kvs) > maxPooledItems {
		st.kvs = nil
	}
	if cap(st.strs) > maxPooledItems {
		st.strs = nil
	}
	if st.buf.Cap() > maxPooledBuffer {
		st.buf = bytes.Buffer{} // enc keeps pointing at st.buf
	}
	encStatePool.Put(st)
}

// data writes Message.Data in the shape st.dialect requires.
func (st *encState) data(b []byte, d any) ([]byte, error) {
	if st.dialect == Current {
		switch x := d.(type) {
		case nil:
			return append(b, "[]"...), nil
		case Args:
			return st.list(b, x, 0)
		default:
			b = append(b, '[')
			b, err := st.value(b, d, 0)
			if err != nil {
				return b, withSeg(err, "[0]")
			}
			return append(b, ']'), nil
		}
	}
	// V514 and Legacy: the raw single argument.
	if args, ok := d.(Args); ok {
		switch len(args) {
		case 0:
			return append(b, "null"...), nil
		case 1:
			d = args[0]
		default:
			return b, fmt.Errorf("%w: data: %d arguments: several arguments need python-socketio >= 5.15.1; use dialect current",
				ErrDialect, len(args))
		}
	}
	if d == nil {
		return append(b, "null"...), nil
	}
	b, err := st.value(b, d, 0)
	if err != nil {
		return b, withSeg(err, "[0]")
	}
	return b, nil
}

// value writes one JSON value. depth counts the maps and lists around v
// inside its argument.
func (st *encState) value(b []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case uintptr:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case float64:
		return appendFloat(b, x, 64)
	case float32:
		return appendFloat(b, float64(x), 32)
	case json.Number:
		if x == "" { // as encoding/json does
			return append(b, '0'), nil
		}
		if !validNumber(string(x)) {
			return b, &valueError{kind: ErrUnsupportedValue, detail: fmt.Sprintf("json.Number %q is not a JSON number", string(x))}
		}
		return append(b, x...), nil
	case []byte:
		return st.attachment(b, x)
	case map[string]any:
		return st.object(b, x, depth+1)
	case []any:
		return st.list(b, x, depth+1)
	case Args:
		return st.list(b, x, depth+1)
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']'), nil
	case map[string]string:
		return st.stringMap(b, x), nil
	default:
		return st.fallback(b, v)
	}
}

// list writes a JSON list. The list of arguments itself is written at
// depth 0, so that only the nesting inside an argument counts.
func (st *encState) list(b []byte, l []any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, errTooDeep()
	}
	b = append(b, '[')
	for i, v := range l {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = st.value(b, v, depth); err != nil {
			return b, withSeg(err, "["+strconv.Itoa(i)+"]")
		}
	}
	return append(b, ']'), nil
}

func cmpKV(a, b kv) int { return strings.Compare(a.k, b.k) }

// object writes a map with its keys sorted, so that equal maps encode to
// equal bytes.
func (st *encState) object(b []byte, m map[string]any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, errTooDeep()
	}
	if len(m) == 0 {
		return append(b, "{}"...), nil
	}
	start := len(st.kvs)
	for k, v := range m {
		st.kvs = append(st.kvs, kv{k, v})
	}
	// Nested maps push above this segment; if that reallocates st.kvs,
	// pairs keeps reading the old array, whose contents do not change.
	pairs := st.kvs[start:]
	slices.SortFunc(pairs, cmpKV)
	var (
		placeholder, num bool
		err              error
	)
	b = append(b, '{')
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, p.k)
		b = append(b, ':')
		switch p.k {
		case "_placeholder":
			placeholder = truthy(p.v)
		case "num":
			num = true
		}
		if b, err = st.value(b, p.v, depth); err != nil {
			err = withSeg(err, "["+strconv.Quote(p.k)+"]")
			break
		}
	}
	clear(st.kvs[start:])
	st.kvs = st.kvs[:start]
	if err != nil {
		return b, err
	}
	if placeholder && num {
		st.placeholder = true
	}
	return append(b, '}'), nil
}

func (st *encState) stringMap(b []byte, m map[string]string) []byte {
	if len(m) == 0 {
		return append(b, "{}"...)
	}
	start := len(st.strs)
	for k := range m {
		st.strs = append(st.strs, k)
	}
	keys := st.strs[start:]
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	clear(keys)
	st.strs = st.strs[:start]
	return append(b, '}')
}

// attachment writes the placeholder for a []byte and records the bytes.
func (st *encState) attachment(b []byte, p []byte) ([]byte, error) {
	switch st.bytes {
	case bytesLegacy:
		return b, &valueError{kind: ErrDialect,
			detail: "bytes need python-socketio >= 5.14.2 (dialect v5.14 or current); encode them as a base64 string"}
	case bytesCallback:
		return b, &valueError{kind: ErrUnsupportedValue,
			detail: "bytes cannot travel in a callback's arguments (python-socketio publishes them as plain JSON)"}
	}
	b = append(b, `{"_placeholder":true,"num":`...)
	b = strconv.AppendInt(b, int64(len(st.atts)), 10)
	st.atts = append(st.atts, p)
	return append(b, '}'), nil
}

// fallback writes v with encoding/json, through the pooled encoder so that
// no buffer is allocated per call.
func (st *encState) fallback(b []byte, v any) ([]byte, error) {
	st.buf.Reset()
	if err := st.enc.Encode(v); err != nil {
		return b, &valueError{kind: ErrUnsupportedValue, detail: fmt.Sprintf("value of type %T", v), cause: err}
	}
	out := st.buf.Bytes()
	if n := len(out); n > 0 && out[n-1] == '\n' {
		out = out[:n-1]
	}
	return append(b, out...), nil
}

// truthy reports whether python would find the JSON form of v true. Values
// written through encoding/json are assumed true, which errs on the side of
// refusing an ambiguous message.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		return !numberIsZero(string(x))
	case int:
		return x != 0
	case int8:
		return x != 0
	case int16:
		return x != 0
	case int32:
		return x != 0
	case int64:
		return x != 0
	case uint:
		return x != 0
	case uint8:
		return x != 0
	case uint16:
		return x != 0
	case uint32:
		return x != 0
	case uint64:
		return x != 0
	case uintptr:
		return x != 0
	case float64:
		return x != 0
	case float32:
		return x != 0
	case map[string]any:
		return len(x) > 0
	case []any:
		return len(x) > 0
	case Args:
		return len(x) > 0
	case []string:
		return len(x) > 0
	case map[string]string:
		return len(x) > 0
	}
	return true // []byte becomes a placeholder dict; other types are unknown
}

// numberIsZero reports whether a JSON number's value is zero: no digit of
// its mantissa is non-zero. An empty number is zero, as encoding/json
// writes it as 0.
func numberIsZero(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'e' || c == 'E':
			return true
		case c >= '1' && c <= '9':
			return false
		}
	}
	return true
}

// appendFloat writes f the way encoding/json and JavaScript do: plain
// decimal notation for magnitudes in [1e-6, 1e21), exponent notation with
// a short exponent outside it. NaN and infinities are refused.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, &valueError{kind: ErrUnsupportedValue,
			detail: strconv.FormatFloat(f, 'g', -1, bits) + " is not a JSON number"}
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		if bits == 32 {
			a = float64(float32(a))
		}
		if a < 1e-6 || a >= 1e21 {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// strconv writes at least two exponent digits (1e-07); JSON
		// writers conventionally use as few as possible (1e-7).
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// validNumber reports whether s is a number by JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s string) bool {
	i, n := 0, len(s)
	if i < n && s[i] == '-' {
		i++
	}
	switch {
	case i < n && s[i] == '0':
		i++
	case i < n && s[i] >= '1' && s[i] <= '9':
		for i < n && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < n && s[i] == '.' {
		i++
		if i == n || !isDigit(s[i]) {
			return false
		}
		for i < n && isDigit(s[i]) {
			i++
		}
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == n || !isDigit(s[i]) {
			return false
		}
		for i < n && isDigit(s[i]) {
			i++
		}
	}
	return i == n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

const hexDigits = "0123456789abcdef"

// plainASCII[c] is true for the bytes a JSON string holds unescaped that
// are also single-byte UTF-8: printable ASCII other than '"' and '\\'.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString writes s as a JSON string. Invalid UTF-8 bytes become
// U+FFFD, as in encoding/json; U+2028 and U+2029 are escaped so that the
// output is also valid JavaScript; <, > and & are written as they are.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	i := 0
	for i < len(s) && plainASCII[s[i]] {
		i++
	}
	if i == len(s) { // the common case: nothing to escape
		b = append(b, s...)
		return append(b, '"')
	}
	return appendStringSlow(b, s, i)
}

// appendStringSlow finishes appendString from s[i], the first byte that
// is not plain ASCII.
func appendStringSlow(b []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// valueError reports a value that cannot be encoded, with the path to it.
type valueError struct {
	kind   error    // ErrUnsupportedValue or ErrDialect
	root   string   // "data" or "args"
	segs   []string // path segments, innermost first
	detail string
	cause  error // the encoding/json error, if any
}

// maxPathSegments bounds how much of a path an error message shows; the
// path of a cycle is a thousand segments long.
const maxPathSegments = 24

func (e *valueError) path() string {
	var sb strings.Builder
	sb.WriteString(e.root)
	n := len(e.segs)
	half := maxPathSegments / 2
	for i := n - 1; i >= 0; i-- {
		if n > maxPathSegments && i == n-1-half {
			fmt.Fprintf(&sb, "...(%d more)...", n-maxPathSegments)
			i = half - 1
		}
		sb.WriteString(e.segs[i])
	}
	return sb.String()
}

func (e *valueError) Error() string {
	msg := e.kind.Error() + ": " + e.path() + ": " + e.detail
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *valueError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

func errTooDeep() error {
	return &valueError{kind: ErrUnsupportedValue,
		detail: fmt.Sprintf("maps and lists nest deeper than %d levels (a cycle?)", maxDepth)}
}

// atRoot names the start of a valueError's path: "data" for an emit's
// arguments, "args" for a callback's.
func atRoot(err error, root string) error {
	if ve, ok := err.(*valueError); ok {
		ve.root = root
	}
	return err
}

// withSeg prepends a path segment to a valueError on its way out.
func withSeg(err error, seg string) error {
	if ve, ok := err.(*valueError); ok {
		ve.segs = append(ve.segs, seg)
	}
	return err
}
