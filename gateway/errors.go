package gateway

import "errors"

// Sentinel errors; match with errors.Is. Encoding errors wrap codec's
// sentinels (codec.ErrUnsupportedValue, codec.ErrDialect) as well.
var (
	// ErrClosed: the gateway was closed.
	ErrClosed = errors.New("gateway: closed")
	// ErrReservedEvent: the event name is reserved by Socket.IO.
	ErrReservedEvent = errors.New("gateway: reserved event name")
	// ErrInvalidArgument: an empty room, sid, user id or event name.
	ErrInvalidArgument = errors.New("gateway: invalid argument")
	// ErrQueueFull: the queue stayed full until the caller's ctx was done
	// (only with WaitIfFull; otherwise full-queue emits are dropped and
	// counted without an error).
	ErrQueueFull = errors.New("gateway: queue full")
)
