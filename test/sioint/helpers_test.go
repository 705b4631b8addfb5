//go:build integration

package sioint

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/internal/testenv"
)

// deadline bounds every wait for something a peer should print.
const deadline = testenv.Deadline

// testSecret signs the tokens of every test (SOCKET_AUTH_SECRET's role).
var testSecret = []byte("sioint-secret-0123456789abcdefghijklmnop")

type (
	line = testenv.Line
	proc = testenv.Proc
)

// nodeDir holds the npm packages and the JS scripts.
var nodeDir = testenv.NodeDir()

func nodeBin() string   { return testenv.NodeBin() }
func pythonBin() string { return testenv.PythonBin() }

// requireNode skips (fails with CI=true) when node or the npm packages are
// missing.
func requireNode(t *testing.T) {
	t.Helper()
	testenv.RequireNode(t, "socket.io-client", "socket.io")
}

// requirePython skips (fails with CI=true) when python-socketio is missing.
func requirePython(t *testing.T) {
	t.Helper()
	testenv.RequirePython(t, "socketio", "engineio", "aiohttp")
}

// mint returns a token for user, valid for an hour.
func mint(t *testing.T, user string) string {
	t.Helper()
	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	tok, err := h.Mint(user, time.Hour)
	require.NoError(t, err)
	return tok
}

// uniqueUser returns a user ID no other test or repetition uses.
func uniqueUser(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// startProc runs argv in dir with extra environment variables (see
// testenv.Start); JSON numbers are float64, compared with asJSON.
func startProc(t *testing.T, name, dir string, env []string, argv ...string) *proc {
	t.Helper()
	return testenv.Start(t, testenv.Cmd{Name: name, Argv: argv, Dir: dir, Env: env})
}

// asJSON returns v as generic JSON (numbers float64), for comparisons with
// what a peer printed.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// bytesArg is binary data in the peers' line protocol.
func bytesArg(b []byte) map[string]any {
	return map[string]any{"$bytes": b64(b)}
}
