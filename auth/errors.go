package auth

import "errors"

// The errors of this package. Verify and NewHMAC wrap them with detail
// (fmt.Errorf("%w: ...")); match them with errors.Is.
var (
	// ErrMalformed: the token is not a well-formed HS256 JWT (wrong number
	// of parts, bad base64url, bad JSON, a missing or mistyped claim). The
	// wrapped message names what is wrong.
	ErrMalformed = errors.New("auth: malformed token")
	// ErrSignature: the signature does not match the token's contents under
	// this secret (forged, altered, or minted with another secret).
	ErrSignature = errors.New("auth: invalid signature")
	// ErrExpired: the token's "exp" is in the past, or its "iat" or "nbf"
	// in the future, by more than Leeway.
	ErrExpired = errors.New("auth: token expired or not yet valid")
	// ErrSecret: the secret is shorter than MinSecretLen bytes.
	ErrSecret = errors.New("auth: secret too short")
	// ErrAlgorithm: the header names an algorithm other than HS256
	// (including "none"), or asks for critical extensions ("crit").
	ErrAlgorithm = errors.New("auth: unsupported algorithm")
)
