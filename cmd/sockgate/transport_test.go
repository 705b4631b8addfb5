package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// emitOver runs "sockgate listen --count 1" and "sockgate emit" on the
// broker env names (SOCKET_TRANSPORT and its URL, set by the caller with
// t.Setenv) and checks that the listener printed the event: the CLI runs
// on the transport by the environment alone.
func emitOver(t *testing.T, transport string) {
	t.Helper()
	channel := fmt.Sprintf("cli-%s-%d", transport, time.Now().UnixNano())
	bg := startCLI(t, "listen", "--channel", channel, "--count", "1")
	bg.stderr.WaitFor(t, "sockgate: listening on channel")
	if !strings.Contains(bg.stderr.String(), "at "+transport+" ") {
		t.Errorf("listen does not name the transport %s: %q", transport, bg.stderr)
	}
	r := runCLI(t, nil, "emit", "--channel", channel, "--user", "42", "--event", "progress", "--data", `{"via":"`+transport+`"}`)
	if r.code != exitOK {
		t.Fatalf("emit: code %d, stderr %q", r.code, r.stderr)
	}
	if want := fmt.Sprintf(`published "progress" to user:42 on channel %q (dialect current, %s `, channel, transport); !strings.Contains(r.stdout, want) {
		t.Errorf("emit stdout %q lacks %q", r.stdout, want)
	}
	if code := bg.wait(t); code != exitOK {
		t.Fatalf("listen: code %d, stderr %q", code, bg.stderr)
	}
	got := bg.stdout.String()
	if !strings.Contains(got, `"event":"progress"`) || !strings.Contains(got, `"via":"`+transport+`"`) || !strings.Contains(got, `"rooms":["user:42"]`) {
		t.Errorf("listen printed %q", got)
	}
}

// TestEmitOverMemory: both commands in this process meet on the
// in-process broker.
func TestEmitOverMemory(t *testing.T) {
	cleanEnv(t)
	t.Setenv("SOCKET_TRANSPORT", "memory")
	emitOver(t, "memory")
}

// TestEmitOverRedisTransports runs emit and listen over Redis pub/sub and
// Redis Streams (miniredis), chosen by SOCKET_TRANSPORT.
func TestEmitOverRedisTransports(t *testing.T) {
	for _, tr := range []string{"redis", "redis-streams"} {
		t.Run(tr, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv("SOCKET_TRANSPORT", tr)
			t.Setenv("REDIS_URL", "redis://"+miniredis.RunT(t).Addr())
			emitOver(t, tr)
		})
	}
}

// TestBadTransport: an unknown transport, in the environment or in the
// flag, is a usage error (exit 2) that names it and lists the accepted
// ones; nothing panics.
func TestBadTransport(t *testing.T) {
	cleanEnv(t)
	const want = "unknown transport (want redis, redis-streams, nats, jetstream, memory)"
	for _, cmd := range [][]string{
		{"emit", "--user", "1", "--event", "e"},
		{"listen"},
		{"bench", "emit"},
	} {
		t.Setenv("SOCKET_TRANSPORT", "bogus")
		r := runCLI(t, nil, cmd...)
		if r.code != exitUsage || !strings.Contains(r.stderr, `environment: config: SOCKET_TRANSPORT="bogus": `+want) {
			t.Errorf("%v with SOCKET_TRANSPORT=bogus: code %d, stderr %q", cmd, r.code, r.stderr)
		}
		t.Setenv("SOCKET_TRANSPORT", "")
		r = runCLI(t, nil, append(cmd, "--transport", "kafka")...)
		if r.code != exitUsage || !strings.Contains(r.stderr, `--transport: unknown transport "kafka" (want redis, redis-streams, nats, jetstream, memory)`) {
			t.Errorf("%v --transport kafka: code %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
}

// TestUnreachableNATS: a NATS server that does not answer is reported
// with the transport and the address, exit 1.
func TestUnreachableNATS(t *testing.T) {
	cleanEnv(t)
	mr := miniredis.RunT(t) // a port that speaks something else than NATS
	addr := mr.Addr()
	mr.Close()
	r := runCLI(t, nil, "emit", "--transport", "nats", "--nats", "nats://"+addr, "--user", "1", "--event", "e", "--timeout", "500ms")
	if r.code != exitRuntime || !strings.Contains(r.stderr, "sockgate: emit: nats nats://"+addr+" unreachable") {
		t.Errorf("code %d, stderr %q", r.code, r.stderr)
	}
}
