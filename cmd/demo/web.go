package main

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/di"
	"github.com/sockgate/sockgate/socketio"
)

// The browser page and its Socket.IO client (web/sio.js, our own).
//
//go:embed web
var webFiles embed.FS

const (
	// demoUser is the signed-in user of the page, the one the Redis part
	// of the demo emits to as well.
	demoUser = "42"
	// tokenTTL is how long the printed sign-in link and each renewed
	// token stay valid, unless -token-ttl says otherwise.
	tokenTTL = 12 * time.Hour
	// renewEvent is the page's request for a fresh token for its user,
	// which it then sends on socketio.TokenRefreshEvent.
	renewEvent = "renew-token"
	// urlMarker starts the line that holds the page's URL (tests read it).
	urlMarker = "demo:   http://"
)

// webFlags are the settings of the browser part of the demo.
type webFlags struct {
	enabled bool
	addr    string
	once    bool
	pause   time.Duration
	idle    time.Duration
	ttl     time.Duration
}

func (w *webFlags) define(set *flag.FlagSet) {
	set.BoolVar(&w.enabled, "web", true, "serve the browser page after the worker/listener run (false: exit after it)")
	set.StringVar(&w.addr, "addr", "127.0.0.1:8080", "`host:port` of the page and Socket.IO server; a free port when taken")
	set.BoolVar(&w.once, "once", false, "run one round of jobs for the first browser, exit when it has gone (tests)")
	set.DurationVar(&w.pause, "pause", 3*time.Second, "pause between two rounds of jobs")
	set.DurationVar(&w.ttl, "token-ttl", tokenTTL, "how long the printed sign-in token, and each token the page renews, stays valid;\n"+
		"the server disconnects a page whose token expired")
	set.DurationVar(&w.idle, "idle-timeout", time.Minute, "close a keep-alive HTTP connection of the page's server after this long idle")
}

// webJob is one simulated job whose progress the page shows as a bar.
type webJob struct {
	name     string
	steps    int
	interval time.Duration
}

// args renders the job as the flags of a job process.
func (j webJob) args(broker jobFlags, round int) []string {
	return append(broker.brokerArgs(), "--channel", broker.channel, "--job", j.name,
		"--steps", strconv.Itoa(j.steps), "--interval", j.interval.String(),
		"--round", strconv.Itoa(round), "--user", demoUser)
}

// senderWorker is the sender of events that a job process emitted.
const senderWorker = "worker"

// webProgress is the payload of the page's "progress" events. Pid is the
// process that emitted it (a job process, not the server) and Sender its
// role.
type webProgress struct {
	Job    string `json:"job"`
	Pct    int    `json:"pct"`
	Round  int    `json:"round"`
	Pid    int    `json:"pid"`
	Sender string `json:"sender"`
}

// webWelcome is the payload of the "welcome" event a socket gets when it
// has signed in: who it is, the room it watches and the jobs, in the order
// the page shows them.
type webWelcome struct {
	User string   `json:"user"`
	Room string   `json:"room"`
	Jobs []string `json:"jobs"`
	// Expires is the "exp" of the socket's token (Unix seconds): the page
	// renews it before then.
	Expires int64 `json:"expires"`
}

// webRenewed is the ack of renewEvent: a fresh token for the socket's
// user, or why there is none.
type webRenewed struct {
	Token string `json:"token,omitempty"`
	Error string `json:"error,omitempty"`
}

// webDone is the payload of the page's "done" events.
type webDone struct {
	Job    string `json:"job"`
	OK     bool   `json:"ok"`
	Round  int    `json:"round"`
	Pid    int    `json:"pid"`
	Sender string `json:"sender"`
}

// webDemo is the browser part: an HTTP server with the embedded page and
// our Socket.IO server at /socket.io/, which joins the broker's channel with a
// cluster.Manager, and the job processes that report to the signed-in
// user's room through the broker.
type webDemo struct {
	stdout, stderr io.Writer
	sio            *socketio.Server
	http           *http.Server
	room           string // the demo user's room
	url            string // the page, with the sign-in token in the fragment
	jobs           []webJob
	exe            string // this binary, run as the job processes
	signer         *auth.HMAC
	ttl            time.Duration // of the sign-in and renewed tokens
	job            jobFlags      // broker and channel of the job processes

	closeBroker func()
	cluster     *cluster.Manager
	// sharedSecret: tokens are signed with SOCKET_AUTH_SECRET, not a
	// random per-run secret.
	sharedSecret bool
	served       chan error // the HTTP server's end

	mu       sync.Mutex
	watchers int           // connected sockets
	changed  chan struct{} // closed and replaced when watchers changes
}

// startWeb listens on addr (or a free port when addr's port is taken),
// starts serving the page and joins the server to job's channel. The
// caller must call close.
func startWeb(ctx context.Context, env config.Config, wf webFlags, job jobFlags, stdout, stderr io.Writer) (*webDemo, error) {
	signer, secret, shared, err := demoSigner(env)
	if err != nil {
		return nil, err
	}
	token, err := signer.Mint(demoUser, wf.ttl)
	if err != nil {
		return nil, fmt.Errorf("mint the demo token: %w", err)
	}
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		return nil, fmt.Errorf("embedded page: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("process", "web")
	verifier, err := demoVerifier(env, signer, secret, log)
	if err != nil {
		return nil, err
	}
	sio, err := socketio.NewServer(socketio.Config{UserRoom: env.UserRoomFor, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("socket.io server: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	w := &webDemo{
		stdout:       stdout,
		stderr:       stderr,
		exe:          exe,
		signer:       signer,
		ttl:          wf.ttl,
		job:          job,
		sio:          sio,
		room:         env.UserRoomFor(demoUser),
		changed:      make(chan struct{}),
		served:       make(chan error, 1),
		sharedSecret: shared,
		jobs: []webJob{
			{"sheet-sync", job.steps, job.interval},
			{"csv-import", 2 * job.steps, job.interval / 2},
			{"thumbnails", max(1, job.steps/2), 3 * job.interval},
		},
	}
	ns := sio.Of("/")
	// A page whose token expired is disconnected; the page renews its
	// token before (renewEvent, then socketio.TokenRefreshEvent).
	ns.Use(socketio.TokenAuthWith(socketio.TokenAuthConfig{Verifier: verifier, Expire: true}))
	ns.OnConnection(w.onConnection)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sio)
	mux.Handle("/", pageHeaders(http.FileServerFS(sub)))
	// IdleTimeout closes keep-alive connections that stay idle between
	// requests; it does not touch a websocket (hijacked) nor a long-poll
	// request in progress.
	w.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: wf.idle,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	ln, err := net.Listen("tcp", wf.addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		host, port, _ := net.SplitHostPort(wf.addr)
		fmt.Fprintf(stdout, "demo: port %s is taken; the page uses a free port instead\n", port)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sio.Close(ctx)
		return nil, fmt.Errorf("listen for the page: %w", err)
	}
	if err := w.joinCluster(ctx, env, log); err != nil {
		_ = ln.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sio.Close(cctx)
		return nil, err
	}
	w.url = pageURL(ln.Addr().(*net.TCPAddr), token)
	go func() { w.served <- w.http.Serve(ln) }()
	secretNote := "SOCKET_AUTH_SECRET is unset: tokens signed with a random secret for this run"
	if shared {
		secretNote = "tokens signed with SOCKET_AUTH_SECRET"
	}
	fmt.Fprintf(stdout, "demo: serving the browser page and sockgate's Socket.IO server on http://%s (%s)\n", ln.Addr(), secretNote)
	fmt.Fprintf(stdout, "demo: the Socket.IO server (pid %d) joins channel %q with a cluster.Manager: worker processes reach its clients through %s\n",
		os.Getpid(), w.job.channel, w.job.transport)
	return w, nil
}

// joinCluster connects the Socket.IO server to the channel with a
// cluster.Manager on the broker (di.ClusterConfig). When the broker is
// unreachable the manager serves local-only and keeps retrying; a round
// waits until it has subscribed.
func (w *webDemo) joinCluster(ctx context.Context, env config.Config, log *slog.Logger) error {
	cfg := w.job.config(env)
	b, closeBroker, err := di.OpenBroker(cfg, log)
	if err != nil {
		return err
	}
	mgr, err := cluster.New(di.ClusterConfig(cfg, w.sio, b, log))
	if err == nil {
		// ctx bounds only the first subscription attempt; the manager
		// lives until close.
		err = mgr.Start(ctx)
	}
	if err != nil {
		closeBroker()
		return fmt.Errorf("cluster manager: %w", err)
	}
	w.closeBroker, w.cluster = closeBroker, mgr
	return nil
}

// demoSigner returns the token signer: SOCKET_AUTH_SECRET's (shared is
// then true, secret nil), or one with secret, random, for this run only.
// Its tokens carry the user in SOCKET_AUTH_USER_CLAIM.
func demoSigner(env config.Config) (signer *auth.HMAC, secret []byte, shared bool, err error) {
	signer, err = env.Authenticator()
	if err != nil || signer != nil {
		return signer, nil, true, err
	}
	secret = make([]byte, 32)
	_, _ = rand.Read(secret) // never fails (crypto/rand)
	if signer, err = auth.NewHMAC(secret); err == nil && env.AuthUserClaim != "" {
		signer, err = signer.WithUserClaim(env.AuthUserClaim)
	}
	return signer, secret, false, err
}

// demoVerifier returns the verifier of the page's sockets: the signer
// alone, or, when SOCKET_AUTH_PUBLIC_KEY or SOCKET_AUTH_JWKS is set, a
// KeySet with those keys and the signer's secret, so that the page's
// tokens and an identity provider's both authenticate.
func demoVerifier(env config.Config, signer *auth.HMAC, secret []byte, log *slog.Logger) (auth.Verifier, error) {
	if env.AuthPublicKeyFile == "" && env.AuthJWKSFile == "" {
		return signer, nil
	}
	kc, err := env.KeySetConfig()
	if err != nil {
		return nil, err
	}
	if kc.Secret == nil {
		kc.Secret = secret
	}
	if len(kc.Algorithms) > 0 && !slices.Contains(kc.Algorithms, auth.HS256) {
		kc.Algorithms = append(kc.Algorithms, auth.HS256) // the page's own tokens
	}
	kc.Logger = log
	return auth.NewKeySet(kc)
}

// pageURL is the page's address with the token in the fragment, which the
// browser keeps to itself: it is in no request line, log or Referer.
func pageURL(addr *net.TCPAddr, token string) string {
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, fmt.Sprint(addr.Port)), Path: "/",
		Fragment: "token=" + token}
	return u.String()
}

// pageHeaders allows only GET and HEAD and adds the page's security
// headers: it loads only its own files and connects only to its own origin.
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; connect-src 'self'")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// onConnection counts the signed-in socket as a watcher and welcomes it.
func (w *webDemo) onConnection(s *socketio.Socket) {
	w.addWatcher(+1)
	fmt.Fprintf(w.stdout, "web: browser connected: socket %s signed in as user %s\n", s.ID(), s.UserID())
	gone := sync.OnceFunc(func() { w.addWatcher(-1) })
	s.OnDisconnect(func(reason string) {
		gone()
		fmt.Fprintf(w.stdout, "web: browser gone: socket %s (%s)\n", s.ID(), reason)
	})
	s.On(renewEvent, func(e *socketio.Event) { w.renew(s, e) })
	if err := s.Emit("welcome", webWelcome{User: s.UserID(), Room: w.room, Jobs: w.jobNames(), Expires: s.TokenExpires().Unix()}); err != nil {
		// A socket that left before OnDisconnect was registered is
		// never reported there; this catches it.
		if errors.Is(err, socketio.ErrDisconnected) {
			gone()
		}
		fmt.Fprintf(w.stdout, "web: welcome to socket %s: %v\n", s.ID(), err)
	}
}

// renew answers the page's renewEvent with a fresh token for the
// socket's user, valid for -token-ttl. The socket is signed in already:
// in a real application the page would get the token from its own
// sign-in backend instead.
func (w *webDemo) renew(s *socketio.Socket, e *socketio.Event) {
	var ack webRenewed
	tok, err := w.signer.Mint(s.UserID(), w.ttl)
	if err != nil {
		ack.Error = err.Error()
	} else {
		ack.Token = tok
	}
	fmt.Fprintf(w.stdout, "web: renewed the token of socket %s (user %s) for %s; the page sends it on %q\n",
		s.ID(), s.UserID(), w.ttl, socketio.TokenRefreshEvent)
	if err := e.Ack(ack); err != nil {
		fmt.Fprintf(w.stdout, "web: renew for socket %s: %v\n", s.ID(), err)
	}
}

func (w *webDemo) jobNames() []string {
	names := make([]string, len(w.jobs))
	for i, j := range w.jobs {
		names[i] = j.name
	}
	return names
}

func (w *webDemo) addWatcher(d int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.watchers += d
	close(w.changed)
	w.changed = make(chan struct{})
}

// waitWatchers waits until cond holds for the number of connected sockets.
func (w *webDemo) waitWatchers(ctx context.Context, cond func(n int) bool) error {
	for {
		w.mu.Lock()
		n, changed := w.watchers, w.changed
		w.mu.Unlock()
		if cond(n) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// serve runs rounds of jobs while a browser is connected: until ctx ends,
// or, with once, one round for the first browser, then it waits until
// that browser has gone. timeout bounds the once mode.
func (w *webDemo) serve(ctx context.Context, wf webFlags, timeout time.Duration) error {
	fmt.Fprintf(w.stdout, "demo: open this URL in a browser; the token after # signs you in as user %s for %s (the page renews it while open):\n", demoUser, w.ttl)
	fmt.Fprintf(w.stdout, "demo:   %s\n", w.url)
	if w.sharedSecret {
		fmt.Fprintf(w.stdout, "demo: (tokens signed with SOCKET_AUTH_SECRET: `sockgate token --user %s` mints another)\n", demoUser)
	}
	if wf.once {
		fmt.Fprintf(w.stdout, "demo: -once: one round of jobs when a browser connects, then exit when it has gone (within %s)\n", timeout)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("no browser completed a round within %s", timeout))
		defer cancel()
	} else {
		fmt.Fprintf(w.stdout, "demo: jobs run while a browser is connected, a round every %s; Ctrl-C stops the demo\n", wf.pause)
	}
	for round := 1; ; round++ {
		if err := w.waitWatchers(ctx, func(n int) bool { return n > 0 }); err != nil {
			return err
		}
		if err := w.runRound(ctx, round); err != nil {
			return err
		}
		if wf.once {
			return w.waitWatchers(ctx, func(n int) bool { return n == 0 })
		}
		t := time.NewTimer(wf.pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		}
	}
}

// runRound runs every job once, concurrently, each in its own worker
// process (this binary in the job role) that emits "progress" from 0 to
// 100% and then "done" to the user's room through the broker. The round is
// over when every job process has exited and the cluster manager has
// applied all their messages to this server's sockets.
func (w *webDemo) runRound(ctx context.Context, round int) error {
	if err := w.waitSubscribed(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w.stdout, "web: round %d: %s start in worker processes, reporting to room %q through channel %q\n",
		round, strings.Join(w.jobNames(), ", "), w.room, w.job.channel)
	began := time.Now()
	applied0 := w.cluster.Stats().Applied
	var want uint64
	children := make([]*child, 0, len(w.jobs))
	pids := make([]string, 0, len(w.jobs))
	var errs []error
	for _, j := range w.jobs {
		c, err := startChild(ctx, w.exe, w.job.inProcess(), roleJob, j.args(w.job, round), w.stdout, w.stderr, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("start the %s job process: %w", j.name, err))
			break
		}
		children = append(children, c)
		pids = append(pids, strconv.Itoa(c.pid))
		want += uint64(j.steps) + 2 // progress 0..steps, then done
	}
	for i, c := range children {
		<-c.exited // cancelling ctx interrupts the child
		if c.err != nil {
			errs = append(errs, fmt.Errorf("the %s job process (pid %d): %w", w.jobs[i].name, c.pid, c.err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return err
	}
	// The job processes have published everything; wait until the
	// manager has received and applied it.
	got, err := w.waitApplied(ctx, applied0+want)
	if err != nil {
		return fmt.Errorf("the cluster manager applied %d of the %d messages the job processes published: %w", got-applied0, want, err)
	}
	fmt.Fprintf(w.stdout, "web: round %d: all jobs at 100%% after %s; the cluster manager applied %d messages from worker pids %s\n",
		round, time.Since(began).Round(10*time.Millisecond), got-applied0, strings.Join(pids, ", "))
	return nil
}

// waitSubscribed waits until the cluster manager has subscribed to the
// channel (at most 10 s): messages published before are not delivered.
func (w *webDemo) waitSubscribed(ctx context.Context) error {
	if w.cluster.Health().Subscribed {
		return nil
	}
	fmt.Fprintf(w.stdout, "web: waiting for the Socket.IO server to subscribe to channel %q\n", w.job.channel)
	deadline := time.Now().Add(10 * time.Second)
	return w.poll(ctx, deadline, func() bool { return w.cluster.Health().Subscribed }, func() error {
		return fmt.Errorf("the Socket.IO server did not subscribe to channel %q within 10s: %s", w.job.channel, w.cluster.Health().LastError)
	})
}

// waitApplied waits until the manager has applied at least n messages (at
// most 10 s) and returns the count.
func (w *webDemo) waitApplied(ctx context.Context, n uint64) (uint64, error) {
	deadline := time.Now().Add(10 * time.Second)
	err := w.poll(ctx, deadline, func() bool { return w.cluster.Stats().Applied >= n }, func() error {
		return fmt.Errorf("timed out after 10s (cluster stats %+v)", w.cluster.Stats())
	})
	return w.cluster.Stats().Applied, err
}

// poll checks cond every 10 ms until it holds, ctx ends or deadline
// passes. The manager has no change notification, so this polls its
// counters.
func (w *webDemo) poll(ctx context.Context, deadline time.Time, cond func() bool, late func() error) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return late()
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// close stops the Socket.IO server (disconnecting the browsers) and the
// HTTP server.
func (w *webDemo) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st := w.cluster.Stats()
	fmt.Fprintf(w.stdout, "web: cluster manager: %+v\n", st)
	errCluster := w.cluster.Close(ctx)
	errSIO := w.sio.Close(ctx)
	errHTTP := w.http.Shutdown(ctx)
	if err := <-w.served; !errors.Is(err, http.ErrServerClosed) {
		errHTTP = errors.Join(errHTTP, err)
	}
	w.closeBroker()
	return errors.Join(errCluster, errSIO, errHTTP)
}
