package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/config"
)

var tokenCommand = &command{
	name:    "token",
	summary: "mint a signed user token for the Socket.IO handshake auth",
	details: `
Prints a token (JWT, HS256) for user --user, valid for --ttl, signed with
the secret in the environment variable named by --secret-env (default
SOCKET_AUTH_SECRET, at least 32 bytes). There is deliberately no flag for
the secret itself: command lines are visible to other users of the machine.
The user ID goes in claim --claim (default SOCKET_AUTH_USER_CLAIM, else
"sub"), the claim the servers read. A client sends the token as its
handshake auth {"token": "..."}; the server joins it to the user's room.
Only the token goes to stdout.

With --key, the token is signed with that PEM private key instead (RSA of
at least 2048 bits: RS256, ECDSA P-256: ES256, Ed25519: EdDSA), with --kid
in its header, to test servers that verify with public keys
(SOCKET_AUTH_PUBLIC_KEY, SOCKET_AUTH_JWKS); no secret is needed then.

Examples:
  TOKEN=$(sockgate token --user 42 --ttl 8h)
  TOKEN=$(sockgate token --user 42 --key idp-private.pem --kid idp-1)`,
	setup: func(fs *flag.FlagSet, _ config.Config) func(context.Context, *cli, []string) error {
		var o tokenOptions
		fs.StringVar(&o.user, "user", "", "the user `ID` (the token's \"sub\", or --claim; required)")
		fs.DurationVar(&o.ttl, "ttl", time.Hour, "how long the token is valid (`duration`, rounded up to whole seconds)")
		fs.StringVar(&o.secretEnv, "secret-env", config.EnvAuthSecret, "the environment `variable` holding the secret")
		claim := os.Getenv(config.EnvAuthUserClaim)
		if claim == "" {
			claim = auth.DefaultUserClaim
		}
		fs.StringVar(&o.keyFile, "key", "", "sign with the PEM private key in `file` (RS256, ES256, EdDSA) instead of the secret")
		fs.StringVar(&o.kid, "kid", "", "the key `ID` in the header of a --key token")
		fs.StringVar(&o.claim, "claim", claim, "the `claim` holding the user ID ("+config.EnvAuthUserClaim+" or \"sub\")")
		return func(_ context.Context, c *cli, _ []string) error {
			o.lookup = os.LookupEnv
			return o.run(c)
		}
	},
}

type tokenOptions struct {
	user, secretEnv string
	claim           string // "": "sub"
	keyFile, kid    string // --key, --kid
	ttl             time.Duration
	lookup          func(string) (string, bool)
	now             func() time.Time // nil: time.Now
}

func (o *tokenOptions) run(c *cli) error {
	switch {
	case o.user == "":
		return usagef("--user is required")
	case o.ttl <= 0:
		return usagef("--ttl must be positive, got %s", o.ttl)
	case o.secretEnv == "":
		return usagef("--secret-env must name an environment variable")
	case o.kid != "" && o.keyFile == "":
		return usagef("--kid needs --key")
	}
	mint := o.mintHS256
	if o.keyFile != "" {
		mint = o.mintWithKey
	}
	token, claims, err := mint()
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(c.stdout, token); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "token for user %q, expires %s\n", claims.User, claims.Expires.Format(time.RFC3339))
	return nil
}

// mintHS256 mints with the secret in o.secretEnv.
func (o *tokenOptions) mintHS256() (string, auth.Claims, error) {
	secret, _ := o.lookup(o.secretEnv)
	if secret == "" {
		return "", auth.Claims{}, usagef("no secret: %s is unset or empty (generate one with: openssl rand -base64 48)", o.secretEnv)
	}
	h, err := auth.NewHMAC([]byte(secret))
	if errors.Is(err, auth.ErrSecret) {
		// The value is never printed, only its length.
		return "", auth.Claims{}, usageError{fmt.Errorf("%s: %w", o.secretEnv, err)}
	} else if err != nil {
		return "", auth.Claims{}, err
	}
	h = h.WithClock(o.now)
	if o.claim != "" {
		if h, err = h.WithUserClaim(o.claim); err != nil {
			return "", auth.Claims{}, usageError{fmt.Errorf("--claim: %w", err)}
		}
	}
	token, err := h.Mint(o.user, o.ttl)
	if err != nil {
		return "", auth.Claims{}, usageError{err}
	}
	claims, err := h.Verify(token)
	if err != nil {
		return "", auth.Claims{}, fmt.Errorf("minted token does not verify: %w", err) // cannot happen
	}
	return token, claims, nil
}

// mintWithKey mints with the private key in o.keyFile, and checks the
// token with its public key as a server would.
func (o *tokenOptions) mintWithKey() (string, auth.Claims, error) {
	data, err := os.ReadFile(o.keyFile)
	if err != nil {
		return "", auth.Claims{}, usageError{fmt.Errorf("--key: %w", err)}
	}
	priv, method, err := parsePrivateKey(data)
	var pub auth.Key
	if err == nil {
		pub, err = auth.PublicKey(o.kid, priv.Public())
	}
	if err != nil {
		return "", auth.Claims{}, usageError{fmt.Errorf("--key %s: %w", o.keyFile, err)}
	}
	if !utf8.ValidString(o.user) {
		return "", auth.Claims{}, usagef("user ID %q is not valid UTF-8", o.user)
	}
	v, err := auth.NewKeySet(auth.KeySetConfig{Keys: []auth.Key{pub}, UserClaim: o.claim, Now: o.now})
	if err != nil {
		return "", auth.Claims{}, usageError{fmt.Errorf("--claim: %w", err)}
	}
	now := v.Now().Unix()
	secs := int64(o.ttl / time.Second) // rounded up, as HMAC.Mint does
	if o.ttl%time.Second != 0 {
		secs++
	}
	claim := o.claim
	if claim == "" {
		claim = auth.DefaultUserClaim
	}
	t := jwt.NewWithClaims(method, jwt.MapClaims{claim: o.user, "iat": now, "exp": now + secs})
	if o.kid != "" {
		t.Header["kid"] = o.kid
	}
	token, err := t.SignedString(priv)
	if err != nil {
		return "", auth.Claims{}, fmt.Errorf("sign: %w", err)
	}
	claims, err := v.Verify(token)
	if err != nil {
		return "", auth.Claims{}, fmt.Errorf("minted token does not verify: %w", err) // cannot happen
	}
	return token, claims, nil
}

// parsePrivateKey reads the first PEM block of data: "PRIVATE KEY"
// (PKCS #8), "RSA PRIVATE KEY" (PKCS #1) or "EC PRIVATE KEY" (SEC 1), and
// returns the key and the method that signs with it.
func parsePrivateKey(data []byte) (crypto.Signer, jwt.SigningMethod, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, nil, fmt.Errorf("PEM block %q is not a private key (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", b.Type)
	}
	if err != nil {
		return nil, nil, err
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, jwt.SigningMethodRS256, nil
	case *ecdsa.PrivateKey:
		return k, jwt.SigningMethodES256, nil
	case ed25519.PrivateKey:
		return k, jwt.SigningMethodEdDSA, nil
	}
	return nil, nil, fmt.Errorf("unsupported private key type %T", key)
}
