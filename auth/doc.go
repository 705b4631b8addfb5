// Package auth mints and verifies the signed user tokens a Socket.IO client
// sends in its handshake auth ({"token": "..."}).
//
// A token is a JSON Web Token (RFC 7519) in compact form. Verification is
// done by github.com/golang-jwt/jwt/v5, with the algorithm pinned to the
// key (never "none", never an algorithm the token names for itself), and
// this package's rules on top: claims "sub" (the user ID; another claim
// with HMAC.WithUserClaim or KeySetConfig.UserClaim), "iat" and "exp"
// (seconds since the Unix epoch) are required, "nbf" is honoured, dates
// are checked with Leeway, and "crit" is refused.
//
// Two Verifiers are provided:
//
//   - HMAC mints and verifies HS256 tokens with one secret of at least
//     MinSecretLen (32) bytes; the sockgate tools read it from
//     SOCKET_AUTH_SECRET (package config). Any JWT library can mint tokens
//     for it, e.g. in Python:
//
//     jwt.encode({"sub": "42", "iat": now, "exp": now + 3600}, secret, algorithm="HS256")
//
//   - KeySet verifies the tokens of an identity provider: RS256, ES256 and
//     EdDSA public keys from PEM (ParsePEM) or a JSON Web Key Set
//     (ParseJWKS), chosen by the token's "kid", and a JWKS file that is
//     read again when it changes; optionally also an HS256 secret.
//
// Both are safe for concurrent use.
package auth
