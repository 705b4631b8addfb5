// fanout_server.js: the Node socket.io 4.8 side of bench/fanoutbench.
//
// A socket.io server on 127.0.0.1 (port from argv[2], 0 picks a free one)
// that puts every client connecting to "/" into room "bench", plus a control
// HTTP API on the same port, the same one the Go server in
// bench/fanoutbench/server implements:
//
//   POST /emit?n=K&size=200            emit K "tick" events to room "bench" as
//                                      fast as possible; reply when all are
//                                      handed to the sockets
//   POST /emit?n=K&size=200&rate=R     emit K events at R per second
//   GET  /stats                        {"room": members of "bench", "connected": n}
//
// Each event is ["tick", {"i": seq, "t": send time in Unix ns, "p": "xx..."}]
// with "p" padded so that the Socket.IO packet is about size bytes.
// Once listening it prints "LISTEN host:port" on stdout.
'use strict';

const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 0);

// nowNs is the wall clock in Unix nanoseconds with microsecond resolution
// (performance.timeOrigin is a high-resolution epoch in ms).
const { performance } = require('perf_hooks');
function nowNs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) * 1000;
}

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/stats') {
    const room = io.of('/').adapter.rooms.get('bench');
    return reply(res, 200, { room: room ? room.size : 0, connected: io.of('/').sockets.size });
  }
  if (url.pathname === '/emit' && req.method === 'POST') {
    const n = Number(url.searchParams.get('n') || 1);
    const size = Number(url.searchParams.get('size') || 200);
    const rate = Number(url.searchParams.get('rate') || 0);
    if (!(n > 0) || !(size >= 0) || !(rate >= 0)) {
      return reply(res, 400, { error: 'n must be > 0, size and rate >= 0' });
    }
    const pad = padding(size);
    const start = process.hrtime.bigint();
    const done = () => reply(res, 200, { emitted: n, ns: Number(process.hrtime.bigint() - start) });
    if (rate === 0) {
      for (let i = 0; i < n; i++) {
        io.to('bench').emit('tick', { i, t: nowNs(), p: pad });
      }
      return done();
    }
    // Paced: event i is due at start + i/rate; a late timer catches up.
    const periodNs = 1e9 / rate;
    const t0 = Number(start);
    let i = 0;
    const step = () => {
      const now = Number(process.hrtime.bigint());
      while (i < n && now >= t0 + i * periodNs) {
        io.to('bench').emit('tick', { i, t: nowNs(), p: pad });
        i++;
      }
      if (i >= n) return done();
      const waitMs = (t0 + i * periodNs - Number(process.hrtime.bigint())) / 1e6;
      setTimeout(step, Math.max(0, waitMs));
    };
    return step();
  }
  if (url.pathname.startsWith('/socket.io/')) return; // socket.io answers
  reply(res, 404, { error: 'not found' });
});

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// padding returns the "p" string that makes 42["tick",{"i":...,"t":...,"p":"..."}]
// about size bytes (the overhead with a 4-digit i and 19-digit t is 47).
function padding(size) {
  return 'x'.repeat(Math.max(0, size - 47));
}

const io = new Server(httpServer, { transports: ['websocket'], serveClient: false });
io.on('connection', (socket) => {
  socket.join('bench');
});

httpServer.listen(port, '127.0.0.1', () => {
  const a = httpServer.address();
  process.stdout.write(`LISTEN ${a.address}:${a.port}\n`);
});

const stop = () => { io.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
