package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// meaning is what a vector's NAME.json states about its NAME.bin: what a
// Socket.IO client in the addressed rooms receives.
type meaning struct {
	Method     string
	Event      string
	Args       []any
	Namespace  string
	Rooms      []string // emit: nil = broadcast
	ExceptSids []string
	SID        string
	Room       string
}

// loadMeaning reads NAME.json, turning {"$bytes": b64} into []byte.
func loadMeaning(t *testing.T, path string) meaning {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var j map[string]any
	require.NoError(t, dec.Decode(&j), path)
	str := func(k string) string { s, _ := j[k].(string); return s }
	strs := func(k string) []string {
		v, ok := j[k].([]any)
		if !ok {
			require.Nil(t, j[k], "%s: %s", path, k)
			return nil
		}
		out := []string{}
		for _, e := range v {
			out = append(out, e.(string))
		}
		return out
	}
	m := meaning{Method: str("method"), Event: str("event"), Namespace: str("namespace"),
		SID: str("sid"), Room: str("room"), Rooms: strs("rooms"), ExceptSids: strs("except_sids")}
	if args, ok := j["args"].([]any); ok {
		m.Args = unBytes(args).([]any)
	}
	return m
}

func unBytes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if b64, ok := x["$bytes"].(string); ok && len(x) == 1 {
			b, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				panic(err)
			}
			return b
		}
		for k, e := range x {
			x[k] = unBytes(e)
		}
	case []any:
		for i, e := range x {
			x[i] = unBytes(e)
		}
	}
	return v
}

// message builds the Message a vector's meaning describes, as a Go
// application would write it.
func (v meaning) message() *Message {
	m := &Message{Method: Method(v.Method), Event: v.Event, Namespace: v.Namespace, SID: v.SID}
	switch v.Method {
	case "emit":
		m.Rooms, m.Skip = v.Rooms, v.ExceptSids
		switch len(v.Args) {
		case 0:
		case 1:
			m.Data = v.Args[0]
		default:
			m.Data = Args(v.Args)
		}
	default:
		m.Rooms = []string{v.Room}
	}
	return m
}

// checkMeaning reports how m differs from what the vector states.
func checkMeaning(t *testing.T, want meaning, m *Message, context string) {
	t.Helper()
	require.Equal(t, want.Method, string(m.Method), context)
	require.Equal(t, want.Namespace, m.Namespace, context+": namespace")
	switch want.Method {
	case "emit":
		require.Equal(t, want.Event, m.Event, context+": event")
		require.Equal(t, want.Rooms, m.Rooms, context+": rooms")
		require.Equal(t, want.ExceptSids, m.Skip, context+": except_sids")
		if d := diffValue("args", want.Args, m.Arguments()); d != "" {
			t.Fatalf("%s: %s", context, d)
		}
	default:
		require.Equal(t, want.SID, m.SID, context+": sid")
		require.Equal(t, []string{want.Room}, m.Rooms, context+": room")
	}
}

// diffValue compares two decoded values: numbers by exact numeric value,
// Args, pickle tuples and []any alike as lists. It returns "" when they are
// equal, else where and how they differ.
func diffValue(path string, want, got any) string {
	wl, wIsList := asTestList(want)
	gl, gIsList := asTestList(got)
	if wIsList || gIsList {
		if !wIsList || !gIsList {
			return fmt.Sprintf("%s: want %#v, got %#v", path, want, got)
		}
		if len(wl) != len(gl) {
			return fmt.Sprintf("%s: want %d items, got %d (%#v vs %#v)", path, len(wl), len(gl), want, got)
		}
		for i := range wl {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), wl[i], gl[i]); d != "" {
				return d
			}
		}
		return ""
	}
	switch w := want.(type) {
	case nil:
		if got != nil {
			return fmt.Sprintf("%s: want null, got %#v", path, got)
		}
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return fmt.Sprintf("%s: want number %s, got %#v", path, w, got)
		}
		wr, ok1 := new(big.Rat).SetString(string(w))
		gr, ok2 := new(big.Rat).SetString(string(g))
		if !ok1 || !ok2 || wr.Cmp(gr) != 0 {
			return fmt.Sprintf("%s: want number %s, got %s", path, w, g)
		}
	case []byte:
		g, ok := got.([]byte)
		if !ok || !bytes.Equal(w, g) {
			return fmt.Sprintf("%s: want bytes %x, got %#v", path, w, got)
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %#v", path, got)
		}
		keys := func(m map[string]any) []string {
			var ks []string
			for k := range m {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			return ks
		}
		if wk, gk := keys(w), keys(g); !slices.Equal(wk, gk) {
			return fmt.Sprintf("%s: want keys %q, got %q", path, wk, gk)
		}
		for k := range w {
			if d := diffValue(fmt.Sprintf("%s[%q]", path, k), w[k], g[k]); d != "" {
				return d
			}
		}
	default:
		if want != got {
			return fmt.Sprintf("%s: want %#v, got %#v", path, want, got)
		}
	}
	return ""
}

func asTestList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case Args:
		return x, true
	}
	if l, ok := asList(v); ok {
		return l, true
	}
	return nil, false
}

// sameMeaning reports how two messages differ in meaning, or "". Python
// reads a single null argument as no argument, a missing skip list as an
// empty one and a missing callback argument list as an empty one, so those
// compare equal.
func sameMeaning(a, b *Message) string {
	type envelope struct {
		Method      Method
		Event       string
		Namespace   string
		Rooms       []string
		Skip        []string
		SID         string
		HasCallback bool
		Callback    Callback
		CallbackID  int64
		HostID      string
		Seq         uint64
	}
	env := func(m *Message) envelope {
		e := envelope{Method: m.Method, Event: m.Event, Namespace: m.Namespace, Rooms: m.Rooms,
			Skip: m.Skip, SID: m.SID, CallbackID: m.CallbackID, HostID: m.HostID, Seq: m.Seq}
		if len(e.Skip) == 0 {
			e.Skip = nil
		}
		if m.Callback != nil {
			e.HasCallback, e.Callback = true, *m.Callback
		}
		return e
	}
	if ea, eb := fmt.Sprintf("%#v", env(a)), fmt.Sprintf("%#v", env(b)); ea != eb {
		return fmt.Sprintf("envelopes differ:\n%s\n%s", ea, eb)
	}
	args := func(m *Message) []any {
		l := m.Arguments()
		if m.Method == MethodEmit && len(l) == 1 && l[0] == nil {
			return nil
		}
		if len(l) == 0 {
			return nil
		}
		return l
	}
	return diffValue("args", args(a), args(b))
}

// vectorFile is one NAME.bin with its NAME.json.
type vectorFile struct {
	dir, name string // e.g. "python-socketio-5.16", "binary"
	bin       []byte
	want      meaning
}

func (v vectorFile) String() string { return v.dir + "/" + v.name }

// loadVectors reads every vector under testdata/vectors and fails if a .bin
// has no .json or a .json no .bin.
func loadVectors(t *testing.T) []vectorFile {
	t.Helper()
	root := filepath.Join("testdata", "vectors")
	var out []vectorFile
	var bins int
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".bin":
			bins++
			base := strings.TrimSuffix(path, ".bin")
			if _, err := os.Stat(base + ".json"); err != nil {
				t.Errorf("%s has no .json beside it", path)
				return nil
			}
			bin, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			dir, _ := filepath.Rel(root, filepath.Dir(path))
			out = append(out, vectorFile{dir: dir, name: filepath.Base(base), bin: bin, want: loadMeaning(t, base+".json")})
		case ".json":
			if _, err := os.Stat(strings.TrimSuffix(path, ".json") + ".bin"); err != nil {
				t.Errorf("%s has no .bin beside it", path)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, bins, len(out))
	dirs := map[string]int{}
	for _, v := range out {
		dirs[v.dir]++
	}
	for _, d := range []string{"python-socketio-5.16", "python-socketio-5.7.2", "python-pickle-protocols"} {
		require.NotZero(t, dirs[d], "no vectors in %s", d)
	}
	return out
}
