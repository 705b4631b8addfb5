//go:build integration

package sioint

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
)

// deadline bounds every wait for something a peer should print.
const deadline = 20 * time.Second

// testSecret signs the tokens of every test (SOCKET_AUTH_SECRET's role).
var testSecret = []byte("sioint-secret-0123456789abcdefghijklmnop")

// nodeDir holds the npm packages and the JS scripts.
var nodeDir = filepath.Join("..", "peers", "node")

func nodeBin() string {
	if p := os.Getenv("SOCKGATE_NODE"); p != "" {
		return p
	}
	return "node"
}

func pythonBin() string {
	if p := os.Getenv("SOCKGATE_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

var nodeCheck = sync.OnceValues(func() (string, error) {
	cmd := exec.Command(nodeBin(), "-e", "require('socket.io-client'); require('socket.io'); console.log(process.version)")
	cmd.Dir = nodeDir
	out, err := cmd.CombinedOutput()
	return string(out), err
})

var pythonCheck = sync.OnceValues(func() (string, error) {
	out, err := exec.Command(pythonBin(), "-c", "import socketio, engineio, aiohttp; print(socketio.AsyncClient)").CombinedOutput()
	return string(out), err
})

// skipOrFail skips the test, or fails it under CI=true, where every peer
// must be installed.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// requireNode skips (fails with CI=true) when node or the npm packages are
// missing.
func requireNode(t *testing.T) {
	t.Helper()
	if out, err := nodeCheck(); err != nil {
		skipOrFail(t, fmt.Sprintf("node with socket.io and socket.io-client is not usable (%v: %s); install with: cd internal/peers/node && npm ci",
			err, strings.TrimSpace(out)))
	}
}

// requirePython skips (fails with CI=true) when python-socketio is missing.
func requirePython(t *testing.T) {
	t.Helper()
	if out, err := pythonCheck(); err != nil {
		skipOrFail(t, fmt.Sprintf("%s with python-socketio is not usable (%v: %s); install with: apt-get install python3-socketio python3-aiohttp",
			pythonBin(), err, strings.TrimSpace(out)))
	}
}

// mint returns a token for user, valid for an hour.
func mint(t *testing.T, user string) string {
	t.Helper()
	h, err := auth.NewHMAC(testSecret)
	require.NoError(t, err)
	tok, err := h.Mint(user, time.Hour)
	require.NoError(t, err)
	return tok
}

// uniqueUser returns a user ID no other test or repetition uses.
func uniqueUser(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// line is one JSON line a peer printed.
type line struct {
	Raw  string
	JSON map[string]any
}

func (l line) str(key string) string {
	s, _ := l.JSON[key].(string)
	return s
}

func (l line) has(key string) bool {
	_, ok := l.JSON[key]
	return ok
}

// lineLog collects the JSON lines of a process's stdout.
type lineLog struct {
	name    string
	mu      sync.Mutex
	lines   []line
	eof     bool
	changed chan struct{} // closed and replaced on every change
}

func newLineLog(name string, r io.Reader) *lineLog {
	l := &lineLog{name: name, changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			ln := line{Raw: sc.Text()}
			if json.Unmarshal([]byte(ln.Raw), &ln.JSON) != nil {
				ln.JSON = nil // not JSON: kept for the failure dump only
			}
			l.mu.Lock()
			l.lines = append(l.lines, ln)
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.eof = true
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}()
	return l
}

func (l *lineLog) snapshot() []line {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]line(nil), l.lines...)
}

// len returns the number of lines read so far.
func (l *lineLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// waitFor waits until a line at index >= from satisfies match and returns
// its index and the line. It fails the test after deadline or when the
// output ends.
func (l *lineLog) waitFor(t *testing.T, what string, from int, match func(line) bool) (int, line) {
	t.Helper()
	timeout := time.NewTimer(deadline)
	defer timeout.Stop()
	for {
		l.mu.Lock()
		for i := from; i < len(l.lines); i++ {
			if l.lines[i].JSON != nil && match(l.lines[i]) {
				ln := l.lines[i]
				l.mu.Unlock()
				return i, ln
			}
		}
		from = max(from, len(l.lines))
		eof, ch := l.eof, l.changed
		l.mu.Unlock()
		if eof {
			t.Fatalf("%s: output ended while waiting for %s;\n%s", l.name, what, l.dump())
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("%s: no %s within %v;\n%s", l.name, what, deadline, l.dump())
		}
	}
}

func (l *lineLog) dump() string {
	var b strings.Builder
	for i, ln := range l.snapshot() {
		fmt.Fprintf(&b, "  %3d %s\n", i, ln.Raw)
	}
	return b.String()
}

// proc is a peer process speaking JSON lines.
type proc struct {
	name   string
	out    *lineLog
	stdin  io.WriteCloser
	stderr *syncBuffer
	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex // serializes writes to stdin
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startProc runs argv in dir with extra environment variables. The process
// is stopped when the test ends; its output is logged when the test failed.
func startProc(t *testing.T, name, dir string, env []string, argv ...string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = procAttr()
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &proc{name: name, stdin: stdin, stderr: &syncBuffer{}, cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	p.out = newLineLog(name, stdout)
	require.NoError(t, cmd.Start(), "start %s", name)
	go func() {
		_ = cmd.Wait() // after stdout is drained (StdoutPipe's rule)
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s stdout:\n%s%s stderr:\n%s", name, p.out.dump(), name, p.stderr.String())
		}
	})
	return p
}

// send writes one JSON command line.
func (p *proc) send(t *testing.T, cmd map[string]any) {
	t.Helper()
	b, err := json.Marshal(cmd)
	require.NoError(t, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err = p.stdin.Write(append(b, '\n'))
	require.NoError(t, err, "%s: write command", p.name)
}

// stop closes stdin (the peer's signal to leave), then terminates and
// finally kills the process, waiting for it to exit. Idempotent.
func (p *proc) stop() {
	p.mu.Lock()
	_ = p.stdin.Close()
	p.mu.Unlock()
	select {
	case <-p.done:
		return
	case <-time.After(3 * time.Second):
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(3 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// asJSON returns v as generic JSON (numbers float64), for comparisons with
// what a peer printed.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// bytesArg is binary data in the peers' line protocol.
func bytesArg(b []byte) map[string]any {
	return map[string]any{"$bytes": b64(b)}
}
