// demo_browser.js: opens the sockgate demo page (cmd/demo) in Debian's
// headless chromium, driven by playwright-core, and reports what it saw.
//
//   node demo_browser.js URL [--expect progress|refused|refreshed] [--until MS]
//                            [--timeout MS] [--screenshot FILE] [--chromium PATH]
//
// --expect progress (the default) waits until a job's progress bar
// (<progress data-job=... data-pct=...>) reaches 100; --expect refused
// waits until the page shows the server's CONNECT_ERROR (body
// data-auth-error); --expect refreshed waits until the clock passes
// --until (Unix milliseconds) with the page's token renewed at least once
// (body data-refreshes), and fails when the server signed the page out
// (data-expired) or it is not connected then. It then prints ONE JSON
// line on stdout:
//
//   {"ok":true,"expect":"progress","state":"connected","bars":{"sheet-sync":100,...},
//    "senders":{"sheet-sync":4711,...},"senderText":["sent by worker pid 4711",...],
//    "authError":null,"refreshes":0,"tokenExpires":1767229200,"expired":null,
//    "elapsedMs":1234,"console":[...],"screenshot":"FILE"}
//
// and exits 0, or prints {"ok":false,"error":...,...} and exits 1. The
// browser runs with a fresh temporary profile (playwright's launch creates
// and removes the --user-data-dir) and no network access beyond the page.
'use strict';

const { chromium } = require('playwright-core');

function parseArgs(argv) {
  const opts = { url: '', expect: 'progress', until: 0, timeout: 60000, screenshot: '', chromium: '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--expect') opts.expect = next();
    else if (a === '--timeout') opts.timeout = Number(next());
    else if (a === '--until') opts.until = Number(next());
    else if (a === '--screenshot') opts.screenshot = next();
    else if (a === '--chromium') opts.chromium = next();
    else if (!a.startsWith('--') && !opts.url) opts.url = a;
    else throw new Error(`unknown argument ${JSON.stringify(a)}`);
  }
  if (!opts.url) throw new Error('usage: node demo_browser.js URL [--expect progress|refused|refreshed] [--until MS] [--timeout MS] [--screenshot FILE]');
  if (!['progress', 'refused', 'refreshed'].includes(opts.expect)) {
    throw new Error(`--expect wants progress, refused or refreshed, not ${JSON.stringify(opts.expect)}`);
  }
  if (opts.expect === 'refreshed' && !(opts.until > 0)) throw new Error('--expect refreshed needs --until (Unix milliseconds)');
  if (!(opts.timeout > 0)) throw new Error('--timeout wants a positive number of milliseconds');
  return opts;
}

// observe reads what the page shows now.
async function observe(page) {
  return page.evaluate(() => {
    const bars = {};
    for (const p of document.querySelectorAll('progress[data-job]')) bars[p.dataset.job] = Number(p.dataset.pct);
    const senders = {};
    for (const r of document.querySelectorAll('.job[data-pid]')) senders[r.dataset.job] = Number(r.dataset.pid);
    return {
      state: document.body.dataset.state || null,
      authError: document.body.dataset.authError || null,
      refreshes: Number(document.body.dataset.refreshes || 0),
      tokenExpires: Number(document.body.dataset.tokenExpires || 0),
      expired: document.body.dataset.expired || null,
      bars,
      senders,
      senderText: [...document.querySelectorAll('.job .sender')].map((e) => e.textContent),
      pctText: [...document.querySelectorAll('.job .pct')].map((e) => e.textContent),
    };
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const began = Date.now();
  const report = { ok: false, expect: opts.expect, console: [] };
  const browser = await chromium.launch({
    executablePath: opts.chromium,
    headless: true,
    timeout: opts.timeout,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let page;
  try {
    page = await browser.newPage();
    page.on('console', (m) => report.console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => report.console.push(`pageerror: ${e.message}`));
    await page.goto(opts.url, { timeout: opts.timeout });
    const left = () => Math.max(1, opts.timeout - (Date.now() - began));
    if (opts.expect === 'refreshed') {
      await page.waitForFunction((until) => document.body.dataset.expired ||
        (Date.now() >= until && Number(document.body.dataset.refreshes || 0) >= 1), opts.until, { polling: 100, timeout: left() });
      const seen = await observe(page);
      Object.assign(report, seen, { ok: !seen.expired && seen.state === 'connected' });
      if (!report.ok) report.error = seen.expired ? `signed out: the token expired at ${seen.expired}` : `state ${seen.state}`;
    } else {
      const selector = opts.expect === 'progress' ? 'progress[data-job][data-pct="100"]' : 'body[data-auth-error]';
      await page.waitForSelector(selector, { state: 'attached', timeout: left() });
      Object.assign(report, await observe(page), { ok: true });
    }
  } catch (err) {
    report.error = String(err && err.message || err).split('\n')[0];
    if (page) Object.assign(report, await observe(page).catch(() => ({})));
  } finally {
    if (page && opts.screenshot) {
      await page.screenshot({ path: opts.screenshot, fullPage: true }).then(() => { report.screenshot = opts.screenshot; }, () => {});
    }
    report.elapsedMs = Date.now() - began;
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report) + '\n');
  process.exitCode = report.ok ? 0 : 1;
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err && err.message || err).split('\n')[0] }) + '\n');
  process.exitCode = 1;
});
