package auth_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sockgate/sockgate/auth"
)

// FuzzVerify checks that Verify never panics, always returns one of the
// package's sentinels on failure, and never accepts a token whose
// signature an independent HS256 implementation does not confirm under
// the secret (nor one minted with another secret); and that a KeySet with
// the same secret, accepting HS256 only, returns the same for every input.
func FuzzVerify(f *testing.F) {
	for _, s := range []string{
		pyjwt42, pyjwt42 + "\n", pyjwtUni, pyjwtHS384, pyjwtNone, "", ".", "..", "a.b.c",
		sign(testSecret, stdHeader, `{"sub":"u","iat":1767225600,"exp":1767229200,"nbf":1}`),
		sign(testSecret, stdHeader, `{"sub":"u","iat":1767225600.5,"exp":1e10}`),
		sign(testSecret, `{"alg":"HS256","crit":[]}`, `{}`),
		sign([]byte("another-secret-of-at-least-32-bytes!"), stdHeader, `{"sub":"u","iat":1767225600,"exp":1767229200}`),
	} {
		f.Add(s)
	}
	h := newHMAC(f, clock(vectorIat+1))
	other, err := auth.NewHMAC([]byte("another-secret-of-at-least-32-bytes!"))
	if err != nil {
		f.Fatal(err)
	}
	other = other.WithClock(clock(vectorIat + 1))

	// A KeySet with the same secret (and a public key) agrees with h on
	// every input.
	es := testKeys()[auth.ES256][0]
	f.Add(es.mint(f, "", stdClaims("u")))
	set, err := auth.NewKeySet(auth.KeySetConfig{Secret: testSecret, Keys: []auth.Key{mustKey(f, "", es.pub())},
		Algorithms: []string{auth.HS256}, Now: clock(vectorIat + 1)})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, token string) {
		c, err := h.Verify(token)
		sc, serr := set.Verify(token)
		if c != sc || (err == nil) != (serr == nil) || err != nil && err.Error() != serr.Error() {
			t.Fatalf("Verify(%q): HMAC %+v, %v; KeySet %+v, %v", token, c, err, sc, serr)
		}
		if err != nil {
			if !errors.Is(err, auth.ErrMalformed) && !errors.Is(err, auth.ErrSignature) &&
				!errors.Is(err, auth.ErrExpired) && !errors.Is(err, auth.ErrAlgorithm) &&
				!errors.Is(err, auth.ErrUnknownKey) {
				t.Fatalf("Verify(%q): error %v matches no sentinel", token, err)
			}
			if c != (auth.Claims{}) {
				t.Fatalf("Verify(%q): claims %+v returned with error", token, c)
			}
			return
		}
		if c.User == "" || c.Expires.IsZero() || c.IssuedAt.IsZero() {
			t.Fatalf("Verify(%q) accepted incomplete claims %+v", token, c)
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("Verify(%q) accepted %d parts", token, len(parts))
		}
		m := hmac.New(sha256.New, testSecret)
		m.Write([]byte(parts[0] + "." + parts[1]))
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil || !hmac.Equal(sig, m.Sum(nil)) {
			t.Fatalf("Verify(%q) accepted a token not signed with the secret", token)
		}
		if base64.RawURLEncoding.EncodeToString(sig) != parts[2] {
			t.Fatalf("Verify(%q) accepted a non-canonical signature encoding", token)
		}
		hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var head struct{ Alg string }
		if json.Unmarshal(hdr, &head) != nil || head.Alg != "HS256" {
			t.Fatalf("Verify(%q) accepted header %q", token, hdr)
		}
		if _, err := other.Verify(token); !errors.Is(err, auth.ErrSignature) {
			t.Fatalf("a verifier with another secret accepted %q: %v", token, err)
		}
	})
}
