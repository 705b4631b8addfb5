// Package codec turns Socket.IO pub/sub messages into python-socketio's wire
// format and back.
//
// A Message is the meaning of one message (emit an event to rooms, a room
// operation, a disconnect or a callback), independent of how it travels. A
// Codec encodes it for a transport and decodes what arrives. Python is the
// codec for python-socketio's Redis (and Kafka, ...) managers: Go processes
// that use it reach python-socketio servers, and Go and Python servers can
// share one channel.
//
// # Dialects
//
// python-socketio changed its message format twice, and a message must be
// written in the form its receivers understand. Python writes JSON in one
// of three dialects, chosen by the oldest python-socketio version among the
// servers on the channel:
//
//   - Current (python-socketio 5.15.1 and later, the default): "data" is
//     always the list of arguments; []byte values travel as base64
//     attachments ("binary": true). Everything a Message can hold is
//     expressible.
//   - V514 (5.14.0 to 5.15.0): "data" is the raw single argument; several
//     arguments cannot be expressed. Bytes travel as attachments, which
//     only 5.14.2 and later read: 5.14.0 and 5.14.1 cannot take bytes.
//   - Legacy (before 5.14, which publish pickles but also read JSON): raw
//     "data" and no "binary" key. Several arguments, bytes and room lists
//     (5.7.2's asyncio server crashes on them) cannot be expressed; Encode
//     returns ErrDialect for them rather than publish something the servers
//     would misread.
//
// A single argument that is not a list means the same in every dialect; the
// dialects differ for a list argument, several arguments and bytes.
//
// Applications pick the dialect with the SOCKET_DIALECT environment
// variable, whose value ParseDialect reads: "current", "v5.14", "legacy", or
// the python-socketio version of the oldest server, such as "5.7.2" (legacy),
// "5.14.2" (v5.14) or "5.16" (current).
//
// Decode reads every dialect and the pickles of python-socketio before 5.14,
// whatever dialect the codec writes. Pickles are decoded by a safe decoder
// that refuses anything that would import or call code (ErrUnsafe).
//
// # Values
//
// Message.Data holds the event arguments: nil is no argument, Args holds
// several, any other value is one argument. Encode accepts nil, bool,
// string, every integer and float kind, json.Number (written verbatim), []byte,
// map[string]any (keys sorted), []any, Args, and anything else encoding/json
// can marshal. Decode produces map[string]any, []any, string, json.Number,
// bool, nil and []byte, so numbers such as 2**70 survive a round trip
// exactly.
//
// See docs/codec.md in the repository for the complete decoding rules,
// limits and benchmark figures.
package codec
