package codec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// An emit with an empty event name is what python-socketio servers
// deliver to their clients as an event named ""; Decode reads it and
// Encode writes it back.
func TestEmptyEventName(t *testing.T) {
	for _, in := range []string{
		`{"method":"emit","event":"","data":[1],"binary":false,"namespace":"/","room":null,"skip_sid":null,"callback":null,"host_id":"h"}`,
		`{"method":"emit","event":"","data":1,"namespace":"/","room":"r","skip_sid":null,"callback":null}`,
	} {
		m, err := NewPython(PythonConfig{}).Decode([]byte(in))
		require.NoError(t, err, in)
		require.Equal(t, MethodEmit, m.Method)
		require.Equal(t, "", m.Event)
		require.Equal(t, json.Number("1"), m.Data)
		out, err := NewPython(PythonConfig{}).Encode(nil, m)
		require.NoError(t, err)
		require.Contains(t, string(out), `"event":""`)
	}
	// The event key itself is still required.
	_, err := NewPython(PythonConfig{}).Decode([]byte(`{"method":"emit","data":1}`))
	require.ErrorIs(t, err, ErrMalformed)
	require.Contains(t, err.Error(), "event: missing")
}

// python's json.dumps writes NaN, Infinity and -Infinity for non-finite
// floats (python-socketio 5.16 publishes them so); Decode makes each null,
// at any depth, counts them, and leaves the same words inside strings
// alone.
func TestDecodeNonFiniteJSON(t *testing.T) {
	cases := []struct {
		name, in  string
		dialect   Dialect
		want      any
		nonFinite int
	}{
		{"top-level arguments", `{"method":"emit","event":"e","data":[NaN,Infinity,-Infinity,1],"binary":false,"namespace":"/","room":null,"skip_sid":null,"callback":null}`,
			Current, Args{nil, nil, nil, json.Number("1")}, 3},
		{"nested in objects and lists", `{"method":"emit","event":"e","data":[{"a":NaN,"l":[Infinity, 1.5 ,-Infinity],"deep":{"x":[NaN]}}],"binary":false,"namespace":"/"}`,
			Current, map[string]any{"a": nil, "l": []any{nil, json.Number("1.5"), nil}, "deep": map[string]any{"x": []any{nil}}}, 4},
		{"raw data before 5.14.2", `{"method":"emit","event":"e","data":{"pct":NaN},"namespace":"/","room":"r"}`,
			Current, map[string]any{"pct": nil}, 1},
		{"one NaN argument is one null", `{"method":"emit","event":"e","data":[NaN],"binary":false}`,
			Current, nil, 1},
		{"v5.14 raw", `{"method":"emit","event":"e","data":[-Infinity],"binary":false}`,
			V514, []any{nil}, 1},
		{"beside bytes", `{"method":"emit","event":"e","data":[[{"_placeholder":true,"num":0},NaN],"AAE="],"binary":true}`,
			Current, Args{[]byte{0, 1}, nil}, 1},
		{"words in strings are kept", `{"method":"emit","event":"NaN","data":["NaN","-Infinity","a\"NaN\\",Infinity],"binary":false,"namespace":"/Infinity"}`,
			Current, Args{"NaN", "-Infinity", `a"NaN\`, nil}, 1},
		{"none", `{"method":"emit","event":"e","data":[1e5,-2,"N","I"],"binary":false}`,
			Current, Args{json.Number("1e5"), json.Number("-2"), "N", "I"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := NewPython(PythonConfig{Dialect: c.dialect}).Decode([]byte(c.in))
			require.NoError(t, err)
			require.Equal(t, c.want, m.Data)
			require.Equal(t, c.nonFinite, m.NonFinite)
			// What is delivered encodes (the nulls are plain JSON).
			_, err = NewPython(PythonConfig{}).Encode(nil, m)
			require.NoError(t, err)
		})
	}
	m, err := NewPython(PythonConfig{}).Decode([]byte(`{"method":"callback","host_id":"h","sid":"s","namespace":"/","id":1,"args":[NaN,{"x":Infinity}]}`))
	require.NoError(t, err)
	require.Equal(t, Args{nil, map[string]any{"x": nil}}, m.Data)
	require.Equal(t, 2, m.NonFinite)
}

// python-socketio 5.7.2 pickles a NaN or infinite argument as a BINFLOAT;
// Decode makes it null like the JSON literals, at any depth.
func TestDecodeNonFinitePickle(t *testing.T) {
	for _, name := range []string{"nan.pkl", "nonfinite.pkl"} {
		data, err := os.ReadFile(filepath.Join("testdata", "pickles", name))
		require.NoError(t, err)
		require.True(t, strings.Contains(string(data), "G\x7f\xf8"), "%s holds a BINFLOAT NaN", name)
		m, err := NewPython(PythonConfig{}).Decode(data)
		require.NoError(t, err, name)
		switch name {
		case "nan.pkl":
			require.Equal(t, 1, m.NonFinite)
		case "nonfinite.pkl": // pickle.dumps of data=({"a": nan, "l": [inf, 1.5, -inf], "deep": {"x": [nan]}}, nan, "NaN")
			require.Equal(t, Args{
				map[string]any{"a": nil, "l": []any{nil, json.Number("1.5"), nil}, "deep": map[string]any{"x": []any{nil}}},
				nil, "NaN",
			}, m.Data)
			require.Equal(t, 5, m.NonFinite)
		}
		_, err = NewPython(PythonConfig{}).Encode(nil, m)
		require.NoError(t, err)
	}
}

// Seq travels as "sockgate_seq" in every dialect and comes back; without
// one the bytes are what they were (the golden vectors check that too).
func TestSeqRoundTrip(t *testing.T) {
	msgs := []Message{
		{Method: MethodEmit, Event: "e", Data: "x", Rooms: []string{"r"}, HostID: "h"},
		{Method: MethodDisconnect, SID: "s", HostID: "h"},
		{Method: MethodEnterRoom, SID: "s", Rooms: []string{"r"}, HostID: "h"},
		{Method: MethodLeaveRoom, SID: "s", Rooms: []string{"r"}},
		{Method: MethodCloseRoom, Rooms: []string{"r"}, HostID: "h"},
		{Method: MethodCallback, HostID: "h", SID: "s", CallbackID: 2, Data: Args{json.Number("1")}},
	}
	for _, d := range []Dialect{Current, V514, Legacy} {
		c := NewPython(PythonConfig{Dialect: d})
		for _, m := range msgs {
			plain, err := c.Encode(nil, &m)
			require.NoError(t, err)
			require.NotContains(t, string(plain), "sockgate_seq")
			m.Seq = 18446744073709551615
			out, err := c.Encode(nil, &m)
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(string(out), `,"sockgate_seq":18446744073709551615}`), "%s: %s", d, out)
			require.True(t, json.Valid(out))
			back, err := c.Decode(out)
			require.NoError(t, err)
			require.Equal(t, m.Seq, back.Seq, "%s %s", d, m.Method)
			m.Namespace = "/"
			require.Empty(t, sameMeaning(&m, back))
		}
	}
	// A key python-socketio ignores is ignored here when it is not a
	// positive integer: the message is delivered without a Seq.
	for _, v := range []string{`"7"`, `-1`, `1.5`, `null`, `0`, `18446744073709551616`} {
		m, err := NewPython(PythonConfig{}).Decode([]byte(`{"method":"close_room","room":"r","sockgate_seq":` + v + `}`))
		require.NoError(t, err, v)
		require.Zero(t, m.Seq, v)
	}
}
