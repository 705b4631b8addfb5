package codec

// Codec turns Messages into bytes for a transport and back.
//
// Implementations are safe for concurrent use. Encode appends to dst and
// returns the extended slice, so callers can reuse buffers; on error it
// returns dst unchanged in length and nothing must be published.
type Codec interface {
	// Encode appends the encoding of m to dst. It must not retain m or
	// anything reachable from it after it returns: callers reuse them.
	Encode(dst []byte, m *Message) ([]byte, error)
	// Decode parses one message. Decode never panics on hostile input; it
	// returns an error wrapping ErrMalformed or ErrUnsafe.
	Decode(data []byte) (*Message, error)
}
