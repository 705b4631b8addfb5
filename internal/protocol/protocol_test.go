package protocol_test

import (
	"testing"

	"github.com/sockgate/sockgate/internal/protocol"
)

func TestReserved(t *testing.T) {
	t.Parallel()
	for _, e := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if !protocol.Reserved(e) {
			t.Errorf("%q is not reserved", e)
		}
	}
	for _, e := range []string{"", "message", "Connect", "connect ", "sockgate:refresh"} {
		if protocol.Reserved(e) {
			t.Errorf("%q is reserved", e)
		}
	}
}

func TestUserRoom(t *testing.T) {
	t.Parallel()
	if got := protocol.UserRoom("42"); got != "user:42" {
		t.Fatalf("UserRoom(42) = %q", got)
	}
}
