package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
)

// listen starts "sockgate listen" against mr and waits until it is
// subscribed.
func listen(t *testing.T, mr *miniredis.Miniredis, args ...string) *background {
	t.Helper()
	bg := startCLI(t, append([]string{"listen", "--redis", "redis://" + mr.Addr()}, args...)...)
	bg.stderr.WaitFor(t, "sockgate: listening on channel")
	return bg
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestEmitListenRoundTrip(t *testing.T) {
	cleanEnv(t)
	mr := miniredis.RunT(t)
	t.Setenv("REDIS_URL", "redis://"+mr.Addr()) // emit takes it from the environment
	t.Setenv("SOCKET_REDIS_CHANNEL", "app-events")
	save := filepath.Join(t.TempDir(), "captured")
	bg := listen(t, mr, "--channel", "app-events", "--count", "3", "--raw", "--save", save)

	// Numbers beyond float64 and int64 keep their exact digits end to end.
	const big = `123456789012345678901234567890.000000000000000000001`
	r := runCLI(t, nil, "emit", "--user", "42", "--event", "progress",
		"--data", `{"job":"sheet-sync","pct":40,"big":`+big+`,"id":18446744073709551617}`)
	if r.code != exitOK {
		t.Fatalf("emit --user: code %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `published "progress" to user:42 on channel "app-events"`) {
		t.Errorf("emit stdout: %q", r.stdout)
	}
	r = runCLI(t, nil, "emit", "--room", "team:7", "--room", "team:8", "--namespace", "/chat",
		"--except", "sidA,sidB", "--event", "multi", "--args", `[1, "two", null, {"$bytes": "AAH/"}]`)
	if r.code != exitOK {
		t.Fatalf("emit --room: code %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, nil, "emit", "--broadcast", "--event", "ping", "--dialect", "legacy")
	if r.code != exitOK {
		t.Fatalf("emit --broadcast: code %d, stderr %q", r.code, r.stderr)
	}
	if code := bg.wait(t); code != exitOK {
		t.Fatalf("listen: code %d, stderr %q", code, bg.stderr)
	}
	got := lines(bg.stdout.String())
	if len(got) != 3 {
		t.Fatalf("listen printed %d lines, want 3:\n%s", len(got), bg.stdout)
	}

	// The number's digits appear verbatim in the meaning and in the payload.
	if !strings.Contains(got[0], `"big":`+big) || !strings.Contains(got[0], `"id":18446744073709551617`) {
		t.Errorf("exact numbers lost:\n%s", got[0])
	}
	first := unmarshal(t, []byte(got[0]))
	if raw, _ := first["raw"].(string); !strings.Contains(raw, big) {
		t.Errorf("raw payload %q lacks %s", raw, big)
	}
	delete(first, "host_id")
	delete(first, "raw")
	want := unmarshal(t, []byte(`{"method":"emit","event":"progress","args":[{"job":"sheet-sync","pct":40,"big":`+big+`,"id":18446744073709551617}],"namespace":"/","rooms":["user:42"],"except_sids":null}`))
	if !jsonEqual(first, want) {
		t.Errorf("first message:\n%s", got[0])
	}

	second := unmarshal(t, []byte(got[1]))
	delete(second, "host_id")
	delete(second, "raw")
	want = unmarshal(t, []byte(`{"method":"emit","event":"multi","args":[1,"two",null,{"$bytes":"AAH/"}],"namespace":"/chat","rooms":["team:7","team:8"],"except_sids":["sidA","sidB"]}`))
	if !jsonEqual(second, want) {
		t.Errorf("second message:\n%s", got[1])
	}

	third := unmarshal(t, []byte(got[2]))
	if third["event"] != "ping" || third["rooms"] != nil || len(third["args"].([]any)) != 0 {
		t.Errorf("third message:\n%s", got[2])
	}

	// --save wrote the payloads; decode reads them back to the same meaning.
	for i, line := range got {
		name := filepath.Join(save, "00000"+strconv.Itoa(i+1)+".bin")
		if _, err := os.Stat(name); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, nil, "decode", name)
		if r.code != exitOK {
			t.Fatalf("decode %s: code %d, stderr %q", name, r.code, r.stderr)
		}
		listened := unmarshal(t, []byte(line))
		delete(listened, "raw")
		if decoded := unmarshal(t, []byte(r.stdout)); !jsonEqual(decoded, listened) {
			t.Errorf("decode %s:\n%s\nlisten printed:\n%s", name, r.stdout, line)
		}
	}
	if !strings.Contains(bg.stderr.String(), "stopped after 3 messages, 0 undecodable") {
		t.Errorf("listen summary: %q", bg.stderr)
	}
}

// jsonEqual compares decoded JSON documents.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func TestListenReportsUndecodableAndContinues(t *testing.T) {
	cleanEnv(t)
	mr := miniredis.RunT(t)
	bg := listen(t, mr, "--count", "3")
	mr.Publish("socketio", "definitely not a message")
	mr.Publish("socketio", "cos\nsystem\n(S'echo pwned'\ntR.")
	valid, err := os.ReadFile("testdata/python-socketio-5.7.2/dict_to_user.bin")
	if err != nil {
		t.Fatal(err)
	}
	mr.Publish("socketio", string(valid))
	if code := bg.wait(t); code != exitOK {
		t.Fatalf("listen: code %d, stderr %q", code, bg.stderr)
	}
	errs := bg.stderr.String()
	for _, want := range []string{
		"sockgate: listen: message 1 (24 bytes) undecodable (1 so far): codec: malformed message",
		"sockgate: listen: message 2 (29 bytes) undecodable (2 so far): codec: unsafe pickle refused",
		"stopped after 3 messages, 2 undecodable",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	out := lines(bg.stdout.String())
	if len(out) != 1 || !strings.Contains(out[0], `"event":"progress"`) {
		t.Errorf("stdout:\n%s", bg.stdout)
	}
}

func TestListenStopsOnInterrupt(t *testing.T) {
	cleanEnv(t)
	mr := miniredis.RunT(t)
	bg := listen(t, mr)
	bg.cancel() // what Ctrl-C and SIGTERM do through main's signal context
	if code := bg.wait(t); code != exitOK {
		t.Fatalf("listen: code %d, stderr %q", code, bg.stderr)
	}
	if !strings.Contains(bg.stderr.String(), "sockgate: listen: stopped after 0 messages, 0 undecodable") {
		t.Errorf("stderr: %q", bg.stderr)
	}
}

func TestEmitFailsWithoutRedis(t *testing.T) {
	cleanEnv(t)
	mr := miniredis.RunT(t)
	addr := mr.Addr()
	mr.Close() // nothing listens there any more
	r := runCLI(t, nil, "emit", "--redis", "redis://"+addr, "--user", "42", "--event", "e", "--timeout", "1s")
	if r.code != exitRuntime {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	// go-redis's own "failed to dial" line comes first, through the same
	// logger (transport/redislog).
	if !strings.Contains(r.stderr, "sockgate: emit: redis redis://"+addr+" unreachable: ") ||
		!strings.Contains(r.stderr, "component=go-redis") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestEmitRefusesWhatTheDialectCannotExpress(t *testing.T) {
	cleanEnv(t)
	mr := miniredis.RunT(t)
	r := runCLI(t, nil, "emit", "--redis", "redis://"+mr.Addr(), "--dialect", "5.7.2", "--user", "42", "--event", "e", "--args", `[1, 2]`)
	if r.code != exitRuntime || !strings.Contains(r.stderr, "codec: not supported by dialect") {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
}

func TestBenchEmit(t *testing.T) {
	cleanEnv(t)
	mr := miniredis.RunT(t)
	r := runCLI(t, nil, "bench", "emit", "--redis", "redis://"+mr.Addr(), "--producers", "3", "--duration", "200ms", "--payload-size", "16")
	if r.code != exitOK {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	m := regexp.MustCompile(`^emit: (\d+) msgs in \S+ = \d+ msgs/s \(published (\d+), dropped (\d+)\)\n$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("stdout %q", r.stdout)
	}
	if m[1] == "0" || m[1] != m[2] || m[3] != "0" {
		t.Errorf("emitted %s, published %s, dropped %s", m[1], m[2], m[3])
	}
}
