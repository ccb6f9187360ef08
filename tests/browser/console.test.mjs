// The web console in headless Chromium against `firstlog demo --serve` (the
// demo's five sources, a generated week of events, the console and a
// generated read token): a wrong token is refused; logged in, every source is
// listed with the counts the read API and `firstlog stats` give; a source's
// page draws its chart (uPlot canvas with the series' pixels); an event
// collected during the test appears in the live stream within 2 s and expands
// to its JSON; the rejected payloads and the store page (with an erasure
// request made over HTTP) render. Screenshots go to target/console-screenshots/;
// the time to first render (navigation start to the sources table filled) is
// printed.
//
//   FIRSTLOG_BIN=/path/to/firstlog node console.test.mjs

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { firstlogBin } from './lib/collector.mjs';
import { launchChromium, watchPage } from './lib/browser.mjs';
import { suite } from './lib/runner.mjs';
import { repoDir, sleep, tempDir, waitFor } from './lib/util.mjs';

const EVENTS = Number(process.env.CONSOLE_DEMO_EVENTS || 20000);
const SHOTS = path.join(repoDir, 'target', 'console-screenshots');
const VIEWPORT = { width: 1360, height: 900 };

const t = suite('console.test.mjs');
let bin, dataDir, server, url, token, browser, stdout = '', stderr = '';
let sources = []; // from GET /v1/sources/{id}/counts and stats

const api = (p, init = {}) =>
  fetch(`${url}${p}`, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers || {}) } });

t.before(async () => {
  bin = firstlogBin();
  dataDir = path.join(tempDir('firstlog-console-'), 'store');
  fs.mkdirSync(SHOTS, { recursive: true });
  server = spawn(bin, ['demo', '--events', String(EVENTS), '--data', dataDir, '--serve', '--addr', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d) => (stdout += d));
  server.stderr.on('data', (d) => (stderr += d));
  await waitFor(() => /log in with the read token\n\s+(\S+)/.test(stdout) || server.exitCode !== null, {
    timeoutMs: 100000,
    everyMs: 100,
    what: 'demo --serve to print the console address and token',
  });
  const listening = /^listening on (\S+)/m.exec(stdout);
  const tokenLine = /log in with the read token\n\s+(\S+)/.exec(stdout);
  if (!listening || !tokenLine) throw new Error(`demo --serve did not start:\n${stdout}\n${stderr}`);
  url = listening[1].replace(/\/$/, '');
  token = tokenLine[1];
  assert.match(stdout, new RegExp(`The console: open ${url.replace(/[.]/g, '\\.')}/ and log in`));

  // The expected numbers, from the counts endpoint and the CLI (read-only open beside serve).
  const stats = JSON.parse(execFileSync(bin, ['--data', dataDir, 'stats', '--format', 'ndjson'], { encoding: 'utf8' }));
  for (const s of stats.sources) {
    const res = await api(`/v1/sources/${s.id}/counts?by=day`);
    assert.equal(res.status, 200);
    const counts = await res.json();
    assert.equal(counts.events, s.events, `source ${s.id}: counts and stats agree`);
    sources.push({ id: s.id, name: s.name, events: counts.events, profiles: counts.profiles });
  }
  assert.equal(sources.length, 5);
  browser = await launchChromium();
});

t.after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  if (dataDir) fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
});

t.diagnostics(() => `--- demo --serve stdout (tail)\n${stdout.slice(-1500)}\n--- stderr (tail)\n${stderr.slice(-1500)}`);

async function newPage(log) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  watchPage(page, log);
  // Any CSP violation fails the test.
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) log.push(`CSP: ${m.text()}`);
  });
  return page;
}

async function login(page, withToken) {
  await page.goto(`${url}/`);
  await page.waitForSelector('#login-form', { state: 'visible' });
  await page.fill('#token', withToken);
  await page.click('#login-form button[type=submit]');
}

const cspViolations = (log) => log.filter((l) => l.startsWith('CSP:') || l.startsWith('pageerror'));

t.scenario('a wrong token is refused (login error shown, API 401 without a token, 403 with a wrong one)', async ({ log }) => {
  const page = await newPage(log);
  await login(page, 'not-the-token');
  const error = await page.waitForSelector('#login-error', { state: 'visible', timeout: 5000 });
  assert.match(await error.textContent(), /refused/);
  assert.equal(await page.isVisible('#sources-table'), false);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('firstlog.readToken')), null);
  await page.screenshot({ path: path.join(SHOTS, 'login-refused.png') });
  const none = await fetch(`${url}/v1/sources`);
  assert.equal(none.status, 401);
  assert.equal((await none.json()).error, 'missing_read_token');
  const wrong = await fetch(`${url}/v1/sources`, { headers: { Authorization: 'Bearer not-the-token' } });
  assert.equal(wrong.status, 403);
  assert.equal((await wrong.json()).error, 'wrong_read_token');
  assert.deepEqual(cspViolations(log), []);
  await page.context().close();
});

t.scenario('logged in, every source is listed with the right counts', async ({ log }) => {
  const page = await newPage(log);
  await login(page, token);
  await page.waitForSelector('body[data-rendered="sources"]', { timeout: 10000 });
  const rows = await page.$$eval('#sources-table tr.source', (trs) =>
    trs.map((tr) => ({
      id: Number(tr.dataset.sourceId),
      name: tr.querySelector('[data-field=name]').textContent,
      events: Number(tr.querySelector('[data-field=events]').dataset.value),
      eventsText: tr.querySelector('[data-field=events]').textContent,
      profiles: Number(tr.querySelector('[data-field=profiles]').dataset.value),
      sparkline: !!tr.querySelector('.spark canvas'),
    })),
  );
  assert.equal(rows.length, sources.length);
  for (const s of sources) {
    const row = rows.find((r) => r.id === s.id);
    assert.ok(row, `source ${s.id} listed`);
    assert.equal(row.name, s.name);
    assert.equal(row.events, s.events, `${s.name}: events`);
    assert.equal(row.eventsText, s.events.toLocaleString('en-US'));
    assert.equal(row.profiles, s.profiles, `${s.name}: profiles`);
    assert.ok(row.sparkline, `${s.name}: sparkline drawn`);
  }
  // The write key and the snippet of the first source.
  const key = JSON.parse(execFileSync(bin, ['--data', dataDir, 'source', 'list', '--format', 'ndjson'], { encoding: 'utf8' }).split('\n')[0]).write_key;
  await page.click('tr.setup[data-source-id="1"] summary');
  assert.equal(await page.textContent('tr.setup[data-source-id="1"] [data-field=write_key]'), key);
  assert.match(await page.textContent('tr.setup[data-source-id="1"] pre.snippet'), new RegExp(`${key}.*${url.replace(/[.]/g, '\\.')}|${url.replace(/[.]/g, '\\.')}.*${key}`, 's'));
  await page.click('tr.setup[data-source-id="1"] summary');
  await page.screenshot({ path: path.join(SHOTS, 'sources.png'), fullPage: true });
  assert.deepEqual(cspViolations(log), []);
  await page.context().close();
});

t.scenario('a source page draws its chart; a collected event appears in the live stream within 2 s and expands to its JSON', async ({ log }) => {
  const page = await newPage(log);
  await login(page, token);
  await page.waitForSelector('body[data-rendered="sources"]');
  await page.click('#sources-table tr.source[data-source-id="1"] a');
  await page.waitForSelector('body[data-rendered="source"]', { timeout: 10000 });
  assert.equal(await page.textContent('[data-field=events]'), sources[0].events.toLocaleString('en-US'));
  // The chart: a uPlot canvas with the events series' blue in it.
  const pixels = await page.$eval('#chart canvas', (c) => {
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let series = 0;
    let painted = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 0) painted++;
      if (data[i + 3] > 0 && data[i + 2] > data[i] + 60 && data[i + 2] > 150) series++;
    }
    return { series, painted, width: c.width, height: c.height };
  });
  assert.ok(pixels.width > 300 && pixels.height > 200, JSON.stringify(pixels));
  assert.ok(pixels.series > 500, `the events series is drawn: ${JSON.stringify(pixels)}`);
  assert.ok(Number(await page.getAttribute('#chart', 'data-events')) > 0);
  assert.ok((await page.$$('#top-names tbody tr')).length > 3, 'top event names listed');

  await page.waitForSelector('#stream[data-ready]');
  // Let the first long poll start, as a user who keeps the page open.
  await sleep(500);
  const profile = `console-test-${Date.now()}`;
  const writeKey = await (await api('/v1/sources/1')).json().then((s) => s.write_key);
  const sent = Date.now();
  const res = await fetch(`${url}/events/track`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ event: 'Console Check Viewed', write_key: writeKey, profile_id: profile, properties: { from: 'console.test.mjs' } }),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  const { seq } = JSON.parse(body);
  const row = await page.waitForSelector(`#stream details[data-seq="${seq}"]`, { timeout: 2000 });
  const latency = Date.now() - sent;
  console.log(`     live stream: the event appeared ${latency} ms after it was collected`);
  assert.ok(latency <= 2000, `${latency} ms`);
  assert.equal(await row.$eval('.name', (e) => e.textContent), 'Console Check Viewed');
  // It is the newest, at the top.
  assert.equal(await page.$eval('#stream details', (d) => d.dataset.seq), String(seq));
  await row.$eval('summary', (s) => s.click());
  const json = JSON.parse(await row.$eval('pre.json', (p) => p.textContent));
  assert.equal(json.seq, seq);
  assert.equal(json.event, 'Console Check Viewed');
  assert.equal(json.profile_id, profile);
  assert.deepEqual(json.properties, { from: 'console.test.mjs' });
  assert.ok(await row.$eval('pre.json', (p) => p.offsetHeight > 50), 'the JSON is shown');
  await page.screenshot({ path: path.join(SHOTS, 'source.png'), fullPage: true });

  // Hourly to daily: the chart is redrawn.
  await page.selectOption('#range', '30d');
  await page.waitForFunction(() => sessionStorage.getItem('firstlog.range') === '30d' && document.querySelector('#chart canvas'));
  assert.deepEqual(cspViolations(log), []);
  await page.context().close();
});

t.scenario('rejected payloads and the store page (with an erasure asked over HTTP)', async ({ log }) => {
  const asked = await api('/v1/erasures', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ profile_id: 'user-1', sources: [1] }),
  });
  assert.equal(asked.status, 202);
  const erasure = await asked.json();
  const page = await newPage(log);
  await login(page, token);
  await page.waitForSelector('body[data-rendered="sources"]');
  await page.click('[data-nav=rejected]');
  await page.waitForSelector('body[data-rendered="rejected"]');
  const rejected = await (await api('/v1/rejected?limit=200')).json();
  assert.ok(rejected.rejected.length > 0, 'the demo leaves rejected payloads');
  assert.equal((await page.$$('#rejected-table tbody tr')).length, rejected.rejected.length);
  assert.equal(await page.textContent('#rejected-table tbody tr td:nth-child(2)'), rejected.rejected[0].reason);
  await page.screenshot({ path: path.join(SHOTS, 'rejected.png') });

  await page.click('[data-nav=store]');
  await page.waitForSelector('body[data-rendered="store"]');
  const stats = await (await api('/v1/stats')).json();
  assert.equal(await page.textContent('#store-tiles [data-field=events]'), stats.events.toLocaleString('en-US'));
  assert.equal(await page.textContent('#store-tiles [data-field=ready]'), 'ready');
  assert.match(await page.textContent('#store-tiles [data-field=segments]'), /^\d+ \(\d+ sealed\)$/);
  assert.match(await page.textContent('#retention'), /Log start: sequence number 1/);
  const erasureRow = await page.textContent('#erasures-table tbody tr');
  assert.match(erasureRow, new RegExp(`#${erasure.id}`));
  await page.screenshot({ path: path.join(SHOTS, 'store.png'), fullPage: true });
  assert.deepEqual(cspViolations(log), []);
  await page.context().close();
});

t.scenario('time to first render (navigation start to the sources table filled)', async ({ log }) => {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const context = await browser.newContext({ viewport: VIEWPORT });
    await context.addInitScript((tok) => sessionStorage.setItem('firstlog.readToken', tok), token);
    const page = await context.newPage();
    watchPage(page, log);
    await page.goto(`${url}/`);
    await page.waitForSelector('body[data-rendered="sources"]', { timeout: 10000 });
    times.push(await page.evaluate(() => window.__firstlogRendered.ms));
    await context.close();
  }
  times.sort((a, b) => a - b);
  console.log(`     first render on the demo store (${EVENTS} payloads): ${times.map((t) => `${Math.round(t)} ms`).join(', ')} (median ${Math.round(times[1])} ms)`);
  assert.ok(times[1] < 5000, `${times[1]} ms`);
});

await t.run();
