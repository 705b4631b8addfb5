// Package natsserver runs a real nats-server with JetStream for one test,
// on a free port, with a store that survives Restart: for the integration
// tests of the NATS transports that kill or restart their broker.
package natsserver

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/sockgate/sockgate/internal/peertest"
)

// Server is a nats-server process of the test.
type Server struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

// Start starts nats-server -js on a free 127.0.0.1 port and registers a
// cleanup that kills it. It skips the test (fails it under CI=true) when
// nats-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		peertest.SkipOrFail(t, "nats-server is not installed (apt-get install nats-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	s := &Server{t: t, bin: bin, port: port, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// URL is the server's client URL.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *Server) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", s.dir)
	s.cmd.SysProcAttr = procAttr()
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start nats-server: %v", err)
	}
	deadline := time.Now().Add(peertest.Deadline)
	for {
		c, err := net.Dial("tcp", s.Addr())
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server did not listen on %s: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond) // polling a port: there is no event to await
	}
}

// Kill kills the process (SIGKILL) and waits for it.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart kills the server and starts it again on the same port with the
// same store, returning once it listens.
func (s *Server) Restart() {
	s.Kill()
	s.start()
}
