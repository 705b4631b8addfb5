package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

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

Example:
  TOKEN=$(sockgate token --user 42 --ttl 8h)`,
	setup: func(fs *flag.FlagSet, _ config.Config) func(context.Context, *cli, []string) error {
		var o tokenOptions
		fs.StringVar(&o.user, "user", "", "the user `ID` (the token's \"sub\", or --claim; required)")
		fs.DurationVar(&o.ttl, "ttl", time.Hour, "how long the token is valid (`duration`, rounded up to whole seconds)")
		fs.StringVar(&o.secretEnv, "secret-env", config.EnvAuthSecret, "the environment `variable` holding the secret")
		claim := os.Getenv(config.EnvAuthUserClaim)
		if claim == "" {
			claim = auth.DefaultUserClaim
		}
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
	}
	secret, _ := o.lookup(o.secretEnv)
	if secret == "" {
		return usagef("no secret: %s is unset or empty (generate one with: openssl rand -base64 48)", o.secretEnv)
	}
	h, err := auth.NewHMAC([]byte(secret))
	if errors.Is(err, auth.ErrSecret) {
		// The value is never printed, only its length.
		return usageError{fmt.Errorf("%s: %w", o.secretEnv, err)}
	} else if err != nil {
		return err
	}
	h = h.WithClock(o.now)
	if o.claim != "" {
		if h, err = h.WithUserClaim(o.claim); err != nil {
			return usageError{fmt.Errorf("--claim: %w", err)}
		}
	}
	token, err := h.Mint(o.user, o.ttl)
	if err != nil {
		return usageError{err}
	}
	claims, err := h.Verify(token)
	if err != nil {
		return fmt.Errorf("minted token does not verify: %w", err) // cannot happen
	}
	if _, err := fmt.Fprintln(c.stdout, token); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "token for user %q, expires %s\n", claims.User, claims.Expires.Format(time.RFC3339))
	return nil
}
