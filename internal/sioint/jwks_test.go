//go:build integration && !nogoserver

package sioint

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/config"
)

// writeJWKS writes the RS256 keys by kid as a JWKS file, atomically (a
// rename), as a key rotation should.
func writeJWKS(t *testing.T, path string, keys map[string]*rsa.PublicKey) {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	for kid, k := range keys {
		set.Keys = append(set.Keys, map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
			"n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes())})
	}
	b, err := json.Marshal(set)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".tmp", b, 0o600))
	require.NoError(t, os.Rename(path+".tmp", path))
}

// rs256 signs an identity provider's token for user (in "uid"; "sub" is
// something else) with key, naming kid.
func rs256(t *testing.T, key *rsa.PrivateKey, kid, user string) string {
	t.Helper()
	now := time.Now().Unix()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "https://idp.example", "sub": "idp|" + user, "uid": user, "iat": now, "exp": now + 600})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// TestJWKSToken: a token signed with an RS256 key of a JWKS file
// (SOCKET_AUTH_JWKS, SOCKET_AUTH_ALGS=RS256, SOCKET_AUTH_USER_CLAIM=uid,
// read through package config) authenticates a socket.io-client 4.8 as
// the user of its "uid" claim; a token signed by another key under the
// same kid is refused with connect_error "unauthorized", and so is an
// HS256 token; a key rotated into the file authenticates once the server
// has re-read it. It runs against our server only (the reference server
// has no JWT verification).
func TestJWKSToken(t *testing.T) {
	requireNode(t)
	var keys [3]*rsa.PrivateKey // the provider's, a rogue one, the provider's next
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		keys[i] = k
	}
	idp, rogue, next := keys[0], keys[1], keys[2]
	for _, mode := range transportModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "jwks.json")
			writeJWKS(t, path, map[string]*rsa.PublicKey{"idp-1": &idp.PublicKey})
			env, err := config.FromLookup(func(k string) (string, bool) {
				v, ok := map[string]string{config.EnvAuthJWKS: path, config.EnvAuthAlgorithms: "RS256", config.EnvAuthUserClaim: "uid"}[k]
				return v, ok
			})
			require.NoError(t, err)
			v, err := env.Verifier()
			require.NoError(t, err)
			srv, url := startExpiringServer(t, v, make(chan [2]string, 8))
			connect := func(name, tok string) *client {
				return startClient(t, clientKinds[0], name, clientOpts{URL: url, Transports: mode.transports, Auth: map[string]any{"token": tok}})
			}
			refused := func(c *client) {
				_, l := c.Out.WaitFor(t, "connect_error", 0, func(l line) bool { return l.Has("connect_error") })
				require.Equal(t, "unauthorized", l.Str("connect_error"))
				noLine(t, c, "connected")
			}

			user := uniqueUser("idp-user")
			good := connect("good", rs256(t, idp, "idp-1", user))
			good.waitConnected(t, 0)
			got := good.emitAck(t, "whoami")
			require.Len(t, got, 1)
			require.Equal(t, user, got[0].(map[string]any)["user"], "the user is the uid claim")

			refused(connect("rogue", rs256(t, rogue, "idp-1", user)))
			refused(connect("hs256", mint(t, user)))
			nextTok := rs256(t, next, "idp-2", user)
			refused(connect("not yet", nextTok))

			writeJWKS(t, path, map[string]*rsa.PublicKey{"idp-1": &idp.PublicKey, "idp-2": &next.PublicKey})
			require.Eventually(t, func() bool { _, err := v.Verify(nextTok); return err == nil }, deadline, 50*time.Millisecond,
				"the rotated-in key verifies once the file changed")
			rotated := connect("rotated", nextTok)
			rotated.waitConnected(t, 0)

			st := srv.Stats()
			require.Equal(t, [2]uint64{2, 3}, [2]uint64{uint64(st.Connected), st.Refused}, "stats %+v", st)
			require.Equal(t, auth.KeySetStats{Reloads: 1}, v.(*auth.KeySet).Stats())
		})
	}
}
