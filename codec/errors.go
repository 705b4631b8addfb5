package codec

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them with
// detail; match them with errors.Is.
var (
	// ErrUnsupportedValue: a value cannot be encoded (NaN, Inf, a channel,
	// a function, a cycle, nesting too deep).
	ErrUnsupportedValue = errors.New("codec: unsupported value")
	// ErrDialect: the target dialect cannot express the message (several
	// arguments, a room list or bytes for servers older than 5.14, ...).
	ErrDialect = errors.New("codec: not supported by dialect")
	// ErrInvalidMessage: a message to encode is incomplete or inconsistent
	// (unknown method, missing room or sid).
	ErrInvalidMessage = errors.New("codec: invalid message")
	// ErrMalformed: input to Decode is not a valid python-socketio message.
	ErrMalformed = errors.New("codec: malformed message")
	// ErrUnknownMethod: a message names a method python-socketio does not
	// have. It comes wrapped together with ErrMalformed (Decode) or
	// ErrInvalidMessage (Encode), so a receiver can count it apart.
	ErrUnknownMethod = errors.New("codec: unknown method")
	// ErrUnsafe: a pickle asks to import or call something; it is refused.
	ErrUnsafe = errors.New("codec: unsafe pickle refused")
)
