package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
)

// testKey is a private key and how it signs.
type testKey struct {
	method jwt.SigningMethod
	priv   crypto.Signer
}

func (k testKey) pub() crypto.PublicKey { return k.priv.Public() }

// mint signs claims with k, with kid in the header unless it is "".
func (k testKey) mint(t testing.TB, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(k.method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(k.priv)
	require.NoError(t, err)
	return s
}

// Key generation is slow (RSA); each kind is made twice, once per test binary.
var testKeys = sync.OnceValue(func() map[string][2]testKey {
	m := make(map[string][2]testKey)
	for i := range 2 {
		r, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		_, d, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		for alg, k := range map[string]testKey{
			auth.RS256: {jwt.SigningMethodRS256, r},
			auth.ES256: {jwt.SigningMethodES256, e},
			auth.EdDSA: {jwt.SigningMethodEdDSA, d},
		} {
			pair := m[alg]
			pair[i] = k
			m[alg] = pair
		}
	}
	return m
})

// stdClaims are valid claims at vectorIat+60.
func stdClaims(user string) jwt.MapClaims {
	return jwt.MapClaims{"sub": user, "iat": vectorIat, "exp": vectorExp}
}

func pemOf(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// jwkOf is the JSON Web Key of pub, written here independently of
// auth.ParseJWKS.
func jwkOf(kid string, pub crypto.PublicKey) map[string]any {
	enc := base64.RawURLEncoding.EncodeToString
	j := map[string]any{"kid": kid, "use": "sig"}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		j["kty"], j["alg"], j["n"], j["e"] = "RSA", "RS256", enc(k.N.Bytes()), enc(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		b, _ := k.Bytes() // 0x04 || x || y
		j["kty"], j["crv"], j["alg"], j["x"], j["y"] = "EC", "P-256", "ES256", enc(b[1:33]), enc(b[33:])
	case ed25519.PublicKey:
		j["kty"], j["crv"], j["alg"], j["x"] = "OKP", "Ed25519", "EdDSA", enc(k)
	}
	return j
}

func jwks(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	require.NoError(t, err)
	return b
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, path)) // atomic, as a key rotation should be
}

func newKeySet(t testing.TB, cfg auth.KeySetConfig) *auth.KeySet {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = clock(vectorIat + 60)
	}
	s, err := auth.NewKeySet(cfg)
	require.NoError(t, err)
	return s
}

// TestKeySetEachKind runs the same cases for every public key kind, with
// the key from PEM and from a JWKS file.
func TestKeySetEachKind(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{auth.RS256, auth.ES256, auth.EdDSA} {
		pair := testKeys()[alg]
		key, other := pair[0], pair[1]
		for _, src := range []string{"pem", "jwks"} {
			t.Run(alg+"/"+src, func(t *testing.T) {
				t.Parallel()
				var s *auth.KeySet
				kid := ""
				if src == "pem" {
					keys, err := auth.ParsePEM(pemOf(t, key.pub()))
					require.NoError(t, err)
					require.Equal(t, []auth.Key{{Algorithm: alg, Public: keys[0].Public}}, keys)
					s = newKeySet(t, auth.KeySetConfig{Keys: keys})
				} else {
					kid = "k-" + alg
					path := filepath.Join(t.TempDir(), "jwks.json")
					writeFile(t, path, jwks(t, jwkOf(kid, key.pub()), jwkOf("other", testKeys()[auth.RS256][1].pub())))
					s = newKeySet(t, auth.KeySetConfig{JWKSFile: path})
				}

				c, err := s.Verify(key.mint(t, kid, stdClaims("u-"+alg)))
				require.NoError(t, err, "valid")
				assert.Equal(t, auth.Claims{User: "u-" + alg, IssuedAt: time.Unix(vectorIat, 0).UTC(), Expires: time.Unix(vectorExp, 0).UTC()}, c)
				if kid != "" {
					_, err = s.Verify(key.mint(t, "", stdClaims("u")))
					require.NoError(t, err, "no kid: every key of the algorithm is tried")
				}

				_, err = s.Verify(other.mint(t, kid, stdClaims("u")))
				assert.ErrorIs(t, err, auth.ErrSignature, "another key of the same kind")
				assert.EqualError(t, err, "auth: invalid signature")

				// A token of another algorithm, signed correctly, is refused by the
				// key: HS256 with the public key's PEM as its secret (the classic
				// confusion), and the other kinds.
				hs := jwt.NewWithClaims(jwt.SigningMethodHS256, stdClaims("u"))
				forged, err := hs.SignedString(pemOf(t, key.pub()))
				require.NoError(t, err)
				_, err = s.Verify(forged)
				assert.ErrorIs(t, err, auth.ErrAlgorithm, "HS256 signed with the public key")
				for _, o := range []string{auth.RS256, auth.ES256, auth.EdDSA} {
					if o == alg {
						continue
					}
					_, err = s.Verify(testKeys()[o][0].mint(t, kid, stdClaims("u")))
					if src == "pem" {
						assert.ErrorIs(t, err, auth.ErrAlgorithm, "%s token, %s key", o, alg)
					} else {
						// A JWKS file may get keys of any algorithm: they are all accepted,
						// but there is no key of that algorithm with that kid.
						assert.ErrorIs(t, err, auth.ErrUnknownKey, "%s token, %s key", o, alg)
					}
				}

				none := jwt.NewWithClaims(jwt.SigningMethodNone, stdClaims("u"))
				noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
				require.NoError(t, err)
				_, err = s.Verify(noneTok)
				assert.ErrorIs(t, err, auth.ErrAlgorithm, "alg none")

				expired := stdClaims("u")
				expired["exp"] = vectorIat + 50
				_, err = s.Verify(key.mint(t, kid, expired))
				assert.ErrorIs(t, err, auth.ErrExpired)
				assert.EqualError(t, err, "auth: token expired or not yet valid: expired at 2026-01-01T00:00:50Z (now 2026-01-01T00:01:00Z)")

				noUser := stdClaims("u")
				delete(noUser, "sub")
				_, err = s.Verify(key.mint(t, kid, noUser))
				assert.ErrorIs(t, err, auth.ErrMalformed)
				assert.EqualError(t, err, `auth: malformed token: no "sub" claim (the user ID)`)

				_, err = s.Verify(key.mint(t, "unknown", stdClaims("u")))
				if src == "pem" {
					require.NoError(t, err, "a PEM key has no kid: it verifies tokens of any kid")
				} else {
					assert.ErrorIs(t, err, auth.ErrUnknownKey)
					assert.EqualError(t, err, `auth: unknown key: no `+alg+` key with kid "unknown"`)
				}
			})
		}
	}
}

func TestKeySetUserClaim(t *testing.T) {
	t.Parallel()
	k := testKeys()[auth.ES256][0]
	keys, err := auth.ParsePEM(pemOf(t, k.pub()))
	require.NoError(t, err)
	s := newKeySet(t, auth.KeySetConfig{Keys: keys, UserClaim: "uid"})
	c := stdClaims("not-this")
	c["uid"] = "42"
	got, err := s.Verify(k.mint(t, "", c))
	require.NoError(t, err)
	assert.Equal(t, "42", got.User)
	_, err = s.Verify(k.mint(t, "", stdClaims("42")))
	assert.EqualError(t, err, `auth: malformed token: no "uid" claim (the user ID)`)
	c["uid"] = 42
	_, err = s.Verify(k.mint(t, "", c))
	assert.EqualError(t, err, `auth: malformed token: "uid" claim is not a string`)

	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	h, err = h.WithUserClaim("uid")
	require.NoError(t, err)
	tok, err := h.WithClock(clock(vectorIat)).Mint("7", time.Hour)
	require.NoError(t, err)
	body, _ := base64.RawURLEncoding.DecodeString(tok[len("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.") : len(tok)-44])
	assert.Equal(t, `{"uid":"7","iat":1767225600,"exp":1767229200}`, string(body))
	hs := newKeySet(t, auth.KeySetConfig{Secret: testSecret, UserClaim: "uid"})
	got, err = hs.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, "7", got.User)

	for _, bad := range []string{"", "exp", "iat", "nbf", "a\nb", "\xff"} {
		if bad != "" { // "" is the default, "sub"
			_, err := auth.NewKeySet(auth.KeySetConfig{Secret: testSecret, UserClaim: bad})
			assert.ErrorIs(t, err, auth.ErrKey, "%q", bad)
		}
		_, err = h.WithUserClaim(bad)
		assert.ErrorIs(t, err, auth.ErrKey, "%q", bad)
	}
}

// TestKeySetSecretAndKeys: one set verifies HS256 tokens of the CLI and
// RS256 tokens of an identity provider, each with its own key only.
func TestKeySetSecretAndKeys(t *testing.T) {
	t.Parallel()
	r := testKeys()[auth.RS256][0]
	s := newKeySet(t, auth.KeySetConfig{Secret: testSecret, Keys: []auth.Key{mustKey(t, "idp", r.pub())}})
	assert.Equal(t, []string{auth.HS256, auth.RS256}, s.Algorithms())
	c, err := s.Verify(pyjwt42)
	require.NoError(t, err)
	assert.Equal(t, "42", c.User)
	_, err = s.Verify(r.mint(t, "idp", stdClaims("43")))
	require.NoError(t, err)
	_, err = s.Verify(pyjwtHS384)
	assert.EqualError(t, err, `auth: unsupported algorithm: "HS384" (want HS256 or RS256)`)

	only := newKeySet(t, auth.KeySetConfig{Secret: testSecret, Keys: []auth.Key{mustKey(t, "idp", r.pub())}, Algorithms: []string{auth.RS256}})
	_, err = only.Verify(pyjwt42)
	assert.EqualError(t, err, `auth: unsupported algorithm: "HS256" (want RS256)`, "Algorithms restricts")
}

func mustKey(t testing.TB, kid string, pub crypto.PublicKey) auth.Key {
	t.Helper()
	k, err := auth.PublicKey(kid, pub)
	require.NoError(t, err)
	return k
}

func TestNewKeySetRefuses(t *testing.T) {
	t.Parallel()
	r := mustKey(t, "", testKeys()[auth.RS256][0].pub())
	for _, tc := range []struct {
		name string
		cfg  auth.KeySetConfig
		is   error
		want string
	}{
		{"nothing", auth.KeySetConfig{}, auth.ErrKey, "auth: invalid key: no secret, key or JWKS file"},
		{"short secret", auth.KeySetConfig{Secret: []byte("short")}, auth.ErrSecret, "auth: secret too short: 5 bytes, want at least 32"},
		{"unknown alg", auth.KeySetConfig{Keys: []auth.Key{r}, Algorithms: []string{"RS512"}}, auth.ErrKey, `auth: invalid key: unsupported algorithm "RS512" (want [HS256 RS256 ES256 EdDSA])`},
		{"HS256 without secret", auth.KeySetConfig{Keys: []auth.Key{r}, Algorithms: []string{"HS256"}}, auth.ErrKey, "auth: invalid key: algorithm HS256 without a secret"},
		{"mislabelled key", auth.KeySetConfig{Keys: []auth.Key{{Algorithm: auth.ES256, Public: r.Public}}}, auth.ErrKey, `auth: invalid key: key 0 (kid ""): algorithm "ES256" does not fit the key (want RS256)`},
		{"unsupported key", auth.KeySetConfig{Keys: []auth.Key{{ID: "x", Algorithm: auth.HS256, Public: []byte("k")}}}, auth.ErrKey, `auth: invalid key: key 0 (kid "x"): unsupported public key type []uint8 (want RSA, ECDSA P-256 or Ed25519)`},
		{"missing file", auth.KeySetConfig{JWKSFile: "/nonexistent/jwks.json"}, auth.ErrKey, "auth: invalid key: JWKS file: open /nonexistent/jwks.json: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.NewKeySet(tc.cfg)
			require.ErrorIs(t, err, tc.is)
			assert.EqualError(t, err, tc.want)
		})
	}
}

func TestParsePEM(t *testing.T) {
	t.Parallel()
	r := testKeys()[auth.RS256][0]
	rk := r.priv.(*rsa.PrivateKey)
	e := testKeys()[auth.ES256][0]
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rk.PublicKey)})
	keys, err := auth.ParsePEM(append(append([]byte("# the IdP's keys\n"), pkcs1...), pemOf(t, e.pub())...))
	require.NoError(t, err)
	require.Len(t, keys, 2)
	assert.Equal(t, []string{auth.RS256, auth.ES256}, []string{keys[0].Algorithm, keys[1].Algorithm})

	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "auth: invalid key: no PEM block"},
		{"not PEM", []byte("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"), "auth: invalid key: no PEM block"},
		{"private key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), "auth: invalid key: PEM block 1 (PRIVATE KEY): not a public key (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)"},
		{"weak RSA", append(pemOf(t, e.pub()), pemOf(t, &weak.PublicKey)...), "auth: invalid key: PEM block 2 (PUBLIC KEY): RSA key of 1024 bits, want at least 2048"},
		{"P-384", pemOf(t, &p384.PublicKey), "auth: invalid key: PEM block 1 (PUBLIC KEY): ECDSA key on P-384, want P-256 (ES256)"},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}), "auth: invalid key: PEM block 1 (PUBLIC KEY): asn1: "},
	} {
		_, err := auth.ParsePEM(tc.in)
		require.ErrorIs(t, err, auth.ErrKey, tc.name)
		if strings.HasSuffix(tc.want, ": ") { // the rest is crypto/x509's
			assert.True(t, strings.HasPrefix(err.Error(), tc.want), "%s: %v", tc.name, err)
			continue
		}
		assert.EqualError(t, err, tc.want, tc.name)
	}
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	r := testKeys()[auth.RS256][0].pub()
	e := testKeys()[auth.ES256][0].pub()
	d := testKeys()[auth.EdDSA][0].pub()
	enc := jwkOf("enc", r)
	enc["use"] = "enc"
	rs512 := jwkOf("rs512", r)
	rs512["alg"] = "RS512"
	oct := map[string]any{"kty": "oct", "k": "c2VjcmV0", "kid": "sym"}
	noAlg := jwkOf("noalg", d)
	delete(noAlg, "alg")
	delete(noAlg, "use")
	keys, skipped, err := auth.ParseJWKS(jwks(t, jwkOf("r", r), enc, rs512, oct, jwkOf("e", e), noAlg))
	require.NoError(t, err)
	assert.Equal(t, []auth.Key{mustKey(t, "r", r), mustKey(t, "e", e), mustKey(t, "noalg", d)}, keys)
	assert.Equal(t, []string{
		`key 1 (kid "enc"): use "enc", not "sig"`,
		`key 2 (kid "rs512"): alg "RS512" (only RS256 is supported for kty RSA)`,
		`key 3 (kid "sym"): unsupported kty "oct", crv ""`,
	}, skipped)

	offCurve := jwkOf("bad", e)
	offCurve["y"] = offCurve["x"]
	shortX := jwkOf("short", d)
	shortX["x"] = "AAAA"
	badN := jwkOf("n", r)
	badN["n"] = "not base64!"
	evenE := jwkOf("e2", r)
	evenE["e"] = "AAI"
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"not JSON", []byte("nope"), "auth: invalid key: JWKS is not a JSON object with \"keys\": invalid character 'o' in literal null (expecting 'u')"},
		{"no keys", []byte(`{"keys":[]}`), "auth: invalid key: JWKS has no usable key (of 0; want RSA, EC P-256 or OKP Ed25519 signing keys)"},
		{"only skipped", jwks(t, oct), "auth: invalid key: JWKS has no usable key (of 1; want RSA, EC P-256 or OKP Ed25519 signing keys)"},
		{"key not object", []byte(`{"keys":[1]}`), "auth: invalid key: JWKS key 0 is not a JSON Web Key: json: cannot unmarshal number into Go value of type auth.jwk"},
		{"off curve", jwks(t, offCurve), `auth: invalid key: JWKS key 0 (kid "bad"): P256 point not on curve`},
		{"short Ed25519", jwks(t, shortX), `auth: invalid key: JWKS key 0 (kid "short"): "x" is 3 bytes, want 32`},
		{"bad n", jwks(t, badN), `auth: invalid key: JWKS key 0 (kid "n"): "n" is not unpadded base64url: illegal base64 data at input byte 3`},
		{"even e", jwks(t, evenE), `auth: invalid key: JWKS key 0 (kid "e2"): RSA exponent 2 is not an odd number of at least 3`},
		{"duplicate kid", jwks(t, jwkOf("x", r), jwkOf("x", r)), `auth: invalid key: JWKS key 1: a second RS256 key with kid "x"`},
	} {
		_, _, err := auth.ParseJWKS(tc.in)
		require.ErrorIs(t, err, auth.ErrKey, tc.name)
		assert.EqualError(t, err, tc.want, tc.name)
	}
}

// TestJWKSFileReload rotates the keys of a JWKS file: the new key verifies
// once the file changed, a broken file keeps the keys read before (and is
// counted), and Reload reads at once.
func TestJWKSFileReload(t *testing.T) {
	t.Parallel()
	a, b := testKeys()[auth.RS256][0], testKeys()[auth.EdDSA][1]
	path := filepath.Join(t.TempDir(), "jwks.json")
	writeFile(t, path, jwks(t, jwkOf("a", a.pub())))
	s := newKeySet(t, auth.KeySetConfig{JWKSFile: path, ReloadInterval: time.Millisecond})
	tokA, tokB := a.mint(t, "a", stdClaims("u")), b.mint(t, "b", stdClaims("u"))
	_, err := s.Verify(tokB)
	require.ErrorIs(t, err, auth.ErrUnknownKey)

	writeFile(t, path, jwks(t, jwkOf("a", a.pub()), jwkOf("b", b.pub())))
	require.Eventually(t, func() bool { _, err := s.Verify(tokB); return err == nil }, 10*time.Second, 5*time.Millisecond,
		"the rotated-in key verifies once the file changed")
	assert.Equal(t, auth.KeySetStats{Reloads: 1}, s.Stats())

	writeFile(t, path, []byte(`{"keys": [`))
	require.Eventually(t, func() bool { _, _ = s.Verify(tokA); return s.Stats().ReloadFailures == 1 }, 10*time.Second, 5*time.Millisecond)
	for _, tok := range []string{tokA, tokB} {
		_, err := s.Verify(tok)
		require.NoError(t, err, "a broken file keeps the keys read before")
	}
	assert.Equal(t, auth.KeySetStats{Reloads: 1, ReloadFailures: 1}, s.Stats(), "a broken file is counted once, not at every check")

	writeFile(t, path, jwks(t, jwkOf("b", b.pub())))
	require.NoError(t, s.Reload())
	_, err = s.Verify(tokA)
	assert.ErrorIs(t, err, auth.ErrUnknownKey, "a key rotated out no longer verifies")
	assert.Len(t, s.Keys(), 1)

	never := newKeySet(t, auth.KeySetConfig{JWKSFile: path, ReloadInterval: -1})
	writeFile(t, path, jwks(t, jwkOf("a", a.pub())))
	for range 3 {
		_, err = never.Verify(tokA)
		assert.True(t, errors.Is(err, auth.ErrUnknownKey))
	}
	assert.Zero(t, never.Stats())
}

func TestKeySetConcurrentReload(t *testing.T) {
	t.Parallel()
	a := testKeys()[auth.ES256][0]
	path := filepath.Join(t.TempDir(), "jwks.json")
	writeFile(t, path, jwks(t, jwkOf("a", a.pub())))
	s := newKeySet(t, auth.KeySetConfig{JWKSFile: path, ReloadInterval: time.Nanosecond})
	tok := a.mint(t, "a", stdClaims("u"))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				if i == 0 && j%10 == 0 {
					writeFile(t, path, jwks(t, jwkOf("a", a.pub()), jwkOf("x"+string(rune('a'+j/10)), a.pub())))
				}
				if _, err := s.Verify(tok); !assert.NoError(t, err) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkKeySetVerify verifies one token per algorithm, the key chosen
// by kid among a JWKS of three.
func BenchmarkKeySetVerify(b *testing.B) {
	var set []map[string]any
	for _, alg := range []string{auth.RS256, auth.ES256, auth.EdDSA} {
		set = append(set, jwkOf(alg, testKeys()[alg][0].pub()))
	}
	keys, _, err := auth.ParseJWKS(jwks(b, set...))
	require.NoError(b, err)
	s := newKeySet(b, auth.KeySetConfig{Keys: keys})
	for _, alg := range []string{auth.RS256, auth.ES256, auth.EdDSA} {
		tok := testKeys()[alg][0].mint(b, alg, stdClaims("u"))
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
