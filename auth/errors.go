package auth

import "errors"

// The errors of this package. Verify, NewHMAC, NewKeySet, ParsePEM,
// ParseJWKS and the others wrap them with detail (fmt.Errorf("%w: ...")); match them with
// errors.Is.
var (
	// ErrMalformed: the token is not a well-formed JWT (wrong number of
	// parts, bad base64url, bad JSON, a missing or mistyped claim, no user
	// claim). The wrapped message names what is wrong.
	ErrMalformed = errors.New("auth: malformed token")
	// ErrSignature: the signature does not match the token's contents under
	// the key (forged, altered, or signed with another secret or key).
	ErrSignature = errors.New("auth: invalid signature")
	// ErrExpired: the token's "exp" is in the past, or its "iat" or "nbf"
	// in the future, by more than Leeway.
	ErrExpired = errors.New("auth: token expired or not yet valid")
	// ErrSecret: the secret is shorter than MinSecretLen bytes.
	ErrSecret = errors.New("auth: secret too short")
	// ErrAlgorithm: the header names an algorithm the verifier does not
	// accept (including "none"), or asks for critical extensions ("crit").
	ErrAlgorithm = errors.New("auth: unsupported algorithm")
	// ErrUnknownKey: the verifier holds no key for the token's algorithm
	// and key ID ("kid").
	ErrUnknownKey = errors.New("auth: unknown key")
	// ErrKey: a key or key set given to NewKeySet, ParsePEM or ParseJWKS
	// cannot be used (not a supported key, malformed, too weak), or a
	// setting is invalid (of KeySetConfig, or a user claim name given to
	// CheckUserClaim or HMAC.WithUserClaim). The wrapped message names it.
	ErrKey = errors.New("auth: invalid key")
)
