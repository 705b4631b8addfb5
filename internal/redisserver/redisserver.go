// Package redisserver runs a real redis-server for tests: each Server has its
// own free 127.0.0.1 port and temporary directory, keeps nothing on disk, and
// is killed when the test ends. Fault tests use Kill and Restart to take the
// broker away and bring it back on the same address, and Pause and Resume
// (SIGSTOP, SIGCONT) to hang it with its connections open.
//
// When redis-server is not installed, Start skips the test, except when the
// environment variable CI is "true": there a missing server fails the test.
//
// Usage:
//
//	func TestOutage(t *testing.T) {
//		rs := redisserver.Start(t)
//		client := redis.NewClient(&redis.Options{Addr: rs.Addr()})
//		defer client.Close()
//		// ... use it ...
//		rs.Kill()    // SIGKILL: the broker is gone
//		rs.Restart() // back on the same address, empty
//	}
package redisserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long Start and Restart wait for the server to
// answer. A server counts as up when the process on its port answers INFO
// with the process id that was started, which also proves the port is ours.
const StartTimeout = 20 * time.Second

// Server is one redis-server process owned by a test. Its methods must be
// called from the test's goroutine (they fail the test on error).
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	n    int           // starts so far, to name log files
}

// Option adjusts a Server.
type Option func(*Server)

// WithArgs appends command-line arguments to redis-server's (for example
// "--maxclients", "100").
func WithArgs(args ...string) Option {
	return func(s *Server) { s.args = append(s.args, args...) }
}

// Start starts redis-server on a free port, waits until it answers and
// registers a cleanup that kills it.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redisserver: redis-server is not installed (CI=true): %v; install it with apt-get install redis-server", err)
		}
		t.Skipf("redisserver: redis-server is not installed, skipping (apt-get install redis-server)")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	t.Cleanup(s.Kill)
	// Another process may take the free port between our probe and the
	// server's bind; try a few ports before giving up.
	var lastErr error
	for range 3 {
		if s.port, err = freePort(); err != nil {
			t.Fatalf("redisserver: %v", err)
		}
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("redisserver: %v", lastErr)
	return nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns a redis:// URL for database 0 of the server.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Kill sends SIGKILL to the server and waits until it has exited. It does
// nothing when the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Pause stops the server with SIGSTOP: its connections stay open but
// nothing is read or answered, as with a hung or swapped-out broker, until
// Resume. It does nothing when the server is not running.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	if err := cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redisserver: %v to %s: %v", sig, s.Addr(), err)
	}
}

// Restart kills the server if it runs, then starts it again on the same
// port and waits until it answers. The port can stay busy for a moment
// after a kill, so a failed start is retried a few times.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		if err = s.start(); err == nil {
			return
		}
	}
	s.t.Fatalf("redisserver: restart on %s: %v", s.Addr(), err)
}

// start runs redis-server on s.port and waits until it answers.
func (s *Server) start() error {
	s.n++
	logfile := filepath.Join(s.dir, fmt.Sprintf("redis-%d-%d.log", s.port, s.n))
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", s.dir, "--logfile", logfile,
		"--daemonize", "no",
	}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()

	deadline := time.Now().Add(StartTimeout)
	for {
		pid, err := serverPID(s.Addr())
		if err == nil && pid == cmd.Process.Pid {
			break
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited at start (%v); log:\n%s", s.port, cmd.ProcessState, tail(logfile))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on port %d did not answer within %v; log:\n%s", s.port, StartTimeout, tail(logfile))
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

// serverPID asks the server at addr for its process id (INFO server). The
// caller compares it with the process it started, so that another server
// that took the port is never mistaken for ours.
func serverPID(addr string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("INFO server\r\n")); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	head = strings.TrimSpace(head)
	if !strings.HasPrefix(head, "$") {
		return 0, fmt.Errorf("unexpected INFO reply %q", head)
	}
	n, err := strconv.Atoi(head[1:])
	if err != nil || n < 0 {
		return 0, fmt.Errorf("unexpected INFO reply %q", head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(body), "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("INFO reply has no process_id")
}

// freePort asks the kernel for a free 127.0.0.1 port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
