package pickle

import (
	"path/filepath"
	"testing"
)

// FuzzDecode checks that Decode never panics (not even into its
// last-resort recover), that every error wraps exactly one sentinel, and
// that every returned value is acyclic, within the depth limit and
// json.Marshal-able once []byte is turned into base64.
//
// Seeds: every pickle under testdata plus the hand-built ones; crashers
// found by the fuzzer are kept in testdata/fuzz/FuzzDecode.
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=60s ./internal/pickle/
func FuzzDecode(f *testing.F) {
	for _, path := range allTestdataPickles(f) {
		f.Add(mustRead(f, path))
	}
	for _, tc := range goodPickles {
		f.Add([]byte(tc.in))
	}
	for _, tc := range badPickles {
		if len(tc.in) <= 8192 {
			f.Add([]byte(tc.in))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeInvariants(t, data)
	})
}

func BenchmarkDecode(b *testing.B) {
	data := mustRead(b, filepath.Join(vectorsDir, socketio572, "dict_to_user.bin"))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeLarge(b *testing.B) {
	data := mustRead(b, filepath.Join(vectorsDir, socketio572, "large.bin"))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
