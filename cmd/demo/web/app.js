// app.js: the demo page. It takes the sign-in token from the URL fragment
// (#token=..., which browsers never send to the server), keeps it in
// sessionStorage, removes it from the address bar, and connects with it as
// the Socket.IO handshake auth {"token": ...}. Each job gets a progress bar:
//   <progress data-job="sheet-sync" data-pct="40" value="40" max="100">
// and the body's data-state mirrors the connection state, for tests. Each
// row's data-pid is the worker process that sent the job's last event.
//
// The server disconnects a page whose token expired, so the page renews
// it halfway to its expiry: it asks the demo server for a fresh token
// ("renew-token"; a real application would ask its own sign-in backend)
// and hands it to the Socket.IO server on the reserved "sockgate:refresh"
// event, without reconnecting. The body's data-refreshes counts the
// tokens accepted, data-token-expires is the current expiry (Unix
// seconds), data-expired is set when the server signed the page out.
import { MiniSocket } from './sio.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'sockgate-demo-token';

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get('token');
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', location.pathname + location.search);
    return token;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function showError(text) {
  $('error').hidden = !text;
  $('error').textContent = text || '';
}

// bar returns the row of a job, creating it on first use.
function bar(job) {
  let row = document.querySelector(`.job[data-job="${CSS.escape(job)}"]`);
  if (!row) {
    row = document.createElement('div');
    row.className = 'job';
    row.dataset.job = job;
    const label = document.createElement('span');
    label.textContent = job;
    const progress = document.createElement('progress');
    progress.max = 100;
    progress.value = 0;
    progress.dataset.job = job;
    progress.dataset.pct = '0';
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.textContent = '0%';
    const sender = document.createElement('span');
    sender.className = 'sender';
    row.append(label, progress, pct, sender);
    $('jobs').append(row);
    $('empty').hidden = true;
  }
  return row;
}

// setProgress moves a job's bar; from, when given, is the event's sender
// {pid, sender}: the worker process that emitted it.
function setProgress(job, pct, from) {
  const row = bar(job);
  if (from && from.pid) {
    row.dataset.pid = String(from.pid);
    row.querySelector('.sender').textContent = `sent by ${from.sender || 'process'} pid ${from.pid}`;
  }
  const progress = row.querySelector('progress');
  progress.value = pct;
  progress.dataset.pct = String(pct);
  row.querySelector('.pct').textContent = `${pct}%`;
  row.classList.toggle('done', pct >= 100);
}

const token = takeToken();
if (!token) {
  showError('Not signed in: open the URL the demo printed (it carries #token=...). Connecting anyway, to show the refusal.');
}
const socket = new MiniSocket(location.origin, { auth: token ? { token } : {} });

socket.on('state', (state, detail) => {
  document.body.dataset.state = state;
  $('state').dataset.state = state;
  $('state').textContent = state;
  $('detail').textContent = detail ? `(${detail})` : '';
});
socket.on('connect', () => showError(''));
socket.on('connect_error', (err) => {
  showError(`Sign-in refused by the server: ${err.message}. Open the URL the demo printed last: ` +
    'without SOCKET_AUTH_SECRET every run signs with a new random secret, so older links stop working.');
  document.body.dataset.authError = err.message;
  $('empty').hidden = true;
});
socket.on('error', (err) => console.warn('sio:', err.message));
socket.on('welcome', (w) => {
  $('who').textContent = `Signed in as user ${w.user}; watching room ${w.room}.`;
  for (const job of w.jobs || []) bar(job); // rows in the server's order
  scheduleRenewal(w.expires);
});
socket.on('disconnect', () => clearTimeout(renewTimer));
socket.on('sockgate:expired', (x) => {
  showError(`Signed out: the token expired at ${new Date(x.expires * 1000).toLocaleTimeString()} ` +
    'before the page could renew it. Open the URL the demo printed again.');
  document.body.dataset.expired = String(x.expires);
});

let renewTimer;
let refreshes = 0;

// scheduleRenewal shows the token's expiry and renews it halfway there.
function scheduleRenewal(expires) {
  clearTimeout(renewTimer);
  document.body.dataset.tokenExpires = String(expires);
  $('token').textContent = `Token valid until ${new Date(expires * 1000).toLocaleTimeString()}` +
    (refreshes ? `, renewed ${refreshes} times without reconnecting.` : '.');
  renewTimer = setTimeout(renew, Math.max(1000, (expires * 1000 - Date.now()) / 2));
}

// renew gets a fresh token and hands it to the server; a failure is
// retried a second later (until the server signs the page out).
function renew() {
  const retry = (why) => {
    console.warn('token renewal:', why);
    renewTimer = setTimeout(renew, 1000);
  };
  socket.emit('renew-token', (r) => {
    if (!r || !r.token) return retry(`no token: ${r && r.error}`);
    socket.emit('sockgate:refresh', r.token, (res) => {
      if (!res || !res.ok) return retry(`refused: ${res && res.error}`);
      socket.auth = { token: r.token }; // a reconnection signs in with it
      sessionStorage.setItem(TOKEN_KEY, r.token);
      refreshes++;
      document.body.dataset.refreshes = String(refreshes);
      scheduleRenewal(res.expires);
    });
  }); // not connected: the next welcome schedules a renewal again
}
socket.on('progress', (p) => setProgress(p.job, p.pct, p));
socket.on('done', (d) => setProgress(d.job, d.ok ? 100 : Number(bar(d.job).querySelector('progress').value), d));
