// What the real clients send: points @segment/analytics-next (in headless Chromium,
// loaded from its npm UMD build with `cdnURL` set to a capture server) and
// @rudderstack/rudder-sdk-node (defaults) at lib/capture-server.mjs, runs one
// experiment per question, and writes every request recorded (method, path, query,
// all headers, body decoded) to a JSON file. CLIENTS.md is the reading of it.
//
//   node research-clients.mjs [--out /tmp/clients-capture.json] [--only NAME,...] [--with-metrics]
//
// --with-metrics adds the (31 s long) experiment that shows where analytics-next
// sends its own usage metrics when the settings do not turn them off.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import { startCaptureServer } from './lib/capture-server.mjs';
import { startPageServer } from './lib/page-server.mjs';
import { launchChromium, watchPage } from './lib/browser.mjs';
import { sleep, waitFor } from './lib/util.mjs';

const require = createRequire(import.meta.url);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const OUT = arg('--out', '/tmp/clients-capture.json');
const ONLY = arg('--only', '') ? arg('--only', '').split(',') : null;
const WITH_METRICS = process.argv.includes('--with-metrics');
const KEY = 'wk_research_key';

const ajsUmd = fs.readFileSync(require.resolve('@segment/analytics-next/dist/umd/index.js'), 'utf8');
const ajsVersion = require('@segment/analytics-next/package.json').version;
const rudderVersion = require('@rudderstack/rudder-sdk-node/package.json').version;

const results = { generated: new Date().toISOString(), versions: { ajsVersion, rudderVersion }, experiments: {} };

// ---------------------------------------------------------------- analytics-next

/** The page: the UMD build, then AnalyticsBrowser.load({writeKey, cdnURL}, options). */
function ajsPage(cdnURL, options) {
  return `<!doctype html><meta charset="utf-8"><title>analytics-next research</title>
<script src="/vendor/analytics-next.js"></script>
<script>
  window.ajs = AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: ${JSON.stringify(KEY)}, cdnURL: ${JSON.stringify(cdnURL)} },
    ${JSON.stringify(options || {})});
</script>
<body>analytics-next research</body>`;
}

const SETTINGS_OK = (apiHost, extra = {}) => ({
  integrations: { 'Segment.io': { apiKey: KEY, apiHost, protocol: 'http', ...extra } },
  metrics: { sampleRate: 0 },
});

/**
 * One browser experiment: a capture server answering `settings` (a function of the
 * capture server's own apiHost) and `respond`, a page loading analytics-next, then
 * `act(page)`; returns the records and what the page did on the network.
 */
async function ajsExperiment(name, { settings, options, respond, act, settle = 1500, cors }) {
  if (ONLY && !ONLY.includes(name)) return;
  const capture = await startCaptureServer({
    settings: (wk) => settings(`127.0.0.1:${capture.port}/v1`, wk),
    respond,
    cors,
  });
  const site = await startPageServer({
    routes: {
      '/': () => ({ body: ajsPage(capture.url, options) }),
      '/vendor/analytics-next.js': { type: 'text/javascript', body: ajsUmd },
    },
  });
  const browser = await launchChromium();
  const log = [];
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    watchPage(page, log);
    await page.goto(site.url + '/');
    await page.waitForFunction(() => window.ajs && window.ajs.instance, null, { timeout: 10000 }).catch(() => {});
    await act(page, capture);
    await sleep(settle);
    const storage = await page.evaluate(() => ({ ...localStorage })).catch(() => null);
    const cookies = await context.cookies();
    if (!page.isClosed()) await page.close({ runBeforeUnload: true });
    await sleep(500);
    results.experiments[name] = {
      client: `@segment/analytics-next ${ajsVersion}`,
      pageOrigin: site.url,
      collector: capture.url,
      settingsServed: settings(`127.0.0.1:${capture.port}/v1`, KEY),
      loadOptions: options || {},
      cors: cors || 'echo Origin and requested headers',
      records: capture.records.slice(),
      browserLog: log.filter((l) => !l.includes('/vendor/analytics-next.js')),
      localStorage: storage,
      cookies: cookies.map((c) => ({ name: c.name, domain: c.domain, path: c.path, expires: c.expires, sameSite: c.sameSite })),
    };
    console.log(`${name}: ${capture.records.length} requests`);
    for (const r of capture.records) console.log(`   ${r.method} ${r.path} ${r.headers['Content-Type'] || ''}`);
  } finally {
    await browser.close();
    await site.close();
    await capture.close();
  }
}

const callEverything = async (page) => {
  await page.evaluate(async () => {
    const a = window.ajs;
    await a.page('Docs', 'Pricing', { plan_shown: 'team' });
    await a.track('Button Clicked', { label: 'Sign up', n: 3, ok: true, nested: { a: [1, 2] } });
    await a.identify('user-42', { plan: 'team', email: 'sally@example.com' });
    await a.group('acme', { name: 'Acme' });
    await a.alias('user-42-new');
    await a.screen?.('Home').catch(() => {});
  });
};

async function analyticsNext(capturePort) {
  // 1. The candidate settings, standard delivery: one request per event.
  await ajsExperiment('ajs-standard', {
    settings: (apiHost) => SETTINGS_OK(apiHost),
    act: callEverything,
  });

  // 2. Batching, asked for by the settings response (the page sets only cdnURL).
  await ajsExperiment('ajs-batching-from-settings', {
    settings: (apiHost) =>
      SETTINGS_OK(apiHost, { deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: 1000 } } }),
    act: callEverything,
    settle: 2500,
  });

  // 3. Batching, asked for by the page's load options.
  await ajsExperiment('ajs-batching-from-load-options', {
    settings: (apiHost) => SETTINGS_OK(apiHost),
    options: { integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 3, timeout: 1000 } } } } },
    act: callEverything,
    settle: 2500,
  });

  // 4. Batching with events pending when the page is closed.
  await ajsExperiment('ajs-batching-unload', {
    settings: (apiHost) =>
      SETTINGS_OK(apiHost, { deliveryStrategy: { strategy: 'batching', config: { size: 100, timeout: 60000 } } }),
    act: async (page) => {
      await page.evaluate(async () => {
        await window.ajs.track('Closing Soon', { n: 1 });
        await window.ajs.track('Closing Soon', { n: 2 });
      });
      await page.close({ runBeforeUnload: true });
    },
  });

  // 5. Settings without apiHost: where do events go?
  await ajsExperiment('ajs-no-apihost', {
    settings: () => ({ integrations: { 'Segment.io': { apiKey: KEY } }, metrics: { sampleRate: 0 } }),
    act: async (page) => {
      await page.evaluate(() => window.ajs.track('Where Am I Sent'));
    },
  });

  // 6. apiHost without protocol (https is the default).
  await ajsExperiment('ajs-no-protocol', {
    settings: (apiHost) => ({ integrations: { 'Segment.io': { apiKey: KEY, apiHost } }, metrics: { sampleRate: 0 } }),
    act: async (page) => {
      await page.evaluate(() => window.ajs.track('Where Am I Sent'));
    },
  });

  // 7. Without apiKey: what identifies the source?
  await ajsExperiment('ajs-no-apikey', {
    settings: (apiHost) => ({ integrations: { 'Segment.io': { apiHost, protocol: 'http' } }, metrics: { sampleRate: 0 } }),
    act: async (page) => {
      await page.evaluate(() => window.ajs.track('Who Am I'));
    },
  });

  // 8. Minimal settings: {"integrations": {"Segment.io": {...}}} only (no metrics key).
  if (WITH_METRICS) {
    await ajsExperiment('ajs-default-metrics', {
      settings: (apiHost) => ({ integrations: { 'Segment.io': { apiKey: KEY, apiHost, protocol: 'http' } } }),
      act: async (page) => {
        await page.evaluate(() => window.ajs.track('Metrics Please'));
        await sleep(31000);
      },
    });
  }

  // 9. Retries, standard delivery: 500 once, then 200.
  let n500 = 0;
  await ajsExperiment('ajs-standard-500-once', {
    settings: (apiHost) => SETTINGS_OK(apiHost),
    respond: (r) => (r.method === 'POST' && n500++ === 0 ? { status: 500, body: { error: 'boom' } } : null),
    act: async (page) => {
      await page.evaluate(() => window.ajs.track('Retry Me'));
    },
    settle: 4000,
  });

  // 10. 429 with Retry-After: 2, standard delivery.
  let n429 = 0;
  await ajsExperiment('ajs-standard-429-retry-after', {
    settings: (apiHost) => SETTINGS_OK(apiHost),
    respond: (r) =>
      r.method === 'POST' && n429++ === 0 ? { status: 429, headers: { 'Retry-After': '2' }, body: { error: 'slow down' } } : null,
    act: async (page) => {
      await page.evaluate(() => window.ajs.track('Rate Limited'));
    },
    settle: 5000,
  });

  // 10b. The same with `Access-Control-Expose-Headers: Retry-After`.
  let n429x = 0;
  await ajsExperiment('ajs-standard-429-retry-after-exposed', {
    settings: (apiHost) => SETTINGS_OK(apiHost),
    cors: { exposeHeaders: 'Retry-After' },
    respond: (r) =>
      r.method === 'POST' && n429x++ === 0 ? { status: 429, headers: { 'Retry-After': '2' }, body: { error: 'slow down' } } : null,
    act: async (page) => {
      await page.evaluate(() => window.ajs.track('Rate Limited'));
    },
    settle: 5000,
  });

  // CORS variants: what must the collector's CORS answers contain?
  const oneTrack = async (page) => {
    await page.evaluate(() => Promise.race([window.ajs.track('Cors Probe'), new Promise((r) => setTimeout(r, 3000))]));
  };
  await ajsExperiment('ajs-cors-static-list', {
    settings: (apiHost) => SETTINGS_OK(apiHost),
    cors: { allowOrigin: '*', allowHeaders: 'Authorization, Content-Type, X-Retry-Count' },
    act: oneTrack,
  });
  await ajsExperiment('ajs-cors-wildcard-headers', {
    settings: (apiHost) => SETTINGS_OK(apiHost),
    cors: { allowOrigin: '*', allowHeaders: '*' },
    act: oneTrack,
  });
  await ajsExperiment('ajs-cors-no-preflight', {
    settings: (apiHost) => SETTINGS_OK(apiHost),
    cors: { preflight: false },
    act: oneTrack,
  });

  // 11. 400: dropped, never retried.
  await ajsExperiment('ajs-standard-400', {
    settings: (apiHost) => SETTINGS_OK(apiHost),
    respond: (r) => (r.method === 'POST' ? { status: 400, body: { error: 'invalid_event' } } : null),
    act: async (page) => {
      await page.evaluate(() => window.ajs.track('Bad One'));
    },
    settle: 4000,
  });

  // 12. Retries, batching delivery: 503 once.
  let b503 = 0;
  await ajsExperiment('ajs-batching-503-once', {
    settings: (apiHost) =>
      SETTINGS_OK(apiHost, { deliveryStrategy: { strategy: 'batching', config: { size: 2, timeout: 500 } } }),
    respond: (r) => (r.method === 'POST' && b503++ === 0 ? { status: 503, body: { error: 'busy' } } : null),
    act: async (page) => {
      await page.evaluate(async () => {
        await window.ajs.track('Batch Retry', { i: 1 });
        await window.ajs.track('Batch Retry', { i: 2 });
      });
    },
    settle: 4000,
  });

  // 13. The settings request failing (404): does the SDK still send anything?
  await ajsExperiment('ajs-settings-404', {
    settings: () => undefined,
    act: async (page) => {
      await page.evaluate(() => Promise.race([window.ajs.track('No Settings'), new Promise((r) => setTimeout(r, 2000))]));
    },
  });
}

// The snippet way: the package's standalone build (what cdn.segment.com serves at
// /analytics.js/v1/{writeKey}/analytics.min.js) with window.analytics as the
// snippet leaves it (_writeKey, _cdn, buffered calls). What does it fetch?
async function ajsStandalone() {
  const name = 'ajs-standalone-snippet';
  if (ONLY && !ONLY.includes(name)) return;
  const standalone = fs.readFileSync(require.resolve('@segment/analytics-next/dist/umd/standalone.js'), 'utf8');
  const capture = await startCaptureServer({
    settings: () => SETTINGS_OK(`127.0.0.1:${capture.port}/v1`),
  });
  const html = `<!doctype html><meta charset="utf-8"><title>standalone</title>
<script>
  window.analytics = [];
  analytics._writeKey = ${JSON.stringify(KEY)};
  analytics._cdn = ${JSON.stringify(capture.url)};
  ['track', 'page', 'identify'].forEach(function (m) {
    analytics[m] = function () { var a = [].slice.call(arguments); a.unshift(m); analytics.push(a); return analytics; };
  });
  analytics.page();
  analytics.track('Snippet Track', { via: 'standalone' });
</script>
<script src="/analytics.js/v1/${KEY}/analytics.min.js"></script>`;
  const site = await startPageServer({
    routes: {
      '/': { body: html },
      [`/analytics.js/v1/${KEY}/analytics.min.js`]: { type: 'text/javascript', body: standalone },
    },
  });
  const browser = await launchChromium();
  const log = [];
  try {
    const page = await (await browser.newContext()).newPage();
    watchPage(page, log);
    await page.goto(site.url + '/');
    await sleep(3000);
    results.experiments[name] = {
      client: `@segment/analytics-next ${ajsVersion} (dist/umd/standalone.js)`,
      pageOrigin: site.url,
      collector: capture.url,
      settingsServed: SETTINGS_OK(`127.0.0.1:${capture.port}/v1`),
      records: capture.records.slice(),
      browserLog: log.filter((l) => !l.includes('analytics.min.js')),
    };
    console.log(`${name}: ${capture.records.length} requests`);
    for (const r of capture.records) console.log(`   ${r.method} ${r.path}`);
  } finally {
    await browser.close();
    await site.close();
    await capture.close();
  }
}

// ---------------------------------------------------------------- rudder-sdk-node

async function rudderExperiment(name, { options = {}, respond, act }) {
  if (ONLY && !ONLY.includes(name)) return;
  const Analytics = require('@rudderstack/rudder-sdk-node');
  const capture = await startCaptureServer({ respond });
  const errors = [];
  try {
    const client = new Analytics(KEY, {
      dataPlaneUrl: capture.url,
      logLevel: 'error',
      ...options,
    });
    const t0 = Date.now();
    unhandled.length = 0;
    await act(client, errors).catch((e) => errors.push(String(e && e.message)));
    errors.push(...unhandled.map((m) => `unhandled rejection: ${m}`));
    results.experiments[name] = {
      client: `@rudderstack/rudder-sdk-node ${rudderVersion}`,
      collector: capture.url,
      options: { dataPlaneUrl: capture.url, logLevel: 'error', ...options },
      records: capture.records.map((r) => ({ ...r, msSinceStart: Date.parse(r.at) - t0 })),
      errors,
    };
    console.log(`${name}: ${capture.records.length} requests; errors ${JSON.stringify(errors)}`);
    for (const r of capture.records) console.log(`   ${r.method} ${r.path} ${r.headers['Content-Type'] || r.headers['content-type'] || ''}`);
  } finally {
    await capture.close();
  }
}

// rudder-sdk-node's automatic flushes (the first event, flushAt, the timer) are not
// awaited by anyone: a rejected one is an unhandled rejection, which by default ends
// the process. Recorded here instead.
const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(String(e && e.message)));

async function rudder() {
  await rudderExperiment('rudder-defaults', {
    act: async (c) => {
      c.track({ userId: 'user-42', event: 'Order Completed', properties: { revenue: 42.5, items: [{ sku: 'p1' }] } });
      c.identify({ userId: 'user-42', traits: { plan: 'team' } });
      c.page({ userId: 'user-42', category: 'Docs', name: 'Pricing', properties: { path: '/pricing' } });
      c.group({ userId: 'user-42', groupId: 'acme', traits: { name: 'Acme' } });
      c.alias({ userId: 'user-42', previousId: 'anon-1' });
      c.screen({ anonymousId: 'anon-2', name: 'Home' });
      await c.flush();
      await sleep(300);
    },
  });

  let r503 = 0;
  await rudderExperiment('rudder-503-once', {
    respond: () => (r503++ === 0 ? { status: 503, body: { error: 'busy' } } : null),
    act: async (c) => {
      c.track({ userId: 'u', event: 'Retry Me' });
      await c.flush();
      await waitFor(() => r503 >= 2, { timeoutMs: 15000, what: 'the retry' }).catch(() => {});
      await sleep(300);
    },
  });

  let r429 = 0;
  await rudderExperiment('rudder-429-once', {
    respond: () => (r429++ === 0 ? { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'slow' } } : null),
    act: async (c) => {
      c.track({ userId: 'u', event: 'Rate Limited' });
      await c.flush();
      await waitFor(() => r429 >= 2, { timeoutMs: 15000, what: 'the retry' }).catch(() => {});
      await sleep(300);
    },
  });

  await rudderExperiment('rudder-400', {
    respond: () => ({ status: 400, body: { error: 'invalid_event' } }),
    act: async (c, errors) => {
      c.track({ userId: 'u', event: 'Bad One' }, (err) => err && errors.push(`callback: ${err.message}`));
      await c.flush().catch((e) => errors.push(`flush: ${e.message}`));
      await sleep(3000);
    },
  });

  await rudderExperiment('rudder-gzip-false', {
    options: { gzip: false },
    act: async (c) => {
      c.track({ anonymousId: 'a-1', event: 'Plain Body' });
      await c.flush();
    },
  });
}

await analyticsNext();
await ajsStandalone();
await rudder();
fs.writeFileSync(OUT, JSON.stringify(results, null, 2));
console.log(`wrote ${OUT}`);
