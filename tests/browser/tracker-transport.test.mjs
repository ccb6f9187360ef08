// firstparty.js's transport against the capture server (no collector needed), for
// what a real collector will not do on demand: failures. Checks the request shape
// (a simple CORS request: POST text/plain, no Authorization, so no preflight),
// batching at flushAt, retries on 5xx (same messageIds) and per-message results,
// 429 with Retry-After, 4xx dropped with one console.warn, two tabs never sending
// the same message, the adoption of a dead page's queue, offline, and no
// localStorage at all.
//
//   node tracker-transport.test.mjs      (TRACKER_FILE=firstparty.js for the source)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startCaptureServer } from './lib/capture-server.mjs';
import { startPageServer } from './lib/page-server.mjs';
import { launchChromium, watchPage } from './lib/browser.mjs';
import { suite } from './lib/runner.mjs';
import { sleep, waitFor, trackerDir, isUuidV4 } from './lib/util.mjs';

const TRACKER_FILE = process.env.TRACKER_FILE || 'firstparty.min.js';
const KEY = 'wk_transport_test';
const t = suite('tracker-transport.test.mjs');
let capture, site, browser;
let respond = () => null; // per scenario: record -> {status, headers, body} | null (200)

t.before(async () => {
  capture = await startCaptureServer({ respond: (r) => respond(r), cors: { exposeHeaders: 'Retry-After' } });
  site = await startPageServer({
    routes: {
      '*': (url) => {
        if (url.pathname.startsWith('/js/')) return { type: 'application/javascript', body: fs.readFileSync(path.join(trackerDir, TRACKER_FILE)) };
        if (url.pathname === '/favicon.ico') return { type: 'image/x-icon', body: '' };
        const options = url.searchParams.get('options') || '{}';
        const snippet = fs
          .readFileSync(path.join(trackerDir, 'snippet.html'), 'utf8')
          .replaceAll('{{WRITE_KEY}}', KEY)
          .replaceAll('{{HOST}}', capture.url)
          .replaceAll('{{PREFIX}}', '')
          .replace(`${capture.url}/js/firstparty.min.js`, `/js/${TRACKER_FILE}`)
          .replace('{prefix:""}', options);
        return { body: `<!doctype html><title>T ${url.pathname}</title>${snippet}<body>transport</body>` };
      },
    },
  });
  browser = await launchChromium();
});

t.after(async () => {
  if (browser) await browser.close();
  if (site) await site.close();
  if (capture) await capture.close();
});

async function open(context, pathAndQuery, log) {
  const page = await context.newPage();
  watchPage(page, log);
  await page.goto(site.url + pathAndQuery);
  await page.waitForFunction(() => window.firstparty && window.firstparty.initialized === true);
  return page;
}

const posts = () => capture.records.filter((r) => r.method === 'POST');
const idsOf = (r) => r.body.json.batch.map((m) => m.messageId);
const allIds = () => posts().flatMap(idsOf);
const named = (name) => posts().flatMap((r) => r.body.json.batch).filter((m) => m.event === name);

function scenario(title, fn) {
  t.scenario(title, async (ctx) => {
    capture.reset();
    respond = () => null;
    const context = await browser.newContext();
    try {
      await fn(context, ctx.log);
    } finally {
      await context.close();
    }
  });
}

scenario('request shape: POST /v1/batch text/plain, write key in the body, no preflight; flushAt 10', async (context, log) => {
  const page = await open(context, '/shape/', log);
  await page.evaluate(() => {
    for (let i = 0; i < 9; i++) window.firstparty.track('Tick', { i });
  });
  // The page view and 9 ticks make 10: sent at once, not after flushInterval.
  await waitFor(() => posts().length >= 1, { timeoutMs: 3000, what: 'a request at flushAt' });
  const r = posts()[0];
  assert.equal(r.path, '/v1/batch');
  assert.equal(r.headers['Content-Type'], 'text/plain');
  assert.equal(r.headers.Authorization, undefined);
  assert.equal(capture.records.filter((x) => x.method === 'OPTIONS').length, 0, 'no CORS preflight');
  const body = r.body.json;
  assert.deepEqual(Object.keys(body).sort(), ['batch', 'sentAt', 'writeKey']);
  assert.equal(body.writeKey, KEY);
  assert.equal(body.batch.length, 10);
  const [pv, tick] = body.batch;
  assert.equal(pv.type, 'page');
  assert.equal(tick.type, 'track');
  assert.equal(tick.event, 'Tick');
  for (const m of body.batch) {
    assert.ok(isUuidV4(m.messageId) && isUuidV4(m.anonymousId));
    assert.ok(m.timestamp <= body.sentAt);
    assert.deepEqual(Object.keys(m.context).sort(), ['library', 'locale', 'page', 'screen', 'timezone', 'userAgent']);
  }
  assert.deepEqual(Object.keys(pv.properties).sort(), ['path', 'referrer', 'search', 'title', 'url']);
  await page.evaluate(() => window.firstparty.track('Tick', { i: 9 }));
  await sleep(2000);
  assert.equal(posts().length, 1, 'the 11th message waits for flushInterval');
  await waitFor(() => posts().length === 2, { timeoutMs: 6000, what: 'the flushInterval request' });
  assert.equal(posts()[1].body.json.batch.length, 1);
});

scenario('500 then 200: the same messages are sent again, once', async (context, log) => {
  let n = 0;
  respond = (r) => (r.method === 'POST' && n++ === 0 ? { status: 500, body: { error: 'store_error' } } : null);
  const page = await open(context, '/retry/?options={flushInterval:200}', log);
  await waitFor(() => posts().length >= 2, { timeoutMs: 8000, what: 'the retry' });
  await sleep(3000);
  assert.equal(posts().length, 2);
  assert.deepEqual(idsOf(posts()[1]), idsOf(posts()[0]));
  assert.ok(Date.parse(posts()[1].at) - Date.parse(posts()[0].at) >= 700, 'backoff before the retry');
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('fp_q:'))), [], 'queue empty after delivery');
});

scenario('per-message results: only the messages that failed with 5xx are sent again', async (context, log) => {
  let n = 0;
  respond = (r) => {
    if (r.method !== 'POST' || !r.body.json.batch.some((m) => m.event === 'Flaky') || n++ > 0) return null;
    const results = r.body.json.batch.map((m, i) => (m.event === 'Flaky' ? { status: 503, index: i } : m.event === 'Bad' ? { status: 400, index: i } : { status: 200, index: i }));
    return { status: 200, body: { success: true, results } };
  };
  const page = await open(context, '/results/?options={page:false,flushInterval:200}', log);
  await page.evaluate(() => {
    window.firstparty.track('Fine');
    window.firstparty.track('Flaky');
    window.firstparty.track('Bad');
  });
  await waitFor(() => posts().length >= 2, { timeoutMs: 8000, what: 'the retry' });
  await sleep(2500);
  assert.equal(posts().length, 2);
  assert.deepEqual(posts()[1].body.json.batch.map((m) => m.event), ['Flaky']);
  assert.ok(log.some((l) => l.startsWith('console.warning') && l.includes('[firstparty.js]')), 'a warning for the dropped message');
});

scenario('429 with Retry-After: 2 waits at least 2 s', async (context, log) => {
  let n = 0;
  respond = (r) => (r.method === 'POST' && n++ === 0 ? { status: 429, headers: { 'Retry-After': '2' }, body: { error: 'slow down' } } : null);
  await open(context, '/429/?options={flushInterval:200}', log);
  await waitFor(() => posts().length >= 2, { timeoutMs: 8000, what: 'the retry' });
  const gap = Date.parse(posts()[1].at) - Date.parse(posts()[0].at);
  assert.ok(gap >= 1950, `retried after ${gap} ms`);
});

scenario('400: dropped with one console.warn, never sent again', async (context, log) => {
  respond = (r) => (r.method === 'POST' ? { status: 400, body: { error: 'invalid_event' } } : null);
  const page = await open(context, '/400/?options={flushInterval:200}', log);
  await page.evaluate(() => window.firstparty.track('Refused'));
  await sleep(1500);
  await page.evaluate(() => window.firstparty.track('Refused Too'));
  await sleep(1500);
  const sent = allIds();
  assert.equal(new Set(sent).size, sent.length, 'nothing sent twice');
  assert.equal(log.filter((l) => l.startsWith('console.warning') && l.includes('[firstparty.js]')).length, 1, 'one warning');
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('fp_q:'))), []);
});

scenario('two tabs: neither sends the other one\'s queued messages', async (context, log) => {
  const a = await open(context, '/tab-a/?options={flushInterval:3000}', log);
  await a.evaluate(() => window.firstparty.track('From A'));
  const b = await open(context, '/tab-b/?options={flushInterval:3000}', log); // loads while A's messages wait
  await b.evaluate(() => window.firstparty.track('From B'));
  await waitFor(() => named('From A').length && named('From B').length, { timeoutMs: 10000, what: 'both tabs sent' });
  await sleep(1000);
  const sent = allIds();
  assert.equal(new Set(sent).size, sent.length, 'no message sent twice');
  assert.equal(named('From A').length, 1);
  assert.equal(named('From B').length, 1);
});

scenario('a dead page\'s queue (no pagehide, stale) is adopted and sent by the next page', async (context, log) => {
  const page = await open(context, '/adopt-setup/?options={page:false}', log);
  const old = new Date(Date.now() - 10 * 60 * 1000).toISOString();
  const message = { type: 'track', event: 'Orphan', messageId: '6c1b7c3e-6d0a-4a51-9d52-1f1a7d1d2c11', anonymousId: 'a', timestamp: old, properties: {}, context: {} };
  await page.evaluate(
    ({ key, message }) => {
      localStorage.setItem(`fp_q:${key}:deadpage`, JSON.stringify({ t: Date.now() - 5 * 60 * 1000, c: 0, q: [{ m: message, n: 0 }] }));
      localStorage.setItem(`fp_q:${key}:livepage`, JSON.stringify({ t: Date.now(), c: 0, q: [{ m: { ...message, event: 'Not Mine', messageId: 'x' }, n: 0 }] }));
    },
    { key: KEY, message }
  );
  const next = await open(context, '/adopt/?options={flushInterval:200}', log);
  await waitFor(() => named('Orphan').length, { timeoutMs: 5000, what: 'the orphan sent' });
  await sleep(1000);
  assert.equal(named('Orphan').length, 1);
  assert.equal(named('Not Mine').length, 0, 'a live page\'s entry is left alone');
  const keys = await next.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('fp_q:')));
  assert.deepEqual(keys, [`fp_q:${KEY}:livepage`]);
});

scenario('offline: nothing is attempted while offline, the queue goes when back online', async (context, log) => {
  const page = await open(context, '/offline/?options={flushInterval:200}', log);
  await waitFor(() => posts().length === 1, { timeoutMs: 5000, what: 'the page view' });
  await context.setOffline(true);
  await page.evaluate(() => window.firstparty.track('Offline One'));
  await sleep(2000);
  assert.equal(posts().length, 1, 'no request while offline');
  const failed = log.filter((l) => l.startsWith('requestfailed')).length;
  assert.equal(failed, 0, 'not even a failed attempt');
  await context.setOffline(false);
  await waitFor(() => named('Offline One').length === 1, { timeoutMs: 3000, what: 'sent when online again' });
});

scenario('localStorage unavailable: still tracks, in memory', async (context, log) => {
  await context.addInitScript(() => {
    Object.defineProperty(window, 'localStorage', {
      get() {
        throw new DOMException('denied', 'SecurityError');
      },
    });
  });
  const page = await open(context, '/nostorage/?options={flushInterval:200}', log);
  await page.evaluate(() => window.firstparty.track('No Storage'));
  await waitFor(() => named('No Storage').length === 1, { timeoutMs: 5000, what: 'the event' });
  const m = named('No Storage')[0];
  assert.ok(isUuidV4(m.anonymousId));
  assert.equal(log.filter((l) => l.includes('internal error')).length, 0, 'no internal error');
});

await t.run();
