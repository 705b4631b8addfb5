// ref_server.js: the reference behaviour of test/sioint's integration
// tests, on the real Node socket.io 4.8 server. The Go tests run the same
// scenarios against it and against our Go server (which installs the same
// handlers in Go), so a failure against both is a bug in the test or the
// client scripts, a failure against ours only is a bug in package socketio.
//
//   SOCKGATE_TEST_SECRET=<secret> node ref_server.js '<options JSON>'
//
// options: {"port": 0, "pingInterval": 25000, "pingTimeout": 20000}
// Prints {"listening": port} once it accepts connections. Exits when stdin
// ends.
//
// Namespaces "/" and "/admin" behave the same:
//   - middleware: auth {"token": t} must be an HS256 JWT signed with the
//     secret, not expired, with a "sub"; otherwise the connection is refused
//     with message "unauthorized". The socket joins room "user:<sub>".
//   - on connection the server emits "hello" {"sid", "user", "ns", "rooms"}
//     (rooms: sorted, without the socket's own id room).
//   - "echo" ...args [ack]: acks with args, or without ack request emits
//     "echo" ...args back.
//   - "ask" ...args: emits "question" ...args with an ack request (5 s
//     timeout), then emits "answer" ...reply (or "answer-error" message).
//   - "bin" label, bytes [ack]: emits "bin" label, bytes, {"inner": [bytes]}
//     and acks label, bytes.
//   - "join" room [ack]: joins room, acks with the sorted rooms.
//   - "to-room" {"to": [..], "except": [..], "event": e, "args": [..]} [ack]:
//     emits e ...args to the rooms except the except rooms (this socket
//     included when it is a member), then acks "ok".
'use strict';

const crypto = require('crypto');
const http = require('http');
const readline = require('readline');
const { Server } = require('socket.io');

const opts = JSON.parse(process.argv[2] || '{}');
const secret = Buffer.from(process.env.SOCKGATE_TEST_SECRET || '', 'utf8');

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

// verify returns the user of a valid token, or null.
function verify(token) {
  if (typeof token !== 'string' || secret.length < 32) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const want = b64url(crypto.createHmac('sha256', secret).update(parts[0] + '.' + parts[1]).digest());
  if (want.length !== parts[2].length || !crypto.timingSafeEqual(Buffer.from(want), Buffer.from(parts[2]))) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    if (header.alg !== 'HS256' || typeof claims.sub !== 'string' || !claims.sub) return null;
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now() - 5000) return null;
    return claims.sub;
  } catch (e) {
    return null;
  }
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: opts.pingInterval || 25000,
  pingTimeout: opts.pingTimeout || 20000,
  maxHttpBufferSize: 1e6,
});

function rooms(socket) {
  return [...socket.rooms].filter((r) => r !== socket.id).sort();
}

function setup(nsp) {
  nsp.use((socket, next) => {
    const user = verify(socket.handshake.auth && socket.handshake.auth.token);
    if (user === null) return next(new Error('unauthorized'));
    socket.data.user = user;
    next();
  });
  nsp.on('connection', (socket) => {
    socket.join('user:' + socket.data.user);
    socket.emit('hello', { sid: socket.id, user: socket.data.user, ns: nsp.name, rooms: rooms(socket) });
    socket.on('echo', (...args) => {
      const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
      if (ack) ack(...args);
      else socket.emit('echo', ...args);
    });
    socket.on('ask', (...args) => {
      socket.timeout(5000).emit('question', ...args, (err, ...reply) => {
        if (err) socket.emit('answer-error', err.message);
        else socket.emit('answer', ...reply);
      });
    });
    socket.on('bin', (label, data, ack) => {
      socket.emit('bin', label, data, { inner: [data] });
      if (typeof ack === 'function') ack(label, data);
    });
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack(rooms(socket));
    });
    socket.on('to-room', (req, ack) => {
      nsp.to(req.to || []).except(req.except || []).emit(req.event, ...(req.args || []));
      if (typeof ack === 'function') ack('ok');
    });
  });
}
setup(io.of('/'));
setup(io.of('/admin'));

httpServer.listen(opts.port || 0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: httpServer.address().port }) + '\n');
});

readline.createInterface({ input: process.stdin }).on('close', () => {
  io.close();
  setTimeout(() => process.exit(0), 50).unref();
});
