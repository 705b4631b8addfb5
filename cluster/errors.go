package cluster

import "errors"

// Sentinel errors; match with errors.Is.
var (
	// ErrConfig: a Config field is missing or out of range.
	ErrConfig = errors.New("cluster: invalid config")
	// ErrClosed: the manager was closed.
	ErrClosed = errors.New("cluster: closed")
	// ErrNoBroker: the call needs a Publisher and none is configured.
	ErrNoBroker = errors.New("cluster: no broker configured")
	// ErrInvalidArgument: an empty sid or event name.
	ErrInvalidArgument = errors.New("cluster: invalid argument")
	// ErrAckTimeout: EmitWithAck's context ended (or the client
	// disconnected) before the acknowledgement arrived.
	ErrAckTimeout = errors.New("cluster: acknowledgement not received")
)
