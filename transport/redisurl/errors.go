package redisurl

import (
	"errors"
	"strconv"
)

// ErrInvalidURL is matched (with errors.Is) by every error Parse and
// NewClient return for a URL they refuse.
var ErrInvalidURL = errors.New("redisurl: invalid URL")

// Error is the error Parse returns for a refused URL. It matches
// ErrInvalidURL with errors.Is; use errors.As to read the redacted URL and
// the reason separately (the config package does, to name the variable).
//
// Neither field ever holds a password: URL is passed through Redact, and
// Reason is written by this package, never copied from a parser that might
// echo part of the input.
type Error struct {
	// URL is the refused URL with its password and password-like query
	// values replaced by "***" (see Redact).
	URL string
	// Reason says what is wrong, e.g. `invalid port "99999" (want 1-65535)`.
	Reason string
}

// Error returns `redisurl: invalid URL "<redacted URL>": <reason>`.
func (e *Error) Error() string {
	return ErrInvalidURL.Error() + " " + strconv.Quote(e.URL) + ": " + e.Reason
}

// Unwrap returns ErrInvalidURL.
func (e *Error) Unwrap() error { return ErrInvalidURL }

// invalid builds the *Error for rawURL.
func invalid(rawURL, reason string) error {
	return &Error{URL: Redact(rawURL), Reason: reason}
}
