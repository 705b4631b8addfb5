package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockgate/sockgate/auth"
)

const tokenTestSecret = "cli-test-secret-0123456789abcdefghij" // 36 bytes

func TestToken(t *testing.T) {
	cleanEnv(t)
	t.Setenv("SOCKET_AUTH_SECRET", tokenTestSecret)
	h, err := auth.NewHMAC([]byte(tokenTestSecret))
	if err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, nil, "token", "--user", "42", "--ttl", "90m")
	if r.code != exitOK {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	if strings.Count(r.stdout, "\n") != 1 || !strings.HasSuffix(r.stdout, "\n") {
		t.Fatalf("stdout is not one line: %q", r.stdout)
	}
	c, err := h.Verify(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatalf("the printed token does not verify: %v", err)
	}
	if c.User != "42" || c.Expires.Sub(c.IssuedAt) != 90*time.Minute {
		t.Fatalf("claims %+v, want user 42 valid 90m", c)
	}
	if time.Since(c.IssuedAt) > time.Minute || time.Since(c.IssuedAt) < -time.Minute {
		t.Fatalf("issued at %s, not now", c.IssuedAt)
	}
	if !strings.Contains(r.stderr, `token for user "42", expires `) {
		t.Fatalf("stderr %q", r.stderr)
	}

	// Default ttl: one hour.
	r = runCLI(t, nil, "token", "--user", "7")
	c, err = h.Verify(strings.TrimSpace(r.stdout))
	if err != nil || c.User != "7" || c.Expires.Sub(c.IssuedAt) != time.Hour {
		t.Fatalf("default ttl: claims %+v, err %v, stderr %q", c, err, r.stderr)
	}

	// --secret-env reads another variable; a token signed with it fails
	// under SOCKET_AUTH_SECRET.
	t.Setenv("OTHER_SECRET", strings.Repeat("o", 32))
	r = runCLI(t, nil, "token", "--user", "42", "--secret-env", "OTHER_SECRET")
	if r.code != exitOK {
		t.Fatalf("--secret-env: code %d, stderr %q", r.code, r.stderr)
	}
	if _, err := h.Verify(strings.TrimSpace(r.stdout)); !errors.Is(err, auth.ErrSignature) {
		t.Fatalf("token from OTHER_SECRET verified under SOCKET_AUTH_SECRET: %v", err)
	}
}

func TestTokenFixedClock(t *testing.T) {
	// The PyJWT vector of package auth: same claims, same secret, same bytes.
	var out, errOut bytes.Buffer
	o := tokenOptions{user: "42", ttl: time.Hour, secretEnv: "S",
		lookup: func(string) (string, bool) { return "sockgate-test-secret-0123456789abcdef", true },
		now:    func() time.Time { return time.Unix(1767225600, 0) }}
	if err := o.run(&cli{stdout: &out, stderr: &errOut}); err != nil {
		t.Fatal(err)
	}
	const want = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImlhdCI6MTc2NzIyNTYwMCwiZXhwIjoxNzY3MjI5MjAwfQ.kcs5PgbmI41vtSgk1mVqqA0llr7dVOEuWfbAIE11z4Y\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	if errOut.String() != "token for user \"42\", expires 2026-01-01T01:00:00Z\n" {
		t.Fatalf("stderr %q", errOut.String())
	}
}

func TestTokenErrors(t *testing.T) {
	cleanEnv(t)
	t.Setenv("SOCKET_AUTH_SECRET", tokenTestSecret)
	t.Setenv("SHORT_SECRET", "s3cret-31-bytes-s3cret-31-bytes")
	t.Setenv("EMPTY_SECRET", "")
	tests := []struct {
		name string
		args []string
		want string // the first stderr line
	}{
		{"no user", []string{"token"}, "sockgate: token: --user is required"},
		{"zero ttl", []string{"token", "--user", "1", "--ttl", "0s"}, "sockgate: token: --ttl must be positive, got 0s"},
		{"negative ttl", []string{"token", "--user", "1", "--ttl", "-1h"}, "sockgate: token: --ttl must be positive, got -1h0m0s"},
		{"bad ttl", []string{"token", "--user", "1", "--ttl", "soon"}, `sockgate: token: invalid value "soon" for flag -ttl: parse error`},
		{"unset secret", []string{"token", "--user", "1", "--secret-env", "NO_SUCH_SOCKGATE_VAR"}, "sockgate: token: no secret: NO_SUCH_SOCKGATE_VAR is unset or empty (generate one with: openssl rand -base64 48)"},
		{"empty secret", []string{"token", "--user", "1", "--secret-env", "EMPTY_SECRET"}, "sockgate: token: no secret: EMPTY_SECRET is unset or empty"},
		{"short secret", []string{"token", "--user", "1", "--secret-env", "SHORT_SECRET"}, "sockgate: token: SHORT_SECRET: auth: secret too short: 31 bytes, want at least 32"},
		{"empty secret-env", []string{"token", "--user", "1", "--secret-env", ""}, "sockgate: token: --secret-env must name an environment variable"},
		{"invalid user", []string{"token", "--user", "\xff"}, `sockgate: token: auth: mint: user ID "\xff" is not valid UTF-8`},
		{"positional", []string{"token", "--user", "1", "extra"}, `sockgate: token: unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit code %d, want %d", r.code, exitUsage)
			}
			if first, _, _ := strings.Cut(r.stderr, "\n"); !strings.HasPrefix(first, tt.want) {
				t.Errorf("stderr %q does not start with %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
			if strings.Contains(r.stderr, "s3cret") {
				t.Errorf("the secret is printed: %q", r.stderr)
			}
		})
	}
}

// TestTokenClaim: the user ID goes in --claim, whose default is
// SOCKET_AUTH_USER_CLAIM; a date claim is refused.
func TestTokenClaim(t *testing.T) {
	cleanEnv(t)
	t.Setenv("SOCKET_AUTH_SECRET", tokenTestSecret)
	t.Setenv("SOCKET_AUTH_USER_CLAIM", "uid")
	h, err := auth.NewHMAC([]byte(tokenTestSecret))
	if err != nil {
		t.Fatal(err)
	}
	uid, err := h.WithUserClaim("uid")
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "token", "--user", "42")
	tok := strings.TrimSpace(r.stdout)
	if c, err := uid.Verify(tok); err != nil || c.User != "42" {
		t.Fatalf("SOCKET_AUTH_USER_CLAIM=uid: claims %+v, err %v, stderr %q", c, err, r.stderr)
	}
	if _, err := h.Verify(tok); !errors.Is(err, auth.ErrMalformed) {
		t.Fatalf("a uid token verified with the sub claim: %v", err)
	}
	r = runCLI(t, nil, "token", "--user", "42", "--claim", "sub")
	if c, err := h.Verify(strings.TrimSpace(r.stdout)); err != nil || c.User != "42" {
		t.Fatalf("--claim sub: claims %+v, err %v", c, err)
	}
	r = runCLI(t, nil, "token", "--user", "42", "--claim", "exp")
	if r.code != exitUsage || !strings.Contains(r.stderr, `--claim: auth: invalid key: user claim "exp" is a date claim`) {
		t.Fatalf("--claim exp: code %d, stderr %q", r.code, r.stderr)
	}
}

// TestTokenWithKey: --key signs with a private key (ES256 here, with
// --kid), and a server holding the public key accepts the token; bad
// keys and flags are usage errors naming the problem.
func TestTokenWithKey(t *testing.T) {
	cleanEnv(t)
	t.Setenv("SOCKET_AUTH_SECRET", "")
	dir := t.TempDir()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "idp.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := auth.PublicKey("idp-1", &ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewKeySet(auth.KeySetConfig{Keys: []auth.Key{pub}})
	if err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, nil, "token", "--user", "42", "--ttl", "90m", "--key", keyFile, "--kid", "idp-1")
	if r.code != exitOK {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	tok := strings.TrimSpace(r.stdout)
	c, err := v.Verify(tok)
	if err != nil || c.User != "42" || c.Expires.Sub(c.IssuedAt) != 90*time.Minute {
		t.Fatalf("claims %+v, err %v; want user 42 valid 90m", c, err)
	}
	if hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0]); !strings.Contains(string(hdr), `"alg":"ES256"`) || !strings.Contains(string(hdr), `"kid":"idp-1"`) {
		t.Fatalf("header %s", hdr)
	}

	pubDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	pubFile := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--kid", "x"}, "--kid needs --key"},
		{[]string{"--key", filepath.Join(dir, "nope.pem")}, "--key: open " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{[]string{"--key", pubFile}, `--key ` + pubFile + `: PEM block "PUBLIC KEY" is not a private key`},
		{[]string{"--key", keyFile, "--claim", "iat"}, `--claim: auth: invalid key: user claim "iat" is a date claim`},
	} {
		r := runCLI(t, nil, append([]string{"token", "--user", "42"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want exit 2 with %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
}
