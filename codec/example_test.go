package codec_test

import (
	"fmt"

	"github.com/sockgate/sockgate/codec"
)

// Encode an event for one user's room, in the format python-socketio 5.15.1
// and later read, then decode it again.
func Example() {
	c := codec.NewPython(codec.PythonConfig{Dialect: codec.Current})

	msg := codec.Message{
		Method: codec.MethodEmit,
		Event:  "progress",
		Data:   map[string]any{"job": "sheet-sync", "pct": 50},
		Rooms:  []string{"user:42"},
		HostID: "0123456789abcdef0123456789abcdef",
	}
	out, err := c.Encode(nil, &msg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))

	back, err := c.Decode(out)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Event, back.Rooms, back.Arguments())
	// Output:
	// {"method":"emit","event":"progress","data":[{"job":"sheet-sync","pct":50}],"binary":false,"namespace":"/","room":"user:42","skip_sid":null,"callback":null,"host_id":"0123456789abcdef0123456789abcdef"}
	// progress [user:42] [map[job:sheet-sync pct:50]]
}

// The same emit for servers older than python-socketio 5.14: the single
// argument travels raw, and what those servers cannot read is refused.
func ExamplePython_Encode_legacy() {
	d, _ := codec.ParseDialect("5.7.2") // e.g. os.Getenv("SOCKET_DIALECT")
	c := codec.NewPython(codec.PythonConfig{Dialect: d})

	out, _ := c.Encode(nil, &codec.Message{
		Method: codec.MethodEmit,
		Event:  "notice",
		Data:   "hello",
	})
	fmt.Println(string(out))

	_, err := c.Encode(nil, &codec.Message{
		Method: codec.MethodEmit,
		Event:  "multi",
		Data:   codec.Args{1, "two"},
	})
	fmt.Println(err)
	// Output:
	// {"method":"emit","event":"notice","data":"hello","namespace":"/","room":null,"skip_sid":null,"callback":null}
	// codec: not supported by dialect: data: 2 arguments: several arguments need python-socketio >= 5.15.1; use dialect current
}
