package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/internal/pickle"
)

var dialects = []Dialect{Current, V514, Legacy}

// dataOf returns the raw "data" member of an encoded emit and whether it
// has a "binary" member, and with which value.
func dataOf(t *testing.T, out []byte) (data string, binary *bool) {
	t.Helper()
	var env map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &env), "%s", out)
	if raw, ok := env["binary"]; ok {
		var b bool
		require.NoError(t, json.Unmarshal(raw, &b))
		binary = &b
	}
	return string(env["data"]), binary
}

func TestEncodeDataShapes(t *testing.T) {
	type want struct {
		data   string // "" = the encoding fails
		binary bool
		err    error
	}
	cases := []struct {
		name string
		data any
		args []any // what the receiver's handler gets
		want map[Dialect]want
	}{
		{"nil", nil, nil, map[Dialect]want{
			Current: {data: `[]`}, V514: {data: `null`}, Legacy: {data: `null`}}},
		{"one scalar", 5, []any{json.Number("5")}, map[Dialect]want{
			Current: {data: `[5]`}, V514: {data: `5`}, Legacy: {data: `5`}}},
		{"one list", []any{1, "x"}, []any{[]any{json.Number("1"), "x"}}, map[Dialect]want{
			Current: {data: `[[1,"x"]]`}, V514: {data: `[1,"x"]`}, Legacy: {data: `[1,"x"]`}}},
		{"one typed list", []int{1, 2}, []any{[]any{json.Number("1"), json.Number("2")}}, map[Dialect]want{
			Current: {data: `[[1,2]]`}, V514: {data: `[1,2]`}, Legacy: {data: `[1,2]`}}},
		{"Args{}", Args{}, nil, map[Dialect]want{
			Current: {data: `[]`}, V514: {data: `null`}, Legacy: {data: `null`}}},
		{"Args{x}", Args{"x"}, []any{"x"}, map[Dialect]want{
			Current: {data: `["x"]`}, V514: {data: `"x"`}, Legacy: {data: `"x"`}}},
		{"Args{list}", Args{[]any{true}}, []any{[]any{true}}, map[Dialect]want{
			Current: {data: `[[true]]`}, V514: {data: `[true]`}, Legacy: {data: `[true]`}}},
		{"Args{a,b}", Args{1, "b"}, []any{json.Number("1"), "b"}, map[Dialect]want{
			Current: {data: `[1,"b"]`}, V514: {err: ErrDialect}, Legacy: {err: ErrDialect}}},
		{"bytes top-level", []byte{0, 1, 255}, []any{[]byte{0, 1, 255}}, map[Dialect]want{
			Current: {data: `[[{"_placeholder":true,"num":0}],"AAH/"]`, binary: true},
			V514:    {data: `[{"_placeholder":true,"num":0},"AAH/"]`, binary: true},
			Legacy:  {err: ErrDialect}}},
		{"empty bytes", []byte{}, []any{[]byte{}}, map[Dialect]want{
			Current: {data: `[[{"_placeholder":true,"num":0}],""]`, binary: true},
			V514:    {data: `[{"_placeholder":true,"num":0},""]`, binary: true},
			Legacy:  {err: ErrDialect}}},
		{"bytes nested", map[string]any{"n": "f", "a": []any{[]byte("x"), map[string]any{"y": []byte("yy")}}},
			[]any{map[string]any{"n": "f", "a": []any{[]byte("x"), map[string]any{"y": []byte("yy")}}}},
			map[Dialect]want{
				Current: {data: `[[{"a":[{"_placeholder":true,"num":0},{"y":{"_placeholder":true,"num":1}}],"n":"f"}],"eA==","eXk="]`, binary: true},
				V514:    {data: `[{"a":[{"_placeholder":true,"num":0},{"y":{"_placeholder":true,"num":1}}],"n":"f"},"eA==","eXk="]`, binary: true},
				Legacy:  {err: ErrDialect}}},
		{"bytes in several args", Args{[]byte{1}, "s", Args{[]byte{2}}},
			[]any{[]byte{1}, "s", []any{[]byte{2}}}, map[Dialect]want{
				Current: {data: `[[{"_placeholder":true,"num":0},"s",[{"_placeholder":true,"num":1}]],"AQ==","Ag=="]`, binary: true},
				V514:    {err: ErrDialect}, Legacy: {err: ErrDialect}}},
		{"bytes in a struct are base64 text", struct{ B []byte }{[]byte{1}},
			[]any{map[string]any{"B": "AQ=="}}, map[Dialect]want{
				Current: {data: `[{"B":"AQ=="}]`}, V514: {data: `{"B":"AQ=="}`}, Legacy: {data: `{"B":"AQ=="}`}}},
	}
	for _, tc := range cases {
		for _, d := range dialects {
			t.Run(tc.name+"/"+d.String(), func(t *testing.T) {
				w := tc.want[d]
				c := NewPython(PythonConfig{Dialect: d})
				out, err := c.Encode(nil, &Message{Method: MethodEmit, Event: "e", Data: tc.data})
				if w.err != nil {
					require.ErrorIs(t, err, w.err)
					require.Empty(t, out)
					return
				}
				require.NoError(t, err)
				data, binary := dataOf(t, out)
				require.Equal(t, w.data, data)
				if d == Legacy {
					require.Nil(t, binary, "legacy writes no binary key")
				} else {
					require.NotNil(t, binary)
					require.Equal(t, w.binary, *binary)
				}
				back, err := c.Decode(out)
				require.NoError(t, err)
				if diff := diffValue("args", tc.args, back.Arguments()); diff != "" {
					t.Fatal(diff)
				}
			})
		}
	}
}

func TestEncodeEnvelopes(t *testing.T) {
	const host = `"host_id":"h1"}`
	cases := []struct {
		name string
		d    Dialect
		msg  Message
		want string
	}{
		{"emit full", Current, Message{Method: MethodEmit, Event: "ev", Data: "x", Namespace: "/chat",
			Rooms: []string{"r1", "r2"}, Skip: []string{"s1"}, Callback: &Callback{SID: "sid", Namespace: "/chat", ID: 12}, HostID: "h1"},
			`{"method":"emit","event":"ev","data":["x"],"binary":false,"namespace":"/chat","room":["r1","r2"],"skip_sid":"s1","callback":["sid","/chat",12],` + host},
		{"emit defaults", Current, Message{Method: MethodEmit, Event: "ev"},
			`{"method":"emit","event":"ev","data":[],"binary":false,"namespace":"/","room":null,"skip_sid":null,"callback":null}`},
		{"emit empty lists", Current, Message{Method: MethodEmit, Event: "ev", Rooms: []string{}, Skip: []string{}},
			`{"method":"emit","event":"ev","data":[],"binary":false,"namespace":"/","room":[],"skip_sid":null,"callback":null}`},
		{"emit legacy skip list", Legacy, Message{Method: MethodEmit, Event: "ev", Data: 1, Rooms: []string{"r"}, Skip: []string{"a", "b"}, Callback: &Callback{SID: "s", ID: 1}},
			`{"method":"emit","event":"ev","data":1,"namespace":"/","room":"r","skip_sid":["a","b"],"callback":["s","/",1]}`},
		{"emit v5.14", V514, Message{Method: MethodEmit, Event: "ev", Data: map[string]any{}, HostID: "h1"},
			`{"method":"emit","event":"ev","data":{},"binary":false,"namespace":"/","room":null,"skip_sid":null,"callback":null,` + host},
		{"disconnect", Current, Message{Method: MethodDisconnect, SID: "s", HostID: "h1"},
			`{"method":"disconnect","sid":"s","namespace":"/",` + host},
		{"enter_room", Legacy, Message{Method: MethodEnterRoom, SID: "s", Rooms: []string{"r"}, Namespace: "/n", HostID: "h1"},
			`{"method":"enter_room","sid":"s","room":"r","namespace":"/n",` + host},
		{"leave_room", Current, Message{Method: MethodLeaveRoom, SID: "s", Rooms: []string{"r"}, HostID: "h1"},
			`{"method":"leave_room","sid":"s","room":"r","namespace":"/",` + host},
		{"close_room", Current, Message{Method: MethodCloseRoom, Rooms: []string{"r"}},
			`{"method":"close_room","room":"r","namespace":"/"}`},
		{"callback", V514, Message{Method: MethodCallback, HostID: "h1", SID: "s", Namespace: "/", CallbackID: 7, Data: Args{1, "a"}},
			`{"method":"callback","host_id":"h1","sid":"s","namespace":"/","id":7,"args":[1,"a"]}`},
		{"callback one arg", Current, Message{Method: MethodCallback, HostID: "h1", SID: "s", CallbackID: -1, Data: "ok"},
			`{"method":"callback","host_id":"h1","sid":"s","namespace":"/","id":-1,"args":["ok"]}`},
		{"callback no args", Legacy, Message{Method: MethodCallback, HostID: "h1", SID: "s"},
			`{"method":"callback","host_id":"h1","sid":"s","namespace":"/","id":0,"args":[]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewPython(PythonConfig{Dialect: tc.d})
			out, err := c.Encode([]byte("keep:"), &tc.msg)
			require.NoError(t, err)
			require.Equal(t, "keep:"+tc.want, string(out))
			back, err := c.Decode(out[len("keep:"):])
			require.NoError(t, err)
			again, err := c.Encode(nil, back)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(again), "decoding and encoding again changes nothing")
		})
	}
}

func TestEncodeValues(t *testing.T) {
	type tagged struct {
		Name  string  `json:"name"`
		Pct   float64 `json:"pct"`
		Skip  string  `json:"-"`
		Inner *tagged `json:"inner,omitempty"`
	}
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"escapes", "a\"b\\c\n\r\t\b\f\x00\x1f<>&/\u007f", `"a\"b\\c\n\r\t\b\f\u0000\u001f<>&/` + "\u007f" + `"`},
		{"unicode", "Bảng tính 📊", `"Bảng tính 📊"`},
		{"invalid utf-8", "a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"line separators", "\u2028\u2029", `"\u2028\u2029"`},
		{"ints", []any{int8(-128), int16(-1), int32(1 << 30), int64(math.MinInt64), uint8(255), uint16(1), uint32(math.MaxUint32), uint64(math.MaxUint64), uint(3), uintptr(4)},
			`[-128,-1,1073741824,-9223372036854775808,255,1,4294967295,18446744073709551615,3,4]`},
		{"floats", []any{0.1, 1e21, 1e20, 1e-7, 1e-6, math.Copysign(0, -1), 3.5, float32(0.1), float32(1e21), 123456789.0},
			`[0.1,1e+21,100000000000000000000,1e-7,0.000001,-0,3.5,0.1,1e+21,123456789]`},
		{"json.Number verbatim", []any{json.Number("1180591620717411303424"), json.Number("1e+300"), json.Number("-0.10"), json.Number("")},
			`[1180591620717411303424,1e+300,-0.10,0]`},
		{"map sorted", map[string]any{"b": 1, "a": map[string]any{"z": nil, "y": false}, "": "empty"},
			`{"":"empty","a":{"y":false,"z":null},"b":1}`},
		{"string map and list", []any{map[string]string{"k2": "v", "k1": "<"}, []string{"x", "y"}, map[string]string{}, []string{}},
			`[{"k1":"<","k2":"v"},["x","y"],{},[]]`},
		{"struct", tagged{Name: "<a&b>", Pct: 0.5, Skip: "no", Inner: &tagged{Name: "i"}}, `{"name":"<a&b>","pct":0.5,"inner":{"name":"i","pct":0}}`},
		{"typed map", map[string]int{"b": 2, "a": 1}, `{"a":1,"b":2}`},
		{"pointer", &tagged{Name: "p"}, `{"name":"p","pct":0}`},
		{"nil pointer", (*tagged)(nil), `null`},
		{"marshaler", json.RawMessage(` {"x" : [1, 2]} `), `{"x":[1,2]}`},
		{"nested Args", []any{Args{1}, Args{}}, `[[1],[]]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := NewPython(PythonConfig{Dialect: Legacy}).Encode(nil, &Message{Method: MethodEmit, Event: "e", Data: tc.v})
			require.NoError(t, err)
			data, _ := dataOf(t, out)
			require.Equal(t, tc.want, data)
		})
	}
}

// For values without bytes the hand-written JSON writer agrees with
// encoding/json (HTML escaping off).
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	values := []any{
		"plain", "quote\" back\\ nl\n ctl\x01 del\x7f bad\xff\xfe uni é 📊 \u2028 <&>",
		0.1, 1e21, 1e-7, 5e-324, math.MaxFloat64, -1.5e-10, float32(3.4e38), float32(1e-7), 100.0,
		json.Number("12.5e-3"),
		map[string]any{"z": []any{1, 2.5, "x", nil, true}, "a": map[string]any{}, "m": []any{}},
		[]any{map[string]any{"k\"ey": "v", "é": 1}},
	}
	for i, v := range values {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(v))
		st := getEncState(Current)
		got, err := st.value(nil, v, 0)
		putEncState(st)
		require.NoError(t, err)
		require.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(got), "value %d", i)
	}
}

func TestEncodeValueErrors(t *testing.T) {
	cyclicMap := map[string]any{}
	cyclicMap["self"] = cyclicMap
	cyclicList := []any{nil}
	cyclicList[0] = cyclicList
	deep := any("leaf")
	for range maxDepth {
		deep = []any{deep}
	}
	cases := []struct {
		name string
		d    Dialect
		msg  Message
		is   error
		as   any // an error type errors.As must find, or nil
		in   []string
	}{
		{"NaN", Current, Message{Method: MethodEmit, Event: "e", Data: map[string]any{"pct": math.NaN()}},
			ErrUnsupportedValue, nil, []string{`data[0]["pct"]`, "NaN"}},
		{"Inf in second arg", Current, Message{Method: MethodEmit, Event: "e", Data: Args{1, []any{2, math.Inf(1)}}},
			ErrUnsupportedValue, nil, []string{`data[1][1]`, "+Inf"}},
		{"-Inf float32 raw", Legacy, Message{Method: MethodEmit, Event: "e", Data: float32(math.Inf(-1))},
			ErrUnsupportedValue, nil, []string{`data[0]:`, "-Inf"}},
		{"chan", Current, Message{Method: MethodEmit, Event: "e", Data: map[string]any{"c": make(chan int)}},
			ErrUnsupportedValue, new(*json.UnsupportedTypeError), []string{`data[0]["c"]`, "chan int"}},
		{"func", V514, Message{Method: MethodEmit, Event: "e", Data: []any{func() {}}},
			ErrUnsupportedValue, new(*json.UnsupportedTypeError), []string{`data[0][0]`, "func()"}},
		{"NaN in struct", Current, Message{Method: MethodEmit, Event: "e", Data: struct{ F float64 }{math.NaN()}},
			ErrUnsupportedValue, new(*json.UnsupportedValueError), []string{`data[0]`, "NaN"}},
		{"cyclic map", Current, Message{Method: MethodEmit, Event: "e", Data: cyclicMap},
			ErrUnsupportedValue, nil, []string{`data[0]["self"]["self"]`, "more)", "deeper than 1000"}},
		{"cyclic list", Current, Message{Method: MethodEmit, Event: "e", Data: cyclicList},
			ErrUnsupportedValue, nil, []string{`data[0][0][0]`, "deeper than 1000"}},
		{"too deep", Current, Message{Method: MethodEmit, Event: "e", Data: []any{deep}},
			ErrUnsupportedValue, nil, []string{"deeper than 1000"}},
		{"bad json.Number", Current, Message{Method: MethodEmit, Event: "e", Data: Args{json.Number("1.2.3")}},
			ErrUnsupportedValue, nil, []string{`data[0]`, `"1.2.3"`}},
		{"legacy bytes", Legacy, Message{Method: MethodEmit, Event: "e", Data: map[string]any{"b": []byte{1}}},
			ErrDialect, nil, []string{`data[0]["b"]`, "5.14.2"}},
		{"callback bytes", Current, Message{Method: MethodCallback, HostID: "h", SID: "s", Data: Args{"ok", []byte{1}}},
			ErrUnsupportedValue, nil, []string{`args[1]`, "bytes"}},
		{"placeholder beside bytes", Current, Message{Method: MethodEmit, Event: "e",
			Data: Args{[]byte{1}, map[string]any{"_placeholder": 1, "num": 0}}},
			ErrUnsupportedValue, nil, []string{`_placeholder`}},
		{"legacy several args", Legacy, Message{Method: MethodEmit, Event: "e", Data: Args{1, 2}},
			ErrDialect, nil, []string{"several arguments", "5.15.1"}},
		{"v5.14 several args", V514, Message{Method: MethodEmit, Event: "e", Data: Args{1, 2, 3}},
			ErrDialect, nil, []string{"3 arguments"}},
		{"legacy room list", Legacy, Message{Method: MethodEmit, Event: "e", Rooms: []string{"a", "b"}},
			ErrDialect, nil, []string{"room", "2 rooms"}},
		{"legacy empty room list", Legacy, Message{Method: MethodEmit, Event: "e", Rooms: []string{}},
			ErrDialect, nil, []string{"room"}},
		{"unknown method", Current, Message{Method: "shout"}, ErrInvalidMessage, nil, []string{`"shout"`}},
		{"no method", Current, Message{}, ErrInvalidMessage, nil, []string{"method"}},
		{"emit callback without sid", Current, Message{Method: MethodEmit, Event: "e", Callback: &Callback{}},
			ErrInvalidMessage, nil, []string{"callback"}},
		{"disconnect without sid", Current, Message{Method: MethodDisconnect}, ErrInvalidMessage, nil, []string{"sid"}},
		{"enter_room without sid", Current, Message{Method: MethodEnterRoom, Rooms: []string{"r"}}, ErrInvalidMessage, nil, []string{"sid"}},
		{"enter_room without room", Current, Message{Method: MethodEnterRoom, SID: "s"}, ErrInvalidMessage, nil, []string{"room", "got 0"}},
		{"leave_room two rooms", Current, Message{Method: MethodLeaveRoom, SID: "s", Rooms: []string{"a", "b"}},
			ErrInvalidMessage, nil, []string{"room", "got 2"}},
		{"close_room without room", Current, Message{Method: MethodCloseRoom}, ErrInvalidMessage, nil, []string{"room"}},
		{"callback without host", Current, Message{Method: MethodCallback, SID: "s"}, ErrInvalidMessage, nil, []string{"host_id"}},
		{"callback without sid", Current, Message{Method: MethodCallback, HostID: "h"}, ErrInvalidMessage, nil, []string{"sid"}},
		{"unknown dialect", Dialect(9), Message{Method: MethodEmit, Event: "e"}, ErrDialect, nil, []string{"Dialect(9)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, 6, 1<<16)
			copy(dst, "prefix")
			out, err := NewPython(PythonConfig{Dialect: tc.d}).Encode(dst, &tc.msg)
			require.ErrorIs(t, err, tc.is)
			if tc.as != nil {
				require.ErrorAs(t, err, tc.as)
			}
			for _, s := range tc.in {
				require.Contains(t, err.Error(), s)
			}
			require.Equal(t, "prefix", string(out), "dst must keep its length")
			require.Less(t, len(err.Error()), 600, "error message too long: %s", err)
		})
	}
	_, err := NewPython(PythonConfig{}).Encode(nil, nil)
	require.ErrorIs(t, err, ErrInvalidMessage)
}

func TestEncodeDepthLimitIsInclusive(t *testing.T) {
	v := any("leaf")
	for range maxDepth {
		v = []any{v}
	}
	c := NewPython(PythonConfig{})
	out, err := c.Encode(nil, &Message{Method: MethodEmit, Event: "e", Data: v})
	require.NoError(t, err, "1000 levels are allowed")
	back, err := c.Decode(out)
	require.NoError(t, err)
	require.Empty(t, sameMeaning(&Message{Method: MethodEmit, Event: "e", Data: v, Namespace: "/"}, back))
}

func TestDecodeMalformed(t *testing.T) {
	const ok = `"method":"emit","event":"e","namespace":"/","room":null,"skip_sid":null,"callback":null`
	nested := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	cases := []struct {
		name, in string
		field    string // the error must mention it
	}{
		{"empty", ``, "empty"},
		{"blank", " \n\t", "empty"},
		{"truncated", `{"method":"emit","event":"x"`, "invalid JSON"},
		{"trailing data", `{"method":"close_room","room":"r"} x`, "after the JSON object"},
		{"two objects", `{"method":"close_room","room":"r"}{}`, "after the JSON object"},
		{"NaN literal as a key", `{"method":"emit","event":"e","data":{NaN:1}}`, "invalid JSON"},
		{"NaN literal glued", `{"method":"emit","event":"e","data":NaNa}`, "invalid JSON"},
		{"no method", `{}`, "method: missing"},
		{"method not a string", `{"method":5}`, "method: want a string, got a number"},
		{"unknown method", `{"method":"shout"}`, `unknown method "shout"`},
		{"host_id number", `{"method":"close_room","room":"r","host_id":1}`, "host_id: want a string"},
		{"namespace number", `{"method":"close_room","room":"r","namespace":1}`, "namespace: want a string or null"},
		{"event missing", `{"method":"emit","data":1}`, "event: missing"},
		{"event number", `{"method":"emit","event":1,"data":1}`, "event: want a string"},
		{"data missing", `{` + ok + `}`, "data: missing"},
		{"room number", `{"method":"emit","event":"e","data":1,"room":1}`, "room: want a string, a list of strings or null"},
		{"room list of numbers", `{"method":"emit","event":"e","data":1,"room":["a",1]}`, "room: item 1"},
		{"skip_sid object", `{"method":"emit","event":"e","data":1,"skip_sid":{}}`, "skip_sid: want"},
		{"skip_sid null item", `{"method":"emit","event":"e","data":1,"skip_sid":[null]}`, "skip_sid: item 0"},
		{"callback string", `{"method":"emit","event":"e","data":1,"callback":"x"}`, "callback: want null or [sid, namespace, id]"},
		{"callback short", `{"method":"emit","event":"e","data":1,"callback":["s","/"]}`, "callback: want null"},
		{"callback bad sid", `{"method":"emit","event":"e","data":1,"callback":[1,"/",1]}`, "callback: sid"},
		{"callback bad namespace", `{"method":"emit","event":"e","data":1,"callback":["s",1,1]}`, "callback: namespace"},
		{"callback bad id", `{"method":"emit","event":"e","data":1,"callback":["s","/","x"]}`, "callback: id"},
		{"callback float id", `{"method":"emit","event":"e","data":1,"callback":["s","/",1.5]}`, "callback: id"},
		{"binary not bool", `{` + ok + `,"data":[],"binary":"yes"}`, "binary: want true or false"},
		{"current data not a list", `{` + ok + `,"data":{"x":1},"binary":false}`, "data: want the list of arguments"},
		{"binary data not a list", `{` + ok + `,"data":"x","binary":true}`, "data: with \"binary\": true"},
		{"binary data empty", `{` + ok + `,"data":[],"binary":true}`, "data: with \"binary\": true"},
		{"attachment not a string", `{` + ok + `,"data":[[],5],"binary":true}`, "attachment 0: want a base64 string"},
		{"attachment bad base64", `{` + ok + `,"data":[[],"AA=","!!"],"binary":true}`, "attachment 0: invalid base64"},
		{"placeholder out of range", `{` + ok + `,"data":[[{"_placeholder":true,"num":1}],"AA=="],"binary":true}`, "placeholder num 1 out of range"},
		{"placeholder negative", `{` + ok + `,"data":[[{"_placeholder":true,"num":-1}],"AA=="],"binary":true}`, "placeholder num -1"},
		{"placeholder num string", `{` + ok + `,"data":[[{"_placeholder":true,"num":"0"}],"AA=="],"binary":true}`, "placeholder num: want an integer"},
		{"placeholder num float", `{` + ok + `,"data":[[{"_placeholder":true,"num":0.5}],"AA=="],"binary":true}`, "placeholder num: want an integer"},
		{"too deep raw", `{` + ok + `,"data":` + nested + `}`, "deeper than 1000"},
		{"too deep current", `{` + ok + `,"data":[` + nested + `],"binary":false}`, "deeper than 1000"},
		{"disconnect without sid", `{"method":"disconnect","namespace":"/"}`, "sid: missing"},
		{"disconnect empty sid", `{"method":"disconnect","sid":""}`, "sid: empty"},
		{"enter_room sid number", `{"method":"enter_room","sid":1,"room":"r"}`, "sid: want a string"},
		{"enter_room without room", `{"method":"enter_room","sid":"s"}`, "room: missing"},
		{"leave_room room list", `{"method":"leave_room","sid":"s","room":["r"]}`, "room: want a string"},
		{"close_room without room", `{"method":"close_room"}`, "room: missing"},
		{"callback without host", `{"method":"callback","sid":"s","id":1,"args":[]}`, "host_id: missing"},
		{"callback without id", `{"method":"callback","host_id":"h","sid":"s","args":[]}`, "id: missing"},
		{"callback id string", `{"method":"callback","host_id":"h","sid":"s","id":"1","args":[]}`, "id: want an integer"},
		{"callback id too big", `{"method":"callback","host_id":"h","sid":"s","id":99999999999999999999}`, "id: want an integer"},
		{"callback args string", `{"method":"callback","host_id":"h","sid":"s","id":1,"args":"x"}`, "args: want a list"},
	}
	c := NewPython(PythonConfig{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := c.Decode([]byte(tc.in))
			require.ErrorIs(t, err, ErrMalformed)
			require.Nil(t, m)
			require.Contains(t, err.Error(), tc.field)
			require.Equal(t, tc.name == "unknown method", errors.Is(err, ErrUnknownMethod),
				"only an unknown method wraps ErrUnknownMethod")
		})
	}
}

func TestDecodeSizeLimit(t *testing.T) {
	big := make([]byte, 17<<20)
	copy(big, `{"method":"close_room","room":"r","pad":"`)
	_, err := NewPython(PythonConfig{}).Decode(big)
	require.ErrorIs(t, err, ErrMalformed)
	require.Contains(t, err.Error(), "17825792 bytes exceeds the limit of 16777216")

	small := NewPython(PythonConfig{MaxMessageSize: 40})
	msg := []byte(`{"method":"close_room","room":"r"}`)
	_, err = small.Decode(msg)
	require.NoError(t, err)
	_, err = small.Decode(append(msg, "       "...))
	require.ErrorIs(t, err, ErrMalformed)
	require.Contains(t, err.Error(), "41 bytes")
}

func TestDecodeValues(t *testing.T) {
	c := NewPython(PythonConfig{})
	m, err := c.Decode([]byte(` {"method":"emit","event":"e","data":[{"big":1180591620717411303424,"f":0.1,"e":1e+300,"s":"\u00e9\ud83d\udcca","n":null,"l":[true,false]}],` +
		`"binary":false,"namespace":null,"room":["a","b"],"skip_sid":[],"callback":["s","",3]} `))
	require.NoError(t, err)
	require.Equal(t, &Message{
		Method: MethodEmit, Event: "e", Namespace: "/", Rooms: []string{"a", "b"},
		Callback: &Callback{SID: "s", Namespace: "/", ID: 3},
		Data: map[string]any{"big": json.Number("1180591620717411303424"), "f": json.Number("0.1"),
			"e": json.Number("1e+300"), "s": "é📊", "n": nil, "l": []any{true, false}},
	}, m)

	// A placeholder-shaped map is only a placeholder when "binary" is true.
	m, err = c.Decode([]byte(`{"method":"emit","event":"e","data":[{"_placeholder":true,"num":0}],"binary":false}`))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"_placeholder": true, "num": json.Number("0")}, m.Data)
	// A falsy _placeholder is not one, as in python.
	m, err = c.Decode([]byte(`{"method":"emit","event":"e","data":[[{"_placeholder":0,"num":0},{"_placeholder":"y","num":0}],"AQ=="],"binary":true}`))
	require.NoError(t, err)
	require.Equal(t, Args{map[string]any{"_placeholder": json.Number("0"), "num": json.Number("0")}, []byte{1}}, m.Data)

	// Callback messages.
	m, err = c.Decode([]byte(`{"method":"callback","host_id":"h","sid":"s","namespace":"/n","id":4,"args":[1,"x"]}`))
	require.NoError(t, err)
	require.Equal(t, &Message{Method: MethodCallback, HostID: "h", SID: "s", Namespace: "/n", CallbackID: 4,
		Data: Args{json.Number("1"), "x"}}, m)
	m, err = c.Decode([]byte(`{"method":"callback","host_id":"h","sid":"s","id":4}`))
	require.NoError(t, err)
	require.Nil(t, m.Data)
	require.Equal(t, "/", m.Namespace)
}

// The "binary" key tells 5.14.2+ JSON from older JSON. 5.14.2 to 5.15.0
// write raw data beside it, 5.15.1+ the argument list; only the dialect
// setting can tell those apart.
func TestDecodeBinaryKeyHeuristic(t *testing.T) {
	withKey := []byte(`{"method":"emit","event":"e","data":[1,2],"binary":false}`)
	withoutKey := []byte(`{"method":"emit","event":"e","data":[1,2]}`)
	binaryRaw := []byte(`{"method":"emit","event":"e","data":[{"b":{"_placeholder":true,"num":0}},"AQ=="],"binary":true}`)
	list := []any{json.Number("1"), json.Number("2")}
	for _, d := range dialects {
		c := NewPython(PythonConfig{Dialect: d})
		m, err := c.Decode(withoutKey)
		require.NoError(t, err)
		require.Equal(t, list, m.Data, "%s: no binary key: one list argument", d)

		m, err = c.Decode(withKey)
		require.NoError(t, err)
		if d == V514 {
			require.Equal(t, list, m.Data, "v5.14 reads raw data")
		} else {
			require.Equal(t, Args(list), m.Data, "%s reads the argument list", d)
		}

		m, err = c.Decode(binaryRaw)
		if d == V514 {
			require.NoError(t, err)
			require.Equal(t, map[string]any{"b": []byte{1}}, m.Data)
		} else {
			require.ErrorIs(t, err, ErrMalformed, "current needs [args, attachments...]")
		}
	}
}

func readPickle(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pickles", name))
	require.NoError(t, err)
	return b
}

func TestDecodePickle(t *testing.T) {
	c := NewPython(PythonConfig{})
	for _, in := range [][]byte{
		readPickle(t, "os_system_p0.pkl"),
		readPickle(t, "os_system_p4.pkl"),
		[]byte("\x80\x04cos\nsystem\n\x8c\x02id\x85R."),
		[]byte("cos\nsystem\n(S'echo pwned'\ntR."),
	} {
		m, err := c.Decode(in)
		require.ErrorIs(t, err, ErrUnsafe)
		require.ErrorIs(t, err, pickle.ErrUnsafe)
		require.NotErrorIs(t, err, ErrMalformed)
		require.Nil(t, m)
	}

	for name, want := range map[string]string{
		"not_a_dict.pkl": "holds a list, not a dict",
	} {
		_, err := c.Decode(readPickle(t, name))
		require.ErrorIs(t, err, ErrMalformed, name)
		require.Contains(t, err.Error(), want)
	}
	_, err := c.Decode([]byte("\x80\x04\x95\x10"))
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorIs(t, err, pickle.ErrMalformed)

	m, err := c.Decode(readPickle(t, "tuples.pkl"))
	require.NoError(t, err)
	require.Equal(t, &Message{
		Method: MethodEmit, Event: "e", Namespace: "/", HostID: "h",
		Rooms: []string{"a", "b"}, Skip: []string{"s"}, Callback: &Callback{SID: "sid1", Namespace: "/", ID: 7},
		Data: Args{nil, []any{json.Number("1"), json.Number("2")}, map[string]any{"t": []any{json.Number("3")}}},
	}, m)

	m, err = c.Decode(readPickle(t, "callback.pkl"))
	require.NoError(t, err)
	require.Equal(t, &Message{Method: MethodCallback, HostID: "h", SID: "s", Namespace: "/", CallbackID: 3,
		Data: Args{json.Number("1"), "x"}}, m)

	// A one-tuple (None,) is one null argument for python-socketio 5.7.2;
	// JSON dialects read one null argument as none.
	m, err = c.Decode(readPickle(t, "one_none_tuple.pkl"))
	require.NoError(t, err)
	require.Equal(t, Args{nil}, m.Data)
	out, err := c.Encode(nil, m)
	require.NoError(t, err)
	data, _ := dataOf(t, out)
	require.Equal(t, `[null]`, data)

	// What pickles carry but JSON cannot is refused on encoding.
	m, err = c.Decode(readPickle(t, "callback_bytes.pkl"))
	require.NoError(t, err)
	_, err = c.Encode(nil, m)
	require.ErrorIs(t, err, ErrUnsupportedValue)
	m, err = c.Decode(readPickle(t, "placeholder_beside_bytes.pkl"))
	require.NoError(t, err)
	_, err = c.Encode(nil, m)
	require.ErrorIs(t, err, ErrUnsupportedValue)
	require.Contains(t, err.Error(), "_placeholder")
}

// Encoding from many goroutines at once (run with -race) gives the same
// bytes as encoding alone: the pooled scratch space is not shared.
func TestEncodeConcurrent(t *testing.T) {
	c := NewPython(PythonConfig{})
	msgs := []*Message{
		{Method: MethodEmit, Event: "a", Data: map[string]any{"x": []any{1, "y", map[string]any{"z": []byte{1, 2}}}}},
		{Method: MethodEmit, Event: "b", Data: struct{ A, B int }{1, 2}, Rooms: []string{"r"}},
		{Method: MethodEmit, Event: "c", Data: Args{[]byte("q"), map[string]string{"k": "v"}}},
		{Method: MethodEmit, Event: "d", Data: map[string]any{"bad": math.NaN()}},
	}
	want := make([]string, len(msgs))
	for i, m := range msgs {
		out, err := c.Encode(nil, m)
		want[i] = fmt.Sprint(string(out), err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 256)
			for i := range 500 {
				k := (g + i) % len(msgs)
				out, err := c.Encode(buf[:0], msgs[k])
				if got := fmt.Sprint(string(out), err); got != want[k] {
					errs <- errors.New(got + " != " + want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// The hot path allocates nothing for maps and primitives and at most once
// for a struct (through the pooled encoding/json encoder).
func TestEncodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	c := NewPython(PythonConfig{})
	dst := make([]byte, 0, 4096)
	type payload struct {
		Job string `json:"job"`
		Pct int    `json:"pct"`
		OK  bool   `json:"ok"`
	}
	var boxed any = payload{"sheet-sync", 50, true}
	cases := map[string]struct {
		msg Message
		max float64
	}{
		"map":    {Message{Method: MethodEmit, Event: "progress", Rooms: []string{"user:42"}, HostID: "h", Data: map[string]any{"job": "sheet-sync", "pct": 50, "ok": true}}, 0},
		"args":   {Message{Method: MethodEmit, Event: "multi", Data: Args{1, "two", nil, 3.5}}, 0},
		"binary": {Message{Method: MethodEmit, Event: "bin", Data: map[string]any{"blob": []byte{1, 2, 3}}}, 0},
		"struct": {Message{Method: MethodEmit, Event: "progress", Rooms: []string{"user:42"}, Data: boxed}, 1},
		"room":   {Message{Method: MethodEnterRoom, SID: "s", Rooms: []string{"r"}}, 0},
	}
	for name, tc := range cases {
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := c.Encode(dst, &tc.msg); err != nil {
				t.Fatal(err)
			}
		})
		require.LessOrEqual(t, allocs, tc.max, name)
	}
}

type panicker struct{}

func (panicker) MarshalJSON() ([]byte, error) { panic("boom") }

// A json.Marshaler that panics does not leave the pooled scratch space in a
// state that corrupts later encodings.
func TestEncodeAfterMarshalerPanic(t *testing.T) {
	c := NewPython(PythonConfig{})
	msg := &Message{Method: MethodEmit, Event: "e", Data: map[string]any{"a": map[string]any{"b": panicker{}}}}
	for range 10 {
		require.Panics(t, func() { _, _ = c.Encode(nil, msg) })
	}
	out, err := c.Encode(nil, &Message{Method: MethodEmit, Event: "e", Data: map[string]any{"z": 1, "y": 2}})
	require.NoError(t, err)
	data, _ := dataOf(t, out)
	require.Equal(t, `[{"y":2,"z":1}]`, data)
}
