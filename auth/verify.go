package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// Leeway is the clock skew tolerated when checking "exp", "iat" and
	// "nbf": a token is accepted until (not at) Leeway after its "exp",
	// as RFC 7519 and PyJWT have it, and from Leeway before its "iat" and
	// "nbf".
	Leeway = 5 * time.Second
	// MaxTokenLen is the longest token Verify looks at, in bytes; longer
	// input is ErrMalformed without being decoded.
	MaxTokenLen = 8 << 10
	// DefaultUserClaim is the claim that holds the user ID unless a
	// verifier is told another (HMAC.WithUserClaim, KeySetConfig.UserClaim).
	DefaultUserClaim = "sub"
	// maxUnix bounds numeric dates (year 9999) so that time arithmetic
	// cannot overflow.
	maxUnix = 253402300799
)

// The algorithms ("alg") a verifier of this package can accept. Each key
// is used with its own algorithm only: a secret with HS256, an RSA key
// with RS256, an ECDSA P-256 key with ES256 and an Ed25519 key with EdDSA.
const (
	HS256 = "HS256"
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// Algorithms lists the supported algorithms.
var Algorithms = []string{HS256, RS256, ES256, EdDSA}

// Verifier checks the signed tokens a Socket.IO client sends in its
// handshake auth. *HMAC and *KeySet implement it; socketio's TokenAuth
// takes one. Implementations are safe for concurrent use.
type Verifier interface {
	// Verify checks token and returns its claims, or an error wrapping
	// one of this package's sentinels (ErrMalformed, ErrSignature,
	// ErrExpired, ErrAlgorithm, ErrUnknownKey) with detail.
	Verify(token string) (Claims, error)
	// Now returns the current time as the verifier reads it when it
	// checks "exp"; code that schedules something at a token's expiry
	// measures from it.
	Now() time.Time
}

// Claims are the verified contents of a token.
type Claims struct {
	// User is the user claim ("sub" unless configured otherwise): the
	// user ID, a non-empty string.
	User string
	// IssuedAt is the "iat" claim.
	IssuedAt time.Time
	// Expires is the "exp" claim.
	Expires time.Time
}

// verifier is the verification every Verifier of this package shares:
// golang-jwt parses the token, pins the algorithm, checks the signature
// with the key that keys returns and the dates; verifier adds the checks
// of this package (token characters, "crit", date ranges, a required
// "iat" and user claim) and turns golang-jwt's errors into this package's.
type verifier struct {
	parser    *jwt.Parser
	algs      []string // accepted, as passed to jwt.WithValidMethods
	userClaim string
	now       func() time.Time
	// keys returns the key, or a jwt.VerificationKeySet of keys, for a
	// token of alg with key ID kid ("" when the header has none).
	keys func(alg, kid string) (any, error)
}

func newVerifier(algs []string, userClaim string, now func() time.Time, keys func(alg, kid string) (any, error)) *verifier {
	if now == nil {
		now = time.Now
	}
	if userClaim == "" {
		userClaim = DefaultUserClaim
	}
	return &verifier{
		parser: jwt.NewParser(
			jwt.WithValidMethods(algs),
			jwt.WithLeeway(Leeway),
			jwt.WithTimeFunc(now),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithStrictDecoding(),
		),
		algs:      algs,
		userClaim: userClaim,
		now:       now,
		keys:      keys,
	}
}

// verify checks token. In order, it refuses: input longer than
// MaxTokenLen, with a character outside base64url and '.', or not three
// parts (ErrMalformed); what golang-jwt cannot decode, claims that are not
// a JSON object, and registered dates that are not numbers from 0 to the
// year 9999 (ErrMalformed); a header without a string "alg"
// (ErrMalformed), or naming an algorithm not in v.algs, or with "crit"
// (ErrAlgorithm); a token for which keys has no key (ErrUnknownKey); a
// signature that does not match (ErrSignature); no "exp" (ErrMalformed);
// a token past its "exp" or before its "iat" or "nbf" by Leeway
// (ErrExpired); and no "iat" or no non-empty string user claim
// (ErrMalformed).
func (v *verifier) verify(token string) (Claims, error) {
	if err := checkShape(token); err != nil {
		return Claims{}, err
	}
	cl := &tokenClaims{}
	var keyErr error
	tok, err := v.parser.ParseWithClaims(token, cl, func(t *jwt.Token) (any, error) {
		var key any
		key, keyErr = v.key(t)
		return key, keyErr
	})
	if err != nil {
		return Claims{}, v.explain(tok, cl, keyErr, err)
	}
	return cl.result(v.userClaim)
}

// key returns the key for t, whose algorithm golang-jwt has checked
// against v.algs.
func (v *verifier) key(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, fmt.Errorf("%w: critical header extensions (\"crit\") are not supported", ErrAlgorithm)
	}
	kid, ok := t.Header["kid"].(string)
	if _, has := t.Header["kid"]; has && !ok {
		return nil, fmt.Errorf("%w: header \"kid\" is not a string", ErrMalformed)
	}
	return v.keys(t.Method.Alg(), kid)
}

// explain turns the error of golang-jwt's ParseWithClaims into one of
// this package's: the claims' or the key lookup's own error when they
// failed, else by the golang-jwt sentinel it matches.
func (v *verifier) explain(tok *jwt.Token, cl *tokenClaims, keyErr, err error) error {
	if cl.err != nil {
		return cl.err
	}
	if keyErr != nil {
		return keyErr
	}
	var alg any
	hasAlg := false
	if tok != nil {
		alg, hasAlg = tok.Header["alg"]
	}
	name, isString := alg.(string)
	now := func() string { return v.now().UTC().Format(time.RFC3339) }
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %s", ErrMalformed, strings.TrimPrefix(err.Error(), jwt.ErrTokenMalformed.Error()+": "))
	case tok == nil || tok.Header == nil:
		return fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	case !hasAlg:
		return fmt.Errorf("%w: header has no \"alg\"", ErrMalformed)
	case !isString:
		return fmt.Errorf("%w: header \"alg\" is not a string", ErrMalformed)
	case !slices.Contains(v.algs, name):
		return fmt.Errorf("%w: %q (want %s)", ErrAlgorithm, name, strings.Join(v.algs, " or "))
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return fmt.Errorf("%w: no \"exp\" claim", ErrMalformed)
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: expired at %s (now %s)", ErrExpired, cl.exp.UTC().Format(time.RFC3339), now())
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: issued in the future at %s (now %s)", ErrExpired, cl.iat.UTC().Format(time.RFC3339), now())
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fmt.Errorf("%w: not valid before %s (now %s)", ErrExpired, cl.nbf.UTC().Format(time.RFC3339), now())
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err) // no other error is known to golang-jwt v5.3
}

// checkShape refuses a token that is empty, longer than MaxTokenLen,
// holds a character that cannot appear in a compact JWS (encoding/base64
// would skip '\r' and '\n'; a token is taken only as its exact
// characters), or is not three dot-separated parts.
func checkShape(token string) error {
	switch {
	case len(token) > MaxTokenLen:
		return fmt.Errorf("%w: %d bytes, longer than %d", ErrMalformed, len(token), MaxTokenLen)
	case token == "":
		return fmt.Errorf("%w: empty token", ErrMalformed)
	}
	if i := strings.IndexFunc(token, func(r rune) bool { return !isTokenChar(r) }); i >= 0 {
		return fmt.Errorf("%w: character %q at offset %d is not base64url or '.'", ErrMalformed, token[i:i+1], i)
	}
	if n := strings.Count(token, ".") + 1; n != 3 {
		return fmt.Errorf("%w: want 3 dot-separated parts, got %d", ErrMalformed, n)
	}
	return nil
}

// isTokenChar reports whether r may appear in a compact JWS: the base64url
// alphabet and the dot.
func isTokenChar(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

// tokenClaims is the claims set of a token being verified, as golang-jwt
// decodes it: the members as raw JSON, with the registered dates parsed
// strictly while decoding (golang-jwt's own types accept any number).
type tokenClaims struct {
	members       map[string]json.RawMessage
	exp, iat, nbf *jwt.NumericDate
	err           error // what UnmarshalJSON found wrong, an ErrMalformed
}

var _ jwt.Claims = (*tokenClaims)(nil)

// UnmarshalJSON implements json.Unmarshaler.
func (c *tokenClaims) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &c.members); err != nil || c.members == nil {
		c.err = fmt.Errorf("%w: claims are not a JSON object", ErrMalformed)
		return c.err
	}
	for _, d := range []struct {
		name string
		dst  **jwt.NumericDate
	}{{"exp", &c.exp}, {"iat", &c.iat}, {"nbf", &c.nbf}} {
		if *d.dst, c.err = numericDate(c.members, d.name); c.err != nil {
			return c.err
		}
	}
	return nil
}

// result returns the claims of a verified token; the user claim and "iat"
// are required.
func (c *tokenClaims) result(userClaim string) (Claims, error) {
	if c.members == nil { // JSON null: golang-jwt does not call UnmarshalJSON
		return Claims{}, fmt.Errorf("%w: claims are not a JSON object", ErrMalformed)
	}
	if c.iat == nil {
		return Claims{}, fmt.Errorf("%w: no \"iat\" claim", ErrMalformed)
	}
	var user string
	if raw, ok := c.members[userClaim]; !ok {
		return Claims{}, fmt.Errorf("%w: no %q claim (the user ID)", ErrMalformed, userClaim)
	} else if err := json.Unmarshal(raw, &user); err != nil || isNull(raw) {
		return Claims{}, fmt.Errorf("%w: %q claim is not a string", ErrMalformed, userClaim)
	} else if user == "" {
		return Claims{}, fmt.Errorf("%w: %q claim is empty", ErrMalformed, userClaim)
	}
	return Claims{User: user, IssuedAt: c.iat.UTC(), Expires: c.exp.UTC()}, nil
}

// GetExpirationTime implements jwt.Claims.
func (c *tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.exp, nil }

// GetIssuedAt implements jwt.Claims.
func (c *tokenClaims) GetIssuedAt() (*jwt.NumericDate, error) { return c.iat, nil }

// GetNotBefore implements jwt.Claims.
func (c *tokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.nbf, nil }

// GetIssuer implements jwt.Claims; "iss" is not checked.
func (c *tokenClaims) GetIssuer() (string, error) { return "", nil }

// GetSubject implements jwt.Claims; the user claim is read by result.
func (c *tokenClaims) GetSubject() (string, error) { return "", nil }

// GetAudience implements jwt.Claims; "aud" is not checked.
func (c *tokenClaims) GetAudience() (jwt.ClaimStrings, error) { return nil, nil }

// numericDate reads claim name as a JWT NumericDate (seconds since the
// epoch, possibly fractional). A missing claim is nil.
func numericDate(cl map[string]json.RawMessage, name string) (*jwt.NumericDate, error) {
	raw, ok := cl[name]
	if !ok {
		return nil, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || isNull(raw) {
		return nil, fmt.Errorf("%w: %q claim is not a number", ErrMalformed, name)
	}
	if math.IsNaN(f) || f < 0 || f > maxUnix {
		return nil, fmt.Errorf("%w: %q claim %s out of range (want 0 to %d)", ErrMalformed, name, raw, maxUnix)
	}
	sec, frac := math.Modf(f)
	// Not jwt.NewNumericDate: it truncates to whole seconds.
	return &jwt.NumericDate{Time: time.Unix(int64(sec), int64(frac*1e9))}, nil
}

// isNull reports whether raw is JSON null, which json.Unmarshal accepts
// into any type without error.
func isNull(raw json.RawMessage) bool {
	return strings.TrimSpace(string(raw)) == "null"
}

// CheckUserClaim reports whether name can hold the user ID: a non-empty
// UTF-8 string without control characters, other than the dates "exp",
// "iat" and "nbf". The error wraps ErrKey.
func CheckUserClaim(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty user claim name", ErrKey)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("%w: user claim name %q has invalid UTF-8 or control characters", ErrKey, name)
	case name == "exp" || name == "iat" || name == "nbf":
		return fmt.Errorf("%w: user claim %q is a date claim", ErrKey, name)
	}
	return nil
}
