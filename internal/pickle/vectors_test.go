package pickle

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The wire vectors of ../shared/vectors (see its README.md) are copied into
// testdata/vectors, which is the primary source; TestSharedVectors also
// decodes the originals when they are present and checks the copies match.
const (
	vectorsDir   = "testdata/vectors"
	protocolsSub = "python-pickle-protocols"
	socketio572  = "python-socketio-5.7.2"
)

func decodeFile(t *testing.T, path string) any {
	t.Helper()
	v, err := Decode(mustRead(t, path))
	require.NoError(t, err, path)
	return v
}

func TestVectors(t *testing.T) {
	for _, sub := range []string{protocolsSub, socketio572} {
		files := globBin(t, filepath.Join(vectorsDir, sub, "*.bin"))
		require.NotEmpty(t, files, "no vectors in %s", sub)
		for _, f := range files {
			t.Run(sub+"/"+filepath.Base(f), func(t *testing.T) {
				v := decodeFile(t, f)
				checkMeaning(t, f, v)
			})
		}
	}
}

func TestSharedVectors(t *testing.T) {
	shared := sharedVectorsDir(t)
	for _, sub := range []string{protocolsSub, socketio572} {
		files := globBin(t, filepath.Join(shared, sub, "*.bin"))
		require.NotEmpty(t, files, "no vectors in %s", filepath.Join(shared, sub))
		for _, f := range files {
			t.Run(sub+"/"+filepath.Base(f), func(t *testing.T) {
				v := decodeFile(t, f)
				checkMeaning(t, f, v)
				cp := filepath.Join(vectorsDir, sub, filepath.Base(f))
				require.True(t, bytes.Equal(mustRead(t, f), mustRead(t, cp)),
					"%s differs from its copy %s: re-copy the vectors", f, cp)
			})
		}
	}
}

// checkMeaning compares a decoded python-socketio message with the NAME.json
// beside its NAME.bin, which says what a Socket.IO client receives.
func checkMeaning(t *testing.T, binPath string, v any) {
	t.Helper()
	jsonPath := strings.TrimSuffix(binPath, ".bin") + ".json"
	raw, err := os.ReadFile(jsonPath)
	if os.IsNotExist(err) {
		t.Logf("no %s to compare with", jsonPath)
		return
	}
	require.NoError(t, err)
	want := parseJSON(t, raw).(map[string]any)
	msg, ok := v.(map[string]any)
	require.True(t, ok, "top-level value is %T, want a dict", v)

	got := map[string]any{}
	if msg["method"] == "emit" {
		var args []any
		switch data := msg["data"].(type) {
		case nil:
			args = []any{}
		case Tuple:
			args = []any(data) // several arguments
		default:
			args = []any{data}
		}
		got["method"] = msg["method"]
		got["event"] = msg["event"]
		got["namespace"] = msg["namespace"]
		got["args"] = args
		got["rooms"] = listOrNil(msg["room"])
		got["except_sids"] = listOrNil(msg["skip_sid"])
	} else {
		for k := range want {
			got[k] = msg[k]
		}
	}
	if err := jsonEqual("message", want, canonicalJSON(t, got)); err != nil {
		t.Fatal(err)
	}
}

func listOrNil(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []any{x}
	}
	return v
}

func TestVectorValues(t *testing.T) {
	protoDir := filepath.Join(vectorsDir, protocolsSub)
	for _, name := range []string{"protocol0", "protocol1", "protocol2", "protocol3", "protocol4", "protocol5"} {
		t.Run(name, func(t *testing.T) {
			msg := decodeFile(t, filepath.Join(protoDir, name+".bin")).(map[string]any)
			require.Equal(t, "emit", msg["method"])
			require.Equal(t, "progress", msg["event"])
			require.Equal(t, "/", msg["namespace"])
			require.Equal(t, "user:42", msg["room"])
			require.Nil(t, msg["skip_sid"])
			require.Contains(t, msg, "skip_sid")
			require.Equal(t, "ffffffffffffffffffffffffffffffff", msg["host_id"])
			require.Equal(t, map[string]any{
				"pct":  json.Number("50"),
				"tags": Tuple{"a", "b"},
				"blob": []byte{0x00, 0xff},
				"big":  json.Number("1180591620717411303424"),
			}, msg["data"])
		})
	}

	dir := filepath.Join(vectorsDir, socketio572)
	msg := decodeFile(t, filepath.Join(dir, "multi_args.bin")).(map[string]any)
	require.Equal(t, Tuple{json.Number("1"), "two", nil, json.Number("3.5")}, msg["data"])

	msg = decodeFile(t, filepath.Join(dir, "dict_to_user.bin")).(map[string]any)
	require.Equal(t, map[string]any{"job": "sheet-sync", "ok": true, "pct": json.Number("50")}, msg["data"])

	msg = decodeFile(t, filepath.Join(dir, "numbers.bin")).(map[string]any)
	require.Equal(t, map[string]any{
		"i": json.Number("-7"), "f": json.Number("0.1"), "e": json.Number("1e+300"),
		"z": json.Number("0"), "b": false, "n": nil,
	}, msg["data"])

	msg = decodeFile(t, filepath.Join(dir, "list_single_arg.bin")).(map[string]any)
	require.Equal(t, []any{json.Number("1"), json.Number("2"), json.Number("3")}, msg["data"])

	msg = decodeFile(t, filepath.Join(dir, "binary.bin")).(map[string]any)
	require.Equal(t, map[string]any{"blob": []byte{0x00, 0x01, 0xff}, "name": "f.bin"}, msg["data"])

	msg = decodeFile(t, filepath.Join(dir, "unicode.bin")).(map[string]any)
	require.Equal(t, "ünï", msg["event"])
	require.Equal(t, map[string]any{"name": "Bảng tính 📊", "quote": `a"b\c`}, msg["data"])

	msg = decodeFile(t, filepath.Join(dir, "rooms_and_skip.bin")).(map[string]any)
	require.Equal(t, []any{"user:42", "team:7"}, msg["room"])
	require.Equal(t, []any{"sidA", "sidB"}, msg["skip_sid"])

	msg = decodeFile(t, filepath.Join(dir, "none_data.bin")).(map[string]any)
	require.Contains(t, msg, "data")
	require.Nil(t, msg["data"])

	msg = decodeFile(t, filepath.Join(dir, "large.bin")).(map[string]any)
	rows := msg["data"].(map[string]any)["rows"].([]any)
	require.Equal(t, map[string]any{"id": json.Number("3"), "v": "cell-3"}, rows[3])
}

// TestTruncatedVectors decodes every strict prefix of every valid pickle
// in testdata: each must fail as malformed, without panicking.
func TestTruncatedVectors(t *testing.T) {
	m := loadManifest(t)
	var files []string
	files = append(files, globBin(t, filepath.Join(vectorsDir, "*", "*.bin"))...)
	for _, c := range m.Cases {
		if c.Error == "" {
			files = append(files, filepath.Join(generatedDir, c.File))
		}
	}
	for _, f := range files {
		data := mustRead(t, f)
		if _, err := Decode(data); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i := 0; i < len(data); i++ {
			v, err := Decode(data[:i])
			if !isMalformed(err) {
				t.Fatalf("%s[:%d]: got %v, %v; want a malformed error", f, i, v, err)
			}
		}
	}
}

func isMalformed(err error) bool { return sentinelName(err) == "malformed" }
