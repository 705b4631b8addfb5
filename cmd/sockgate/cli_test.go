package main

import (
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	cleanEnv(t)
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no command", nil, "Usage:"},
		{"unknown command", []string{"frobnicate"}, `sockgate: unknown command "frobnicate"`},
		{"unknown flag", []string{"emit", "--bogus"}, "sockgate: emit: flag provided but not defined: -bogus"},
		{"no target", []string{"emit", "--redis", "redis://x", "--event", "e"}, "sockgate: emit: give exactly one of --room, --user or --broadcast"},
		{"two targets", []string{"emit", "--user", "1", "--broadcast", "--event", "e"}, "give exactly one of"},
		{"no event", []string{"emit", "--user", "1"}, "sockgate: emit: --event is required"},
		{"data and args", []string{"emit", "--user", "1", "--event", "e", "--data", "1", "--args", "[1]"}, "not both"},
		{"bad data", []string{"emit", "--user", "1", "--event", "e", "--data", "{"}, "sockgate: emit: --data: invalid JSON"},
		{"two values", []string{"emit", "--user", "1", "--event", "e", "--data", "1 2"}, "more than one value"},
		{"args not array", []string{"emit", "--user", "1", "--event", "e", "--args", `{"a":1}`}, "--args: want a JSON array"},
		{"bad bytes", []string{"emit", "--user", "1", "--event", "e", "--data", `{"$bytes":"!!"}`}, `"$bytes"`},
		{"bad dialect", []string{"emit", "--user", "1", "--event", "e", "--dialect", "4.0"}, "sockgate: emit: --dialect: codec: not supported by dialect"},
		{"no redis", []string{"emit", "--user", "1", "--event", "e"}, "sockgate: emit: no Redis: pass --redis URL or set REDIS_URL"},
		{"bad redis url", []string{"emit", "--user", "1", "--event", "e", "--redis", "http://x"}, "sockgate: emit: --redis: redisurl: invalid URL"},
		{"positional", []string{"emit", "extra"}, `sockgate: emit: unexpected argument "extra"`},
		{"bench alone", []string{"bench"}, "sockgate: bench: missing sub-command (emit)"},
		{"bench unknown", []string{"bench", "listen"}, `sockgate: bench: unknown sub-command "listen"`},
		{"bench no redis", []string{"bench", "emit"}, "sockgate: bench emit: no Redis: pass --redis URL or set REDIS_URL"},
		{"bench producers", []string{"bench", "emit", "--producers", "0"}, "--producers must be at least 1"},
		{"listen no redis", []string{"listen"}, "sockgate: listen: no Redis"},
		{"decode two files", []string{"decode", "a", "b"}, `unexpected argument "b"`},
		{"help unknown", []string{"help", "nope"}, `sockgate: help: unknown command "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit code %d, want %d", r.code, exitUsage)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
		})
	}
}

func TestBadEnvironmentIsUsageError(t *testing.T) {
	cleanEnv(t)
	t.Setenv("SOCKET_DIALECT", "3.0")
	r := runCLI(t, nil, "emit", "--user", "1", "--event", "e")
	if r.code != exitUsage || !strings.HasPrefix(r.stderr, "sockgate: emit: environment: ") {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	// decode does not read the environment.
	if r := runCLI(t, strings.NewReader("x"), "decode"); r.code != exitRuntime {
		t.Fatalf("decode with a bad environment: code %d, stderr %q", r.code, r.stderr)
	}
}

func TestHelp(t *testing.T) {
	cleanEnv(t)
	r := runCLI(t, nil, "help")
	if r.code != exitOK {
		t.Fatalf("help: code %d, stderr %q", r.code, r.stderr)
	}
	for _, name := range []string{"emit", "listen", "decode", "bench emit", "version", "help", "REDIS_URL", "SOCKET_REDIS_CHANNEL", "SOCKET_DIALECT"} {
		if !strings.Contains(r.stdout, name) {
			t.Errorf("help does not mention %q:\n%s", name, r.stdout)
		}
	}
	for _, args := range [][]string{{"help", "emit"}, {"emit", "-h"}, {"emit", "--help"}} {
		r := runCLI(t, nil, args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "Usage: sockgate emit [flags]") || !strings.Contains(r.stdout, "-broadcast") {
			t.Errorf("%v: code %d, stdout:\n%s", args, r.code, r.stdout)
		}
	}
	r = runCLI(t, nil, "help", "bench", "emit")
	if r.code != exitOK || !strings.Contains(r.stdout, "-producers") || !strings.Contains(r.stdout, "-payload-size") {
		t.Errorf("help bench emit: code %d, stdout:\n%s", r.code, r.stdout)
	}
	t.Setenv("REDIS_URL", "redis://cache.internal:6380/2")
	r = runCLI(t, nil, "help", "listen")
	if !strings.Contains(r.stdout, "redis://cache.internal:6380/2") {
		t.Errorf("help listen does not show the REDIS_URL default:\n%s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, nil, "version")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "sockgate ") || !strings.Contains(r.stdout, "go1.") {
		t.Fatalf("version: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
