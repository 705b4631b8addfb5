//go:build linux

// Command wsbench compares websocket server implementations for the
// Engine.IO fan-out path: one ~200-byte text message written to 1,000
// loopback websocket connections. It reports deliveries per second and the
// server's memory per idle connection.
//
// It lives in the bench/ module so the three libraries measured do not
// become dependencies of sockgate. Usage (server pinned to core 0, clients to 1):
//
//	go run . -lib all
//
// The parent process is the server; it re-executes itself with -client to
// run the 1,000 clients in another process (pinned with taskset when found).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"
	"github.com/sockgate/sockgate/internal/engineio"
)

var (
	flagLib    = flag.String("lib", "all", "handrolled, gobwas, gorilla, coder or all")
	flagConns  = flag.Int("conns", 1000, "websocket connections")
	flagMsgs   = flag.Int("msgs", 500, "messages broadcast per run")
	flagRuns   = flag.Int("runs", 5, "runs per library")
	flagSize   = flag.Int("size", 200, "message size in bytes")
	flagYield  = flag.Int("yield", 0, "yield to the writers after every N messages (0: never, all queued at once)")
	flagClient = flag.String("client", "", "internal: run the clients against this address")
	flagExpect = flag.Int("expect", 0, "internal: deliveries per run the client waits for")
	flagRate   = flag.Int("rate", 0, "steady mode: messages per second (latency percentiles instead of throughput)")
	flagProf   = flag.String("cpuprofile", "", "write a CPU profile of the broadcast runs")
	flagSkip   = flag.Int("skip", 0, "internal: frames each client ignores first (the Engine.IO open packet)")
)

func main() {
	flag.Parse()
	if *flagClient != "" {
		runClients(*flagClient, *flagConns, *flagExpect, *flagRuns, *flagSkip, *flagRate > 0)
		return
	}
	libs := []string{"handrolled", "gobwas", "gorilla", "coder", "engineio"}
	if *flagLib != "all" {
		libs = strings.Split(*flagLib, ",")
	}
	for _, lib := range libs {
		if err := benchLib(lib); err != nil {
			log.Fatalf("%s: %v", lib, err)
		}
	}
}

// wsConn is the server side of one connection as the engine would use it:
// a queue of shared messages and a writer started only while there is
// something to write.
type wsConn interface {
	writeBatch(msgs []*message) error
}

// message is a broadcast message with its encodings built once.
type message struct {
	data     []byte
	frame    []byte // unmasked server text frame (handrolled, gobwas)
	prepared *gorilla.PreparedMessage
}

type queued struct {
	mu      sync.Mutex
	q       []*message
	writing bool
	c       wsConn
	spare   []*message
}

func (qc *queued) send(m *message) {
	qc.mu.Lock()
	qc.q = append(qc.q, m)
	start := !qc.writing
	qc.writing = true
	qc.mu.Unlock()
	if start {
		go qc.writer()
	}
}

func (qc *queued) writer() {
	for {
		qc.mu.Lock()
		batch := qc.q
		if len(batch) == 0 {
			qc.writing = false
			qc.mu.Unlock()
			return
		}
		qc.q = qc.spare[:0]
		qc.mu.Unlock()
		if err := qc.c.writeBatch(batch); err != nil {
			log.Printf("write: %v", err)
		}
		clear(batch)
		qc.spare = batch[:0]
	}
}

// --- hand-rolled RFC 6455 framing ---

type rawConn struct {
	nc  net.Conn
	buf net.Buffers
}

func (c *rawConn) writeBatch(msgs []*message) error {
	c.buf = c.buf[:0]
	for _, m := range msgs {
		c.buf = append(c.buf, m.frame)
	}
	b := c.buf
	_, err := b.WriteTo(c.nc)
	return err
}

func serverFrame(op byte, payload []byte) []byte {
	n := len(payload)
	var h []byte
	switch {
	case n < 126:
		h = []byte{0x80 | op, byte(n)}
	case n <= 0xffff:
		h = []byte{0x80 | op, 126, 0, 0}
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h = make([]byte, 10)
		h[0], h[1] = 0x80|op, 127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	return append(h, payload...)
}

func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func handrolledUpgrade(w http.ResponseWriter, r *http.Request) (net.Conn, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if key == "" {
		return nil, errors.New("no key")
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, err
	}
	if brw.Reader.Buffered() > 0 {
		return nil, errors.New("client sent data before handshake reply")
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n"
	if _, err := nc.Write([]byte(resp)); err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

// idleRead blocks reading the connection with a small buffer, as an idle
// reader would (the clients never send).
func idleRead(nc net.Conn) {
	var b [64]byte
	for {
		if _, err := nc.Read(b[:]); err != nil {
			return
		}
	}
}

// --- gobwas/ws: low-level frames ---

type gobwasConn struct {
	nc  net.Conn
	buf net.Buffers
}

func (c *gobwasConn) writeBatch(msgs []*message) error {
	c.buf = c.buf[:0]
	for _, m := range msgs {
		c.buf = append(c.buf, m.frame)
	}
	b := c.buf
	_, err := b.WriteTo(c.nc)
	return err
}

func gobwasFrame(payload []byte) []byte {
	f, err := ws.CompileFrame(ws.NewTextFrame(payload))
	if err != nil {
		panic(err)
	}
	return f
}

// --- gorilla ---

type gorillaConn struct{ c *gorilla.Conn }

func (c *gorillaConn) writeBatch(msgs []*message) error {
	for _, m := range msgs {
		if err := c.c.WritePreparedMessage(m.prepared); err != nil {
			return err
		}
	}
	return nil
}

// --- coder ---

type coderConn struct{ c *coder.Conn }

func (c *coderConn) writeBatch(msgs []*message) error {
	for _, m := range msgs {
		if err := c.c.Write(context.Background(), coder.MessageText, m.data); err != nil {
			return err
		}
	}
	return nil
}

func benchLib(lib string) error {
	var (
		mu    sync.Mutex
		conns []*queued
		ready = make(chan struct{})
	)
	add := func(c wsConn) {
		mu.Lock()
		conns = append(conns, &queued{c: c})
		if len(conns) == *flagConns {
			close(ready)
		}
		mu.Unlock()
	}
	var handler http.Handler
	var eioConns []*engineio.Conn
	skip := 0
	switch lib {
	case "engineio":
		skip = 1
		srv, err := engineio.NewServer(engineio.Config{
			Handler: &eioHandler{add: func(c *engineio.Conn) {
				mu.Lock()
				eioConns = append(eioConns, c)
				n := len(eioConns)
				mu.Unlock()
				if n == *flagConns {
					close(ready)
				}
			}},
			SendQueue: 1 << 16, PingInterval: time.Hour, Logger: nil,
		})
		if err != nil {
			return err
		}
		handler = srv
	case "handrolled":
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nc, err := handrolledUpgrade(w, r)
			if err != nil {
				log.Print(err)
				return
			}
			add(&rawConn{nc: nc})
			go idleRead(nc)
		})
	case "gobwas":
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nc, _, _, err := ws.UpgradeHTTP(r, w)
			if err != nil {
				log.Print(err)
				return
			}
			add(&gobwasConn{nc: nc})
			go idleRead(nc)
		})
	case "gorilla":
		up := gorilla.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				log.Print(err)
				return
			}
			add(&gorillaConn{c: c})
			go func() {
				for {
					if _, _, err := c.NextReader(); err != nil {
						return
					}
				}
			}()
		})
	case "coder":
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := coder.Accept(w, r, &coder.AcceptOptions{CompressionMode: coder.CompressionDisabled})
			if err != nil {
				log.Print(err)
				return
			}
			add(&coderConn{c: c})
			// Like an engine reading: block in Reader until a message comes.
			go func() {
				for {
					if _, _, err := c.Reader(context.Background()); err != nil {
						return
					}
				}
			}()
		})
	default:
		return fmt.Errorf("unknown lib %q", lib)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go srv.Serve(ln)
	defer srv.Close()

	runtime.GC()
	debug.FreeOSMemory()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := rssKB()

	self, _ := os.Executable()
	args := []string{self, "-client", ln.Addr().String(), "-conns", strconv.Itoa(*flagConns),
		"-expect", strconv.Itoa(*flagConns * *flagMsgs), "-runs", strconv.Itoa(*flagRuns), "-skip", strconv.Itoa(skip), "-rate", strconv.Itoa(*flagRate)}
	if tp, err := exec.LookPath("taskset"); err == nil {
		args = append([]string{tp, "-c", "1"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	// The clients die with the server, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)

	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		return errors.New("clients did not connect")
	}
	time.Sleep(300 * time.Millisecond) // let the handshakes' goroutines settle
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	rssAfter := rssKB()
	n := float64(*flagConns)
	heapStack := float64((after.HeapInuse+after.StackInuse)-(before.HeapInuse+before.StackInuse)) / n
	rss := float64(rssAfter-rssBefore) * 1024 / n

	payload := []byte(`42["progress",{"job":"` + strings.Repeat("x", *flagSize-40) + `","pct":42}]`)
	var rates []float64
	if *flagProf != "" {
		f, err := os.Create(*flagProf)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for run := 0; run < *flagRuns; run++ {
		msgs := make([]*message, *flagMsgs)
		for i := range msgs {
			m := &message{data: payload}
			msgs[i] = m
		}
		start := time.Now()
		var tick *time.Ticker
		if *flagRate > 0 {
			tick = time.NewTicker(time.Second / time.Duration(*flagRate))
		}
		for i, m := range msgs {
			if tick != nil {
				<-tick.C
				// The send time leads the payload; the clients read it.
				m.data = append([]byte(fmt.Sprintf("%019d", time.Now().UnixNano())), payload[19:]...)
			}
			// Encoded once per message, shared by every connection.
			switch lib {
			case "handrolled":
				m.frame = serverFrame(1, m.data)
			case "gobwas":
				m.frame = gobwasFrame(m.data)
			case "gorilla":
				m.prepared, _ = gorilla.NewPreparedMessage(gorilla.TextMessage, m.data)
			}
			if lib == "engineio" {
				p := engineio.NewTextPacket(m.data)
				for _, c := range eioConns {
					if err := c.Send(p); err != nil {
						return err
					}
				}
			}
			for _, c := range conns {
				c.send(m)
			}
			if *flagYield > 0 && i%*flagYield == *flagYield-1 {
				runtime.Gosched()
			}
		}
		if tick != nil {
			tick.Stop()
		}
		if !lines.Scan() {
			return fmt.Errorf("client ended: %v", lines.Err())
		}
		if *flagRate > 0 {
			fmt.Printf("rate=%d/s %-10s run %d: %s\n", *flagRate, lib, run, lines.Text())
			continue
		}
		el := time.Since(start)
		rates = append(rates, float64(*flagConns**flagMsgs)/el.Seconds())
	}
	if *flagRate > 0 {
		return nil
	}
	// Memory once the traffic is over: what an idle connection keeps after
	// a burst (queues, write buffers).
	time.Sleep(300 * time.Millisecond)
	runtime.GC()
	runtime.GC() // a second cycle empties the sync.Pool victim caches
	debug.FreeOSMemory()
	var post runtime.MemStats
	runtime.ReadMemStats(&post)
	postHeapStack := float64(int64(post.HeapInuse+post.StackInuse)-int64(before.HeapInuse+before.StackInuse)) / n
	sort.Float64s(rates)
	fmt.Printf("yield=%-3d %-10s deliveries/s median %8.0f best %8.0f  | idle per conn: heap+stack %5.1f KB, RSS %5.1f KB, after traffic heap+stack %5.1f KB  (GOMAXPROCS=%d)\n",
		*flagYield, lib, rates[len(rates)/2], rates[len(rates)-1], heapStack/1024, rss/1024, postHeapStack/1024, runtime.GOMAXPROCS(0))
	return nil
}

func rssKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}

// runClients opens the connections, then for each run prints a line once
// the expected number of frames has arrived.
func runClients(addr string, n, expect, runs, skip int, latency bool) {
	var (
		latMu sync.Mutex
		lats  []time.Duration
	)
	var got atomic.Int64
	done := make(chan struct{}, 1)
	var target atomic.Int64
	target.Store(int64(expect))
	for i := 0; i < n; i++ {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(nc, "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
		br := bufio.NewReaderSize(nc, 32<<10)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 {
			log.Fatalf("handshake: %v %v", err, resp)
		}
		go func() {
			skip := skip
			var h [14]byte
			for {
				if _, err := io.ReadFull(br, h[:2]); err != nil {
					return
				}
				l := int64(h[1] & 0x7f)
				switch l {
				case 126:
					io.ReadFull(br, h[2:4])
					l = int64(binary.BigEndian.Uint16(h[2:4]))
				case 127:
					io.ReadFull(br, h[2:10])
					l = int64(binary.BigEndian.Uint64(h[2:10]))
				}
				if skip > 0 {
					skip--
					if _, err := br.Discard(int(l)); err != nil {
						return
					}
					continue
				}
				if latency {
					// The payload starts with the send time (after the
					// Engine.IO type "4", if any).
					p, err := br.Peek(min(int(l), 24))
					if err != nil {
						return
					}
					p = bytes.TrimLeft(p, "4")
					ts, _ := strconv.ParseInt(string(p[:19]), 10, 64)
					d := time.Duration(time.Now().UnixNano() - ts)
					latMu.Lock()
					lats = append(lats, d)
					latMu.Unlock()
				}
				if _, err := br.Discard(int(l)); err != nil {
					return
				}
				if v := got.Add(1); v == target.Load() {
					done <- struct{}{}
				}
			}
		}()
	}
	for r := 0; r < runs; r++ {
		<-done
		target.Add(int64(expect))
		if !latency {
			fmt.Println("done")
			continue
		}
		latMu.Lock()
		l := lats
		lats = nil
		latMu.Unlock()
		slices.Sort(l)
		q := func(f float64) time.Duration { return l[int(f*float64(len(l)-1))] }
		fmt.Printf("p50 %v p99 %v max %v\n", q(0.5).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), l[len(l)-1].Round(10*time.Microsecond))
	}
}

// eioHandler collects the Engine.IO connections.
type eioHandler struct{ add func(*engineio.Conn) }

func (h *eioHandler) OnOpen(c *engineio.Conn)                 { h.add(c) }
func (h *eioHandler) OnMessage(*engineio.Conn, []byte, bool)  {}
func (h *eioHandler) OnClose(c *engineio.Conn, reason string) { log.Printf("closed: %s", reason) }
