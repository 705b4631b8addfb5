//go:build integration

package engineio

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/sockgate/sockgate/internal/testenv"
)

type nodeEvent struct {
	Event     string `json:"event"`
	Transport string `json:"transport"`
	Binary    bool   `json:"binary"`
	Data      string `json:"data"`
	Reason    string `json:"reason"`
	Message   string `json:"message"`
	N         int    `json:"n"`
}

func TestNodeClient(t *testing.T) {
	testenv.RequireNode(t, "engine.io-client")
	cases := []struct {
		name, transports, finalTransport string
		upgrade                          bool
	}{
		{"websocket", "websocket", "websocket", false},
		{"polling", "polling", "polling", false},
		{"upgrade", "polling,websocket", "websocket", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newRecorder(t, true)
			s, hs := testServer(t, Config{Handler: h, PingInterval: 100 * time.Millisecond, PingTimeout: 500 * time.Millisecond})
			cmd := exec.CommandContext(t.Context(), testenv.NodeBin(), testenv.RepoPath("test/peers/node/eio_client.js"), hs.URL, tc.transports, "3")
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			events := make(chan nodeEvent, 100)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					var ev nodeEvent
					if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
						t.Errorf("node printed %q", sc.Text())
						continue
					}
					events <- ev
				}
				close(events)
			}()
			c := recv(t, h.opens, "OnOpen")
			var got struct {
				open, upgrade, finish, close bool
				pings                        int
				echoes                       map[string]bool
			}
			got.echoes = map[string]bool{}
			timeout := time.After(waitFor)
		loop:
			for {
				select {
				case ev, ok := <-events:
					if !ok {
						break loop
					}
					switch ev.Event {
					case "open":
						got.open = true
						if ev.Transport != tc.transports[:len(ev.Transport)] {
							t.Errorf("opened on %q", ev.Transport)
						}
					case "upgrade":
						got.upgrade = ev.Transport == "websocket"
					case "message":
						got.echoes[ev.Data] = ev.Binary
					case "ping":
						got.pings = ev.N
					case "finish":
						got.finish = true
						if ev.Transport != tc.finalTransport {
							t.Errorf("finished on %q, want %q", ev.Transport, tc.finalTransport)
						}
					case "close":
						got.close = true
					case "error", "timeout":
						t.Fatalf("node: %+v", ev)
					}
				case <-timeout:
					t.Fatalf("node client did not finish: %+v", got)
				}
			}
			if !got.open || !got.finish || !got.close || got.pings < 3 || got.upgrade != tc.upgrade {
				t.Fatalf("node saw %+v", got)
			}
			if bin, ok := got.echoes["hello from node"]; !ok || bin {
				t.Errorf("text echo: %v %v", ok, bin)
			}
			if bin, ok := got.echoes["010203fa"]; !ok || !bin {
				t.Errorf("binary echo: %v %v", ok, bin)
			}
			m1 := recv(t, h.msgs, "text from node")
			m2 := recv(t, h.msgs, "binary from node")
			if m1.data != "hello from node" || m1.binary || m2.data != "\x01\x02\x03\xfa" || !m2.binary {
				t.Errorf("server got %+v then %+v", m1, m2)
			}
			ev := recv(t, h.closes, "OnClose")
			if ev.c != c || ev.reason != ReasonTransportClose {
				t.Errorf("close reason %q", ev.reason)
			}
			if tc.upgrade && s.Stats().Upgrades != 1 {
				t.Errorf("stats %+v", s.Stats())
			}
		})
	}
}

// pythonBin is the interpreter with Debian's python3-engineio.

func TestPythonClient(t *testing.T) {
	if out, err := exec.Command(testenv.PythonBin(), "-c", "import engineio, websocket, requests").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("%s cannot import engineio, websocket, requests (%v: %s); apt-get install python3-engineio python3-websocket python3-requests", testenv.PythonBin(), err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cases := []struct{ name, transports, finalTransport string }{
		{"websocket", "websocket", "websocket"},
		{"polling", "polling", "polling"},
		{"upgrade", "polling,websocket", "websocket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newRecorder(t, true)
			_, hs := testServer(t, Config{Handler: h, PingInterval: 100 * time.Millisecond, PingTimeout: 500 * time.Millisecond})
			// Stay 0.6 s: several ping intervals.
			cmd := exec.CommandContext(t.Context(), testenv.PythonBin(), testenv.PythonPeer("eio_client.py"), hs.URL, tc.transports, "0.6")
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			events := make(chan nodeEvent, 100)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					var ev nodeEvent
					if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
						t.Errorf("python printed %q", sc.Text())
						continue
					}
					events <- ev
				}
				close(events)
			}()
			c := recv(t, h.opens, "OnOpen")
			echoes := map[string]bool{}
			var finish nodeEvent
			timeout := time.After(waitFor)
		loop:
			for {
				select {
				case ev, ok := <-events:
					if !ok {
						break loop
					}
					switch ev.Event {
					case "message":
						echoes[ev.Data] = ev.Binary
					case "finish":
						finish = ev
					}
				case <-timeout:
					t.Fatal("python client did not finish")
				}
			}
			if finish.Transport != tc.finalTransport {
				t.Errorf("finished on %q, want %q", finish.Transport, tc.finalTransport)
			}
			if bin, ok := echoes["hello from python"]; !ok || bin {
				t.Errorf("text echo: %v %v (%v)", ok, bin, echoes)
			}
			if bin, ok := echoes["010203fa"]; !ok || !bin {
				t.Errorf("binary echo: %v %v (%v)", ok, bin, echoes)
			}
			ev := recv(t, h.closes, "OnClose")
			if ev.c != c || ev.reason != ReasonTransportClose {
				t.Errorf("close reason %q (a ping timeout means the heartbeat failed)", ev.reason)
			}
		})
	}
}
