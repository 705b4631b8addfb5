package socketio

import "errors"

// The errors of this package. Calls wrap them with detail
// (fmt.Errorf("%w: ...")); match them with errors.Is.
var (
	// ErrConfig: a Config field is out of range.
	ErrConfig = errors.New("socketio: invalid config")
	// ErrPayload: an argument cannot be encoded (NaN or Inf, a channel or
	// function, a cycle, invalid json.RawMessage). Nothing was sent.
	ErrPayload = errors.New("socketio: payload cannot be encoded")
	// ErrReservedEvent: the event name is reserved by the protocol
	// (connect, connect_error, disconnect, disconnecting, newListener,
	// removeListener). Nothing was sent.
	ErrReservedEvent = errors.New("socketio: reserved event name")
	// ErrDisconnected: the socket is not connected (any more).
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrNoAck: Event.Ack on an event whose sender did not ask for an
	// acknowledgement, or a second Ack.
	ErrNoAck = errors.New("socketio: event has no pending acknowledgement")
	// ErrAckTimeout: EmitWithAck's context ended before the client
	// acknowledged. It wraps the context's error too.
	ErrAckTimeout = errors.New("socketio: acknowledgement not received")
	// ErrNoAuth: Handshake.BindAuth on a handshake without an auth payload.
	ErrNoAuth = errors.New("socketio: handshake has no auth payload")
	// ErrArgs: Args.Bind was given more destinations than there are
	// arguments, or an argument does not decode into its destination.
	ErrArgs = errors.New("socketio: cannot bind arguments")
	// ErrMalformed: a client sent a packet that is not Socket.IO v5; the
	// client is disconnected and counted in Stats.ProtocolErrors.
	ErrMalformed = errors.New("socketio: malformed packet")
	// ErrServerClosed: the server is closed.
	ErrServerClosed = errors.New("socketio: server closed")
	// ErrTokenRefused: a token sent on TokenRefreshEvent was refused (not
	// a string, not valid, or naming another user); the socket keeps its
	// old token. The client's ack carries the wrapped message.
	ErrTokenRefused = errors.New("socketio: token refresh refused")
)

// ConnectError refuses a connection with a message and optional data: the
// client gets CONNECT_ERROR {"message": Message, "data": Data}. Any other
// error returned by a Middleware is sent as {"message": err.Error()}.
type ConnectError struct {
	Message string
	Data    any
}

// Error returns the message.
func (e *ConnectError) Error() string { return "socketio: connection refused: " + e.Message }
