// sio.js: a minimal Socket.IO client for the sockgate demo page, written for
// this repository (it shares no code with socket.io-client).
//
// It speaks only what the page needs, over the websocket transport alone:
//   Engine.IO v4: OPEN (0), CLOSE (1), PING (2) answered with PONG (3),
//                 MESSAGE (4), NOOP (6); a missed heartbeat closes the link.
//   Socket.IO v5: CONNECT (0) with an auth payload, DISCONNECT (1),
//                 EVENT (2) both ways, ACK (3) both ways (for events the
//                 server sends with an ack id, and for emits given a
//                 callback), CONNECT_ERROR (4). Binary packets (5, 6)
//                 are not supported and are reported, never dropped silently.
// Only the main namespace "/" is used.
//
// After a lost connection it reconnects with exponential backoff and
// jitter. It does not reconnect after CONNECT_ERROR (the server refused the
// credentials; retrying cannot help) or after the server's DISCONNECT.

const EIO = { OPEN: '0', CLOSE: '1', PING: '2', PONG: '3', MESSAGE: '4', NOOP: '6' };
const SIO = { CONNECT: '0', DISCONNECT: '1', EVENT: '2', ACK: '3', CONNECT_ERROR: '4' };

export class MiniSocket {
  // url: the page's origin (http[s]://host:port); options.auth is sent with
  // CONNECT. Connecting starts at once.
  constructor(url, { auth = {}, path = '/socket.io/', minDelay = 500, maxDelay = 5000 } = {}) {
    const u = new URL(path, url);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.search = '?EIO=4&transport=websocket';
    this.url = u.toString();
    this.auth = auth;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.handlers = new Map(); // event name -> [fn]
    this.acks = new Map();     // ack id -> callback of an emit waiting for its ack
    this.nextAck = 0;
    this.attempts = 0;         // failed attempts since the last CONNECT
    this.state = 'idle';       // connecting | connected | reconnecting | refused | closed
    this.open();
  }

  // on registers fn for an event from the server, or for the client's own
  // events: state(state, detail), connect(sid), connect_error(err),
  // disconnect(reason).
  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(fn);
    return this;
  }

  // emit sends an EVENT; it returns false when not connected (nothing is
  // queued: the page has nothing worth replaying). When the last argument
  // is a function, the server is asked for an ack and the function gets
  // its arguments; it is never called if the connection is lost first.
  emit(event, ...args) {
    if (this.state !== 'connected') return false;
    let id = '';
    if (typeof args[args.length - 1] === 'function') {
      id = String(this.nextAck++);
      this.acks.set(id, args.pop());
    }
    this.sendMessage(SIO.EVENT + id + JSON.stringify([event, ...args]));
    return true;
  }

  // close ends the connection for good.
  close() {
    this.setState('closed');
    clearTimeout(this.retryTimer);
    this.teardown();
  }

  fire(event, ...args) {
    for (const fn of this.handlers.get(event) || []) fn(...args);
  }

  setState(state, detail) {
    this.state = state;
    this.fire('state', state, detail);
  }

  open() {
    this.setState(this.attempts ? 'reconnecting' : 'connecting', this.attempts ? `attempt ${this.attempts + 1}` : '');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') {
        this.fire('error', new Error('binary frame received; this client supports text only'));
        return;
      }
      try {
        this.onFrame(e.data);
      } catch (err) { // e.g. an OPEN packet that is not JSON: start over
        this.fire('error', err);
        this.lost('parse error');
      }
    };
    ws.onclose = () => { if (this.ws === ws) this.lost('transport close'); };
    ws.onerror = () => {}; // onclose follows and handles it
  }

  // onFrame handles one Engine.IO packet.
  onFrame(data) {
    switch (data[0]) {
      case EIO.OPEN: {
        const hs = JSON.parse(data.slice(1)); // {sid, upgrades, pingInterval, pingTimeout, maxPayload}
        this.heartbeat = hs.pingInterval + hs.pingTimeout;
        this.armWatchdog();
        this.sendMessage(SIO.CONNECT + JSON.stringify(this.auth));
        break;
      }
      case EIO.PING:
        this.armWatchdog();
        this.ws.send(EIO.PONG);
        break;
      case EIO.MESSAGE:
        this.onPacket(data.slice(1));
        break;
      case EIO.CLOSE:
        this.lost('transport close');
        break;
      case EIO.NOOP:
        break;
      default:
        this.fire('error', new Error(`unknown Engine.IO packet ${JSON.stringify(data.slice(0, 16))}`));
    }
  }

  // onPacket handles one Socket.IO packet: type, optional "/nsp,", optional
  // ack id, JSON payload.
  onPacket(p) {
    const m = /^(\d)(\/[^,]*,)?(\d*)(.*)$/s.exec(p);
    if (!m || (m[2] && m[2] !== '/,')) {
      this.fire('error', new Error(`unexpected Socket.IO packet ${JSON.stringify(p.slice(0, 32))}`));
      return;
    }
    const [, type, , id, json] = m;
    let payload;
    try {
      payload = json ? JSON.parse(json) : undefined;
    } catch (err) {
      this.fire('error', new Error(`bad JSON in Socket.IO packet: ${err.message}`));
      return;
    }
    switch (type) {
      case SIO.CONNECT:
        this.attempts = 0;
        this.setState('connected', payload.sid);
        this.fire('connect', payload.sid);
        break;
      case SIO.CONNECT_ERROR: // refused by a middleware: {message, data?}
        this.setState('refused', payload.message);
        this.fire('connect_error', payload);
        this.teardown();
        break;
      case SIO.DISCONNECT:
        this.setState('closed', 'io server disconnect');
        this.fire('disconnect', 'io server disconnect');
        this.teardown();
        break;
      case SIO.EVENT: {
        const [event, ...args] = payload;
        if (id !== '') { // the server waits for an answer
          args.push((...reply) => this.sendMessage(SIO.ACK + id + JSON.stringify(reply)));
        }
        this.fire(event, ...args);
        break;
      }
      case SIO.ACK: { // the answer to an emit with a callback
        const fn = this.acks.get(id);
        this.acks.delete(id);
        if (fn) fn(...(Array.isArray(payload) ? payload : []));
        else this.fire('error', new Error(`ack ${id} answers no emit`));
        break;
      }
      default:
        this.fire('error', new Error(`Socket.IO packet type ${type} is not supported by this client`));
    }
  }

  sendMessage(packet) {
    this.ws.send(EIO.MESSAGE + packet);
  }

  // armWatchdog declares the link dead when no PING arrives in time.
  armWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.lost('ping timeout'), this.heartbeat);
  }

  teardown() {
    clearTimeout(this.watchdog);
    this.acks.clear(); // their answers can no longer come
    const ws = this.ws;
    this.ws = null;
    if (ws) { ws.onclose = null; ws.close(); }
  }

  // lost schedules a reconnect after the link broke.
  lost(reason) {
    const wasConnected = this.state === 'connected';
    this.teardown();
    if (wasConnected) this.fire('disconnect', reason);
    if (this.state === 'closed' || this.state === 'refused') return;
    // 0.5 s, 1 s, 2 s, ... up to maxDelay, each randomised by +-50 %.
    const base = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempts);
    const delay = Math.round(base * (0.5 + Math.random()));
    this.attempts++;
    this.setState('reconnecting', `${reason}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }
}
