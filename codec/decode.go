package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/sockgate/sockgate/internal/pickle"
)

// Decode parses one message published by python-socketio (any version from
// 5.0) or by a Python codec.
//
// Input whose first non-whitespace byte is '{' is read as JSON, anything
// else as a pickle; input larger than MaxMessageSize is refused first. The
// envelope is validated strictly and errors name the offending field.
// Numbers stay exact as json.Number.
//
// How an emit's "data" is read:
//   - JSON with a "binary" key (python-socketio >= 5.14.2 wrote it): unless
//     the codec's dialect is V514, data is the argument list (>= 5.15.1):
//     [] and [null] mean no argument, [x] one argument, longer lists several
//     (Args). With "binary": true it is [arguments, base64...] and the
//     placeholders in the arguments are replaced by the attachments' bytes.
//     With dialect V514 data is the raw single argument (with the same
//     attachment scheme when "binary" is true).
//   - JSON without a "binary" key (before 5.14.2): data is the raw single
//     argument; a JSON list is one list argument; null means no argument.
//   - pickle (before 5.14): data is raw; a tuple means several arguments
//     (Args), None no argument. Tuples nested in values become []any.
//
// As python-socketio servers do, Decode accepts an emit with an empty event
// name, and what python's json.loads accepts beyond JSON: the number
// literals NaN, Infinity and -Infinity, which json.dumps writes for
// non-finite floats. These, and non-finite floats in a pickle, become null
// (what JavaScript's JSON.stringify writes for them), wherever they are;
// Message.NonFinite counts them. A "sockgate_seq" key that holds a positive
// integer becomes Message.Seq; any other value of it is ignored, as
// python-socketio ignores the key.
//
// Errors wrap ErrMalformed, or ErrUnsafe for a pickle that asks to import
// or call anything.
func (p *Python) Decode(data []byte) (*Message, error) {
	if len(data) > p.maxSize {
		return nil, fmt.Errorf("%w: message of %d bytes exceeds the limit of %d bytes (MaxMessageSize)",
			ErrMalformed, len(data), p.maxSize)
	}
	i := 0
	for i < len(data) && isJSONSpace(data[i]) {
		i++
	}
	if i == len(data) {
		return nil, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	if data[i] == '{' {
		return p.decodeJSON(data)
	}
	return p.decodePickle(data)
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *Python) decodeJSON(data []byte) (*Message, error) {
	data, nonFinite := nonFiniteToNull(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var env map[string]any
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("%w: invalid JSON: %w", ErrMalformed, err)
	}
	for _, c := range data[dec.InputOffset():] {
		if !isJSONSpace(c) {
			return nil, fmt.Errorf("%w: data after the JSON object at offset %d", ErrMalformed, dec.InputOffset())
		}
	}
	m, err := p.fromEnvelope(env, false)
	if err != nil {
		return nil, err
	}
	m.NonFinite = nonFinite
	return m, nil
}

// The literals python's json.dumps writes for non-finite floats.
var nonFiniteLiterals = [...]string{"-Infinity", "Infinity", "NaN"}

// nonFiniteToNull returns data with every NaN, Infinity and -Infinity
// literal outside strings replaced by null, and how many it replaced.
// Input without them is returned as it is, without a copy. Replacing a
// literal where no value may stand (a key) leaves invalid JSON, which
// json then refuses.
func nonFiniteToNull(data []byte) ([]byte, int) {
	if bytes.IndexByte(data, 'N') < 0 && bytes.IndexByte(data, 'I') < 0 {
		return data, 0
	}
	var out []byte // nil until the first replacement
	n, copied := 0, 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++ // the escaped byte cannot end the string
			case '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		if c != '-' && c != 'I' && c != 'N' {
			continue
		}
		for _, lit := range nonFiniteLiterals {
			if bytes.HasPrefix(data[i:], []byte(lit)) {
				out = append(append(out, data[copied:i]...), "null"...)
				i += len(lit) - 1
				copied = i + 1
				n++
				break
			}
		}
	}
	if n == 0 {
		return data, 0
	}
	return append(out, data[copied:]...), n
}

func (p *Python) decodePickle(data []byte) (*Message, error) {
	v, err := pickle.Decode(data)
	if err != nil {
		if errors.Is(err, pickle.ErrUnsafe) {
			return nil, fmt.Errorf("%w: %w", ErrUnsafe, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	env, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the pickle holds %s, not a dict", ErrMalformed, typeName(v))
	}
	m, err := p.fromEnvelope(env, true)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// fromEnvelope validates a decoded envelope and builds its Message.
func (p *Python) fromEnvelope(env map[string]any, fromPickle bool) (*Message, error) {
	methodV, ok := env["method"]
	if !ok {
		return nil, malformed("method", "missing")
	}
	method, ok := methodV.(string)
	if !ok {
		return nil, malformed("method", "want a string, got %s", typeName(methodV))
	}
	m := &Message{Method: Method(method), Seq: seq(env)}
	var err error
	if m.HostID, _, err = optString(env, "host_id"); err != nil {
		return nil, err
	}
	if m.Namespace, err = namespace(env, "namespace"); err != nil {
		return nil, err
	}
	switch m.Method {
	case MethodEmit:
		err = p.emitFields(m, env, fromPickle)
	case MethodDisconnect:
		m.SID, err = sid(env)
	case MethodEnterRoom, MethodLeaveRoom:
		if m.SID, err = sid(env); err == nil {
			m.Rooms, err = singleRoom(env)
		}
	case MethodCloseRoom:
		m.Rooms, err = singleRoom(env)
	case MethodCallback:
		err = callbackFields(m, env, fromPickle)
	default:
		return nil, fmt.Errorf("%w: method: %w %q", ErrMalformed, ErrUnknownMethod, method)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (p *Python) emitFields(m *Message, env map[string]any, fromPickle bool) error {
	event, present, err := optString(env, "event")
	switch {
	case err != nil:
		return err
	case !present:
		return malformed("event", "missing")
	}
	m.Event = event
	if m.Rooms, err = targets(env, "room", true); err != nil {
		return err
	}
	if m.Skip, err = targets(env, "skip_sid", false); err != nil {
		return err
	}
	if m.Callback, err = emitCallback(env); err != nil {
		return err
	}
	data, ok := env["data"]
	if !ok {
		return malformed("data", "missing")
	}
	if fromPickle {
		// Before 5.14: raw data, a tuple is several arguments.
		w := &walker{pickle: true, nonFinite: &m.NonFinite}
		if t, ok := data.(pickle.Tuple); ok {
			if err := walkArgs(t, w); err != nil {
				return err
			}
			m.Data = Args(t)
			return nil
		}
		m.Data, err = w.arg(data)
		return err
	}
	binV, hasBinary := env["binary"]
	if !hasBinary {
		// Before 5.14.2: raw data, no attachments.
		m.Data, err = (&walker{}).arg(data)
		return err
	}
	binary, ok := binV.(bool)
	if !ok {
		return malformed("binary", "want true or false, got %s", typeName(binV))
	}
	w := &walker{}
	if binary {
		if data, err = w.attachments(data); err != nil {
			return err
		}
	}
	if p.dialect == V514 {
		m.Data, err = w.arg(data)
		return err
	}
	list, ok := data.([]any)
	if !ok {
		return malformed("data", "want the list of arguments (python-socketio >= 5.15.1), got %s; "+
			"a sender on 5.14.2 to 5.15.0 needs a codec with dialect v5.14", typeName(data))
	}
	if err := walkArgs(list, w); err != nil {
		return err
	}
	switch len(list) {
	case 0:
		m.Data = nil
	case 1:
		m.Data = list[0] // [null] is no argument, as python-socketio reads it
	default:
		m.Data = Args(list)
	}
	return nil
}

func callbackFields(m *Message, env map[string]any, fromPickle bool) error {
	if m.HostID == "" {
		return malformed("host_id", "missing or empty (a callback is addressed to a host)")
	}
	var err error
	if m.SID, err = sid(env); err != nil {
		return err
	}
	idV, ok := env["id"]
	if !ok {
		return malformed("id", "missing")
	}
	if m.CallbackID, err = integer(idV); err != nil {
		return malformed("id", "%v", err)
	}
	argsV, ok := env["args"]
	if !ok || argsV == nil {
		return nil
	}
	list, ok := asList(argsV)
	if !ok {
		return malformed("args", "want a list, got %s", typeName(argsV))
	}
	if err := walkArgs(list, &walker{pickle: fromPickle, field: "args", nonFinite: &m.NonFinite}); err != nil {
		return err
	}
	m.Data = Args(list)
	return nil
}

// walker validates decoded argument values: it bounds their nesting,
// replaces binary placeholders by their attachments, and turns pickle
// tuples into lists.
type walker struct {
	pickle bool     // values come from a pickle: tuples and bytes may occur
	binary bool     // placeholders are to be replaced by atts
	atts   [][]byte // the attachments of a binary message
	field  string   // the envelope field being read, for errors; "" = data

	nonFinite *int // counts the pickle's non-finite floats made null; may be nil
}

func (w *walker) errorf(format string, args ...any) error {
	field := w.field
	if field == "" {
		field = "data"
	}
	return malformed(field, format, args...)
}

// walkArgs validates each value of an argument list in place.
func walkArgs(list []any, w *walker) error {
	for i, v := range list {
		nv, err := w.value(v, 0)
		if err != nil {
			return err
		}
		list[i] = nv
	}
	return nil
}

// arg validates one raw argument; null means no argument.
func (w *walker) arg(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	return w.value(v, 0)
}

// attachments takes apart the data of a message whose "binary" flag is
// true, [deconstructed, base64...], and returns the deconstructed part,
// ready for the walk that replaces its placeholders.
func (w *walker) attachments(data any) (any, error) {
	list, ok := data.([]any)
	if !ok || len(list) == 0 {
		return nil, w.errorf("with \"binary\": true, want [data, attachments...], got %s", typeName(data))
	}
	w.binary = true
	w.atts = make([][]byte, len(list)-1)
	for i, a := range list[1:] {
		s, ok := a.(string)
		if !ok {
			return nil, w.errorf("attachment %d: want a base64 string, got %s", i, typeName(a))
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, w.errorf("attachment %d: invalid base64: %v", i, err)
		}
		w.atts[i] = b
	}
	return list[0], nil
}

func (w *walker) value(v any, depth int) (any, error) {
	switch x := v.(type) {
	case nil, string, bool:
		return v, nil
	case json.Number:
		if !w.pickle {
			return v, nil
		}
		switch x {
		case pickle.NaN, pickle.PosInfinity, pickle.NegInfinity:
			if w.nonFinite != nil {
				*w.nonFinite++
			}
			return nil, nil
		}
		if !validNumber(string(x)) {
			return nil, w.errorf("number %q cannot be written as JSON", string(x))
		}
		return v, nil
	case []byte:
		if !w.pickle {
			break
		}
		return v, nil
	case map[string]any:
		if depth++; depth > maxDepth {
			return nil, w.errorf("maps and lists nest deeper than %d levels", maxDepth)
		}
		if w.binary {
			if p, ok, err := w.placeholder(x); ok || err != nil {
				return p, err
			}
		}
		for k, e := range x {
			ne, err := w.value(e, depth)
			if err != nil {
				return nil, err
			}
			if w.replaces(e) {
				x[k] = ne
			}
		}
		return x, nil
	case pickle.Tuple:
		if !w.pickle {
			break
		}
		return w.value([]any(x), depth)
	case []any:
		if depth++; depth > maxDepth {
			return nil, w.errorf("maps and lists nest deeper than %d levels", maxDepth)
		}
		for i, e := range x {
			ne, err := w.value(e, depth)
			if err != nil {
				return nil, err
			}
			x[i] = ne
		}
		return x, nil
	}
	return nil, w.errorf("unsupported value of type %T", v)
}

// replaces reports whether value may return something other than v itself:
// a placeholder's bytes, a tuple's list or the null of a pickle's
// non-finite float. Other values are kept, so maps need not be written
// back.
func (w *walker) replaces(v any) bool {
	switch v.(type) {
	case pickle.Tuple:
		return true
	case json.Number:
		return w.pickle
	case map[string]any:
		return w.binary
	}
	return false
}

// placeholder resolves m if python-socketio would take it for a binary
// placeholder: a truthy "_placeholder" and a "num".
func (w *walker) placeholder(m map[string]any) ([]byte, bool, error) {
	flag, ok := m["_placeholder"]
	if !ok || !truthy(flag) {
		return nil, false, nil
	}
	numV, ok := m["num"]
	if !ok {
		return nil, false, nil
	}
	num, err := integer(numV)
	if err != nil {
		return nil, true, w.errorf("placeholder num: %v", err)
	}
	if num < 0 || num >= int64(len(w.atts)) {
		return nil, true, w.errorf("placeholder num %d out of range (%d attachments)", num, len(w.atts))
	}
	return w.atts[num], true, nil
}

func malformed(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, field, fmt.Sprintf(format, args...))
}

// optString reads an optional string field.
func optString(env map[string]any, key string) (s string, present bool, err error) {
	v, ok := env[key]
	if !ok {
		return "", false, nil
	}
	s, ok = v.(string)
	if !ok {
		return "", true, malformed(key, "want a string, got %s", typeName(v))
	}
	return s, true, nil
}

// seq reads the optional sockgate_seq key: a positive integer, else 0.
func seq(env map[string]any) uint64 {
	n, ok := env[seqKey].(json.Number)
	if !ok {
		return 0
	}
	v, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// namespace reads a namespace; absent, null and "" all mean "/".
func namespace(env map[string]any, key string) (string, error) {
	v := env[key]
	if v == nil {
		return "/", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", malformed(key, "want a string or null, got %s", typeName(v))
	}
	if s == "" {
		return "/", nil
	}
	return s, nil
}

func sid(env map[string]any) (string, error) {
	s, present, err := optString(env, "sid")
	switch {
	case err != nil:
		return "", err
	case !present:
		return "", malformed("sid", "missing")
	case s == "":
		return "", malformed("sid", "empty")
	}
	return s, nil
}

// singleRoom reads the room of a room operation: one string.
func singleRoom(env map[string]any) ([]string, error) {
	s, present, err := optString(env, "room")
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, malformed("room", "missing")
	}
	return []string{s}, nil
}

// targets reads room or skip_sid: null, a string or a list of strings. An
// empty room list addresses nobody and is kept; an empty skip list is nil.
func targets(env map[string]any, key string, keepEmpty bool) ([]string, error) {
	v := env[key]
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	}
	list, ok := asList(v)
	if !ok {
		return nil, malformed(key, "want a string, a list of strings or null, got %s", typeName(v))
	}
	if len(list) == 0 && !keepEmpty {
		return nil, nil
	}
	out := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, malformed(key, "item %d: want a string, got %s", i, typeName(e))
		}
		out[i] = s
	}
	return out, nil
}

// emitCallback reads an emit's callback: null or [sid, namespace, id].
func emitCallback(env map[string]any) (*Callback, error) {
	v := env["callback"]
	if v == nil {
		return nil, nil
	}
	list, ok := asList(v)
	if !ok || len(list) != 3 {
		return nil, malformed("callback", "want null or [sid, namespace, id], got %s", typeName(v))
	}
	sid, ok := list[0].(string)
	if !ok || sid == "" {
		return nil, malformed("callback", "sid: want a non-empty string, got %s", typeName(list[0]))
	}
	c := &Callback{SID: sid, Namespace: "/"}
	switch ns := list[1].(type) {
	case nil:
	case string:
		if ns != "" {
			c.Namespace = ns
		}
	default:
		return nil, malformed("callback", "namespace: want a string, got %s", typeName(ns))
	}
	id, err := integer(list[2])
	if err != nil {
		return nil, malformed("callback", "id: %v", err)
	}
	c.ID = id
	return c, nil
}

// integer reads a JSON or pickle number that must be an int64.
func integer(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("want an integer, got %s", typeName(v))
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %s", string(n))
	}
	return i, nil
}

// asList returns the items of a JSON list or a pickle list or tuple.
func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case pickle.Tuple:
		return x, true
	}
	return nil, false
}

// typeName names the kind of a decoded value in JSON's (or Python's) terms.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case pickle.Tuple:
		return "a tuple"
	case map[string]any:
		return "an object"
	case []byte:
		return "bytes"
	}
	return fmt.Sprintf("%T", v)
}
