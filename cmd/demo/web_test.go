package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/config"
)

// pollClient is a minimal Engine.IO v4 long-polling client with Socket.IO
// v5 framing: enough to sign in to the demo and read its events without a
// browser (the integration test drives the real page in chromium).
type pollClient struct {
	t       *testing.T
	base    string // http://host:port/socket.io/?EIO=4&transport=polling&sid=...
	http    *http.Client
	pending []string // received packets not yet returned
}

// dialPolling does the Engine.IO handshake at the page's origin.
func dialPolling(t *testing.T, origin string) *pollClient {
	t.Helper()
	c := &pollClient{t: t, http: &http.Client{Timeout: 40 * time.Second}}
	body := c.do(http.MethodGet, origin+"/socket.io/?EIO=4&transport=polling", "")
	if !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake answered %q, want an open packet", body)
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(body[1:]), &open); err != nil || open.SID == "" {
		t.Fatalf("open packet %q: %v", body, err)
	}
	c.base = origin + "/socket.io/?EIO=4&transport=polling&sid=" + url.QueryEscape(open.SID)
	return c
}

func (c *pollClient) do(method, u, body string) string {
	c.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("%s %s: %s %q %v", method, u, resp.Status, b, err)
	}
	return string(b)
}

// send posts one Engine.IO packet.
func (c *pollClient) send(packet string) {
	c.t.Helper()
	if got := c.do(http.MethodPost, c.base, packet); got != "ok" {
		c.t.Fatalf("POST %q answered %q", packet, got)
	}
}

// next returns the next Engine.IO packet, answering pings on the way.
func (c *pollClient) next(ctx context.Context) string {
	c.t.Helper()
	for {
		for len(c.pending) > 0 {
			p := c.pending[0]
			c.pending = c.pending[1:]
			if p == "2" {
				c.send("3")
				continue
			}
			return p
		}
		if ctx.Err() != nil {
			c.t.Fatalf("no packet before the deadline: %v", ctx.Err())
		}
		c.pending = strings.Split(c.do(http.MethodGet, c.base, ""), "\x1e")
	}
}

// event decodes a Socket.IO EVENT packet ("42[name, arg]") of the main
// namespace.
func event(t *testing.T, packet string) (string, json.RawMessage) {
	t.Helper()
	if !strings.HasPrefix(packet, "42[") {
		t.Fatalf("got %q, want an event", packet)
	}
	var args []json.RawMessage
	if err := json.Unmarshal([]byte(packet[2:]), &args); err != nil || len(args) != 2 {
		t.Fatalf("event %q: %v", packet, err)
	}
	var name string
	if err := json.Unmarshal(args[0], &name); err != nil {
		t.Fatalf("event %q: %v", packet, err)
	}
	return name, args[1]
}

func origin(t *testing.T, pageURL string) string {
	u, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme + "://" + u.Host
}

func TestWebPageIsServed(t *testing.T) {
	d := startDemo(t, "-once", "--steps", "2", "--interval", "10ms")
	base := origin(t, d.url)
	for path, want := range map[string]string{
		"/":          `<script type="module" src="app.js"></script>`,
		"/app.js":    `new MiniSocket(location.origin`,
		"/sio.js":    `EIO=4&transport=websocket`,
		"/style.css": `progress`,
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %s, body lacks %q", path, resp.Status, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
	if !strings.Contains(d.url, "/#token=ey") {
		t.Errorf("URL %q does not carry a token in its fragment", d.url)
	}
}

func TestWebRefusesBadToken(t *testing.T) {
	d := startDemo(t, "-once", "--steps", "2", "--interval", "10ms")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	other, err := auth.NewHMAC([]byte("not-the-demo-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Mint("42", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, payload := range map[string]string{
		"forged":  fmt.Sprintf(`{"token":%q}`, forged),
		"garbage": `{"token":"not a token"}`,
		"missing": `{}`,
	} {
		c := dialPolling(t, origin(t, d.url))
		c.send("40" + payload)
		got := c.next(ctx)
		var refusal struct {
			Message string `json:"message"`
		}
		if !strings.HasPrefix(got, "44{") || json.Unmarshal([]byte(got[2:]), &refusal) != nil || refusal.Message == "" {
			t.Errorf("%s token: got %q, want CONNECT_ERROR with a message", name, got)
		}
	}
}

func TestWebJobsReachUser(t *testing.T) { jobsReachUser(t, true) }

// TestWebJobsReachUserInProcess: with SOCKET_TRANSPORT=memory the job
// roles run in the demo's process and reach the page through the
// in-memory broker.
func TestWebJobsReachUserInProcess(t *testing.T) {
	t.Setenv("SOCKET_TRANSPORT", "memory")
	jobsReachUser(t, false)
}

// jobsReachUser signs a page in and checks that a round of jobs reaches
// it; separate says whether each job runs in a process of its own (not
// the server's).
func jobsReachUser(t *testing.T, separate bool) {
	d := startDemo(t, "-once", "--steps", "4", "--interval", "10ms")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	token := d.url[strings.Index(d.url, "#token=")+len("#token="):]
	c := dialPolling(t, origin(t, d.url))
	c.send(fmt.Sprintf(`40{"token":%q}`, token))
	if got := c.next(ctx); !strings.HasPrefix(got, `40{"sid":"`) {
		t.Fatalf("CONNECT answered %q", got)
	}
	name, arg := event(t, c.next(ctx))
	var welcome webWelcome
	if err := json.Unmarshal(arg, &welcome); name != "welcome" || err != nil ||
		welcome.User != "42" || welcome.Room != "user:42" ||
		strings.Join(welcome.Jobs, " ") != "sheet-sync csv-import thumbnails" {
		t.Errorf("first event %s %s, want welcome to user 42 in room user:42 with the 3 jobs", name, arg)
	}
	// Every job reports 0..100% in order, then done, each from its own
	// worker process (not this one, which runs the server).
	last := map[string]int{}
	done := map[string]bool{}
	senders := map[string]int{}
	checkSender := func(job string, pid int, sender string, arg json.RawMessage) {
		if pid <= 0 || (pid == os.Getpid()) == separate || sender != senderWorker {
			t.Errorf("%s: sent by %s pid %d, want a worker, in a process other than the server's (pid %d): %v", arg, sender, pid, os.Getpid(), separate)
		}
		if prev, ok := senders[job]; ok && prev != pid {
			t.Errorf("%s: job %s switched from pid %d to %d", arg, job, prev, pid)
		}
		senders[job] = pid
	}
	for len(done) < 3 {
		name, arg := event(t, c.next(ctx))
		switch name {
		case "progress":
			var p webProgress
			if err := json.Unmarshal(arg, &p); err != nil {
				t.Fatal(err)
			}
			if partOne(p.Round, p.Pid) {
				continue
			}
			if prev, seen := last[p.Job]; (seen && p.Pct <= prev) || p.Round != 1 || p.Pct > 100 {
				t.Errorf("progress %s after %d%%", arg, prev)
			}
			checkSender(p.Job, p.Pid, p.Sender, arg)
			last[p.Job] = p.Pct
		case "done":
			var dn webDone
			if err := json.Unmarshal(arg, &dn); err != nil {
				t.Fatal(err)
			}
			if partOne(dn.Round, dn.Pid) {
				continue
			}
			if !dn.OK || last[dn.Job] != 100 {
				t.Errorf("done %s after %d%%", arg, last[dn.Job])
			}
			checkSender(dn.Job, dn.Pid, dn.Sender, arg)
			done[dn.Job] = true
		default:
			t.Fatalf("unexpected event %s %s", name, arg)
		}
	}
	if last["sheet-sync"] != 100 || last["csv-import"] != 100 || last["thumbnails"] != 100 {
		t.Errorf("jobs ended at %v", last)
	}
	if a, b, c := senders["sheet-sync"], senders["csv-import"], senders["thumbnails"]; separate && (a == b || b == c || a == c) {
		t.Errorf("jobs share a process: %v", senders)
	}
	c.send("1") // close: the -once demo exits once its browser has gone
	if code := d.wait(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	out := d.stdout.String()
	for _, want := range []string{
		"web: browser connected: socket ",
		"signed in as user 42",
		`web: round 1: sheet-sync, csv-import, thumbnails start in worker processes, reporting to room "user:42" through channel "socketio"`,
		// 4 steps: 5 progress events and done for sheet-sync, 8 steps
		// (9+1) for csv-import, 2 steps (3+1) for thumbnails.
		"web: round 1: all jobs at 100%",
		"; the cluster manager applied 20 messages from worker pids ",
		"demo: -once: a round of jobs ran and the browser has gone; exiting",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for job, pid := range senders {
		if want := fmt.Sprintf("job: %s (round 1) runs in worker pid %d", job, pid); !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// partOne reports whether an event is the worker/listener part's (it
// has no round and no pid): that worker emits to user 42 too, and the
// cluster manager may still be applying its last events when the page
// connects (in-process, on the memory transport, it often is).
func partOne(round, pid int) bool { return round == 0 && pid == 0 }

func TestWebAddrInUse(t *testing.T) {
	d := startDemo(t, "-once", "--steps", "1", "--interval", "1ms")
	// A second demo asked for the first one's port falls back to a free one.
	taken := strings.TrimPrefix(origin(t, d.url), "http://")
	d2 := startDemo(t, "-once", "--steps", "1", "--interval", "1ms", "-addr", taken)
	if origin(t, d2.url) == origin(t, d.url) {
		t.Fatalf("both demos serve %s", d.url)
	}
	if !strings.Contains(d2.stdout.String(), "is taken; the page uses a free port instead") {
		t.Errorf("the fallback is not reported")
	}
}

func TestWebTokenFromEnvSecret(t *testing.T) {
	const secret = "web-test-secret-0123456789abcdefghij"
	d := startDemoWithSecret(t, secret, "-once", "--steps", "1", "--interval", "1ms")
	v, err := auth.NewHMAC([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(d.url[strings.Index(d.url, "#token=")+len("#token="):])
	if err != nil || claims.User != "42" || time.Until(claims.Expires) < 11*time.Hour {
		t.Fatalf("printed token: %+v, %v; want user 42 for 12 hours", claims, err)
	}
	if !strings.Contains(d.stdout.String(), "sockgate token --user 42") {
		t.Errorf("the output does not say how to mint another token")
	}
}

func TestWebShortSecretRefused(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	t.Setenv("SOCKET_AUTH_SECRET", "too-short")
	var stdout, stderr safeBuffer
	code := run(context.Background(), []string{"-once", "-addr", "127.0.0.1:0"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "SOCKET_AUTH_SECRET") {
		t.Fatalf("exit code %d, stderr %q; want 2 naming SOCKET_AUTH_SECRET", code, stderr.String())
	}
}

// TestWebClosesIdleKeepAlive checks that the page's HTTP server closes a
// keep-alive connection left idle after a request (-idle-timeout), and
// that the demo refuses a non-positive idle timeout.
func TestWebClosesIdleKeepAlive(t *testing.T) {
	d := startDemo(t, "-once", "--steps", "2", "--interval", "10ms", "-idle-timeout", "300ms")
	u, err := url.Parse(d.url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET /style.css HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET /style.css: %s, close %v, %v; want 200 on a kept-alive connection", resp.Status, resp.Close, err)
	}
	// Idle now: the server must close the connection (EOF) well before
	// this generous deadline.
	began := time.Now()
	if err := conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := br.Read(make([]byte, 1))
	if !errors.Is(err, io.EOF) {
		t.Fatalf("idle keep-alive connection: read %d bytes, %v; want EOF (closed by the server)", n, err)
	}
	t.Logf("idle keep-alive connection closed by the server after %s", time.Since(began).Round(time.Millisecond))

	var stdout, stderr safeBuffer
	if code := run(context.Background(), []string{"-idle-timeout", "0s"}, &stdout, &stderr); code != 2 {
		t.Fatalf("-idle-timeout 0s: exit code %d, stderr %q", code, stderr.String())
	}
}

// TestWebRenewsToken plays the page's renewal without a browser: the
// welcome carries the token's expiry, "renew-token" is acked with a fresh
// token for user 42, and "sockgate:refresh" with it is acked ok with the
// later expiry; a token of another user is refused.
func TestWebRenewsToken(t *testing.T) {
	const secret = "web-renew-secret-0123456789abcdefghij"
	d := startDemoWithSecret(t, secret, "-once", "--steps", "2", "--interval", "10ms", "-token-ttl", "1h")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := auth.NewHMAC([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	token := d.url[strings.Index(d.url, "#token=")+len("#token="):]
	first, err := v.Verify(token)
	if err != nil || first.Expires.Sub(first.IssuedAt) != time.Hour {
		t.Fatalf("printed token %+v, %v; want valid for -token-ttl 1h", first, err)
	}
	c := dialPolling(t, origin(t, d.url))
	c.send(fmt.Sprintf(`40{"token":%q}`, token))
	if got := c.next(ctx); !strings.HasPrefix(got, `40{"sid":"`) {
		t.Fatalf("CONNECT answered %q", got)
	}
	name, arg := event(t, c.next(ctx))
	var welcome webWelcome
	if err := json.Unmarshal(arg, &welcome); name != "welcome" || err != nil || welcome.Expires != first.Expires.Unix() {
		t.Fatalf("welcome %s %s, want the token's expiry %d", name, arg, first.Expires.Unix())
	}
	// ack returns the argument of the ack with id, skipping the events of
	// the round that runs meanwhile.
	ack := func(id int) json.RawMessage {
		t.Helper()
		pfx := fmt.Sprintf("43%d[", id)
		for {
			p := c.next(ctx)
			if !strings.HasPrefix(p, pfx) {
				continue
			}
			var args []json.RawMessage
			if err := json.Unmarshal([]byte(p[len(pfx)-1:]), &args); err != nil || len(args) != 1 {
				t.Fatalf("ack %q: %v", p, err)
			}
			return args[0]
		}
	}
	c.send(`421["renew-token"]`)
	var renewed webRenewed
	if raw := ack(1); json.Unmarshal(raw, &renewed) != nil || renewed.Token == "" {
		t.Fatalf("renew-token ack %s, want a token", raw)
	}
	second, err := v.Verify(renewed.Token)
	if err != nil || second.User != "42" {
		t.Fatalf("renewed token %+v, %v; want one for user 42", second, err)
	}
	c.send(fmt.Sprintf(`422["sockgate:refresh",%q]`, renewed.Token))
	var res struct {
		OK      bool   `json:"ok"`
		Expires int64  `json:"expires"`
		Error   string `json:"error"`
	}
	if raw := ack(2); json.Unmarshal(raw, &res) != nil || !res.OK || res.Expires != second.Expires.Unix() {
		t.Fatalf("sockgate:refresh ack %s, want ok with expires %d", raw, second.Expires.Unix())
	}
	bob, err := v.Mint("bob", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c.send(fmt.Sprintf(`423["sockgate:refresh",%q]`, bob))
	if raw := ack(3); json.Unmarshal(raw, &res) != nil || res.OK || !strings.Contains(res.Error, `names user "bob"`) {
		t.Fatalf("sockgate:refresh with bob's token: ack %s, want a refusal naming the user", raw)
	}
}

// TestDemoVerifierWithJWKS: with SOCKET_AUTH_JWKS set (and
// SOCKET_AUTH_ALGS naming only ES256), the page's sockets accept the
// page's own HS256 tokens (random secret) and an identity provider's
// ES256 tokens; without it the signer alone verifies.
func TestDemoVerifierWithJWKS(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ec.PublicKey.Bytes()
	enc := base64.RawURLEncoding.EncodeToString
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, fmt.Appendf(nil, `{"keys":[{"kty":"EC","crv":"P-256","kid":"idp","x":%q,"y":%q}]}`, enc(b[1:33]), enc(b[33:])), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := config.FromLookup(func(k string) (string, bool) {
		v, ok := map[string]string{config.EnvAuthJWKS: path, config.EnvAuthAlgorithms: "ES256"}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, secret, shared, err := demoSigner(env)
	if err != nil || shared || len(secret) != 32 {
		t.Fatalf("signer: shared %v, %d-byte secret, %v", shared, len(secret), err)
	}
	v, err := demoVerifier(env, signer, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := signer.Mint("42", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	idp := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"sub": "43", "iat": now, "exp": now + 60})
	idp.Header["kid"] = "idp"
	idpTok, err := idp.SignedString(ec)
	if err != nil {
		t.Fatal(err)
	}
	for user, tok := range map[string]string{"42": page, "43": idpTok} {
		if c, err := v.Verify(tok); err != nil || c.User != user {
			t.Errorf("user %s: claims %+v, %v", user, c, err)
		}
	}
	alone, err := demoVerifier(config.Default(), signer, secret, nil)
	if err != nil || alone != auth.Verifier(signer) {
		t.Fatalf("no keys configured: verifier %T, %v; want the signer", alone, err)
	}
}
