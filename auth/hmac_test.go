package auth_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
)

// testSecret is 37 bytes; the vectors below were minted with it by PyJWT 2.6.0:
//
//	jwt.encode({"sub": "42", "iat": 1767225600, "exp": 1767229200}, secret, algorithm="HS256")
var testSecret = []byte("sockgate-test-secret-0123456789abcdef")

const (
	vectorIat  = 1767225600 // 2026-01-01T00:00:00Z
	vectorExp  = 1767229200 // one hour later
	pyjwt42    = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImlhdCI6MTc2NzIyNTYwMCwiZXhwIjoxNzY3MjI5MjAwfQ.kcs5PgbmI41vtSgk1mVqqA0llr7dVOEuWfbAIE11z4Y"
	pyjwtUni   = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJcdTAwZmNuXHUwMGVmY29kZS91c2VyIiwiaWF0IjoxNzY3MjI1NjAwLCJleHAiOjE3NjcyMjkyMDAsImF1ZCI6IngifQ.SGUtlgyVAppG1HeDPQlt8K4GSkxecw9iCqUNIHooUSs"
	pyjwtHS384 = "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImlhdCI6MTc2NzIyNTYwMCwiZXhwIjoxNzY3MjI5MjAwfQ.VVa4A83goc-WueZMVegBqKj3cMIGRq_2lGeioVABv_fXW_eWBY6Cx7vPMRsrJxAq"
	pyjwtNone  = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiI0MiIsImlhdCI6MTc2NzIyNTYwMCwiZXhwIjoxNzY3MjI5MjAwfQ."
)

func clock(unix int64) func() time.Time {
	return func() time.Time { return time.Unix(unix, 0) }
}

func newHMAC(t testing.TB, now func() time.Time) *auth.HMAC {
	t.Helper()
	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	return h.WithClock(now)
}

// sign is an independent HS256 signer for hand-made tokens.
func sign(secret []byte, header, claims string) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + enc.EncodeToString(m.Sum(nil))
}

const stdHeader = `{"alg":"HS256","typ":"JWT"}`

func TestMintMatchesPyJWT(t *testing.T) {
	t.Parallel()
	h := newHMAC(t, clock(vectorIat))
	tok, err := h.Mint("42", time.Hour)
	require.NoError(t, err)
	assert.Equal(t, pyjwt42, tok, "byte-identical to PyJWT's encoding of the same claims")
}

func TestVerifyPyJWTVectors(t *testing.T) {
	t.Parallel()
	h := newHMAC(t, clock(vectorIat+60))
	c, err := h.Verify(pyjwt42)
	require.NoError(t, err)
	assert.Equal(t, auth.Claims{User: "42", IssuedAt: time.Unix(vectorIat, 0).UTC(), Expires: time.Unix(vectorExp, 0).UTC()}, c)

	c, err = h.Verify(pyjwtUni)
	require.NoError(t, err, "unknown claims (aud) are ignored, \\u escapes decoded")
	assert.Equal(t, "ünïcode/user", c.User)

	_, err = h.Verify(pyjwtHS384)
	assert.ErrorIs(t, err, auth.ErrAlgorithm)
	assert.EqualError(t, err, `auth: unsupported algorithm: "HS384" (want HS256)`)
	_, err = h.Verify(pyjwtNone)
	assert.ErrorIs(t, err, auth.ErrAlgorithm)
	assert.EqualError(t, err, `auth: unsupported algorithm: "none" (want HS256)`)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	before := time.Now().Truncate(time.Second)
	tok, err := h.Mint("user-7", 90*time.Minute)
	require.NoError(t, err)
	c, err := h.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, "user-7", c.User)
	assert.False(t, c.IssuedAt.Before(before))
	assert.Equal(t, 90*time.Minute, c.Expires.Sub(c.IssuedAt))
}

func TestMintTTLRoundsUp(t *testing.T) {
	t.Parallel()
	h := newHMAC(t, clock(vectorIat))
	tok, err := h.Mint("u", 1500*time.Millisecond)
	require.NoError(t, err)
	c, err := h.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, c.Expires.Sub(c.IssuedAt))
}

func TestMintRefuses(t *testing.T) {
	t.Parallel()
	h := newHMAC(t, clock(vectorIat))
	for _, tc := range []struct {
		user string
		ttl  time.Duration
		want string
	}{
		{"", time.Hour, "auth: mint: empty user ID"},
		{"\xff", time.Hour, `auth: mint: user ID "\xff" is not valid UTF-8`},
		{"u", 0, "auth: mint: ttl must be positive, got 0s"},
		{"u", -time.Second, "auth: mint: ttl must be positive, got -1s"},
	} {
		_, err := h.Mint(tc.user, tc.ttl)
		assert.EqualError(t, err, tc.want)
	}
	_, err := h.WithClock(clock(253402300000)).Mint("u", time.Hour)
	assert.EqualError(t, err, "auth: mint: expiry out of range (issued at 253402300000, ttl 1h0m0s)")
	tok, err := h.Mint("u", time.Duration(1<<63-1))
	require.NoError(t, err, "the longest Duration fits")
	_, err = h.Verify(tok)
	require.NoError(t, err)
}

func TestNewHMACSecretLength(t *testing.T) {
	t.Parallel()
	_, err := auth.NewHMAC(make([]byte, 31))
	require.ErrorIs(t, err, auth.ErrSecret)
	assert.EqualError(t, err, "auth: secret too short: 31 bytes, want at least 32")
	_, err = auth.NewHMAC(nil)
	require.ErrorIs(t, err, auth.ErrSecret)
	_, err = auth.NewHMAC(make([]byte, 32))
	require.NoError(t, err)
}

func TestSecretIsCopied(t *testing.T) {
	t.Parallel()
	s := append([]byte(nil), testSecret...)
	h, err := auth.NewHMAC(s)
	require.NoError(t, err)
	s[0] ^= 1
	_, err = h.WithClock(clock(vectorIat)).Verify(pyjwt42)
	require.NoError(t, err)
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		now  int64
		want string // "" = accepted
	}{
		{"at iat", vectorIat, ""},
		{"at exp", vectorExp, ""},
		{"within leeway after exp", vectorExp + 4, ""},
		{"at exp plus leeway", vectorExp + 5, "auth: token expired or not yet valid: expired at 2026-01-01T01:00:00Z (now 2026-01-01T01:00:05Z)"},
		{"within leeway before iat", vectorIat - 5, ""},
		{"before iat", vectorIat - 6, "auth: token expired or not yet valid: issued in the future at 2026-01-01T00:00:00Z (now 2025-12-31T23:59:54Z)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := newHMAC(t, clock(tc.now)).Verify(pyjwt42)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, auth.ErrExpired)
			assert.EqualError(t, err, tc.want)
		})
	}

	tok := sign(testSecret, stdHeader, `{"sub":"u","iat":1767225600,"exp":1767229200,"nbf":1767226000}`)
	_, err := newHMAC(t, clock(vectorIat+100)).Verify(tok)
	assert.ErrorIs(t, err, auth.ErrExpired, "nbf is honoured")
	_, err = newHMAC(t, clock(vectorIat+400)).Verify(tok)
	assert.NoError(t, err)

	tok = sign(testSecret, stdHeader, `{"sub":"u","iat":1767225600.25,"exp":1767229200.5}`)
	c, err := newHMAC(t, clock(vectorIat)).Verify(tok)
	require.NoError(t, err, "fractional NumericDates are allowed (RFC 7519)")
	assert.Equal(t, time.Unix(vectorExp, 5e8).UTC(), c.Expires)
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	h := newHMAC(t, clock(vectorIat))
	other, err := auth.NewHMAC([]byte("another-secret-of-at-least-32-bytes!"))
	require.NoError(t, err)
	otherTok, err := other.WithClock(clock(vectorIat)).Mint("42", time.Hour)
	require.NoError(t, err)
	parts := strings.Split(pyjwt42, ".")
	claims := func(c string) string { return sign(testSecret, stdHeader, c) }

	for _, tc := range []struct {
		name, token string
		is          error
		want        string
	}{
		{"empty", "", auth.ErrMalformed, "auth: malformed token: empty token"},
		{"one part", "abc", auth.ErrMalformed, "auth: malformed token: want 3 dot-separated parts, got 1"},
		{"two parts", parts[0] + "." + parts[1], auth.ErrMalformed, "auth: malformed token: want 3 dot-separated parts, got 2"},
		{"four parts", pyjwt42 + ".x", auth.ErrMalformed, "auth: malformed token: want 3 dot-separated parts, got 4"},
		{"too long", strings.Repeat("a", auth.MaxTokenLen+1), auth.ErrMalformed, "auth: malformed token: 8193 bytes, longer than 8192"},
		{"padded header", parts[0] + "=." + parts[1] + "." + parts[2], auth.ErrMalformed, `auth: malformed token: character "=" at offset 36 is not base64url or '.'`},
		{"trailing newline", pyjwt42 + "\n", auth.ErrMalformed, `auth: malformed token: character "\n" at offset 143 is not base64url or '.'`},
		{"inner CR", parts[0] + "\r." + parts[1] + "." + parts[2], auth.ErrMalformed, `auth: malformed token: character "\r" at offset 36 is not base64url or '.'`},
		{"space", " " + pyjwt42, auth.ErrMalformed, `auth: malformed token: character " " at offset 0 is not base64url or '.'`},
		{"standard base64 alphabet", parts[0] + "." + parts[1] + ".+" + parts[2][1:], auth.ErrMalformed, `auth: malformed token: character "+" at offset 100 is not base64url or '.'`},
		{"header not JSON", "bm90anNvbg." + parts[1] + "." + parts[2], auth.ErrMalformed, "auth: malformed token: could not JSON decode header: invalid character 'o' in literal null (expecting 'u')"},
		{"header null", "bnVsbA." + parts[1] + "." + parts[2], auth.ErrMalformed, "auth: malformed token: header is not a JSON object"},
		{"no alg", sign(testSecret, `{"typ":"JWT"}`, `{}`), auth.ErrMalformed, `auth: malformed token: header has no "alg"`},
		{"alg not string", sign(testSecret, `{"alg":256}`, `{}`), auth.ErrMalformed, `auth: malformed token: header "alg" is not a string`},
		{"alg lower case", sign(testSecret, `{"alg":"hs256"}`, `{}`), auth.ErrAlgorithm, `auth: unsupported algorithm: "hs256" (want HS256)`},
		{"alg RS256", sign(testSecret, `{"alg":"RS256"}`, `{}`), auth.ErrAlgorithm, `auth: unsupported algorithm: "RS256" (want HS256)`},
		{"crit", sign(testSecret, `{"alg":"HS256","crit":["b64"],"b64":false}`, `{}`), auth.ErrAlgorithm, `auth: unsupported algorithm: critical header extensions ("crit") are not supported`},
		{"other secret", otherTok, auth.ErrSignature, "auth: invalid signature"},
		{"empty signature", parts[0] + "." + parts[1] + ".", auth.ErrSignature, "auth: invalid signature"},
		{"truncated signature", pyjwt42[:len(pyjwt42)-11], auth.ErrSignature, "auth: invalid signature"},
		{"signature not base64", parts[0] + "." + parts[1] + ".!!", auth.ErrMalformed, `auth: malformed token: character "!" at offset 100 is not base64url or '.'`},
		{"signature stray bits", parts[0] + "." + parts[1] + "." + parts[2][:42] + "Z", auth.ErrMalformed, "auth: malformed token: could not base64 decode signature: illegal base64 data at input byte 42"},
		{"claims altered", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"1","iat":1767225600,"exp":1767229200}`)) + "." + parts[2], auth.ErrSignature, "auth: invalid signature"},
		{"claims not JSON", claims(`sub=42`), auth.ErrMalformed, "auth: malformed token: could not JSON decode claim: invalid character 's' looking for beginning of value"},
		{"claims array", claims(`["42"]`), auth.ErrMalformed, "auth: malformed token: claims are not a JSON object"},
		{"no sub", claims(`{"iat":1767225600,"exp":1767229200}`), auth.ErrMalformed, `auth: malformed token: no "sub" claim (the user ID)`},
		{"sub number", claims(`{"sub":42,"iat":1767225600,"exp":1767229200}`), auth.ErrMalformed, `auth: malformed token: "sub" claim is not a string`},
		{"sub empty", claims(`{"sub":"","iat":1767225600,"exp":1767229200}`), auth.ErrMalformed, `auth: malformed token: "sub" claim is empty`},
		{"no iat", claims(`{"sub":"42","exp":1767229200}`), auth.ErrMalformed, `auth: malformed token: no "iat" claim`},
		{"no exp", claims(`{"sub":"42","iat":1767225600}`), auth.ErrMalformed, `auth: malformed token: no "exp" claim`},
		{"exp string", claims(`{"sub":"42","iat":1767225600,"exp":"1767229200"}`), auth.ErrMalformed, `auth: malformed token: "exp" claim is not a number`},
		{"exp null", claims(`{"sub":"42","iat":1767225600,"exp":null}`), auth.ErrMalformed, `auth: malformed token: "exp" claim is not a number`},
		{"exp huge", claims(`{"sub":"42","iat":1767225600,"exp":1e300}`), auth.ErrMalformed, `auth: malformed token: "exp" claim 1e300 out of range (want 0 to 253402300799)`},
		{"iat negative", claims(`{"sub":"42","iat":-1,"exp":1767229200}`), auth.ErrMalformed, `auth: malformed token: "iat" claim -1 out of range (want 0 to 253402300799)`},
		{"sub null", claims(`{"sub":null,"iat":1767225600,"exp":1767229200}`), auth.ErrMalformed, `auth: malformed token: "sub" claim is not a string`},
		{"nbf string", claims(`{"sub":"42","iat":1767225600,"exp":1767229200,"nbf":"x"}`), auth.ErrMalformed, `auth: malformed token: "nbf" claim is not a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := h.Verify(tc.token)
			require.ErrorIs(t, err, tc.is)
			assert.EqualError(t, err, tc.want)
			assert.Zero(t, c)
			for _, other := range []error{auth.ErrMalformed, auth.ErrSignature, auth.ErrExpired, auth.ErrAlgorithm, auth.ErrSecret} {
				if other != tc.is {
					assert.False(t, errors.Is(err, other), "matches only %v", tc.is)
				}
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	h := newHMAC(t, clock(vectorIat))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				tok, err := h.Mint(string(rune('a'+i)), time.Minute)
				if !assert.NoError(t, err) {
					return
				}
				c, err := h.Verify(tok)
				if !assert.NoError(t, err) || !assert.Equal(t, string(rune('a'+i)), c.User) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkVerify(b *testing.B) {
	h := newHMAC(b, clock(vectorIat))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Verify(pyjwt42); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNowReadsTheClock(t *testing.T) {
	t.Parallel()
	h := newHMAC(t, clock(vectorIat))
	assert.Equal(t, time.Unix(vectorIat, 0), h.Now())
	real := h.WithClock(nil)
	before := time.Now()
	got := real.Now()
	assert.False(t, got.Before(before) || got.After(time.Now()), "WithClock(nil) reads time.Now, got %s", got)
}
