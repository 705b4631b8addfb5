//go:build integration

package jetstream_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/internal/peertest"
	"github.com/sockgate/sockgate/transport"
	"github.com/sockgate/sockgate/transport/transporttest"
)

// natsServer is the test's own nats-server process with JetStream on a
// free port and a store that survives its restarts.
type natsServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		peertest.SkipOrFail(t, "nats-server is not installed (apt-get install nats-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	s := &natsServer{t: t, port: port, dir: t.TempDir()}
	s.start(bin)
	t.Cleanup(s.kill)
	return s
}

func (s *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

func (s *natsServer) start(bin string) {
	s.t.Helper()
	s.cmd = exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", s.dir)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(s.t, s.cmd.Start())
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server did not listen on %d: %v", s.port, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a port: no event to wait on
	}
}

func (s *natsServer) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

func (s *natsServer) restart() {
	s.kill()
	s.start(s.cmd.Path)
}

// TestRealConformance runs the suite on the test's own nats-server,
// restarted (its JetStream store kept) in NothingLostAcrossRestart, and on
// the shared one at SOCKGATE_TEST_NATS_URL when set.
func TestRealConformance(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
		ps := newPubSub(t, ns.url(), "TT", nodeName(t))
		return ps, ps
	}, transporttest.Features{Persistent: true, Restart: func(*testing.T) { ns.restart() }})

	if url := os.Getenv("SOCKGATE_TEST_NATS_URL"); url != "" {
		t.Run("shared", func(t *testing.T) {
			transporttest.Run(t, func(t *testing.T) (transport.Publisher, transport.Subscriber) {
				ps := newPubSub(t, url, "SOCKGATETEST", nodeName(t))
				return ps, ps
			}, transporttest.Features{Persistent: true})
		})
	}
}
