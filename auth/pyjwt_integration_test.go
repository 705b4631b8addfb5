//go:build integration

package auth_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pyjwtScript mints a token with PyJWT for argv[1] (user), then decodes
// argv[2] (a token minted by Go) and prints the token and the decoded sub.
const pyjwtScript = `
import sys, time, jwt
secret = sys.stdin.buffer.read()
now = int(time.time())
print(jwt.encode({"sub": sys.argv[1], "iat": now, "exp": now + 600}, secret, algorithm="HS256"))
print(jwt.decode(sys.argv[2], secret, algorithms=["HS256"])["sub"])
try:
    jwt.decode(sys.argv[2], secret + b"x", algorithms=["HS256"])
    print("accepted-wrong-secret")
except jwt.InvalidSignatureError:
    print("refused-wrong-secret")
`

// TestPyJWTInterop mints with the real PyJWT (Debian python3-jwt) and
// verifies in Go, and the other way round.
func TestPyJWTInterop(t *testing.T) {
	t.Parallel()
	py := "/usr/bin/python3"
	if p := os.Getenv("SOCKGATE_PYTHON"); p != "" {
		py = p
	}
	if out, err := exec.Command(py, "-c", "import jwt").CombinedOutput(); err != nil {
		msg := py + " has no PyJWT (" + strings.TrimSpace(string(out)) + "); install with: apt-get install python3-jwt"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	h := newHMAC(t, time.Now)
	goTok, err := h.Mint("go-user/ü", 10*time.Minute)
	require.NoError(t, err)

	cmd := exec.Command(py, "-c", pyjwtScript, "py-user/ü", goTok)
	cmd.Stdin = strings.NewReader(string(testSecret))
	out, err := cmd.Output()
	require.NoError(t, err, "python: %s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 3, "%s", out)

	c, err := h.Verify(lines[0])
	require.NoError(t, err, "a PyJWT token verifies in Go")
	assert.Equal(t, "py-user/ü", c.User)
	assert.Equal(t, 10*time.Minute, c.Expires.Sub(c.IssuedAt))
	assert.Equal(t, "go-user/ü", lines[1], "a Go token decodes in PyJWT")
	assert.Equal(t, "refused-wrong-secret", lines[2])
}
