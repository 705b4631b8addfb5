package pickle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// sentinelName names the sentinel err wraps, or describes err if it wraps
// none (which is a bug).
func sentinelName(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, errRecovered):
		return "PANIC"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrUnsafe):
		return "unsafe"
	case errors.Is(err, ErrUnsupported):
		return "unsupported"
	}
	return "no sentinel: " + err.Error()
}

// checkErrShape checks that err wraps exactly one sentinel and is not a
// recovered panic.
func checkErrShape(t testing.TB, name string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, errRecovered) {
		t.Fatalf("%s: Decode panicked: %v", name, err)
	}
	n := 0
	for _, s := range []error{ErrMalformed, ErrUnsafe, ErrUnsupported} {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%s: error wraps %d sentinels: %v", name, n, err)
	}
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// sharedVectorsDir returns ../shared/vectors relative to the repository
// root, or skips the test if it is absent.
func sharedVectorsDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "vectors")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared wire vectors not found at %s (they live outside the repository); "+
			"the copies in testdata/vectors are tested by TestVectors", dir)
	}
	return dir
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func globBin(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// allTestdataPickles returns every .bin file under testdata.
func allTestdataPickles(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("testdata", func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(path, ".bin") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// jsonable converts a decoded value to one json.Marshal accepts with the
// same meaning: []byte becomes {"$bytes": base64}, a Tuple a list, a
// non-finite float null. It
// fails on a value Decode must never return (another type, or a cycle,
// which would make it recurse without end; depth is bounded by limit).
func jsonable(v any, limit int) (any, error) {
	if limit < 0 {
		return nil, errors.New("value nested deeper than the decoder's limit (or cyclic)")
	}
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		switch x {
		case NaN, PosInfinity, NegInfinity:
			return nil, nil // what the codec makes of them
		}
		if !json.Valid([]byte(x)) {
			return nil, fmt.Errorf("invalid json.Number %q", string(x))
		}
		return x, nil
	case []byte:
		return map[string]any{"$bytes": base64.StdEncoding.EncodeToString(x)}, nil
	case Tuple:
		return jsonable([]any(x), limit)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := jsonable(e, limit-1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := jsonable(e, limit-1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected type %T in decoded value", v)
}

// canonicalJSON marshals a decoded value (after jsonable) and parses it
// back with json.Number, ready for jsonEqual.
func canonicalJSON(t testing.TB, v any) any {
	t.Helper()
	j, err := jsonable(v, maxDepth+1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return parseJSON(t, b)
}

func parseJSON(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// numberEqual compares JSON numbers: integers by exact text, others by
// float64 value.
func numberEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	if strings.ContainsAny(string(a)+string(b), ".eE") {
		fa, err1 := strconv.ParseFloat(string(a), 64)
		fb, err2 := strconv.ParseFloat(string(b), 64)
		return err1 == nil && err2 == nil && fa == fb
	}
	return false
}

// jsonEqual compares two values parsed by parseJSON, reporting the first
// difference.
func jsonEqual(path string, want, got any) error {
	switch w := want.(type) {
	case json.Number:
		g, ok := got.(json.Number)
		if !ok || !numberEqual(w, g) {
			return fmt.Errorf("%s: want %v, got %#v", path, w, got)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: want %d-element list, got %#v", path, len(w), got)
		}
		for i := range w {
			if err := jsonEqual(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: want %d-key object, got %#v", path, len(w), got)
		}
		for k := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s: missing key %q", path, k)
			}
			if err := jsonEqual(path+"."+k, w[k], gv); err != nil {
				return err
			}
		}
	default:
		if want != got {
			return fmt.Errorf("%s: want %#v, got %#v", path, want, got)
		}
	}
	return nil
}

// expectEqual compares a decoded value with an expectation in gen.py's
// tagged JSON form (parsed with json.Number).
func expectEqual(path string, want, got any) error {
	switch w := want.(type) {
	case nil, bool, string:
		if want != got {
			return fmt.Errorf("%s: want %#v, got %#v", path, want, got)
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || g == nil || len(g) != len(w) {
			return fmt.Errorf("%s: want %d-element list, got %#v", path, len(w), got)
		}
		return expectItems(path, w, g)
	case map[string]any:
		if len(w) != 1 {
			return fmt.Errorf("%s: bad expectation %v", path, w)
		}
		for tag, inner := range w {
			switch tag {
			case "$int":
				g, ok := got.(json.Number)
				if !ok || string(g) != inner.(string) {
					return fmt.Errorf("%s: want int %v, got %#v", path, inner, got)
				}
			case "$float":
				f, err := strconv.ParseFloat(inner.(string), 64)
				if err != nil {
					return fmt.Errorf("%s: bad expectation %v", path, inner)
				}
				want := strconv.FormatFloat(f, 'g', -1, 64) // NaN as NaN
				switch {
				case math.IsInf(f, 1):
					want = PosInfinity
				case math.IsInf(f, -1):
					want = NegInfinity
				}
				g, ok := got.(json.Number)
				if !ok || string(g) != want {
					return fmt.Errorf("%s: want float %v, got %#v", path, inner, got)
				}
			case "$bytes":
				b, err := base64.StdEncoding.DecodeString(inner.(string))
				if err != nil {
					return fmt.Errorf("%s: bad expectation %v", path, inner)
				}
				g, ok := got.([]byte)
				if !ok || g == nil || !bytes.Equal(b, g) {
					return fmt.Errorf("%s: want bytes %x, got %#v", path, b, got)
				}
			case "$tuple":
				wi := inner.([]any)
				g, ok := got.(Tuple)
				if !ok || g == nil || len(g) != len(wi) {
					return fmt.Errorf("%s: want %d-tuple, got %#v", path, len(wi), got)
				}
				return expectItems(path, wi, g)
			case "$dict":
				wm := inner.(map[string]any)
				g, ok := got.(map[string]any)
				if !ok || g == nil || len(g) != len(wm) {
					return fmt.Errorf("%s: want %d-key dict, got %#v", path, len(wm), got)
				}
				for k, wv := range wm {
					gv, ok := g[k]
					if !ok {
						return fmt.Errorf("%s: missing key %q", path, k)
					}
					if err := expectEqual(path+"."+k, wv, gv); err != nil {
						return err
					}
				}
			default:
				return fmt.Errorf("%s: bad expectation tag %q", path, tag)
			}
		}
		return nil
	}
	return fmt.Errorf("%s: bad expectation %#v", path, want)
}

func expectItems(path string, want, got []any) error {
	for i := range want {
		if err := expectEqual(fmt.Sprintf("%s[%d]", path, i), want[i], got[i]); err != nil {
			return err
		}
	}
	return nil
}
