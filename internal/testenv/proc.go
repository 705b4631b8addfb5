package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Deadline bounds every wait for something a peer should print.
const Deadline = 20 * time.Second

// PythonBin is the interpreter with Debian's python3-socketio (5.7.2):
// $SOCKGATE_PYTHON or /usr/bin/python3 (not the python3 first on PATH).
func PythonBin() string {
	if p := os.Getenv("SOCKGATE_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// NodeBin is $SOCKGATE_NODE or node.
func NodeBin() string {
	if p := os.Getenv("SOCKGATE_NODE"); p != "" {
		return p
	}
	return "node"
}

// RepoPath returns the absolute path of rel, relative to the repository
// root (where go.mod is).
func RepoPath(rel string) string {
	_, file, _, _ := runtime.Caller(0) // this file: internal/testenv/proc.go
	return filepath.Join(filepath.Dir(file), "..", "..", filepath.FromSlash(rel))
}

// NodeDir holds the pinned npm peers and the JS scripts.
func NodeDir() string { return RepoPath("test/peers/node") }

// PythonPeer returns the path of a python peer script in test/peers/python.
func PythonPeer(name string) string { return RepoPath("test/peers/python/" + name) }

// SkipOrFail skips the test, or fails it under CI=true, where every peer
// must be installed.
func SkipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

var checks sync.Map // command line -> *check

type check struct {
	once sync.Once
	out  string
	err  error
}

// Require runs argv once per process (cached) and skips or fails the test
// with hint when it does not succeed.
func Require(t testing.TB, hint string, dir string, argv ...string) {
	t.Helper()
	key := dir + "\x00" + strings.Join(argv, "\x00")
	v, _ := checks.LoadOrStore(key, &check{})
	c := v.(*check)
	c.once.Do(func() {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		c.out, c.err = string(out), err
	})
	if c.err != nil {
		SkipOrFail(t, fmt.Sprintf("%s is not usable (%v: %s); %s",
			argv[0], c.err, strings.TrimSpace(c.out), hint))
	}
}

// RequirePython skips (fails with CI=true) unless PythonBin imports every
// module.
func RequirePython(t testing.TB, modules ...string) {
	t.Helper()
	Require(t, "install with: apt-get install python3-socketio python3-aiohttp python3-redis python3-requests python3-websocket",
		"", PythonBin(), "-c", "import "+strings.Join(modules, ", "))
}

// RequireNode skips (fails with CI=true) unless node can load every npm
// package from NodeDir.
func RequireNode(t testing.TB, packages ...string) {
	t.Helper()
	js := ""
	for _, p := range packages {
		js += fmt.Sprintf("require(%q);", p)
	}
	Require(t, "install with: cd test/peers/node && npm ci", NodeDir(), NodeBin(), "-e", js)
}

// RandHex returns n random bytes in hex.
func RandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// UniqueName returns prefix, the test's name and random hex: a channel or
// room no other test, or -count repetition, uses.
func UniqueName(t testing.TB, prefix string) string {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return prefix + name + ":" + RandHex(6)
}

// Line is one line a peer printed, with when it was read.
type Line struct {
	At   time.Time
	Raw  string
	JSON map[string]any // nil when the line is not a JSON object
}

// Str returns a string field of the line ("" when absent).
func (l Line) Str(key string) string {
	s, _ := l.JSON[key].(string)
	return s
}

// Has reports whether the line has the field.
func (l Line) Has(key string) bool {
	_, ok := l.JSON[key]
	return ok
}

// LineLog collects the lines of a process's stdout.
type LineLog struct {
	name    string
	mu      sync.Mutex
	lines   []Line
	eof     bool
	changed chan struct{} // closed and replaced on every change
}

// NewLineLog reads r to its end in a goroutine. With useNumber, JSON
// numbers are json.Number (exact), else float64.
func NewLineLog(name string, r io.Reader, useNumber bool) *LineLog {
	l := &LineLog{name: name, changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			ln := Line{At: time.Now(), Raw: sc.Text()}
			dec := json.NewDecoder(strings.NewReader(ln.Raw))
			if useNumber {
				dec.UseNumber()
			}
			if dec.Decode(&ln.JSON) != nil {
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

// Snapshot returns the lines read so far.
func (l *LineLog) Snapshot() []Line {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Line(nil), l.lines...)
}

// Len returns the number of lines read so far.
func (l *LineLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// WaitFor waits up to Deadline for a JSON line at index >= from that
// satisfies match, and returns its index and the line. It fails the test
// after the deadline or when the output ends.
func (l *LineLog) WaitFor(t testing.TB, what string, from int, match func(Line) bool) (int, Line) {
	t.Helper()
	return l.WaitForWithin(t, Deadline, what, from, match)
}

// WaitForWithin is WaitFor with its own deadline d.
func (l *LineLog) WaitForWithin(t testing.TB, d time.Duration, what string, from int, match func(Line) bool) (int, Line) {
	t.Helper()
	timeout := time.NewTimer(d)
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
			t.Fatalf("%s: output ended while waiting for %s;\n%s", l.name, what, l.Dump())
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("%s: no %s within %v;\n%s", l.name, what, d, l.Dump())
		}
	}
}

// WaitForOrEOF is WaitFor from the first line, but it returns -1 and a
// nil line, instead of failing, when the output ends first.
func (l *LineLog) WaitForOrEOF(t testing.TB, what string, match func(Line) bool) (int, *Line) {
	t.Helper()
	timeout := time.NewTimer(Deadline)
	defer timeout.Stop()
	for from := 0; ; {
		l.mu.Lock()
		for i := from; i < len(l.lines); i++ {
			if l.lines[i].JSON != nil && match(l.lines[i]) {
				ln := l.lines[i]
				l.mu.Unlock()
				return i, &ln
			}
		}
		from = len(l.lines)
		eof, ch := l.eof, l.changed
		l.mu.Unlock()
		if eof {
			return -1, nil
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("%s: no %s within %v;\n%s", l.name, what, Deadline, l.Dump())
		}
	}
}

// Dump returns the lines, numbered, for a failure message (long lines cut).
func (l *LineLog) Dump() string {
	var b strings.Builder
	for i, ln := range l.Snapshot() {
		s := ln.Raw
		if len(s) > 2000 {
			s = s[:2000] + "...(truncated)"
		}
		fmt.Fprintf(&b, "  %3d %s\n", i, s)
	}
	return b.String()
}

// Cmd describes a peer process.
type Cmd struct {
	Name      string   // for messages
	Argv      []string // the program and its arguments
	Dir       string   // working directory; "" = the test's
	Env       []string // added to the environment
	UseNumber bool     // decode JSON numbers as json.Number
}

// Proc is a running peer process speaking JSON lines.
type Proc struct {
	Out    *LineLog
	Cmd    *exec.Cmd
	name   string
	stdin  io.WriteCloser
	stderr Buffer
	done   chan struct{}
	mu     sync.Mutex // serialises writes to stdin
}

// Start runs c. The process dies with the test process (Linux), is stopped
// when the test ends (stdin closed, then SIGTERM, then SIGKILL), and its
// stdout and stderr are logged when the test failed.
func Start(t testing.TB, c Cmd) *Proc {
	t.Helper()
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.SysProcAttr = procAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	p := &Proc{Cmd: cmd, name: c.Name, stdin: stdin, done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	p.Out = NewLineLog(c.Name, stdout, c.UseNumber)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", c.Name, err)
	}
	go func() {
		_ = cmd.Wait() // after stdout is drained (StdoutPipe's rule)
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s stdout:\n%s%s stderr:\n%s", c.Name, p.Out.Dump(), c.Name, p.Stderr())
		}
	})
	return p
}

// StartPython runs a python script with PythonBin, unbuffered.
func StartPython(t testing.TB, name, script string, args ...string) *Proc {
	t.Helper()
	return Start(t, Cmd{
		Name:      name,
		Argv:      append([]string{PythonBin(), "-u", script}, args...),
		Env:       []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"},
		UseNumber: true,
	})
}

// Name is the process's name in messages.
func (p *Proc) Name() string { return p.name }

// Done is closed once the process has exited and its output was read.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Stderr returns what the process wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Send writes v as one JSON line to the process's stdin.
func (p *Proc) Send(t testing.TB, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: marshal command: %v", p.name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("%s: write command: %v", p.name, err)
	}
}

// Stop closes stdin (the peer's signal to leave), then terminates and
// finally kills the process, waiting for it to exit. Idempotent.
func (p *Proc) Stop() {
	p.mu.Lock()
	_ = p.stdin.Close()
	p.mu.Unlock()
	select {
	case <-p.done:
		return
	case <-time.After(3 * time.Second):
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(3 * time.Second):
	}
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// Buffer is a bytes.Buffer safe for concurrent use, e.g. as the writer of
// a logger or a child process whose output a test reads. Its zero value is
// ready to use.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced by every Write; nil until waited on
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// WaitFor waits (at most Deadline) until what was written contains substr,
// and fails the test otherwise.
func (s *Buffer) WaitFor(t testing.TB, substr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	defer cancel()
	if err := s.Await(ctx, func(out string) bool { return strings.Contains(out, substr) }); err != nil {
		t.Fatalf("no %q within %v in:\n%s", substr, Deadline, s.String())
	}
}

// Await waits until match returns true for all that was written so far,
// checking again after every Write, and returns ctx's error if it ends
// first. match runs with the buffer locked: it must not call s.
func (s *Buffer) Await(ctx context.Context, match func(written string) bool) error {
	for {
		s.mu.Lock()
		ok := match(s.b.String())
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// String returns what was written.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Norm makes decoded JSON comparable with exact numbers: an integer literal
// becomes "int:<digits>" (any size, exact), any other number
// "float:<shortest float64 form>" (so 1e300 and 1e+300 compare equal, and
// 0.1 must be exactly the float64 0.1). Python prints ints without a
// fraction and floats with one or an exponent, so the two never mix.
func Norm(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, ok := new(big.Int).SetString(s, 10); ok {
				return "int:" + n.String()
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "badnumber:" + s
		}
		return "float:" + strconv.FormatFloat(f, 'g', -1, 64)
	case string:
		return "str:" + x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Norm(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Norm(e)
		}
		return out
	default:
		return v // bool, nil
	}
}
