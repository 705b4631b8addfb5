//go:build integration

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/socketio"
)

// nodeDir holds the npm peers (playwright-core) and demo_browser.js.
const nodeDir = "../../test/peers/node"

// chromiumBin is Debian's chromium, or SOCKGATE_CHROMIUM.
func chromiumBin() string {
	if p := os.Getenv("SOCKGATE_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// requireBrowser skips the test (fails it with CI=true) when chromium,
// node or playwright-core is missing.
func requireBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath(chromiumBin()); err != nil {
		missing = append(missing, fmt.Sprintf("%s (apt-get install chromium)", chromiumBin()))
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node (apt-get install nodejs)")
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core (cd test/peers/node && npm ci)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "the browser test needs " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// browserReport is the JSON line demo_browser.js prints.
type browserReport struct {
	OK         bool           `json:"ok"`
	Error      string         `json:"error"`
	State      string         `json:"state"`
	AuthError  string         `json:"authError"`
	Refreshes  int            `json:"refreshes"`
	TokenExp   int64          `json:"tokenExpires"`
	Expired    string         `json:"expired"`
	Bars       map[string]int `json:"bars"`
	Senders    map[string]int `json:"senders"`
	SenderText []string       `json:"senderText"`
	PctText    []string       `json:"pctText"`
	ElapsedMs  int            `json:"elapsedMs"`
	Console    []string       `json:"console"`
	Screenshot string         `json:"screenshot"`
}

// openPage runs demo_browser.js on url with extra arguments.
func openPage(t *testing.T, url string, args ...string) browserReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"demo_browser.js", url,
		"--timeout", "90000", "--chromium", chromiumBin()}, args...)...)
	cmd.Dir = nodeDir
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r browserReport
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &r); jerr != nil {
		t.Fatalf("demo_browser.js: %v (%v)\nstdout:\n%s\nstderr:\n%s", err, jerr, out, stderr.String())
	}
	if err != nil || !r.OK {
		t.Fatalf("demo_browser.js: %v: %+v\nstderr:\n%s", err, r, stderr.String())
	}
	return r
}

// TestBrowserSeesProgress opens the demo page in headless chromium: first
// with a forged token (the page shows the server's refusal), then with the
// printed URL, until a progress bar reaches 100%. The progress must come
// from a worker process: the page shows the pid of each job's sender, which
// must be a job process the demo started, not the server's.
func TestBrowserSeesProgress(t *testing.T) {
	requireBrowser(t)
	d := startDemo(t, "-once", "--steps", "5", "--interval", "100ms", "--timeout", "2m")
	t.Logf("page: %s", d.url)

	// A token with a broken signature: refused, no round starts.
	forged := d.url[:len(d.url)-4] + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, d.url[len(d.url)-4:])
	r := openPage(t, forged, "--expect", "refused")
	if r.State != "refused" || !strings.Contains(r.AuthError, "auth") {
		t.Errorf("forged token: state %q, auth error %q; want refused with the server's auth error", r.State, r.AuthError)
	}
	t.Logf("forged token refused in %d ms: %q", r.ElapsedMs, r.AuthError)

	shot := filepath.Join(t.TempDir(), "demo.png")
	r = openPage(t, d.url, "--screenshot", shot)
	if r.Bars["sheet-sync"] != 100 && r.Bars["csv-import"] != 100 && r.Bars["thumbnails"] != 100 {
		t.Errorf("no bar at 100%%: %v", r.Bars)
	}
	if r.State != "connected" || r.AuthError != "" {
		t.Errorf("state %q, auth error %q; want connected", r.State, r.AuthError)
	}
	found := false
	for _, s := range r.PctText {
		found = found || s == "100%"
	}
	if !found {
		t.Errorf("no percentage text reads 100%%: %q", r.PctText)
	}
	for _, line := range r.Console {
		if strings.HasPrefix(line, "error") || strings.HasPrefix(line, "pageerror") {
			t.Errorf("browser console: %s", line)
		}
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Errorf("no screenshot: %v", err)
	}
	t.Logf("chromium saw %v after %d ms (console %q)", r.Bars, r.ElapsedMs, r.Console)
	t.Logf("senders %v: %q", r.Senders, r.SenderText)

	// Who sent the progress the page shows: a job process of this round.
	fromWorker := 0
	for job, pct := range r.Bars {
		pid := r.Senders[job]
		if pct == 0 {
			continue // no event seen yet for this job
		}
		if pid <= 0 || pid == os.Getpid() {
			t.Errorf("job %s at %d%% was sent by pid %d; want a worker process (the server is pid %d)", job, pct, pid, os.Getpid())
			continue
		}
		if want := fmt.Sprintf("job: %s (round 1) runs in worker pid %d", job, pid); !strings.Contains(d.stdout.String(), want) {
			t.Errorf("job %s: sender pid %d is not a job process the demo started (no %q)", job, pid, want)
			continue
		}
		fromWorker++
	}
	if fromWorker == 0 {
		t.Errorf("the page shows no progress from a worker process: senders %v", r.Senders)
	}
	shown := false
	for _, s := range r.SenderText {
		shown = shown || strings.HasPrefix(s, "sent by worker pid ")
	}
	if !shown {
		t.Errorf("the page does not show the sending worker: %q", r.SenderText)
	}

	// The browser closed: the -once demo ends by itself.
	if code := d.wait(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{
		"; the cluster manager applied ",
		"demo: -once: a round of jobs ran and the browser has gone",
	} {
		if !strings.Contains(d.stdout.String(), want) {
			t.Errorf("the demo output lacks %q", want)
		}
	}
}

// TestBrowserRenewsToken opens the page with a sign-in token valid for 8 s
// (-token-ttl) on a server that disconnects expired sockets: the page
// renews its token ("renew-token", then "sockgate:refresh") and is still
// connected a second after the first token's expiry plus auth.Leeway,
// when the server would have signed it out.
func TestBrowserRenewsToken(t *testing.T) {
	requireBrowser(t)
	d := startDemo(t, "-once", "-token-ttl", "8s", "--steps", "3", "--interval", "100ms", "--timeout", "2m")
	exp := tokenExpiry(t, d.url[strings.Index(d.url, "#token=")+len("#token="):])
	until := exp.Add(auth.Leeway + time.Second)
	r := openPage(t, d.url, "--expect", "refreshed", "--until", strconv.FormatInt(until.UnixMilli(), 10))
	if r.Refreshes < 1 || r.State != "connected" || r.Expired != "" || r.TokenExp <= exp.Unix() {
		t.Errorf("page after %s: %d renewals, state %q, expired %q, token expiry %d; want renewed past %d and connected",
			until.Format(time.TimeOnly), r.Refreshes, r.State, r.Expired, r.TokenExp, exp.Unix())
	}
	t.Logf("the page renewed its token %d times; now valid until %s (the first: %s)", r.Refreshes,
		time.Unix(r.TokenExp, 0).Format(time.TimeOnly), exp.Format(time.TimeOnly))
	for _, line := range r.Console {
		if strings.HasPrefix(line, "error") || strings.HasPrefix(line, "pageerror") || strings.Contains(line, "token renewal") {
			t.Errorf("browser console: %s", line)
		}
	}
	if code := d.wait(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	out := d.stdout.String()
	if !strings.Contains(out, "web: renewed the token of socket ") {
		t.Errorf("the demo output does not show a renewal")
	}
	if strings.Contains(out, "("+socketio.ReasonTokenExpired+")") {
		t.Errorf("a page was signed out for an expired token")
	}
}

// tokenExpiry reads the "exp" claim of token without verifying it.
func tokenExpiry(t *testing.T, token string) time.Time {
	t.Helper()
	parts := strings.Split(token, ".")
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts", token, len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err == nil {
		err = json.Unmarshal(b, &claims)
	}
	if err != nil || claims.Exp == 0 {
		t.Fatalf("token claims %q: %v", b, err)
	}
	return time.Unix(claims.Exp, 0)
}
