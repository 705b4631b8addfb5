package pickle

import (
	"path/filepath"
	"testing"
)

// testdata/generated holds pickles written by CPython itself (see
// testdata/gen.py for how to regenerate them) and a manifest of what each
// must decode to, or which sentinel error it must produce.
const generatedDir = "testdata/generated"

type manifestCase struct {
	File   string
	Expect any    // tagged form, see gen.py
	Error  string // "", "malformed", "unsafe" or "unsupported"
}

type manifest struct {
	Python string
	Cases  []manifestCase
}

// loadManifest reads testdata/generated/manifest.json, keeping numbers as
// json.Number.
func loadManifest(t testing.TB) manifest {
	t.Helper()
	obj, ok := parseJSON(t, mustRead(t, filepath.Join(generatedDir, "manifest.json"))).(map[string]any)
	if !ok {
		t.Fatal("manifest is not an object")
	}
	var m manifest
	m.Python, _ = obj["python"].(string)
	cases, _ := obj["cases"].([]any)
	for _, c := range cases {
		cm, _ := c.(map[string]any)
		var mc manifestCase
		mc.File, _ = cm["file"].(string)
		mc.Expect = cm["expect"]
		mc.Error, _ = cm["error"].(string)
		if mc.File == "" {
			t.Fatalf("manifest case without file: %v", c)
		}
		m.Cases = append(m.Cases, mc)
	}
	if len(m.Cases) == 0 {
		t.Fatal("empty manifest")
	}
	return m
}

func TestGenerated(t *testing.T) {
	m := loadManifest(t)
	seen := map[string]bool{}
	for _, c := range m.Cases {
		t.Run(c.File, func(t *testing.T) {
			seen[c.File] = true
			v, err := Decode(mustRead(t, filepath.Join(generatedDir, c.File)))
			checkErrShape(t, c.File, err)
			if c.Error != "" {
				if got := sentinelName(err); got != c.Error {
					t.Fatalf("got %s (%v, value %#v), want %s", got, err, v, c.Error)
				}
				t.Logf("%v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := expectEqual("value", c.Expect, v); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Every generated file is listed in the manifest.
	for _, f := range globBin(t, filepath.Join(generatedDir, "*.bin")) {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s is not in the manifest: re-run testdata/gen.py", f)
		}
	}
}
