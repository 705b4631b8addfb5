package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
)

// MinRSABits is the smallest RSA modulus accepted, in bits (NIST SP
// 800-131A; RFC 7518 section 3.3 requires 2048 for RS256).
const MinRSABits = 2048

// Key is one public key that verifies tokens.
type Key struct {
	// ID is the key ID, matched against a token header's "kid"; "" for a
	// key without one (a PEM key).
	ID string
	// Algorithm is the one algorithm the key verifies: RS256 for an RSA
	// key, ES256 for an ECDSA P-256 key, EdDSA for an Ed25519 key.
	Algorithm string
	// Public is the key: *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey.
	Public crypto.PublicKey
}

// PublicKey returns a Key for pub, an *rsa.PublicKey of at least
// MinRSABits, an *ecdsa.PublicKey on P-256 or an ed25519.PublicKey, with
// key ID id (which may be ""). Anything else is ErrKey.
func PublicKey(id string, pub crypto.PublicKey) (Key, error) {
	alg, err := publicAlgorithm(pub)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return Key{ID: id, Algorithm: alg, Public: pub}, nil
}

// publicAlgorithm returns the algorithm of pub, or why it cannot be used.
func publicAlgorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", fmt.Errorf("nil RSA key")
		}
		if n := k.N.BitLen(); n < MinRSABits {
			return "", fmt.Errorf("RSA key of %d bits, want at least %d", n, MinRSABits)
		}
		return RS256, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "", fmt.Errorf("nil ECDSA key")
		}
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("ECDSA key on %s, want P-256 (ES256)", k.Curve.Params().Name)
		}
		return ES256, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("Ed25519 key of %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		return EdDSA, nil
	}
	return "", fmt.Errorf("unsupported public key type %T (want RSA, ECDSA P-256 or Ed25519)", pub)
}

// ParsePEM returns the keys of the PEM blocks in data: "PUBLIC KEY"
// (PKIX), "RSA PUBLIC KEY" (PKCS #1) or "CERTIFICATE" (its public key; the
// certificate itself is not checked). Text around the blocks is ignored.
// No block, another block type (a private key, say), or a key PublicKey
// refuses is ErrKey naming the block.
func ParsePEM(data []byte) ([]Key, error) {
	var keys []Key
	for n := 1; ; n++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		pub, err := pemPublicKey(b)
		var alg string
		if err == nil {
			alg, err = publicAlgorithm(pub)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: PEM block %d (%s): %w", ErrKey, n, b.Type, err)
		}
		keys = append(keys, Key{Algorithm: alg, Public: pub})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no PEM block", ErrKey)
	}
	return keys, nil
}

func pemPublicKey(b *pem.Block) (crypto.PublicKey, error) {
	switch b.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(b.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(b.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	return nil, fmt.Errorf("not a public key (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)")
}

// jwk is the part of a JSON Web Key (RFC 7517, 7518, 8037) ParseJWKS reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	// RSA
	N string `json:"n"`
	E string `json:"e"`
	// EC and OKP
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// ParseJWKS returns the keys of a JSON Web Key Set (RFC 7517 section 5),
// {"keys": [...]}, as an identity provider publishes it: RSA keys (kty
// "RSA"), ECDSA P-256 keys (kty "EC", crv "P-256") and Ed25519 keys (kty
// "OKP", crv "Ed25519"). A key with "use" other than "sig", or with an
// "alg" other than its type's algorithm (RS256, ES256, EdDSA), or of
// another type or curve is left out, and described in skipped. A set that
// is not such JSON, a supported key that is malformed or weak, two keys
// with one "kid" and algorithm, or a set with no usable key is ErrKey.
func ParseJWKS(data []byte) (keys []Key, skipped []string, err error) {
	keys, skipped, err = parseJWKS(data)
	if err != nil {
		return nil, skipped, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return keys, skipped, nil
}

// parseJWKS is ParseJWKS with errors that do not match ErrKey.
func parseJWKS(data []byte) (keys []Key, skipped []string, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, nil, fmt.Errorf("JWKS is not a JSON object with \"keys\": %w", err)
	}
	seen := make(map[[2]string]bool)
	for i, raw := range set.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, nil, fmt.Errorf("JWKS key %d is not a JSON Web Key: %w", i, err)
		}
		k, why, err := j.key()
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, j.Kid, err)
		case why != "":
			skipped = append(skipped, fmt.Sprintf("key %d (kid %q): %s", i, j.Kid, why))
			continue
		case k.ID != "" && seen[[2]string{k.ID, k.Algorithm}]:
			return nil, nil, fmt.Errorf("JWKS key %d: a second %s key with kid %q", i, k.Algorithm, k.ID)
		}
		seen[[2]string{k.ID, k.Algorithm}] = true
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, skipped, fmt.Errorf("JWKS has no usable key (of %d; want RSA, EC P-256 or OKP Ed25519 signing keys)", len(set.Keys))
	}
	return keys, skipped, nil
}

// key returns the Key of j; or why it is left out; or what is wrong with
// a key of a supported type.
func (j jwk) key() (k Key, why string, err error) {
	var alg string
	switch {
	case j.Kty == "RSA":
		alg = RS256
	case j.Kty == "EC" && j.Crv == "P-256":
		alg = ES256
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		alg = EdDSA
	default:
		return Key{}, fmt.Sprintf("unsupported kty %q, crv %q", j.Kty, j.Crv), nil
	}
	if j.Use != "" && j.Use != "sig" {
		return Key{}, fmt.Sprintf("use %q, not \"sig\"", j.Use), nil
	}
	if j.Alg != "" && j.Alg != alg && (alg != EdDSA || j.Alg != "Ed25519") {
		return Key{}, fmt.Sprintf("alg %q (only %s is supported for kty %s)", j.Alg, alg, j.Kty), nil
	}
	pub, err := j.public()
	if err == nil {
		_, err = publicAlgorithm(pub)
	}
	if err != nil {
		return Key{}, "", err
	}
	return Key{ID: j.Kid, Algorithm: alg, Public: pub}, "", nil
}

// public decodes the key material of j, whose type is supported.
func (j jwk) public() (crypto.PublicKey, error) {
	switch j.Kty {
	case "RSA":
		n, err := b64Field("n", j.N, 0)
		if err != nil {
			return nil, err
		}
		e, err := b64Field("e", j.E, 0)
		if err != nil {
			return nil, err
		}
		if len(e) > 4 || len(n) == 0 || n[0] == 0 {
			return nil, fmt.Errorf("\"n\" or \"e\" is not a minimal big-endian integer that fits")
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 || exp%2 == 0 {
			return nil, fmt.Errorf("RSA exponent %d is not an odd number of at least 3", exp)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
	case "EC":
		x, err := b64Field("x", j.X, 32)
		if err != nil {
			return nil, err
		}
		y, err := b64Field("y", j.Y, 32)
		if err != nil {
			return nil, err
		}
		// Checks that the point is on the curve.
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	default: // OKP Ed25519
		x, err := b64Field("x", j.X, ed25519.PublicKeySize)
		if err != nil {
			return nil, err
		}
		return ed25519.PublicKey(x), nil
	}
}

// b64Field decodes member name, unpadded base64url, of size bytes unless
// size is 0.
func b64Field(name, v string, size int) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%q is not unpadded base64url: %w", name, err)
	case len(b) == 0:
		return nil, fmt.Errorf("%q is missing or empty", name)
	case size != 0 && len(b) != size:
		return nil, fmt.Errorf("%q is %d bytes, want %d", name, len(b), size)
	}
	return b, nil
}
