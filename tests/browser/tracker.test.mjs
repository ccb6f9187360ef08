// firstparty.js (assets/tracker) in headless Chromium against a real `firstlog
// serve`: the test page comes from a second origin (a node server on another
// port), the tracker from the collector's /js/firstparty.min.js (default) or from
// the page's origin, and every scenario checks through the read API that each
// expected event is stored exactly once, with the documented fields.
//
//   FIRSTLOG_BIN=/path/to/firstlog node tracker.test.mjs
//   env: TRACKER_FROM=collector|page (default collector: the snippet's own URL)
//        TRACKER_FILE=firstparty.min.js|firstparty.js (with TRACKER_FROM=page)
//        ONLY=substring (run the scenarios whose title contains it)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createStore, startCollector, readEvents } from './lib/collector.mjs';
import { startPageServer } from './lib/page-server.mjs';
import { launchChromium, watchPage } from './lib/browser.mjs';
import { suite } from './lib/runner.mjs';
import { sleep, waitFor, isUuidV4, trackerDir } from './lib/util.mjs';

const TRACKER_FROM = process.env.TRACKER_FROM || 'collector';
const TRACKER_FILE = process.env.TRACKER_FILE || 'firstparty.min.js';
if (!['collector', 'page'].includes(TRACKER_FROM)) throw new Error(`TRACKER_FROM=${TRACKER_FROM}: collector or page`);
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const SETTLE_MS = 2500; // after the expected events arrived, wait this long for unexpected extra ones

const t = suite('tracker.test.mjs');
let store, collector, site, browser, browserInfo;
const serveLog = [];
const early = {}; // path -> inline script run right after the snippet (calls on the stub)

// ------------------------------------------------------------------ the site

function snippetFor(collectorUrl, siteUrl) {
  let html = fs
    .readFileSync(path.join(trackerDir, 'snippet.html'), 'utf8')
    .replaceAll('{{WRITE_KEY}}', store.source.write_key)
    .replaceAll('{{HOST}}', collectorUrl)
    .replaceAll('{{PREFIX}}', '');
  const src = `${collectorUrl}/js/firstparty.min.js`;
  assert.ok(html.includes(src), `snippet.html does not load ${src}`);
  if (TRACKER_FROM === 'page') html = html.replace(src, `${siteUrl}/js/${TRACKER_FILE}`);
  return html;
}

function pageHtml(url) {
  const title = `Page ${url.pathname}`;
  let snippet = snippetFor(collector.url, site.url);
  // ?tracker=page: this page loads the tracker from its own origin whatever
  // TRACKER_FROM says (a page loaded while the collector is down needs it).
  if (url.searchParams.get('tracker') === 'page') snippet = snippet.replace(`${collector.url}/js/firstparty.min.js`, `${site.url}/js/${TRACKER_FILE}`);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
${snippet}
<script>${early[url.pathname] || ''}</script>
</head><body><h1>${title}</h1><p id="section">section</p></body></html>`;
}

// ------------------------------------------------------------------ helpers

/** Message ids in each request the page sent to the collector (fetch; beacons of a closing page are not seen). */
const sentIds = new WeakMap();

async function openPage(context, pathAndQuery, log) {
  const page = await context.newPage();
  watchPage(page, log);
  const ids = [];
  sentIds.set(page, ids);
  page.on('request', (r) => {
    if (r.method() !== 'POST' || !r.url().startsWith(collector.url + '/v1/')) return;
    try {
      for (const m of JSON.parse(r.postData()).batch) ids.push(m.messageId);
    } catch {
      ids.push(`unparsable body: ${r.postData()}`);
    }
  });
  await page.goto(site.url + pathAndQuery);
  await page.waitForFunction(() => window.firstparty && window.firstparty.initialized === true, null, { timeout: 15000 });
  return page;
}

async function anonymousIdOf(context) {
  const cookie = (await context.cookies(site.url)).find((c) => c.name === 'fp_aid');
  assert.ok(cookie, 'no fp_aid cookie');
  return decodeURIComponent(cookie.value);
}

/** In normal operation (collector up) the tracker sends each message once. */
function assertSentOnce(...pages) {
  const ids = pages.flatMap((p) => sentIds.get(p) || []);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(twice, [], `message ids sent more than once (a retry? missing CORS headers make every response unreadable): ${twice.join(', ')}`);
}

const mine = (aid) => (e) => e.profile_id === aid || (e.context && e.context.anonymous_id === aid);

/**
 * Waits until `select(events)` holds `count` events, then SETTLE_MS more, and
 * checks that it still holds exactly `count` (no late duplicate); returns them.
 */
async function expectStored(select, count, what, timeoutMs = 20000) {
  await waitFor(async () => select(await readEvents(collector.url, store)).length >= count, {
    timeoutMs,
    what: `${count} stored ${what}`,
  }).catch(async (e) => {
    const got = select(await readEvents(collector.url, store));
    throw new Error(`${e.message}; stored: ${JSON.stringify(got.map(brief))}`);
  });
  await sleep(SETTLE_MS);
  const got = select(await readEvents(collector.url, store));
  assert.equal(got.length, count, `expected exactly ${count} ${what}, stored: ${JSON.stringify(got.map(brief))}`);
  return got;
}

const brief = (e) => ({ seq: e.seq, event: e.event, profile: e.profile_id, path: e.context?.page?.path, props: e.properties });

/** The fields every message from the tracker carries. */
function checkCommon(e, { aid, userId }) {
  assert.equal(e.source_id, store.source.id);
  assert.ok(isUuidV4(e.message_id), `message_id ${e.message_id} is not a UUID v4`);
  if (userId) {
    assert.equal(e.profile_id, userId, 'profile_id is the userId');
    assert.equal(e.context.anonymous_id, aid, 'context.anonymous_id keeps the anonymous id');
  } else {
    assert.equal(e.profile_id, aid, 'profile_id is the anonymous id');
  }
  const c = e.context;
  assert.equal(c.library.name, 'firstparty.js');
  assert.match(c.library.version, /^\d+\.\d+\.\d+/);
  assert.equal(c.userAgent, browserInfo.userAgent);
  assert.equal(c.locale, browserInfo.locale);
  assert.equal(c.timezone, browserInfo.timezone);
  assert.deepEqual(c.screen, browserInfo.screen);
  assert.match(c.original_timestamp, ISO_MS, 'the timestamp sent is ISO 8601 UTC with ms');
  assert.match(c.sent_at, ISO_MS);
  assert.ok(Date.parse(c.sent_at) >= Date.parse(c.original_timestamp), 'sentAt >= timestamp');
  assert.ok(Math.abs(Date.parse(e.timestamp) - Date.now()) < 10 * 60 * 1000, `timestamp ${e.timestamp} is not recent`);
  assert.equal(typeof c.page, 'object');
}

function checkPage(e, { path: p, search = '', title, referrer = '', previous }) {
  assert.equal(e.event, 'Page Viewed');
  const url = `${site.url}${p}${search}`;
  const expected = { url, path: p, search, title, referrer };
  for (const [k, v] of Object.entries(expected)) {
    assert.equal(e.context.page[k], v, `context.page.${k}`);
    assert.equal(e.properties[k], v, `properties.${k}`);
  }
  if (previous === undefined) assert.ok(!('previous_url' in e.context.page), 'no previous_url on a full page load');
  else assert.equal(e.context.page.previous_url, `${site.url}${previous}`, 'context.page.previous_url');
}

// ------------------------------------------------------------------ setup

t.before(async () => {
  store = createStore('Web');
  collector = await startCollector(store);
  site = await startPageServer({
    routes: {
      '*': (url) => {
        if (url.pathname.startsWith('/js/')) {
          const file = path.join(trackerDir, path.basename(url.pathname));
          if (!fs.existsSync(file)) return undefined;
          return { type: 'application/javascript; charset=utf-8', body: fs.readFileSync(file) };
        }
        if (url.pathname === '/favicon.ico') return { type: 'image/x-icon', body: '' };
        return { body: pageHtml(url) };
      },
    },
  });
  if (TRACKER_FROM === 'collector') {
    const res = await fetch(`${collector.url}/js/firstparty.min.js`);
    const body = await res.text();
    if (res.status !== 200)
      throw new Error(`the collector answers ${res.status} for GET /js/firstparty.min.js (TRACKER_FROM=page serves the tracker from the test page's origin)`);
    if (body.trim() !== fs.readFileSync(path.join(trackerDir, 'firstparty.min.js'), 'utf8').trim())
      console.log('note: the collector serves a different firstparty.min.js than assets/tracker/ (a stale build?)');
  }
  browser = await launchChromium();
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  browserInfo = await p.evaluate(() => ({
    userAgent: navigator.userAgent,
    locale: navigator.language,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    screen: { width: screen.width, height: screen.height, density: window.devicePixelRatio },
  }));
  await ctx.close();
  console.log(`collector ${collector.url}, site ${site.url}, tracker from ${TRACKER_FROM}, Chromium ${browser.version()}`);
});

t.after(async () => {
  if (browser) await browser.close();
  if (site) await site.close();
  if (collector) await collector.stop();
});

t.diagnostics(() => (collector ? collector.output().split('\n').slice(-30).join('\n') : ''));

// ------------------------------------------------------------------ scenarios

t.scenario('page view on load: context, campaign, ids, cookie and localStorage copy', async ({ log }) => {
  const context = await browser.newContext();
  const page = await openPage(context, '/load/home?utm_source=news&utm_medium=email&utm_campaign=spring&x=1', log);
  const aid = await anonymousIdOf(context);
  assert.ok(isUuidV4(aid), `fp_aid ${aid} is a UUID v4`);
  const [e] = await expectStored((evs) => evs.filter(mine(aid)), 1, 'Page Viewed on load');
  checkCommon(e, { aid });
  checkPage(e, { path: '/load/home', search: '?utm_source=news&utm_medium=email&utm_campaign=spring&x=1', title: 'Page /load/home' });
  assert.deepEqual(e.context.campaign, { source: 'news', medium: 'email', name: 'spring' });

  const cookie = (await context.cookies(site.url)).find((c) => c.name === 'fp_aid');
  assert.equal(cookie.path, '/');
  assert.equal(cookie.sameSite, 'Lax');
  const yearS = (cookie.expires - Date.now() / 1000) / 86400;
  assert.ok(yearS > 364 && yearS < 366, `fp_aid expires in ${yearS} days`);
  assert.equal(await page.evaluate(() => localStorage.getItem('fp_aid')), aid, 'localStorage copy of the anonymous id');
  assertSentOnce(page);
  await context.close();
});

t.scenario('SPA: pushState x2 and history.back each send one Page Viewed with previous_url', async ({ log }) => {
  const context = await browser.newContext();
  const page = await openPage(context, '/spa/start', log);
  const aid = await anonymousIdOf(context);
  const nav = async (fn) => {
    await page.evaluate(fn);
    await sleep(300);
  };
  await nav(() => {
    history.pushState({}, '', '/spa/a');
    document.title = 'Title A'; // set after the URL, as routers do
  });
  await nav(() => history.replaceState({}, '', '/spa/a')); // same URL: no page view
  await nav(() => history.pushState({}, '', '/spa/a#section')); // a fragment only: no page view
  await nav(() => {
    history.pushState({}, '', '/spa/b?tab=2');
    document.title = 'Title B';
  });
  await nav(() => history.back()); // popstate to /spa/a#section (page URL /spa/a)
  await page.evaluate(() => window.firstparty.flush());
  const pages = await expectStored((evs) => evs.filter(mine(aid)).filter((e) => e.event === 'Page Viewed'), 4, 'page views');
  const byKey = (p, prev) => pages.filter((e) => e.context.page.path === p && (e.context.page.previous_url || null) === (prev ? site.url + prev : null));
  const load = byKey('/spa/start', null);
  const a = byKey('/spa/a', '/spa/start');
  const b = byKey('/spa/b', '/spa/a');
  const back = byKey('/spa/a', '/spa/b?tab=2');
  assert.deepEqual([load.length, a.length, b.length, back.length], [1, 1, 1, 1], JSON.stringify(pages.map(brief)));
  for (const e of pages) checkCommon(e, { aid });
  checkPage(load[0], { path: '/spa/start', title: 'Page /spa/start' });
  checkPage(a[0], { path: '/spa/a', title: 'Title A', previous: '/spa/start' });
  checkPage(b[0], { path: '/spa/b', search: '?tab=2', title: 'Title B', previous: '/spa/a' });
  checkPage(back[0], { path: '/spa/a', title: 'Title B', previous: '/spa/b?tab=2' });
  assertSentOnce(page);
  await context.close();
});

early['/track/'] = `firstparty.track('Early Event', {n: 1}); firstparty.track('Early Event', {n: 2});`;
t.scenario('track with properties; calls made before the script loaded are replayed in order', async ({ log }) => {
  const context = await browser.newContext();
  const page = await openPage(context, '/track/', log);
  const aid = await anonymousIdOf(context);
  const props = { label: 'Sign up', n: 3, price: 9.99, ok: true, no: false, nothing: null, nested: { a: { b: [1, 'two', null, { c: true }] } } };
  await page.evaluate((p) => window.firstparty.track('Button Clicked', p), props);
  const events = await expectStored((evs) => evs.filter(mine(aid)), 4, 'events (page view, 2 early, 1 track)');
  const clicked = events.filter((e) => e.event === 'Button Clicked');
  assert.equal(clicked.length, 1);
  checkCommon(clicked[0], { aid });
  assert.deepEqual(clicked[0].properties, props);
  assert.equal(clicked[0].context.page.path, '/track/');
  const earlyEvents = events.filter((e) => e.event === 'Early Event');
  assert.deepEqual(earlyEvents.map((e) => e.properties.n), [1, 2], 'replayed in call order');
  assert.ok(earlyEvents[0].context.original_timestamp <= earlyEvents[1].context.original_timestamp);
  const pv = events.find((e) => e.event === 'Page Viewed');
  assert.ok(pv, 'a page view');
  assertSentOnce(page);
  await context.close();
});

t.scenario('identify: later events carry the userId as profile_id and the anonymous id; group, alias, reset', async ({ log }) => {
  const context = await browser.newContext();
  let page = await openPage(context, '/identify/', log);
  const first = page;
  const aid = await anonymousIdOf(context);
  await page.evaluate(() => {
    window.firstparty.identify('user-42', { plan: 'team', email: 'sally@example.com' });
    window.firstparty.track('Plan Chosen', { plan: 'team' });
    window.firstparty.group('acme', { name: 'Acme' });
    window.firstparty.alias('user-42-new');
  });
  const sel = (evs) => evs.filter(mine(aid));
  let events = await expectStored(sel, 5, 'events (page view, identify, track, group, alias)');
  const one = (name) => {
    const got = events.filter((e) => e.event === name);
    assert.equal(got.length, 1, `one ${name}: ${JSON.stringify(events.map(brief))}`);
    return got[0];
  };
  checkCommon(one('Page Viewed'), { aid });
  const ident = one('Profile Identified');
  checkCommon(ident, { aid, userId: 'user-42' });
  assert.deepEqual(ident.properties.traits, { plan: 'team', email: 'sally@example.com' });
  const plan = one('Plan Chosen');
  checkCommon(plan, { aid, userId: 'user-42' });
  assert.deepEqual(plan.properties, { plan: 'team' });
  const grp = one('Group Identified');
  checkCommon(grp, { aid, userId: 'user-42' });
  assert.equal(grp.properties.group_id, 'acme');
  assert.deepEqual(grp.properties.traits, { name: 'Acme' });
  const al = one('Profile Aliased');
  checkCommon(al, { aid, userId: 'user-42-new' });
  assert.equal(al.properties.previous_id, 'user-42');

  // The user id survives a reload; reset() forgets it and starts a new anonymous id.
  await page.close();
  page = await openPage(context, '/identify/again', log);
  await page.evaluate(() => window.firstparty.flush());
  const [again] = await expectStored((evs) => sel(evs).filter((e) => e.context.page.path === '/identify/again'), 1, 'page view after reload');
  checkCommon(again, { aid, userId: 'user-42' });
  await page.evaluate(() => {
    window.firstparty.reset();
    window.firstparty.track('After Reset');
    window.firstparty.flush();
  });
  const newAid = await anonymousIdOf(context);
  assert.notEqual(newAid, aid, 'reset() makes a new anonymous id');
  const [after] = await expectStored((evs) => evs.filter((e) => e.event === 'After Reset'), 1, 'After Reset');
  checkCommon(after, { aid: newAid });
  assert.equal(await page.evaluate(() => localStorage.getItem('fp_uid')), null);
  assertSentOnce(first, page);
  await context.close();
});

t.scenario('collector down: events queue (also across a reload) and arrive once it is back', async ({ log }) => {
  const port = collector.port;
  try {
    await offlineScenario(log, port);
  } finally {
    if (collector.proc.exitCode !== null || collector.proc.signalCode !== null) collector = await startCollector(store, { port });
  }
});

async function offlineScenario(log, port) {
  const context = await browser.newContext();
  // The page reloads while the collector is down: its tracker comes from the page's origin.
  const page = await openPage(context, '/offline/?tracker=page', log);
  const aid = await anonymousIdOf(context);
  await page.evaluate(() => window.firstparty.flush());
  await expectStored((evs) => evs.filter(mine(aid)), 1, 'the page view before the outage');

  await collector.stop();
  await page.evaluate(() => {
    window.firstparty.track('While Down', { i: 1 });
    window.firstparty.track('While Down', { i: 2 });
  });
  await sleep(7000); // the 5 s flush fails, retries back off
  const queued = await page.evaluate(() =>
    Object.keys(localStorage)
      .filter((k) => k.startsWith('fp_q:'))
      .map((k) => JSON.parse(localStorage.getItem(k)).q.length)
      .reduce((a, b) => a + b, 0)
  );
  assert.ok(queued >= 2, `the queue is in localStorage (${queued} messages)`);
  await page.evaluate(() => window.firstparty.track('While Down', { i: 3 }));
  await page.reload(); // the new page adopts what the old one could not send
  await page.waitForFunction(() => window.firstparty && window.firstparty.initialized === true);
  await page.evaluate(() => window.firstparty.track('While Down', { i: 4 }));
  await sleep(2000);

  collector = await startCollector(store, { port });
  const down = await expectStored((evs) => evs.filter(mine(aid)).filter((e) => e.event === 'While Down'), 4, 'events sent while down', 60000);
  assert.deepEqual(down.map((e) => e.properties.i).sort(), [1, 2, 3, 4]);
  for (const e of down) checkCommon(e, { aid });
  await expectStored((evs) => evs.filter(mine(aid)).filter((e) => e.event === 'Page Viewed'), 2, 'page views (before and after the reload)');
  await context.close();
}

t.scenario('page closed: queued events are delivered by sendBeacon', async ({ log }) => {
  const context = await browser.newContext();
  // fetch() to the collector fails in this page, so what arrives came by sendBeacon
  // (requests made while a page closes are not reported to playwright).
  await context.addInitScript((base) => {
    const realFetch = window.fetch;
    window.fetch = function (url) {
      if (String(url).startsWith(base + '/v1/')) return Promise.reject(new TypeError('fetch to the collector is off in this test'));
      return realFetch.apply(this, arguments);
    };
    const realBeacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, data) => {
      const ok = realBeacon(url, data);
      localStorage.setItem('test_beacons', String(Number(localStorage.getItem('test_beacons') || 0) + (ok ? 1 : 0)));
      return ok;
    };
  }, collector.url);
  const page = await openPage(context, '/close/', log);
  const aid = await anonymousIdOf(context);
  await page.evaluate(() => window.firstparty.track('Closing Now', { ok: true }));
  await page.close({ runBeforeUnload: true });
  const events = await expectStored((evs) => evs.filter(mine(aid)), 2, 'page view and track sent at close');
  assert.deepEqual(events.map((e) => e.event).sort(), ['Closing Now', 'Page Viewed']);
  for (const e of events) checkCommon(e, { aid });
  // The beacon's messages left the localStorage queue.
  const check = await context.newPage();
  await check.goto(site.url + '/favicon.ico');
  const left = await check.evaluate(() => ({
    beacons: Number(localStorage.getItem('test_beacons') || 0),
    queued: Object.keys(localStorage).filter((k) => k.startsWith('fp_q:')).map((k) => localStorage.getItem(k)),
  }));
  assert.ok(left.beacons >= 1, `sendBeacon accepted ${left.beacons} beacon(s)`);
  assert.deepEqual(left.queued, [], 'nothing left in the localStorage queue');
  await context.close();
});

t.scenario('a reload keeps the anonymous id, even with the cookie or localStorage cleared', async ({ log }) => {
  const context = await browser.newContext();
  const page = await openPage(context, '/reload/', log);
  const aid = await anonymousIdOf(context);
  await page.reload();
  await page.evaluate(() => window.firstparty.flush());
  await context.clearCookies();
  await page.reload(); // from the localStorage copy
  assert.equal(await anonymousIdOf(context), aid, 'cookie restored from localStorage');
  await page.evaluate(() => localStorage.removeItem('fp_aid'));
  await page.reload(); // from the cookie
  assert.equal(await page.evaluate(() => localStorage.getItem('fp_aid')), aid, 'localStorage restored from the cookie');
  await page.evaluate(() => window.firstparty.flush());
  const pages = await expectStored((evs) => evs.filter(mine(aid)), 4, 'page views over 3 reloads');
  for (const e of pages) {
    checkCommon(e, { aid });
    checkPage(e, { path: '/reload/', title: 'Page /reload/' });
  }
  await context.close();
});

await t.run();
