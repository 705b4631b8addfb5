package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sockgate/sockgate/codec"
)

// TestDecodeVectors decodes messages captured from real python-socketio
// servers (JSON from 5.16, pickle from 5.7.2) and compares the output with
// the meaning recorded beside each capture.
func TestDecodeVectors(t *testing.T) {
	bins, err := filepath.Glob("testdata/*/*.bin")
	if err != nil || len(bins) < 4 {
		t.Fatalf("vectors: %v %v", bins, err)
	}
	for _, bin := range bins {
		t.Run(strings.TrimSuffix(bin, ".bin"), func(t *testing.T) {
			data, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			wantJSON, err := os.ReadFile(strings.TrimSuffix(bin, ".bin") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			// From stdin and from a file argument.
			for _, r := range []result{runCLI(t, bytes.NewReader(data), "decode"), runCLI(t, nil, "decode", bin)} {
				if r.code != exitOK {
					t.Fatalf("code %d, stderr %q", r.code, r.stderr)
				}
				if !strings.HasPrefix(r.stdout, "{\n  \"method\": ") {
					t.Errorf("output is not indented JSON:\n%s", r.stdout)
				}
				got := unmarshal(t, []byte(r.stdout))
				hostID, _ := got["host_id"].(string)
				if len(hostID) != 32 {
					t.Errorf("host_id = %q, want 32 hex characters", hostID)
				}
				delete(got, "host_id") // the vectors' meaning leaves it out
				if want := unmarshal(t, wantJSON); !reflect.DeepEqual(got, want) {
					t.Errorf("decoded:\n%s\nwant:\n%s", r.stdout, wantJSON)
				}
			}
		})
	}
}

func unmarshal(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	return v
}

func TestDecodeRefusesInvalidInput(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"garbage", "this is not a message", "sockgate: decode: " + codec.ErrMalformed.Error()},
		{"json without method", `{"event":"x"}`, "sockgate: decode: " + codec.ErrMalformed.Error()},
		// Protocol 0 pickle of os.system("echo pwned"): an import and a call.
		{"unsafe pickle", "cos\nsystem\n(S'echo pwned'\ntR.", "sockgate: decode: " + codec.ErrUnsafe.Error()},
		{"truncated pickle", "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x06method", "sockgate: decode: " + codec.ErrMalformed.Error()},
		{"empty", "", "sockgate: decode: empty input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, strings.NewReader(tt.input), "decode")
			if r.code != exitRuntime {
				t.Errorf("code %d, want %d", r.code, exitRuntime)
			}
			if !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("stderr %q, want prefix %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
		})
	}
	r := runCLI(t, nil, "decode", filepath.Join(t.TempDir(), "missing.bin"))
	if r.code != exitRuntime || !strings.Contains(r.stderr, "missing.bin") {
		t.Errorf("missing file: code %d, stderr %q", r.code, r.stderr)
	}
}

// TestMeaningShapes checks the JSON form of every method, including those
// the vectors do not cover.
func TestMeaningShapes(t *testing.T) {
	tests := []struct {
		m    codec.Message
		want string
	}{
		{codec.Message{Method: codec.MethodEmit, Event: "e", HostID: "h"},
			`{"method":"emit","event":"e","args":[],"namespace":"/","rooms":null,"except_sids":null,"host_id":"h"}`},
		{codec.Message{Method: codec.MethodEmit, Event: "e", Data: codec.Args{json.Number("12345678901234567890"), []byte{0, 1}, "<&>"},
			Namespace: "/chat", Rooms: []string{"a", "b"}, Skip: []string{"s"}, Callback: &codec.Callback{SID: "a", Namespace: "/chat", ID: 7}},
			`{"method":"emit","event":"e","args":[12345678901234567890,{"$bytes":"AAE="},"<&>"],"namespace":"/chat","rooms":["a","b"],"except_sids":["s"],"callback":{"sid":"a","namespace":"/chat","id":7}}`},
		{codec.Message{Method: codec.MethodEmit, Event: "e", Data: []any{map[string]any{"b": []byte("x")}}},
			`{"method":"emit","event":"e","args":[[{"b":{"$bytes":"eA=="}}]],"namespace":"/","rooms":null,"except_sids":null}`},
		{codec.Message{Method: codec.MethodDisconnect, SID: "s1", Namespace: "/n", HostID: "h"},
			`{"method":"disconnect","sid":"s1","namespace":"/n","host_id":"h"}`},
		{codec.Message{Method: codec.MethodLeaveRoom, SID: "s1", Rooms: []string{"r"}},
			`{"method":"leave_room","sid":"s1","room":"r","namespace":"/"}`},
		{codec.Message{Method: codec.MethodCloseRoom, Rooms: []string{"r"}},
			`{"method":"close_room","room":"r","namespace":"/"}`},
		{codec.Message{Method: codec.MethodCallback, HostID: "h", SID: "s1", CallbackID: 3, Data: codec.Args{"ok", json.Number("1")}},
			`{"method":"callback","host_id":"h","sid":"s1","namespace":"/","id":3,"args":["ok",1]}`},
	}
	for _, tt := range tests {
		got, err := marshalMeaning(&tt.m, false)
		if err != nil {
			t.Errorf("%+v: %v", tt.m, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%+v:\n got %s\nwant %s", tt.m, got, tt.want)
		}
	}
}

func TestParseJSONKeepsNumbersAndBytes(t *testing.T) {
	v, err := parseJSON(`{"big": 123456789012345678901234567890, "f": 0.1000000000000000055511151231257827, "b": {"$bytes": "AAH/"}, "l": [1e400, {"$bytes": ""}]}`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"big": json.Number("123456789012345678901234567890"),
		"f":   json.Number("0.1000000000000000055511151231257827"),
		"b":   []byte{0, 1, 255},
		"l":   []any{json.Number("1e400"), []byte{}},
	}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v\nwant %#v", v, want)
	}
	// An object with "$bytes" among other keys is an ordinary object.
	v, err = parseJSON(`{"$bytes": "AA==", "x": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.(map[string]any)["$bytes"].(string); !ok {
		t.Fatalf("got %#v", v)
	}
}
