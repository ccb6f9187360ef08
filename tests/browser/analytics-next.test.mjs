// @segment/analytics-next from npm, unmodified, in headless Chromium against a
// real `firstlog serve`. The page (a second origin) loads the package's own UMD
// build (dist/umd/index.js, global AnalyticsNext) and calls
//
//   AnalyticsNext.AnalyticsBrowser.load({writeKey, cdnURL: COLLECTOR}, options)
//
// so the SDK fetches COLLECTOR/v1/projects/{writeKey}/settings, whose
// integrations["Segment.io"] (apiHost, protocol, apiKey) sends its events back
// to the collector (short paths /v1/t, /v1/p, /v1/i, ... or /v1/b when batching,
// Authorization: Basic, hence CORS preflights). Nothing else in the page points
// at the collector. Delivery: standard (the default), and batching (asked for
// in the load options, the usual place). Each call's messageId (from the
// Context the SDK resolves) must be stored exactly once with the documented
// fields.
//
//   FIRSTLOG_BIN=/path/to/firstlog node analytics-next.test.mjs

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { createStore, startCollector, readEvents } from './lib/collector.mjs';
import { startPageServer } from './lib/page-server.mjs';
import { launchChromium, watchPage } from './lib/browser.mjs';
import { suite } from './lib/runner.mjs';
import { sleep, waitFor } from './lib/util.mjs';

const require = createRequire(import.meta.url);
const UMD = fs.readFileSync(require.resolve('@segment/analytics-next/dist/umd/index.js'), 'utf8');
const VERSION = require('@segment/analytics-next/package.json').version;
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const t = suite('analytics-next.test.mjs');
let store, collector, site, browser;
const pageOptions = {}; // path -> load options

function pageHtml(url) {
  const options = pageOptions[url.pathname] || {};
  return `<!doctype html><html><head><meta charset="utf-8"><title>AJS ${url.pathname}</title>
<script src="/vendor/analytics-next.js"></script>
<script>
  window.ajs = AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: ${JSON.stringify(store.source.write_key)}, cdnURL: ${JSON.stringify(collector.url)} },
    ${JSON.stringify(options)});
</script></head><body>analytics-next ${url.pathname}</body></html>`;
}

t.before(async () => {
  store = createStore('Web');
  collector = await startCollector(store);
  site = await startPageServer({
    routes: {
      '/vendor/analytics-next.js': { type: 'application/javascript', body: UMD },
      '/favicon.ico': { type: 'image/x-icon', body: '' },
      '*': (url) => ({ body: pageHtml(url) }),
    },
  });
  // What the SDK asks first; without it nothing is sent at all.
  const res = await fetch(`${collector.url}/v1/projects/${store.source.write_key}/settings`, { headers: { Origin: site.url } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /v1/projects/{writeKey}/settings answers ${res.status}: ${text.slice(0, 300)}`);
  const settings = JSON.parse(text);
  const seg = settings.integrations && settings.integrations['Segment.io'];
  assert.ok(seg, `settings without integrations["Segment.io"]: ${text}`);
  console.log(`collector ${collector.url}, site ${site.url}, analytics-next ${VERSION}; settings: ${text}`);
  browser = await launchChromium();
});

t.after(async () => {
  if (browser) await browser.close();
  if (site) await site.close();
  if (collector) await collector.stop();
});

t.diagnostics(() => (collector ? collector.output().split('\n').slice(-30).join('\n') : ''));

/** Opens `path` in a fresh context; returns {context, page, foreign}: requests to other hosts. */
async function open(path, log) {
  const context = await browser.newContext();
  const page = await context.newPage();
  watchPage(page, log);
  const foreign = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.hostname !== '127.0.0.1') foreign.push(`${r.method()} ${r.url()}`);
  });
  await page.goto(site.url + path);
  await page.waitForFunction(() => window.ajs && window.ajs.instance && window.ajs.instance.initialized, null, { timeout: 15000 });
  return { context, page, foreign };
}

/** The calls of every scenario; returns what each resolved to. */
async function callEverything(page) {
  return page.evaluate(async () => {
    const a = window.ajs;
    const out = {};
    const take = (ctx) => ({ messageId: ctx.event.messageId, timestamp: ctx.event.timestamp, anonymousId: ctx.event.anonymousId, failed: ctx.failedDelivery() ? String(ctx.failedDelivery().reason) : null });
    out.page = take(await a.page('Docs', 'Pricing', { plan_shown: 'team' }));
    out.track = take(await a.track('Button Clicked', { label: 'Sign up', n: 3, ok: true, nested: { a: [1, 'two', null] } }));
    out.identify = take(await a.identify('user-42', { plan: 'team', email: 'sally@example.com' }));
    out.after = take(await a.track('Plan Chosen', { plan: 'team' }));
    const ts = (x) => (x.timestamp instanceof Date ? x.timestamp.toISOString() : x.timestamp);
    for (const k of Object.keys(out)) out[k].timestamp = ts(out[k]);
    return out;
  });
}

/** Waits for each message id to be stored, then checks each is there once, with its fields. */
async function checkStored(calls, { pagePath }) {
  const ids = Object.values(calls).map((c) => c.messageId);
  const stored = () => readEvents(collector.url, store).then((evs) => evs.filter((e) => ids.includes(e.message_id)));
  await waitFor(async () => new Set((await stored()).map((e) => e.message_id)).size === ids.length, {
    timeoutMs: 20000,
    what: `the ${ids.length} messages stored`,
  }).catch(async (e) => {
    throw new Error(`${e.message}; stored: ${JSON.stringify((await stored()).map((x) => [x.event, x.message_id]))}`);
  });
  await sleep(2000);
  const events = await stored();
  const one = (call) => {
    const got = events.filter((e) => e.message_id === call.messageId);
    assert.equal(got.length, 1, `${call.messageId} stored ${got.length} times`);
    return got[0];
  };
  const aid = calls.page.anonymousId;
  for (const [name, call] of Object.entries(calls)) {
    assert.equal(call.failed, null, `${name}: the SDK reports a failed delivery: ${call.failed}`);
    const e = one(call);
    assert.equal(e.source_id, store.source.id);
    assert.equal(e.context.library.name, 'analytics.js');
    assert.equal(e.context.library.version, `next-${VERSION}`);
    assert.equal(e.context.page.path, pagePath);
    assert.equal(e.context.page.url, site.url + pagePath);
    assert.match(e.context.original_timestamp, ISO_MS);
    assert.equal(e.context.original_timestamp, call.timestamp);
  }
  const page = one(calls.page);
  assert.equal(page.event, 'Page Viewed');
  assert.equal(page.profile_id, aid);
  assert.equal(page.properties.name, 'Pricing');
  assert.equal(page.properties.category, 'Docs');
  assert.equal(page.properties.plan_shown, 'team');
  assert.equal(page.properties.path, pagePath);

  const track = one(calls.track);
  assert.equal(track.event, 'Button Clicked');
  assert.equal(track.profile_id, aid);
  assert.deepEqual(track.properties, { label: 'Sign up', n: 3, ok: true, nested: { a: [1, 'two', null] } });

  const ident = one(calls.identify);
  assert.equal(ident.event, 'Profile Identified');
  assert.equal(ident.profile_id, 'user-42');
  assert.equal(ident.context.anonymous_id, aid);
  assert.deepEqual(ident.properties.traits, { plan: 'team', email: 'sally@example.com' });

  const after = one(calls.after);
  assert.equal(after.event, 'Plan Chosen');
  assert.equal(after.profile_id, 'user-42');
  assert.equal(after.context.anonymous_id, aid);
  return events;
}

t.scenario('standard delivery: page, track, identify stored exactly once', async ({ log }) => {
  const { context, page, foreign } = await open('/standard/', log);
  const calls = await callEverything(page);
  await checkStored(calls, { pagePath: '/standard/' });
  assert.deepEqual(foreign, [], 'requests to other hosts');
  await context.close();
});

pageOptions['/batching/'] = {
  integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: 1000 } } } },
};
t.scenario('batching delivery: page, track, identify stored exactly once', async ({ log }) => {
  const { context, page, foreign } = await open('/batching/', log);
  const calls = await callEverything(page);
  await checkStored(calls, { pagePath: '/batching/' });
  assert.ok(log.some((l) => l.startsWith('request: POST') && l.includes('/v1/b')), 'sent through the batch path /v1/b');
  assert.deepEqual(foreign, [], 'requests to other hosts');
  await context.close();
});

pageOptions['/batching-close/'] = {
  integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 100, timeout: 60000 } } } },
};
t.scenario('batching delivery: events pending when the page closes are delivered (keepalive)', async ({ log }) => {
  const { context, page } = await open('/batching-close/', log);
  const calls = await callEverything(page);
  await page.close({ runBeforeUnload: true });
  await checkStored(calls, { pagePath: '/batching-close/' });
  await context.close();
});

await t.run();
