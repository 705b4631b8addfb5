package codec

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every vector decodes to the meaning its .json states, whatever dialect
// the decoding codec writes (V514 reads 5.16's JSON differently by design,
// see TestDecodeBinaryKeyHeuristic).
func TestVectorsDecode(t *testing.T) {
	vectors := loadVectors(t)
	for _, v := range vectors {
		t.Run(v.String(), func(t *testing.T) {
			for _, d := range []Dialect{Current, Legacy} {
				m, err := NewPython(PythonConfig{Dialect: d}).Decode(v.bin)
				require.NoError(t, err)
				checkMeaning(t, v.want, m, d.String())
			}
		})
	}
	t.Logf("%d vectors decoded", len(vectors))
}

// notExpressible lists the vectors a dialect cannot carry: several
// arguments (multi_args), bytes (binary, and the blob in the pickle
// protocol vectors) and room lists (rooms_and_skip) for Legacy.
func notExpressible(d Dialect, v vectorFile) bool {
	switch d {
	case Legacy:
		return v.name == "multi_args" || v.name == "binary" || v.name == "rooms_and_skip" ||
			v.dir == "python-pickle-protocols"
	case V514:
		return v.name == "multi_args"
	}
	return false
}

// Every vector, decoded and encoded again in each dialect, decodes to the
// same meaning; what a dialect cannot express is refused with ErrDialect.
func TestVectorsReencode(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.String(), func(t *testing.T) {
			decoded, err := NewPython(PythonConfig{}).Decode(v.bin)
			require.NoError(t, err)
			for _, d := range []Dialect{Current, V514, Legacy} {
				c := NewPython(PythonConfig{Dialect: d})
				out, err := c.Encode(nil, decoded)
				if notExpressible(d, v) {
					require.ErrorIs(t, err, ErrDialect, d.String())
					require.Empty(t, out)
					continue
				}
				require.NoError(t, err, d.String())
				back, err := c.Decode(out)
				require.NoError(t, err, "%s: %s", d, out)
				checkMeaning(t, v.want, back, d.String()+": "+string(out))
				require.Equal(t, decoded.HostID, back.HostID)
			}
		})
	}
}

// The 5.7.2 vectors' meanings, written by a Go application in the Legacy
// dialect, reach the same meaning; those Legacy cannot express are refused
// and go through Current instead.
func TestVectorsLegacyFromMeaning(t *testing.T) {
	legacy := NewPython(PythonConfig{Dialect: Legacy})
	current := NewPython(PythonConfig{Dialect: Current})
	n := 0
	for _, v := range loadVectors(t) {
		if v.dir != "python-socketio-5.7.2" {
			continue
		}
		n++
		t.Run(v.name, func(t *testing.T) {
			msg := v.want.message()
			out, err := legacy.Encode(nil, msg)
			if notExpressible(Legacy, v) {
				require.ErrorIs(t, err, ErrDialect)
				out, err = current.Encode(nil, msg)
				require.NoError(t, err)
				back, err := current.Decode(out)
				require.NoError(t, err)
				checkMeaning(t, v.want, back, "current: "+string(out))
				return
			}
			require.NoError(t, err)
			require.NotContains(t, string(out), `"binary"`)
			back, err := legacy.Decode(out)
			require.NoError(t, err)
			checkMeaning(t, v.want, back, "legacy: "+string(out))
		})
	}
	require.Equal(t, 14, n)
}

// Encoding the meaning of each 5.16 vector in the Current dialect yields
// what python-socketio 5.16 published: the same members in the same order
// with the same values. The one difference is deliberate: no argument is
// written [] where python writes [null]; 5.16 reads both as no argument.
func TestVectorsEncodeLikePython516(t *testing.T) {
	c := NewPython(PythonConfig{Dialect: Current})
	n := 0
	for _, v := range loadVectors(t) {
		if v.dir != "python-socketio-5.16" {
			continue
		}
		n++
		t.Run(v.name, func(t *testing.T) {
			theirs := parseObject(t, v.bin)
			msg := v.want.message()
			msg.HostID = theirs.values["host_id"].(string)
			out, err := c.Encode(nil, msg)
			require.NoError(t, err)
			ours := parseObject(t, out)
			require.Equal(t, theirs.keys, ours.keys, "member order")
			for _, k := range theirs.keys {
				want, got := theirs.values[k], ours.values[k]
				if v.name == "none_data" && k == "data" {
					require.Equal(t, []any{nil}, want)
					require.Equal(t, []any{}, got)
					continue
				}
				if d := diffValue(k, want, got); d != "" {
					t.Fatalf("%s\nours:   %s\ntheirs: %s", d, out, v.bin)
				}
			}
		})
	}
	require.Equal(t, 16, n)
}

// object is a parsed JSON object with its member order.
type object struct {
	keys   []string
	values map[string]any
}

func parseObject(t *testing.T, data []byte) object {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	o := object{values: map[string]any{}}
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		k := tok.(string)
		var v any
		require.NoError(t, dec.Decode(&v))
		o.keys = append(o.keys, k)
		o.values[k] = v
	}
	return o
}
