package codec

// Method names a python-socketio pub/sub message kind.
type Method string

// The methods python-socketio's pub/sub managers exchange.
const (
	MethodEmit       Method = "emit"
	MethodDisconnect Method = "disconnect"
	MethodEnterRoom  Method = "enter_room"
	MethodLeaveRoom  Method = "leave_room"
	MethodCloseRoom  Method = "close_room"
	MethodCallback   Method = "callback"
)

// Args carries several event arguments in Message.Data, the way a Python tuple
// does in python-socketio: Data = Args{1, "two"} makes a client handler receive
// two arguments. Any other non-nil Data value is exactly one argument, so a
// []int{1, 2, 3} is one list argument.
type Args []any

// Callback identifies the host-side acknowledgement an emit asks for:
// python-socketio sends it as the triple (room/sid, namespace, id).
type Callback struct {
	SID       string
	Namespace string
	ID        int64
}

// Message is the meaning of one python-socketio pub/sub message, independent
// of the dialect and encoding it travels in.
//
// Which fields apply depends on Method:
//   - emit: Event, Data, Namespace, Rooms (nil = every client of the
//     namespace; a non-nil empty list addresses nobody), Skip (sids that
//     must not receive it; nil and empty are the same), Callback (optional).
//   - disconnect: SID, Namespace.
//   - enter_room, leave_room: SID, Rooms (exactly one room), Namespace.
//   - close_room: Rooms (exactly one room), Namespace.
//   - callback: HostID (the host that asked), SID, Namespace, CallbackID,
//     Data (the acknowledgement's arguments, always Args).
//
// Data follows python's convention: nil means no argument, Args means several
// arguments, anything else is one argument. Decoded values are map[string]any,
// []any, string, json.Number (every number, kept exact), bool, nil and []byte.
// Values to encode may also be any value encoding/json accepts; []byte values
// (directly or inside map[string]any and []any) become binary attachments in
// the dialects that support them.
type Message struct {
	Method     Method
	Event      string
	Data       any
	Namespace  string
	Rooms      []string
	Skip       []string
	SID        string
	Callback   *Callback
	CallbackID int64
	HostID     string
	// Seq numbers the messages of one sender (HostID), so that a receiver
	// can drop a message it has already applied (a publish retried after
	// its reply was lost delivers the same bytes twice): gateway.Worker
	// gives each message it publishes the next number of its own counter.
	// 0 means none (python-socketio's messages carry none). It travels as
	// the extra key "sockgate_seq", which python-socketio ignores, in
	// every dialect; Decode reads a key that is not a positive integer as
	// none, as python-socketio does not look at it.
	Seq uint64
	// NonFinite is set by Decode: how many NaN, Infinity and -Infinity
	// numbers it read and replaced by null, as JavaScript's JSON.stringify
	// does (python's json.dumps writes them as those literals, which no
	// JSON parser of a Socket.IO client reads; a pickle carries them as
	// floats). Encode ignores it: values to encode must be finite.
	NonFinite int
}

// Arguments returns the event arguments as a list: what a client's handler
// is called with.
func (m *Message) Arguments() []any {
	switch d := m.Data.(type) {
	case nil:
		return nil
	case Args:
		return d
	default:
		return []any{d}
	}
}

// Room returns the single room of a room operation, or "" when Rooms does not
// hold exactly one room.
func (m *Message) Room() string {
	if len(m.Rooms) == 1 {
		return m.Rooms[0]
	}
	return ""
}
