package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sockgate/sockgate/internal/testenv"
)

// serverProc is one server under test: its process and control API.
type serverProc struct {
	name string
	cmd  *exec.Cmd
	addr string
	pid  int
	http *http.Client

	mu     sync.Mutex
	stderr bytes.Buffer // the last output, for error messages
	exited chan struct{}
}

// startServer runs argv (under taskset -c cpu when cpu >= 0) and waits for
// its "LISTEN host:port" line.
func startServer(ctx context.Context, name string, dir string, cpu int, argv ...string) (*serverProc, error) {
	if cpu >= 0 {
		argv = append([]string{"taskset", "-c", strconv.Itoa(cpu)}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	// Its own process group, so that stop reaches any children; killed
	// with us. WaitDelay: Wait returns even if a child keeps the pipes open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	s := &serverProc{name: name, cmd: cmd, exited: make(chan struct{}),
		http: &http.Client{Timeout: 10 * time.Minute}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = (*lockedWriter)(s)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fanoutbench: start %s: %w", name, err)
	}
	s.pid = cmd.Process.Pid // taskset execs the server: same pid
	go func() { _ = cmd.Wait(); close(s.exited) }()

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				lines <- a
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-lines:
		s.addr = a
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("fanoutbench: %s exited before listening: %s", name, s.lastOutput())
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("fanoutbench: %s did not listen within 30 s: %s", name, s.lastOutput())
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

type lockedWriter serverProc

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stderr.Write(p)
	if w.stderr.Len() > 64<<10 {
		b := w.stderr.Bytes()[w.stderr.Len()-16<<10:]
		w.stderr = *bytes.NewBuffer(append([]byte(nil), b...))
	}
	return len(p), nil
}

func (s *serverProc) lastOutput() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.stderr.Bytes()
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// stop sends SIGTERM to the process group and kills it after 3 s.
func (s *serverProc) stop() {
	if s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
}

// emitResult is the control API's answer to POST /emit.
type emitReply struct {
	Emitted int   `json:"emitted"`
	Ns      int64 `json:"ns"`
	Errors  int   `json:"errors"`
}

// emit asks the server to emit n events of about size bytes to the room,
// at rate per second (0: as fast as it can), and returns when it has.
func (s *serverProc) emit(ctx context.Context, n, size, rate int) (emitReply, error) {
	q := url.Values{"n": {strconv.Itoa(n)}, "size": {strconv.Itoa(size)}}
	if rate > 0 {
		q.Set("rate", strconv.Itoa(rate))
	}
	var r emitReply
	err := s.call(ctx, http.MethodPost, "/emit?"+q.Encode(), &r)
	return r, err
}

// roomSize returns the members of room "bench".
func (s *serverProc) roomSize(ctx context.Context) (int, error) {
	var st struct {
		Room int `json:"room"`
	}
	err := s.call(ctx, http.MethodGet, "/stats", &st)
	return st.Room, err
}

// rawStats returns the server's /stats answer as it is.
func (s *serverProc) rawStats(ctx context.Context) json.RawMessage {
	var m json.RawMessage
	if err := s.call(ctx, http.MethodGet, "/stats", &m); err != nil {
		return nil
	}
	return m
}

func (s *serverProc) call(ctx context.Context, method, path string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+s.addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("fanoutbench: %s %s %s: %w", s.name, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fanoutbench: %s %s %s: %s: %s", s.name, method, path, resp.Status, b)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("fanoutbench: %s %s %s: %w", s.name, method, path, err)
	}
	return nil
}

// procStatus returns a field of /proc/PID/status in bytes (VmRSS, VmHWM).
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("fanoutbench: no %s in /proc/%d/status", field, pid)
}

// procCPU returns the user+system CPU time of a process.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command: state is field 3; utime and
	// stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("fanoutbench: malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("fanoutbench: short /proc/PID/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// repoRoot is the sockgate repository: the go build of the Go server runs
// in its bench/ module, and the Node peers live under it.
func repoRoot() string { return testenv.RepoPath(".") }
