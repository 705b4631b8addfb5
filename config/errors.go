package config

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (with errors.Is) by every validation error of this
// package. FromLookup and Validate join one *SettingError per problem with
// errors.Join.
var ErrInvalid = errors.New("config: invalid setting")

// SettingError is one invalid setting. It matches ErrInvalid; use errors.As
// to read the variable's name, e.g. to point at a flag or a field.
type SettingError struct {
	// Var is the environment variable, e.g. "SOCKET_QUEUE_SIZE".
	Var string
	// Value is the value as given, with passwords redacted (REDIS_URL).
	Value string
	// Reason says what is wrong and what is accepted.
	Reason string
	// Err is the underlying error, if any (a *redisurl.Error for
	// REDIS_URL, a codec error for SOCKET_DIALECT); it may be nil.
	Err error
}

// Error returns `config: VAR="value": reason`.
func (e *SettingError) Error() string {
	return fmt.Sprintf("config: %s=%q: %s", e.Var, e.Value, e.Reason)
}

// Unwrap returns ErrInvalid and, when set, Err.
func (e *SettingError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.Err}
}
