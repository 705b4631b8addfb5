// sio_client.js: a real socket.io-client 4.8 driven by test/sioint's
// integration tests over a line protocol.
//
//   node sio_client.js '<options JSON>'
//
// options: {"url": "http://127.0.0.1:port", "ns": "/", "transports":
// ["websocket"] | ["polling"] | ["polling", "websocket"], "upgrade": bool,
// "auth": {...}, "reconnection": bool (default true)}
//
// It prints one JSON object per line on stdout:
//   {"open": "<transport>"}                     engine connection opened
//   {"upgrade": "<transport>"}                  engine upgraded
//   {"ping": n}                                 n-th heartbeat ping received
//   {"connected": "<sid>", "ns": "/x", "transport": "<name>"}
//   {"connect_error": "<message>", "data": ...}
//   {"disconnect": "<reason>"}
//   {"event": "<name>", "args": [...], "acked": bool}
//   {"ack": <id>, "args": [...]} or {"ack": <id>, "error": "<message>"}
//   {"transport": "<name>", "id": <id>}
// Binary data (Buffer, ArrayBuffer, typed arrays) is printed as
// {"$bytes": "<base64>"}, and {"$bytes": ...} in commands becomes a Buffer.
//
// An event the server sends with an ack request is answered with the
// arguments ["client-ack", ...args] (binary stays binary).
//
// Commands, one JSON object per line on stdin:
//   {"cmd": "emit", "event": "e", "args": [...], "ack": <id>?}
//   {"cmd": "transport", "id": <id>}
//   {"cmd": "disconnect"}
// End of stdin closes the client and exits.
'use strict';

const readline = require('readline');
const { io } = require('socket.io-client');

const opts = JSON.parse(process.argv[2] || '{}');

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// toJSON replaces binary values with {"$bytes": base64}, recursively.
function toJSON(v) {
  if (Buffer.isBuffer(v)) return { $bytes: v.toString('base64') };
  if (v instanceof ArrayBuffer) return { $bytes: Buffer.from(v).toString('base64') };
  if (ArrayBuffer.isView(v)) return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(toJSON);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = toJSON(v[k]);
    return o;
  }
  return v;
}

// fromJSON turns {"$bytes": base64} into Buffers, recursively.
function fromJSON(v) {
  if (Array.isArray(v)) return v.map(fromJSON);
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$bytes') return Buffer.from(v.$bytes, 'base64');
    const o = {};
    for (const k of keys) o[k] = fromJSON(v[k]);
    return o;
  }
  return v;
}

const socket = io(opts.url + (opts.ns && opts.ns !== '/' ? opts.ns : ''), {
  transports: opts.transports || ['polling', 'websocket'],
  upgrade: opts.upgrade !== false,
  auth: opts.auth || {},
  forceNew: true,
  reconnection: opts.reconnection !== false,
  reconnectionDelay: 100,
  reconnectionDelayMax: 500,
  randomizationFactor: 0,
  timeout: 10000,
});

let pings = 0;
socket.io.on('open', () => {
  const engine = socket.io.engine;
  out({ open: engine.transport.name });
  engine.on('upgrade', (t) => out({ upgrade: t.name }));
  engine.on('ping', () => out({ ping: ++pings }));
});

socket.on('connect', () => {
  out({ connected: socket.id, ns: opts.ns || '/', transport: socket.io.engine.transport.name });
});
socket.on('connect_error', (err) => {
  out({ connect_error: err.message, data: err.data === undefined ? null : toJSON(err.data) });
});
socket.on('disconnect', (reason) => out({ disconnect: reason }));

socket.onAny((event, ...args) => {
  let ack = null;
  if (args.length && typeof args[args.length - 1] === 'function') ack = args.pop();
  out({ event, args: toJSON(args), acked: ack !== null });
  if (ack) ack('client-ack', ...args);
});

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const c = JSON.parse(line);
  switch (c.cmd) {
    case 'emit': {
      const args = fromJSON(c.args || []);
      if (c.ack !== undefined && c.ack !== null) {
        socket.timeout(10000).emit(c.event, ...args, (err, ...resp) => {
          if (err) out({ ack: c.ack, error: err.message });
          else out({ ack: c.ack, args: toJSON(resp) });
        });
      } else {
        socket.emit(c.event, ...args);
      }
      break;
    }
    case 'transport':
      out({ transport: socket.io.engine ? socket.io.engine.transport.name : null, id: c.id });
      break;
    case 'disconnect':
      socket.disconnect();
      break;
    default:
      out({ error: 'unknown command ' + JSON.stringify(c.cmd) });
  }
});
rl.on('close', () => {
  socket.disconnect();
  setTimeout(() => process.exit(0), 50);
});
