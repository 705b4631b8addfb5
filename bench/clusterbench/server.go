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
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/socketio"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

// roleGoServer, as the first argument, makes this binary the Go server
// under test: a socketio.Server on 127.0.0.1 whose cluster.Manager is
// subscribed to the channel, putting every client of "/" into room
// "bench". It prints "LISTEN host:port" once listening and serves
// GET /stats (the manager's and the server's counters) until SIGINT or
// SIGTERM. It runs in its own process, like the python server, so that
// neither shares a Go runtime with the load.
const roleGoServer = "__goserver"

// benchRoom is the room the clients join and the worker emits to.
const benchRoom = "bench"

func runGoServer(args []string) int {
	fs := flag.NewFlagSet(roleGoServer, flag.ContinueOnError)
	redisAddr := fs.String("redis", "", "Redis host:port")
	channel := fs.String("channel", "socketio", "pub/sub channel")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := serveGo(*redisAddr, *channel); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench go server:", err)
		return 1
	}
	return 0
}

func serveGo(redisAddr, channel string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := socketio.NewServer(socketio.Config{Logger: log})
	if err != nil {
		return err
	}
	ns := srv.Of("/")
	ns.Use(func(_ context.Context, hs *socketio.Handshake) error {
		hs.Join(benchRoom) // in the room before the client has its CONNECT answer
		return nil
	})
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rc.Close()
	ps, err := redispubsub.New(redispubsub.Config{Client: rc, Logger: log})
	if err != nil {
		return err
	}
	defer ps.Close()
	mgr, err := cluster.New(cluster.Config{Server: srv, Publisher: ps, Subscriber: ps, Channel: channel, Logger: log})
	if err != nil {
		return err
	}
	if err := mgr.Start(ctx); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"room": ns.RoomSize(benchRoom), "cluster": mgr.Stats(), "health": mgr.Health(), "server": srv.Stats()})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = mgr.Close(sctx)
		_ = srv.Close(sctx)
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
