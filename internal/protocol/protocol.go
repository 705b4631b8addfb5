// Package protocol holds the conventions of python-socketio's bus and of
// Socket.IO that several sockgate packages share, written once: the
// default channel, the event names Socket.IO reserves, and the room of a
// user.
package protocol

// DefaultChannel is python-socketio's default channel (its
// RedisManager's channel="socketio").
const DefaultChannel = "socketio"

// UserRoomPrefix is what sockgate's default user room puts before the user
// id.
const UserRoomPrefix = "user:"

// UserRoom is sockgate's default room of a user: UserRoomPrefix + id.
func UserRoom(userID string) string { return UserRoomPrefix + userID }

// Reserved reports whether Socket.IO uses event itself (connect,
// connect_error, disconnect, disconnecting, newListener, removeListener):
// a server may not emit it and a client may not send it as an event.
func Reserved(event string) bool {
	switch event {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}
