// Command attackserver is the server process of the attack suite
// (test/attack): sockgate's Socket.IO server with token auth on "/" (like
// cmd/demo) and the default bounds, plus the endpoints the suite reads.
//
//	attackserver -secret S [-addr 127.0.0.1:0] [-slow 20s] [-max-sessions N]
//
// It prints one JSON line {"addr": "host:port", "pid": N} once it
// listens, and exits when its stdin closes. Handlers on "/": "echo"
// acknowledges its arguments; "slow" sleeps -slow, then acknowledges.
// GET /stats answers {"stats": socketio.Stats, "slow_started": N} and
// GET /metrics the Prometheus metrics of metrics/servermetrics.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/metrics"
	"github.com/sockgate/sockgate/metrics/servermetrics"
	"github.com/sockgate/sockgate/socketio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen `address`")
	secret := flag.String("secret", "", "HS256 `secret` of the clients' tokens (at least 32 bytes)")
	slow := flag.Duration("slow", 20*time.Second, "how long the \"slow\" handler takes")
	maxSessions := flag.Int("max-sessions", 0, "socketio Config.MaxSessionsPerAddr (0: the default, no cap)")
	flag.Parse()
	if err := run(*addr, *secret, *slow, *maxSessions); err != nil {
		fmt.Fprintln(os.Stderr, "attackserver:", err)
		os.Exit(1)
	}
}

func run(addr, secret string, slow time.Duration, maxSessions int) error {
	verifier, err := auth.NewHMAC([]byte(secret))
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := socketio.NewServer(socketio.Config{MaxSessionsPerAddr: maxSessions, Logger: log})
	if err != nil {
		return err
	}
	var slowStarted atomic.Int64
	ns := srv.Of("/")
	ns.Use(socketio.TokenAuth(verifier))
	ns.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(e *socketio.Event) {
			if e.WantsAck() {
				_ = e.Ack(e.Args.Len())
			}
		})
		s.On("slow", func(e *socketio.Event) {
			slowStarted.Add(1)
			time.Sleep(slow)
			if e.WantsAck() {
				_ = e.Ack("done")
			}
		})
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(servermetrics.NewCollector(srv, metrics.CollectorOptions{}))

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"stats": srv.Stats(), "slow_started": slowStarted.Load()})
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	line, _ := json.Marshal(map[string]any{"addr": ln.Addr().String(), "pid": os.Getpid()})
	fmt.Println(string(line))

	_, _ = io.Copy(io.Discard, os.Stdin) // until the suite closes stdin
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = hs.Close()
	_ = srv.Close(ctx) // slow handlers may still sleep: the deadline ends the wait
	return nil
}
