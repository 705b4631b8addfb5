package gateway_test

import (
	"testing"

	"github.com/sockgate/sockgate/gateway"
)

func TestResolveOptions(t *testing.T) {
	t.Parallel()
	got := gateway.ResolveOptions(gateway.WithNamespace("/a"), gateway.ToRooms("r1"), gateway.ToRooms("r2"),
		gateway.Except("s1"), gateway.WaitIfFull())
	if got.Namespace != "/a" || len(got.Rooms) != 2 || got.Rooms[1] != "r2" || len(got.Except) != 1 ||
		got.Except[0] != "s1" || !got.WaitIfFull {
		t.Fatalf("ResolveOptions = %+v", got)
	}
	if z := gateway.ResolveOptions(); z.Namespace != "" || z.Rooms != nil || z.Except != nil || z.WaitIfFull {
		t.Fatalf("ResolveOptions() = %+v", z)
	}
}
