package engineio_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sockgate/sockgate/internal/engineio"
)

// echo sends every message back to its sender.
type echo struct{}

func (echo) OnOpen(c *engineio.Conn) {}
func (echo) OnMessage(c *engineio.Conn, data []byte, binary bool) {
	p := engineio.NewTextPacket(data)
	if binary {
		p = engineio.NewBinaryPacket(data)
	}
	_ = c.Send(p) // returns at once; an error means the connection is gone
}
func (echo) OnClose(c *engineio.Conn, reason string) {}

func Example() {
	srv, err := engineio.NewServer(engineio.Config{Handler: echo{}})
	if err != nil {
		panic(err)
	}
	hs := httptest.NewServer(srv) // usually mounted at "/engine.io/" or "/socket.io/"
	defer hs.Close()

	// A polling client: handshake, send "hello", poll the echo.
	get := func(url string) string {
		resp, err := http.Get(url)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	open := get(hs.URL + "/?EIO=4&transport=polling")
	var hello struct {
		SID      string   `json:"sid"`
		Upgrades []string `json:"upgrades"`
	}
	_ = json.Unmarshal([]byte(open[1:]), &hello)
	fmt.Println("upgrades:", hello.Upgrades)
	u := hs.URL + "/?EIO=4&transport=polling&sid=" + hello.SID
	resp, err := http.Post(u, "text/plain", strings.NewReader("4hello"))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("poll:", get(u))
	// Output:
	// upgrades: [websocket]
	// poll: 4hello
}
