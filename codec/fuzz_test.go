package codec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxSeed keeps the large vectors out of the fuzz corpus: minimizing a
// mutated 60 KB input stalls the fuzzer for minutes, and the unit tests
// cover them already.
const maxSeed = 4 << 10

func addSeeds(f *testing.F, dirs ...string) {
	f.Helper()
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); ext != ".bin" && ext != ".pkl" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			if len(b) <= maxSeed {
				f.Add(b)
			}
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	addSeeds(f, filepath.Join("testdata", "vectors", "python-socketio-5.16"))
	for _, s := range []string{
		`{"method":"emit","event":"e","data":{"a":[1,{"b":null}]},"namespace":null,"room":[],"skip_sid":["x"]}`,
		`{"method":"emit","event":"e","data":[[{"_placeholder":true,"num":0},{"_placeholder":1,"num":1}],"AAE=","/w=="],"binary":true,"callback":["s","/",1]}`,
		`{"method":"callback","host_id":"h","sid":"s","namespace":"/","id":9,"args":[1,"2",[3]]}`,
		`{"method":"disconnect","sid":"s","namespace":"","host_id":""}`,
		`{"method":"emit","event":"","data":[{"a":NaN,"b":[Infinity,"NaN",-Infinity]},NaN],"binary":false,"sockgate_seq":18446744073709551615}`,
		`{"method":"emit","event":"e","data":{"x":-Infinity},"namespace":"/Infinity","sockgate_seq":"1"}`,
		`{"method":"callback","host_id":"h","sid":"s","namespace":"/","id":9,"args":[NaN],"sockgate_seq":3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkRoundTrip(t, data) })
}

func FuzzDecodePickle(f *testing.F) {
	addSeeds(f,
		filepath.Join("testdata", "vectors", "python-socketio-5.7.2"),
		filepath.Join("testdata", "vectors", "python-pickle-protocols"),
		filepath.Join("testdata", "pickles"))
	f.Fuzz(func(t *testing.T, data []byte) { checkRoundTrip(t, data) })
}

// checkRoundTrip decodes data; if that succeeds, encoding the message in the
// Current dialect must succeed (unless a pickle carried what JSON cannot),
// decode to the same meaning, and reach a fixed point.
func checkRoundTrip(t *testing.T, data []byte) {
	// The V514 reading must not panic either.
	_, _ = NewPython(PythonConfig{Dialect: V514}).Decode(data)

	c := NewPython(PythonConfig{Dialect: Current})
	m, err := c.Decode(data)
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsafe) {
			t.Fatalf("Decode error wraps no sentinel: %v", err)
		}
		return
	}
	out, err := c.Encode(nil, m)
	if err != nil {
		if inexpressibleFromPickle(data, err) {
			return
		}
		t.Fatalf("Encode(Decode(input)) failed: %v\nmessage: %#v", err, m)
	}
	back, err := c.Decode(out)
	if err != nil {
		t.Fatalf("Decode(Encode(m)) failed: %v\nencoded: %s", err, out)
	}
	if d := sameMeaning(m, back); d != "" {
		t.Fatalf("meaning changed: %s\nencoded: %s", d, out)
	}
	again, err := c.Encode(nil, back)
	if err != nil {
		t.Fatalf("second Encode failed: %v", err)
	}
	back2, err := c.Decode(again)
	if err != nil {
		t.Fatalf("second Decode failed: %v", err)
	}
	if final, err := c.Encode(nil, back2); err != nil || !bytes.Equal(final, again) {
		t.Fatalf("no fixed point:\n%s\n%s (%v)", again, final, err)
	}
}

// inexpressibleFromPickle reports the two documented cases where a pickle
// carries what no JSON dialect can: bytes among a callback's arguments, and
// a map shaped like a binary placeholder beside bytes.
func inexpressibleFromPickle(data []byte, err error) bool {
	if len(data) == 0 || data[0] == '{' || !errors.Is(err, ErrUnsupportedValue) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "bytes cannot travel in a callback") || strings.Contains(msg, `"_placeholder"`)
}
