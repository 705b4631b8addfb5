package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretLen is the shortest accepted secret, in bytes (RFC 7518
// section 3.2: an HS256 key must be at least as long as the hash).
const MinSecretLen = 32

// HMAC mints and verifies HS256 tokens with one secret. It is safe for
// concurrent use.
type HMAC struct {
	secret    []byte
	userClaim string
	v         *verifier
}

var _ Verifier = (*HMAC)(nil)

// NewHMAC returns a signer and verifier for secret, which must be at least
// MinSecretLen bytes (else ErrSecret). The secret is copied. The user ID
// is the "sub" claim (see WithUserClaim) and the clock time.Now (see
// WithClock).
func NewHMAC(secret []byte) (*HMAC, error) {
	if err := checkSecret(secret); err != nil {
		return nil, err
	}
	return newHMAC(bytes.Clone(secret), DefaultUserClaim, time.Now), nil
}

func newHMAC(secret []byte, userClaim string, now func() time.Time) *HMAC {
	h := &HMAC{secret: secret, userClaim: userClaim}
	h.v = newVerifier([]string{HS256}, userClaim, now, func(string, string) (any, error) { return h.secret, nil })
	return h
}

func checkSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return fmt.Errorf("%w: %d bytes, want at least %d", ErrSecret, len(secret), MinSecretLen)
	}
	return nil
}

// WithClock returns a copy of h that reads the current time from now
// instead of time.Now, for minting and for checking expiry (tests, or a
// server with its own clock). A nil now means time.Now.
func (h *HMAC) WithClock(now func() time.Time) *HMAC {
	if now == nil {
		now = time.Now
	}
	return newHMAC(h.secret, h.userClaim, now)
}

// WithUserClaim returns a copy of h that writes and reads the user ID in
// claim name instead of "sub" (see CheckUserClaim for the names
// accepted).
func (h *HMAC) WithUserClaim(name string) (*HMAC, error) {
	if err := CheckUserClaim(name); err != nil {
		return nil, err
	}
	return newHMAC(h.secret, name, h.v.now), nil
}

// Now returns the current time as h reads it: time.Now, or the clock
// given to WithClock. Code that schedules something at a token's expiry
// (socketio's TokenAuthConfig.Expire) measures from it.
func (h *HMAC) Now() time.Time { return h.v.now() }

// Mint returns a token for user, issued now and expiring ttl later, with
// the claims in the order PyJWT writes them for
// {"sub": user, "iat": now, "exp": now + ttl}. ttl is rounded up to whole
// seconds (JWT dates are seconds) and must be positive; user must be a
// non-empty UTF-8 string.
func (h *HMAC) Mint(user string, ttl time.Duration) (string, error) {
	switch {
	case user == "":
		return "", fmt.Errorf("auth: mint: empty user ID")
	case !utf8.ValidString(user):
		return "", fmt.Errorf("auth: mint: user ID %q is not valid UTF-8", user)
	case ttl <= 0:
		return "", fmt.Errorf("auth: mint: ttl must be positive, got %s", ttl)
	}
	iat := h.Now().Unix()
	secs := int64(ttl / time.Second)
	if ttl%time.Second != 0 {
		secs++
	}
	if iat < 0 || iat > maxUnix || secs > maxUnix-iat {
		return "", fmt.Errorf("auth: mint: expiry out of range (issued at %d, ttl %s)", iat, ttl)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, mintClaims{h.userClaim, user, iat, iat + secs}).SignedString(h.secret)
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return tok, nil
}

// Verify checks token, an HS256 JWT signed with h's secret, and returns
// its claims. The user claim ("sub" by default), "iat" and "exp" are
// required, "nbf" is honoured, other claims ("aud", "iss", ...) are
// ignored; the header's "kid" is ignored. See Verifier for the errors;
// ErrUnknownKey is never returned.
func (h *HMAC) Verify(token string) (Claims, error) { return h.v.verify(token) }

// mintClaims are the claims of a minted token, in a fixed order: the user
// claim, "iat", "exp".
type mintClaims struct {
	userClaim, user string
	iat, exp        int64
}

// MarshalJSON implements json.Marshaler.
func (m mintClaims) MarshalJSON() ([]byte, error) {
	name, err := json.Marshal(m.userClaim)
	if err != nil {
		return nil, err
	}
	user, err := json.Marshal(m.user)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, `{%s:%s,"iat":%d,"exp":%d}`, name, user, m.iat, m.exp), nil
}

// The jwt.Claims methods; golang-jwt calls them only when verifying.
func (mintClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (mintClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (mintClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (mintClaims) GetIssuer() (string, error)                   { return "", nil }
func (mintClaims) GetSubject() (string, error)                  { return "", nil }
func (mintClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }
