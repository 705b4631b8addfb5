package socketio

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// maxDepth bounds how deep an argument may nest; deeper values are taken
// for cycles.
const maxDepth = 1000

// placeholder is what a binary attachment becomes inside the JSON.
type placeholder struct {
	Placeholder bool `json:"_placeholder"`
	Num         int  `json:"num"`
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeArgs appends "[" prefix..., args... "]" to b, replacing []byte
// values at any depth with placeholders collected in atts. prefix, when
// non-empty, is the event name. Any value that cannot be JSON (NaN, Inf,
// channels, functions, cycles) yields an error naming the argument.
func encodeArgs(b []byte, name string, hasName bool, args []any) ([]byte, [][]byte, error) {
	var atts [][]byte
	b = append(b, '[')
	first := true
	if hasName {
		b = appendJSONString(b, name)
		first = false
	}
	for i, a := range args {
		if !first {
			b = append(b, ',')
		}
		first = false
		var err error
		b, err = appendArg(b, a, &atts)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: argument %d (%T): %w", ErrPayload, i, a, err)
		}
	}
	return append(b, ']'), atts, nil
}

func appendArg(b []byte, a any, atts *[][]byte) ([]byte, error) {
	switch v := a.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("unsupported number %v", v)
		}
	case []byte:
		*atts = append(*atts, v)
		return appendPlaceholder(b, len(*atts)-1), nil
	case json.RawMessage:
		if !json.Valid(v) {
			return nil, fmt.Errorf("json.RawMessage is not valid JSON")
		}
		return append(b, v...), nil
	}
	found, err := scanAny(a, 0)
	if err != nil {
		return nil, err
	}
	if found {
		a = replaceBinary(reflect.ValueOf(a), atts)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return nil, err
	}
	out := buf.Bytes()
	return append(b, out[:len(out)-1]...), nil // drop Encode's newline
}

func appendPlaceholder(b []byte, n int) []byte {
	b = append(b, `{"_placeholder":true,"num":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '}')
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	mayHoldCache      sync.Map // reflect.Type -> bool
)

// selfEncoding reports whether t encodes itself (json or text marshaler);
// such values are left to encoding/json and never searched for binary.
func selfEncoding(t reflect.Type) bool {
	if t.Implements(marshalerType) || t.Implements(textMarshalerType) {
		return true
	}
	if t.Kind() != reflect.Pointer {
		pt := reflect.PointerTo(t)
		return pt.Implements(marshalerType) || pt.Implements(textMarshalerType)
	}
	return false
}

// mayHoldBinary reports whether a value of type t can contain a []byte
// that encoding/json would write (so that the value must be searched).
func mayHoldBinary(t reflect.Type) bool {
	if v, ok := mayHoldCache.Load(t); ok {
		return v.(bool)
	}
	r := mayHold(t, map[reflect.Type]bool{})
	mayHoldCache.Store(t, r)
	return r
}

func mayHold(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // recursive type: answered by the outer call
	}
	seen[t] = true
	if selfEncoding(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return true
		}
		return mayHold(t.Elem(), seen)
	case reflect.Array, reflect.Pointer, reflect.Map:
		return mayHold(t.Elem(), seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && f.Tag.Get("json") != "-" && mayHold(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

// scanAny is containsBinary with fast paths for the types JSON decodes
// into (map[string]any, []any and scalars), which need no reflection.
func scanAny(a any, depth int) (bool, error) {
	if depth > maxDepth {
		return false, fmt.Errorf("value nests deeper than %d levels (a cycle?)", maxDepth)
	}
	switch v := a.(type) {
	case nil, string, bool, int, int64, json.Number, json.RawMessage:
		return false, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false, fmt.Errorf("unsupported number %v", v)
		}
		return false, nil
	case []byte:
		return true, nil
	case map[string]any:
		return scanEach(maps.Values(v), depth+1)
	case []any:
		return scanEach(slices.Values(v), depth+1)
	}
	return containsBinary(reflect.ValueOf(a), depth)
}

// scanEach is scanAny over every element of a map or slice.
func scanEach(elems iter.Seq[any], depth int) (bool, error) {
	found := false
	for e := range elems {
		f, err := scanAny(e, depth)
		if err != nil {
			return false, err
		}
		found = found || f
	}
	return found, nil
}

// containsBinary reports whether v holds a []byte anywhere that
// encoding/json would write. It fails on nesting deeper than maxDepth
// (a cycle), and on channels and functions.
func containsBinary(v reflect.Value, depth int) (bool, error) {
	if depth > maxDepth {
		return false, fmt.Errorf("value nests deeper than %d levels (a cycle?)", maxDepth)
	}
	if !v.IsValid() {
		return false, nil
	}
	t := v.Type()
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return false, fmt.Errorf("unsupported type %s", t)
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return false, fmt.Errorf("unsupported number %v", f)
		}
		return false, nil
	}
	if !mayHoldBinary(t) {
		return false, nil
	}
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return false, nil
		}
		return containsBinary(v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			return false, nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return true, nil
		}
		fallthrough
	case reflect.Array:
		found := false
		for i := 0; i < v.Len(); i++ {
			f, err := containsBinary(v.Index(i), depth+1)
			if err != nil {
				return false, err
			}
			found = found || f
		}
		return found, nil
	case reflect.Map:
		found := false
		for it := v.MapRange(); it.Next(); {
			f, err := containsBinary(it.Value(), depth+1)
			if err != nil {
				return false, err
			}
			found = found || f
		}
		return found, nil
	case reflect.Struct:
		found := false
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if (!sf.IsExported() && !sf.Anonymous) || sf.Tag.Get("json") == "-" {
				continue
			}
			f, err := containsBinary(v.Field(i), depth+1)
			if err != nil {
				return false, err
			}
			found = found || f
		}
		return found, nil
	}
	return false, nil
}

// replaceBinary returns a JSON-equivalent copy of v in which every []byte
// is a placeholder appended to atts. Structs become maps keyed by their
// JSON field names (json tags: name, "-", omitempty; embedded structs are
// flattened). Only called after containsBinary found something, so v has
// no cycles.
func replaceBinary(v reflect.Value, atts *[][]byte) any {
	if !v.IsValid() {
		return nil
	}
	t := v.Type()
	if !mayHoldBinary(t) {
		return v.Interface()
	}
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return replaceBinary(v.Elem(), atts)
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			*atts = append(*atts, v.Bytes())
			return placeholder{true, len(*atts) - 1}
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = replaceBinary(v.Index(i), atts)
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			out[mapKey(it.Key())] = replaceBinary(it.Value(), atts)
		}
		return out
	case reflect.Struct:
		out := make(map[string]any, t.NumField())
		structFields(v, out, atts)
		return out
	}
	return v.Interface()
}

func structFields(v reflect.Value, out map[string]any, atts *[][]byte) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" || (!sf.IsExported() && !sf.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv, ft = fv.Elem(), ft.Elem()
			}
			if ft.Kind() == reflect.Struct && !selfEncoding(ft) {
				structFields(fv, out, atts)
				continue
			}
			if !sf.IsExported() {
				continue
			}
		}
		if name == "" {
			name = sf.Name
		}
		if strings.Contains(","+opts+",", ",omitempty,") && isEmpty(fv) {
			continue
		}
		out[name] = replaceBinary(fv, atts)
	}
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	}
	return v.IsZero()
}

func mapKey(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return k.String()
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		if b, err := tm.MarshalText(); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(k.Interface())
}

// bindAttachments rewrites a received argument: every placeholder object
// {"_placeholder":true,"num":n} becomes the attachment n as a base64
// string, the form encoding/json decodes into a []byte. used records which
// attachments were referenced.
func bindAttachments(raw json.RawMessage, atts [][]byte, used []bool) (json.RawMessage, error) {
	if !bytes.Contains(raw, []byte(`"_placeholder"`)) {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	v, err := substitute(v, atts, used, 0)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return out, nil
}

func substitute(v any, atts [][]byte, used []bool, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: argument nests deeper than %d levels", ErrMalformed, maxDepth)
	}
	switch x := v.(type) {
	case []any:
		for i := range x {
			r, err := substitute(x[i], atts, used, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	case map[string]any:
		if n, ok := placeholderNum(x); ok {
			if n < 0 || n >= len(atts) {
				return nil, fmt.Errorf("%w: placeholder %d, only %d attachments", ErrMalformed, n, len(atts))
			}
			used[n] = true
			return base64.StdEncoding.EncodeToString(atts[n]), nil
		}
		for k, e := range x {
			r, err := substitute(e, atts, used, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	}
	return v, nil
}

func placeholderNum(m map[string]any) (int, bool) {
	if len(m) != 2 || m["_placeholder"] != true {
		return 0, false
	}
	num, ok := m["num"].(json.Number)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(num))
	if err != nil {
		return -1, true
	}
	return n, true
}

// topPlaceholder returns the attachment number when raw is exactly a
// placeholder object.
func topPlaceholder(raw json.RawMessage) (int, bool) {
	if firstByte(raw) != '{' || !bytes.Contains(raw, []byte(`"_placeholder"`)) {
		return 0, false
	}
	var p struct {
		Placeholder *bool `json:"_placeholder"`
		Num         *int  `json:"num"`
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) != 2 || json.Unmarshal(raw, &p) != nil ||
		p.Placeholder == nil || !*p.Placeholder || p.Num == nil {
		return 0, false
	}
	return *p.Num, true
}
