package testenv

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// NATSServer is a real nats-server with JetStream for one test, on a free
// port, with a store that survives Restart: for the integration tests of
// the NATS transports that kill or restart their broker.
type NATSServer struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

// StartNATS starts nats-server -js on a free 127.0.0.1 port and registers
// a cleanup that kills it. It skips the test (fails it under CI=true) when
// nats-server is not installed.
func StartNATS(t testing.TB) *NATSServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		SkipOrFail(t, "nats-server is not installed (apt-get install nats-server)")
	}
	port, err := FreePort()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	s := &NATSServer{t: t, bin: bin, port: port, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// Pid is the process id of the running server, 0 when it is not running.
func (s *NATSServer) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// URL is the server's client URL.
func (s *NATSServer) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Addr is host:port.
func (s *NATSServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *NATSServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", s.dir)
	s.cmd.SysProcAttr = procAttr()
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start nats-server: %v", err)
	}
	deadline := time.Now().Add(Deadline)
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
func (s *NATSServer) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart kills the server and starts it again on the same port with the
// same store, returning once it listens.
func (s *NATSServer) Restart() {
	s.Kill()
	s.start()
}
