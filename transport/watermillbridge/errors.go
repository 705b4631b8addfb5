package watermillbridge

import (
	"errors"

	"github.com/sockgate/sockgate/transport"
)

var (
	// ErrConfig reports an invalid Config: neither a Publisher nor a
	// Subscriber.
	ErrConfig = errors.New("watermillbridge: invalid configuration")
	// ErrNoPublisher is returned by Publish on a Bridge built without a
	// Publisher.
	ErrNoPublisher = errors.New("watermillbridge: no Publisher configured")
	// ErrNoSubscriber is returned by Subscribe and SubscribeAck on a Bridge
	// built without a Subscriber.
	ErrNoSubscriber = errors.New("watermillbridge: no Subscriber configured")
	// ErrClosed is returned by calls on a closed Bridge. It wraps
	// transport.ErrClosed, so errors.Is(err, transport.ErrClosed) holds.
	ErrClosed error = closedError{}
)

// closedError is ErrClosed: its own prefixed text, transport.ErrClosed
// underneath.
type closedError struct{}

func (closedError) Error() string { return "watermillbridge: closed" }
func (closedError) Unwrap() error { return transport.ErrClosed }
