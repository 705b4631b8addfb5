package codec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

type benchPayload struct {
	Job string `json:"job"`
	Pct int    `json:"pct"`
	OK  bool   `json:"ok"`
}

func benchEncode(b *testing.B, d Dialect, msg func() *Message) {
	b.Helper()
	c := NewPython(PythonConfig{Dialect: d})
	dst := make([]byte, 0, 64<<10)
	m := msg()
	out, err := c.Encode(dst, m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Encode(dst, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeStruct is the gateway's emit of a small struct, including
// the boxing of the struct into Message.Data (one allocation) that the
// caller pays for.
func BenchmarkEncodeStruct(b *testing.B) {
	c := NewPython(PythonConfig{})
	dst := make([]byte, 0, 4096)
	job, pct := "sheet-sync", 50
	b.ReportAllocs()
	for b.Loop() {
		m := Message{Method: MethodEmit, Event: "progress", Rooms: []string{"user:42"},
			HostID: "9c382685eb804ba99f95f644126ea446", Data: benchPayload{Job: job, Pct: pct, OK: true}}
		if _, err := c.Encode(dst, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMap(b *testing.B) {
	benchEncode(b, Current, func() *Message {
		return &Message{Method: MethodEmit, Event: "progress", Rooms: []string{"user:42"},
			HostID: "9c382685eb804ba99f95f644126ea446", Data: map[string]any{"job": "sheet-sync", "pct": 50, "ok": true}}
	})
}

func BenchmarkEncodeMapLegacy(b *testing.B) {
	benchEncode(b, Legacy, func() *Message {
		return &Message{Method: MethodEmit, Event: "progress", Rooms: []string{"user:42"},
			HostID: "9c382685eb804ba99f95f644126ea446", Data: map[string]any{"job": "sheet-sync", "pct": 50, "ok": true}}
	})
}

func BenchmarkEncodeArgs(b *testing.B) {
	benchEncode(b, Current, func() *Message {
		return &Message{Method: MethodEmit, Event: "multi", Rooms: []string{"user:42"},
			HostID: "9c382685eb804ba99f95f644126ea446", Data: Args{1, "two", nil, 3.5}}
	})
}

func BenchmarkEncodeBinary(b *testing.B) {
	blob := make([]byte, 1024)
	for i := range blob {
		blob[i] = byte(i)
	}
	benchEncode(b, Current, func() *Message {
		return &Message{Method: MethodEmit, Event: "bin", Rooms: []string{"user:42"},
			HostID: "9c382685eb804ba99f95f644126ea446", Data: map[string]any{"name": "f.bin", "blob": blob}}
	})
}

// bench10KB is a payload of about 10 KB: 400 small rows.
func bench10KB() map[string]any {
	rows := make([]any, 400)
	for i := range rows {
		rows[i] = map[string]any{"id": i, "v": "cell-" + strconv.Itoa(i)}
	}
	return map[string]any{"rows": rows, "sheet": "Bảng tính 📊"}
}

func BenchmarkEncode10KB(b *testing.B) {
	data := bench10KB()
	benchEncode(b, Current, func() *Message {
		return &Message{Method: MethodEmit, Event: "big", Rooms: []string{"user:42"},
			HostID: "9c382685eb804ba99f95f644126ea446", Data: data}
	})
}

// BenchmarkEncodingJSON10KB is the baseline: encoding/json marshaling the
// same envelope as a map.
func BenchmarkEncodingJSON10KB(b *testing.B) {
	env := map[string]any{"method": "emit", "event": "big", "data": []any{bench10KB()}, "binary": false,
		"namespace": "/", "room": "user:42", "skip_sid": nil, "callback": nil, "host_id": "9c382685eb804ba99f95f644126ea446"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodingJSONMap is the baseline for BenchmarkEncodeMap.
func BenchmarkEncodingJSONMap(b *testing.B) {
	env := map[string]any{"method": "emit", "event": "progress", "data": []any{map[string]any{"job": "sheet-sync", "pct": 50, "ok": true}},
		"binary": false, "namespace": "/", "room": "user:42", "skip_sid": nil, "callback": nil, "host_id": "9c382685eb804ba99f95f644126ea446"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{
		"python-socketio-5.16/dict_to_user.bin",
		"python-socketio-5.16/binary.bin",
		"python-socketio-5.16/large.bin",
		"python-socketio-5.7.2/dict_to_user.bin",
		"python-socketio-5.7.2/large.bin",
	} {
		data, err := os.ReadFile(filepath.Join("testdata", "vectors", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			c := NewPython(PythonConfig{})
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodingJSONDecode is the baseline for the JSON cases of
// BenchmarkDecode: encoding/json alone decoding the same input into
// map[string]any with UseNumber, without any validation.
func BenchmarkEncodingJSONDecode(b *testing.B) {
	for _, name := range []string{"dict_to_user.bin", "large.bin"} {
		data, err := os.ReadFile(filepath.Join("testdata", "vectors", "python-socketio-5.16", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				dec := json.NewDecoder(bytes.NewReader(data))
				dec.UseNumber()
				var v map[string]any
				if err := dec.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
