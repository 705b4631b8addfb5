package testenv_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockgate/sockgate/internal/testenv"
)

// do sends one inline command and returns the first reply line.
func do(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestStartKillRestart(t *testing.T) {
	t.Parallel()
	s := testenv.StartRedis(t)
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") {
		t.Fatalf("URL = %q", s.URL())
	}
	if got, err := do(s.Addr(), "SET k v"); err != nil || got != "+OK" {
		t.Fatalf("SET: %q, %v", got, err)
	}

	s.Kill()
	if _, err := do(s.Addr(), "PING"); err == nil {
		t.Fatal("server still answers after Kill")
	}
	s.Kill() // idempotent

	addr := s.Addr()
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr())
	}
	if got, err := do(s.Addr(), "GET k"); err != nil || got != "$-1" {
		t.Fatalf("after restart GET k = %q, %v; want a fresh, empty server", got, err)
	}
	s.Restart() // restarting a running server works too
	if got, err := do(s.Addr(), "PING"); err != nil || got != "+PONG" {
		t.Fatalf("PING: %q, %v", got, err)
	}
}

func TestServersAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := testenv.StartRedis(t), testenv.StartRedis(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers share %s", a.Addr())
	}
	a.Kill()
	if got, err := do(b.Addr(), "PING"); err != nil || got != "+PONG" {
		t.Fatalf("killing one server affected the other: %q, %v", got, err)
	}
}
