// app.js: the demo page. It takes the sign-in token from the URL fragment
// (#token=..., which browsers never send to the server), keeps it in
// sessionStorage, removes it from the address bar, and connects with it as
// the Socket.IO handshake auth {"token": ...}. Each job gets a progress bar:
//   <progress data-job="sheet-sync" data-pct="40" value="40" max="100">
// and the body's data-state mirrors the connection state, for tests. Each
// row's data-pid is the worker process that sent the job's last event.
import { MiniSocket } from './sio.js';

const $ = (id) => document.getElementById(id);

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get('token');
  if (token) {
    sessionStorage.setItem('sockgate-demo-token', token);
    history.replaceState(null, '', location.pathname + location.search);
    return token;
  }
  return sessionStorage.getItem('sockgate-demo-token');
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
});
socket.on('progress', (p) => setProgress(p.job, p.pct, p));
socket.on('done', (d) => setProgress(d.job, d.ok ? 100 : Number(bar(d.job).querySelector('progress').value), d));
