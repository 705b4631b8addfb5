package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodePacketGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		typ     byte
		nsp     string
		id      uint64
		atts    int
		payload string
	}{
		{"0", typeConnect, "/", noAck, 0, ""},
		{`0{"token":"x"}`, typeConnect, "/", noAck, 0, `{"token":"x"}`},
		{`0/admin,{"token":"x"}`, typeConnect, "/admin", noAck, 0, `{"token":"x"}`},
		{"0/admin,", typeConnect, "/admin", noAck, 0, ""},
		{"1", typeDisconnect, "/", noAck, 0, ""},
		{"1/admin,", typeDisconnect, "/admin", noAck, 0, ""},
		{"1/admin", typeDisconnect, "/admin", noAck, 0, ""},
		{`2["hello",1]`, typeEvent, "/", noAck, 0, `["hello",1]`},
		{`2/admin,456["project:delete",123]`, typeEvent, "/admin", 456, 0, `["project:delete",123]`},
		{`3/admin,456[]`, typeAck, "/admin", 456, 0, `[]`},
		{`313["bar"]`, typeAck, "/", 13, 0, `["bar"]`},
		{`51-["hello",{"_placeholder":true,"num":0}]`, typeBinaryEvent, "/", noAck, 1, `["hello",{"_placeholder":true,"num":0}]`},
		{`52-/admin,7["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, typeBinaryEvent, "/admin", 7, 2, `["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{`61-/admin,456[{"_placeholder":true,"num":0}]`, typeBinaryAck, "/admin", 456, 1, `[{"_placeholder":true,"num":0}]`},
	}
	for _, c := range cases {
		p, err := decodePacket([]byte(c.in))
		if err != nil {
			t.Errorf("decode %q: %v", c.in, err)
			continue
		}
		if p.typ != c.typ || p.nsp != c.nsp || p.id != c.id || p.attachments != c.atts || string(p.payload) != c.payload {
			t.Errorf("decode %q = %+v (payload %q)", c.in, p, p.payload)
		}
	}
}

func TestDecodePacketMalformed(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "7", "x", "0[1]", `0"str"`, "05", `1{"a":1}`, "15",
		`4{"message":"x"}`, `2{"a":1}`, "2", `2["a"`, `3["a"]`, `3/admin,{}`,
		`5["a"]`, `5-["a"]`, `50-["a"]`, `51["a"]`, `51001-["a"]`,
		`299999999999999999999999["a"]`, `2["a"]trailing`, "2[1,]",
	} {
		if _, err := decodePacket([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("decode %q: err = %v, want ErrMalformed", in, err)
		}
	}
}

func TestEventName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`"hi"`: "hi", `"\u00e9"`: "é", `12`: "12"} {
		got, err := eventName(json.RawMessage(in))
		if err != nil || got != want {
			t.Errorf("eventName(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`"connect"`, `"disconnect"`, `"newListener"`, `{}`, `null`, `true`, `[]`} {
		if _, err := eventName(json.RawMessage(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("eventName(%s): err = %v, want ErrMalformed", in, err)
		}
	}
}

func TestEncodePacketsGolden(t *testing.T) {
	t.Parallel()
	type inner struct {
		Name string `json:"name"`
		Blob []byte `json:"blob,omitempty"`
		Skip string `json:"-"`
		N    int
	}
	cases := []struct {
		typ   byte
		nsp   string
		id    uint64
		event string
		args  []any
		want  string
		atts  int
	}{
		{typeEvent, "/", noAck, "hello", []any{1, "two", true, nil, 1.5}, `2["hello",1,"two",true,null,1.5]`, 0},
		{typeEvent, "/admin", 12, "x", nil, `2/admin,12["x"]`, 0},
		{typeEvent, "/", noAck, `q"<>`, []any{map[string]any{"a": "<b>"}}, `2["q\"\u003c\u003e",{"a":"<b>"}]`, 0},
		{typeEvent, "/", noAck, "bin", []any{[]byte{1, 2}}, `51-["bin",{"_placeholder":true,"num":0}]`, 1},
		{typeEvent, "/a", 3, "bin", []any{map[string]any{"k": []any{[]byte{1}, 2}}, []byte{3}},
			`52-/a,3["bin",{"k":[{"_placeholder":true,"num":0},2]},{"_placeholder":true,"num":1}]`, 2},
		{typeEvent, "/", noAck, "s", []any{inner{Name: "n", Blob: []byte{9}, Skip: "z", N: 4}},
			`51-["s",{"N":4,"blob":{"_placeholder":true,"num":0},"name":"n"}]`, 1},
		{typeEvent, "/", noAck, "s", []any{&inner{Name: "n"}}, `2["s",{"name":"n","N":0}]`, 0},
		{typeEvent, "/", noAck, "raw", []any{json.RawMessage(`{"x":[1]}`)}, `2["raw",{"x":[1]}]`, 0},
		{typeAck, "/", 7, "", []any{"ok"}, `37["ok"]`, 0},
		{typeAck, "/n", 7, "", []any{[]byte("b")}, `61-/n,7[{"_placeholder":true,"num":0}]`, 1},
	}
	for _, c := range cases {
		pkts, err := encodePackets(c.typ, c.nsp, c.id, c.event, c.typ == typeEvent, c.args)
		if err != nil {
			t.Errorf("encode %q: %v", c.want, err)
			continue
		}
		if got := string(pkts[0].Data()); got != c.want {
			t.Errorf("encode = %q, want %q", got, c.want)
		}
		if len(pkts) != 1+c.atts {
			t.Errorf("%q: %d packets, want %d", c.want, len(pkts), 1+c.atts)
		}
		for i, p := range pkts {
			if p.Binary() != (i > 0) {
				t.Errorf("%q: packet %d binary=%v", c.want, i, p.Binary())
			}
		}
		// what we encode, we decode
		p, err := decodePacket(pkts[0].Data())
		if err != nil || p.attachments != c.atts || p.nsp != c.nsp && !(c.nsp == "/" && p.nsp == "/") || p.id != c.id {
			t.Errorf("round trip %q: %+v, %v", c.want, p, err)
		}
	}
}

func TestEncodeRefusesBadPayloads(t *testing.T) {
	t.Parallel()
	type node struct {
		Next *node
		Data any
	}
	cyc := &node{}
	cyc.Next = cyc
	cycMap := map[string]any{}
	cycMap["self"] = cycMap
	cycIface := &node{}
	cycIface.Data = cycIface
	for _, c := range []struct {
		name string
		arg  any
		want string
	}{
		{"NaN", mathNaN(), "NaN"},
		{"Inf", mathInf(), "+Inf"},
		{"nested NaN", map[string]any{"x": []any{mathNaN()}}, "NaN"},
		{"float32 NaN", struct{ F float32 }{float32(mathNaN())}, "NaN"},
		{"chan", make(chan int), "chan int"},
		{"nested chan", map[string]any{"c": make(chan int)}, "chan int"},
		{"func", func() {}, "func()"},
		{"pointer cycle", cyc, "cycle"},
		{"map cycle", cycMap, "cycle"},
		{"interface cycle", cycIface, "cycle"},
		{"bad raw", json.RawMessage(`{`), "not valid JSON"},
	} {
		_, err := encodePackets(typeEvent, "/", noAck, "e", true, []any{"ok", c.arg})
		if !errors.Is(err, ErrPayload) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "argument 1") {
			t.Errorf("%s: err = %v, want ErrPayload naming %q and argument 1", c.name, err, c.want)
		}
	}
}

// TestSplitArrayMatchesEncodingJSON: the copy-free split gives what
// json.Unmarshal into []json.RawMessage gives, aliasing the payload.
func TestSplitArrayMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`[]`, ` [ ] `, `["a"]`, `[ "a" , 1 ,null,true ]`, `["x,y",{"a":[1,2,{"b":"]"}]},"\"",[[]]]`,
		`["esc\\",1]`, "[\n\t1\r\n,\t2 ]", `[{"_placeholder":true,"num":0},"\u00e9"]`,
	} {
		got, err := splitArray([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var want []json.RawMessage
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d elements, want %d (%q)", in, len(got), len(want), got)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s: element %d %q, want %q", in, i, got[i], want[i])
			}
		}
	}
	payload := []byte(`["big","` + strings.Repeat("x", 1000) + `"]`)
	elems, _ := splitArray(payload)
	if &elems[1][1] != &payload[8] {
		t.Fatal("the elements are copies, not views of the payload")
	}
	for _, bad := range []string{`{}`, `1`, ``} {
		if _, err := splitArray([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
