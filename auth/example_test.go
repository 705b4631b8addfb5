package auth_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sockgate/sockgate/auth"
)

func Example() {
	// In production the secret comes from SOCKET_AUTH_SECRET (package config).
	h, err := auth.NewHMAC([]byte("an-example-secret-of-32-bytes-or-more"))
	if err != nil {
		panic(err)
	}
	token, err := h.Mint("42", time.Hour) // the client sends auth {"token": token}
	if err != nil {
		panic(err)
	}
	claims, err := h.Verify(token)
	fmt.Println(claims.User, claims.Expires.Sub(claims.IssuedAt), err)

	_, err = h.Verify(token + "x")
	fmt.Println(errors.Is(err, auth.ErrSignature), err)
	// Output:
	// 42 1h0m0s <nil>
	// true auth: invalid signature
}

func ExampleNewKeySet() {
	// An identity provider's Ed25519 key (from a fixed seed, for the
	// example) and the JWKS it publishes; in production the JWKS is a file
	// (KeySetConfig.JWKSFile, SOCKET_AUTH_JWKS), re-read when it changes.
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	x := base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	keys, _, err := auth.ParseJWKS(fmt.Appendf(nil, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":%q}]}`, x))
	if err != nil {
		panic(err)
	}
	set, err := auth.NewKeySet(auth.KeySetConfig{Keys: keys, UserClaim: "uid"})
	if err != nil {
		panic(err)
	}

	// The provider's token: its own ID in "sub", the application's in "uid".
	now := time.Now().Unix()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": "idp|5f1", "uid": "42", "iat": now, "exp": now + 600})
	tok.Header["kid"] = "k1"
	signed, err := tok.SignedString(priv)
	if err != nil {
		panic(err)
	}
	claims, err := set.Verify(signed)
	fmt.Println(claims.User, err)

	tok.Header["kid"] = "k2"
	signed, _ = tok.SignedString(priv)
	_, err = set.Verify(signed)
	fmt.Println(err)
	// Output:
	// 42 <nil>
	// auth: unknown key: no EdDSA key with kid "k2"
}
