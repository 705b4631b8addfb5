// Command server is the Go side of bench/fanoutbench: a sockgate
// socketio.Server on 127.0.0.1 that puts every client connecting to "/"
// into room "bench", plus the same control HTTP API as the Node script
// test/peers/node/fanout_server.js:
//
//	POST /emit?n=K&size=200          emit K "tick" events to room "bench" as
//	                                 fast as possible; reply when all are queued
//	POST /emit?n=K&size=200&rate=R   emit K events at R per second
//	GET  /stats                      {"room": members of "bench", "connected": n, ...}
//
// Each event is ["tick", {"i": seq, "t": send time in Unix ns, "p": "xx..."}]
// with "p" padded so that the Socket.IO packet is about size bytes. Once
// listening it prints "LISTEN host:port" on stdout.
//
//	go -C bench run ./fanoutbench/server -addr 127.0.0.1:0
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockgate/sockgate/socketio"
)

// tick is the payload of every event; its JSON field order is the one the
// load client scans for.
type tick struct {
	I int    `json:"i"`
	T int64  `json:"t"`
	P string `json:"p"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	sendQueue := flag.Int("send-queue", 0, "socketio Config.SendQueue; 0 keeps the default")
	flag.Parse()
	if err := run(*addr, *sendQueue); err != nil {
		fmt.Fprintln(os.Stderr, "fanout server:", err)
		os.Exit(1)
	}
}

func run(addr string, sendQueue int) error {
	// FANOUT_CPUPROFILE=path profiles the whole run (written at SIGTERM),
	// for looking into a figure: go tool pprof -top path.
	if path := os.Getenv("FANOUT_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Every load client dials from the loopback address: the per-address
	// handshake limit would throttle the bench's own connections.
	srv, err := socketio.NewServer(socketio.Config{SendQueue: sendQueue, HandshakeRate: -1, Logger: logger})
	if err != nil {
		return err
	}
	ns := srv.Of("/")
	ns.OnConnection(func(s *socketio.Socket) { s.Join("bench") })

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, map[string]any{"room": ns.RoomSize("bench"), "stats": srv.Stats()})
	})
	mux.HandleFunc("POST /emit", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, err1 := intParam(q.Get("n"), 1)
		size, err2 := intParam(q.Get("size"), 200)
		rate, err3 := intParam(q.Get("rate"), 0)
		if err := errors.Join(err1, err2, err3); err != nil || n < 1 || size < 0 || rate < 0 {
			reply(w, http.StatusBadRequest, map[string]string{"error": "n must be > 0, size and rate >= 0"})
			return
		}
		pad := strings.Repeat("x", max(0, size-47))
		b := ns.To("bench")
		start := time.Now()
		var emitErrs int
		emit := func(i int) {
			if err := b.Emit("tick", tick{I: i, T: time.Now().UnixNano(), P: pad}); err != nil {
				emitErrs++
			}
		}
		if rate == 0 {
			for i := range n {
				emit(i)
			}
		} else {
			period := time.Second / time.Duration(rate)
			for i := range n {
				if d := time.Until(start.Add(time.Duration(i) * period)); d > 0 {
					time.Sleep(d)
				}
				emit(i)
			}
		}
		reply(w, http.StatusOK, map[string]any{"emitted": n, "ns": time.Since(start).Nanoseconds(), "errors": emitErrs})
	})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Close(sctx)
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func intParam(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
