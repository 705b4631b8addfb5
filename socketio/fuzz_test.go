package socketio

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func mathNaN() float64 { return math.NaN() }
func mathInf() float64 { return math.Inf(1) }

// FuzzDecodePacket checks that the decoder never panics, and that what it
// accepts keeps its header through a re-encode.
func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{
		"0", `0{"token":"abc"}`, "0/admin,", `0/admin,{"a":1}`, "1", "1/admin,",
		`2["hello",1]`, `2/admin,456["project:delete",123]`, `313["bar"]`, `3/admin,456[]`,
		`51-["hello",{"_placeholder":true,"num":0}]`, `61-/admin,456[{"_placeholder":true,"num":0}]`,
		`4{"message":"x"}`, "", "7", `2["connect"]`, `5999-[]`, `2/a,99999999999999999999[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodePacket(data)
		if err != nil {
			return
		}
		hdr := appendHeader(nil, p.typ, p.attachments, p.nsp, p.id)
		q, err := decodePacket(append(hdr, p.payload...))
		if err != nil {
			t.Fatalf("re-encoded %q -> %q: %v", data, append(hdr, p.payload...), err)
		}
		if q.typ != p.typ || q.nsp != p.nsp || q.id != p.id || q.attachments != p.attachments || !bytes.Equal(q.payload, p.payload) {
			t.Fatalf("round trip of %q: %+v != %+v", data, q, p)
		}
		if p.typ == typeEvent || p.typ == typeBinaryEvent || p.typ == typeAck || p.typ == typeBinaryAck {
			elems, err := splitArray(p.payload)
			var want []json.RawMessage
			if json.Unmarshal(p.payload, &want) != nil || err != nil || len(elems) != len(want) {
				t.Fatalf("splitArray(%q) = %q, %v; encoding/json: %q", p.payload, elems, err, want)
			}
			for i := range want {
				if !bytes.Equal(elems[i], want[i]) {
					t.Fatalf("splitArray(%q)[%d] = %q, encoding/json %q", p.payload, i, elems[i], want[i])
				}
			}
			if len(elems) > 0 {
				_, _ = eventName(elems[0])
				_, _ = newArgs(elems, make([][]byte, p.attachments))
			}
		}
	})
}
