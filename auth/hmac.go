package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// MinSecretLen is the shortest accepted secret, in bytes (RFC 7518
	// section 3.2: an HS256 key must be at least as long as the hash).
	MinSecretLen = 32
	// Leeway is the clock skew tolerated when checking "exp", "iat" and
	// "nbf": a token is still accepted up to Leeway after its expiry, and
	// up to Leeway before its issue time.
	Leeway = 5 * time.Second
	// MaxTokenLen is the longest token Verify looks at, in bytes; longer
	// input is ErrMalformed without being decoded.
	MaxTokenLen = 8 << 10
	// maxUnix bounds numeric dates (year 9999) so that time arithmetic
	// cannot overflow.
	maxUnix = 253402300799
)

// hs256Header is the encoded header of every minted token:
// {"alg":"HS256","typ":"JWT"}, the header PyJWT and most libraries write.
var hs256Header = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// b64 decodes unpadded base64url strictly (no padding, no stray bits).
var b64 = base64.RawURLEncoding.Strict()

// Claims are the verified contents of a token.
type Claims struct {
	// User is the "sub" claim: the user ID, never empty.
	User string
	// IssuedAt is the "iat" claim.
	IssuedAt time.Time
	// Expires is the "exp" claim.
	Expires time.Time
}

// HMAC mints and verifies HS256 tokens with one secret. It is safe for
// concurrent use.
type HMAC struct {
	secret []byte
	now    func() time.Time
}

// NewHMAC returns a signer and verifier for secret, which must be at least
// MinSecretLen bytes (else ErrSecret). The secret is copied.
func NewHMAC(secret []byte) (*HMAC, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrSecret, len(secret), MinSecretLen)
	}
	return &HMAC{secret: bytes.Clone(secret), now: time.Now}, nil
}

// WithClock returns a copy of h that reads the current time from now
// instead of time.Now, for minting and for checking expiry (tests, or a
// server with its own clock). A nil now means time.Now.
func (h *HMAC) WithClock(now func() time.Time) *HMAC {
	if now == nil {
		now = time.Now
	}
	return &HMAC{secret: h.secret, now: now}
}

// Now returns the current time as h reads it: time.Now, or the clock
// given to WithClock. Code that schedules something at a token's expiry
// (socketio's TokenAuthConfig.Expire) measures from it.
func (h *HMAC) Now() time.Time { return h.now() }

// Mint returns a token for user, issued now and expiring ttl later. ttl is
// rounded up to whole seconds (JWT dates are seconds) and must be positive;
// user must be a non-empty UTF-8 string.
func (h *HMAC) Mint(user string, ttl time.Duration) (string, error) {
	switch {
	case user == "":
		return "", fmt.Errorf("auth: mint: empty user ID")
	case !utf8.ValidString(user):
		return "", fmt.Errorf("auth: mint: user ID %q is not valid UTF-8", user)
	case ttl <= 0:
		return "", fmt.Errorf("auth: mint: ttl must be positive, got %s", ttl)
	}
	iat := h.now().Unix()
	secs := int64(ttl / time.Second)
	if ttl%time.Second != 0 {
		secs++
	}
	if iat < 0 || iat > maxUnix || secs > maxUnix-iat {
		return "", fmt.Errorf("auth: mint: expiry out of range (issued at %d, ttl %s)", iat, ttl)
	}
	payload, err := json.Marshal(struct {
		Sub string `json:"sub"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}{user, iat, iat + secs})
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	var b strings.Builder
	b.Grow(len(hs256Header) + 1 + base64.RawURLEncoding.EncodedLen(len(payload)) + 1 + 43)
	b.WriteString(hs256Header)
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(payload))
	sig := h.sign(b.String())
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(sig))
	return b.String(), nil
}

func (h *HMAC) sign(signingInput string) []byte {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte(signingInput))
	return m.Sum(nil)
}

// Verify checks token and returns its claims. In order, it refuses:
// input that is not three base64url parts or longer than MaxTokenLen, or a
// header that is not a JSON object (ErrMalformed); a header whose "alg" is
// not "HS256" or that has a "crit" member (ErrAlgorithm); a signature that
// does not match (ErrSignature, compared in constant time); claims that
// are not a JSON object with a non-empty string "sub" and numeric "iat"
// and "exp" (ErrMalformed); and a token past its "exp", or before its
// "iat" or "nbf", by more than Leeway (ErrExpired). Other claims ("aud",
// "iss", ...) are ignored. The error wraps the sentinel with detail.
func (h *HMAC) Verify(token string) (Claims, error) {
	if len(token) > MaxTokenLen {
		return Claims{}, fmt.Errorf("%w: %d bytes, longer than %d", ErrMalformed, len(token), MaxTokenLen)
	}
	if token == "" {
		return Claims{}, fmt.Errorf("%w: empty token", ErrMalformed)
	}
	// encoding/base64 skips '\r' and '\n'; a token is taken only as its
	// exact characters.
	if i := strings.IndexFunc(token, func(r rune) bool { return !isTokenChar(r) }); i >= 0 {
		return Claims{}, fmt.Errorf("%w: character %q at offset %d is not base64url or '.'", ErrMalformed, token[i:i+1], i)
	}
	head, rest, ok1 := strings.Cut(token, ".")
	body, sig64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig64, ".") {
		return Claims{}, fmt.Errorf("%w: want 3 dot-separated parts, got %d", ErrMalformed, strings.Count(token, ".")+1)
	}

	headJSON, err := b64.DecodeString(head)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: header is not unpadded base64url: %w", ErrMalformed, err)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(headJSON, &hdr); err != nil || hdr == nil {
		return Claims{}, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	var alg string
	if raw, ok := hdr["alg"]; !ok {
		return Claims{}, fmt.Errorf("%w: header has no \"alg\"", ErrMalformed)
	} else if err := json.Unmarshal(raw, &alg); err != nil {
		return Claims{}, fmt.Errorf("%w: header \"alg\" is not a string", ErrMalformed)
	}
	if alg != "HS256" {
		return Claims{}, fmt.Errorf("%w: %q (want HS256)", ErrAlgorithm, alg)
	}
	if _, ok := hdr["crit"]; ok {
		return Claims{}, fmt.Errorf("%w: critical header extensions (\"crit\") are not supported", ErrAlgorithm)
	}

	sig, err := b64.DecodeString(sig64)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: signature is not unpadded base64url: %w", ErrMalformed, err)
	}
	if !hmac.Equal(sig, h.sign(token[:len(head)+1+len(body)])) {
		return Claims{}, ErrSignature
	}

	// Only signed content is parsed past this point.
	bodyJSON, err := b64.DecodeString(body)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: claims are not unpadded base64url: %w", ErrMalformed, err)
	}
	var cl map[string]json.RawMessage
	if err := json.Unmarshal(bodyJSON, &cl); err != nil || cl == nil {
		return Claims{}, fmt.Errorf("%w: claims are not a JSON object", ErrMalformed)
	}
	var c Claims
	if raw, ok := cl["sub"]; !ok {
		return Claims{}, fmt.Errorf("%w: no \"sub\" claim (the user ID)", ErrMalformed)
	} else if err := json.Unmarshal(raw, &c.User); err != nil || isNull(raw) {
		return Claims{}, fmt.Errorf("%w: \"sub\" claim is not a string", ErrMalformed)
	} else if c.User == "" {
		return Claims{}, fmt.Errorf("%w: \"sub\" claim is empty", ErrMalformed)
	}
	if c.IssuedAt, err = numericDate(cl, "iat", true); err != nil {
		return Claims{}, err
	}
	if c.Expires, err = numericDate(cl, "exp", true); err != nil {
		return Claims{}, err
	}
	nbf, err := numericDate(cl, "nbf", false)
	if err != nil {
		return Claims{}, err
	}

	now := h.now()
	if now.After(c.Expires.Add(Leeway)) {
		return Claims{}, fmt.Errorf("%w: expired at %s (now %s)", ErrExpired, c.Expires.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if now.Add(Leeway).Before(c.IssuedAt) {
		return Claims{}, fmt.Errorf("%w: issued in the future at %s (now %s)", ErrExpired, c.IssuedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !nbf.IsZero() && now.Add(Leeway).Before(nbf) {
		return Claims{}, fmt.Errorf("%w: not valid before %s (now %s)", ErrExpired, nbf.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return c, nil
}

// numericDate reads claim name as a JWT NumericDate (seconds since the
// epoch, possibly fractional). A missing optional claim is the zero Time.
func numericDate(cl map[string]json.RawMessage, name string, required bool) (time.Time, error) {
	raw, ok := cl[name]
	if !ok {
		if required {
			return time.Time{}, fmt.Errorf("%w: no %q claim", ErrMalformed, name)
		}
		return time.Time{}, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || isNull(raw) {
		return time.Time{}, fmt.Errorf("%w: %q claim is not a number", ErrMalformed, name)
	}
	if math.IsNaN(f) || f < 0 || f > maxUnix {
		return time.Time{}, fmt.Errorf("%w: %q claim %s out of range (want 0 to %d)", ErrMalformed, name, raw, maxUnix)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// isNull reports whether raw is JSON null, which json.Unmarshal accepts
// into any type without error.
func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// isTokenChar reports whether r may appear in a compact JWS: the base64url
// alphabet and the dot.
func isTokenChar(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}
