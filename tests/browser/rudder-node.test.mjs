// @rudderstack/rudder-sdk-node 3.0.13 with its default options (gzip on, flushAt
// 20, flushInterval 10 s, 3 retries) and dataPlaneUrl = the collector's base URL,
// against a real `firstlog serve`: it POSTs {batch, timestamp, sentAt} gzipped to
// /v1/batch with Authorization: Basic base64(writeKey:) and, through axios,
// Content-Type: application/x-www-form-urlencoded (see CLIENTS.md). Every call
// type, more messages than flushAt, then flush(): each message stored exactly once
// under the right name and profile, and the SDK reports no error.
//
//   FIRSTLOG_BIN=/path/to/firstlog node rudder-node.test.mjs

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createStore, startCollector, readEvents } from './lib/collector.mjs';
import { suite } from './lib/runner.mjs';
import { sleep, waitFor } from './lib/util.mjs';

const require = createRequire(import.meta.url);
const Analytics = require('@rudderstack/rudder-sdk-node');
const VERSION = require('@rudderstack/rudder-sdk-node/package.json').version;

const t = suite('rudder-node.test.mjs');
let store, collector;
// The SDK's own flushes (first message, flushAt, timer) are not awaited by anyone:
// a failed one is an unhandled rejection, which would end this process.
const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(String((e && e.message) || e)));

t.before(async () => {
  store = createStore('Server');
  collector = await startCollector(store);
  console.log(`collector ${collector.url}, @rudderstack/rudder-sdk-node ${VERSION} (default options)`);
});

t.after(async () => {
  if (collector) await collector.stop();
});

t.diagnostics(() => (collector ? collector.output().split('\n').slice(-30).join('\n') : ''));

t.scenario('track x45, identify, page, screen, group, alias, flush: all stored once', async () => {
  const client = new Analytics(store.source.write_key, { dataPlaneUrl: collector.url });
  const errors = [];
  const cb = (what) => (err) => err && errors.push(`${what}: ${err.message}`);
  const expected = new Map(); // messageId -> check(stored event)

  for (let i = 0; i < 45; i++) {
    const messageId = `rudder-track-${i}`;
    client.track(
      { userId: `user-${i % 7}`, event: 'Order Completed', properties: { i, revenue: i * 1.5, products: [{ sku: `p${i % 5}` }] }, messageId },
      cb(messageId)
    );
    expected.set(messageId, (e) => {
      assert.equal(e.event, 'Order Completed');
      assert.equal(e.profile_id, `user-${i % 7}`);
      assert.deepEqual(e.properties, { i, revenue: i * 1.5, products: [{ sku: `p${i % 5}` }] });
      assert.equal(e.context.library.name, 'analytics-node');
      assert.equal(e.context.library.version, VERSION);
      assert.equal(e.context.channel, 'server');
    });
  }
  client.identify({ userId: 'user-1', traits: { plan: 'team', email: 'sally@example.com' }, messageId: 'rudder-identify' }, cb('identify'));
  expected.set('rudder-identify', (e) => {
    assert.equal(e.event, 'Profile Identified');
    assert.equal(e.profile_id, 'user-1');
    assert.deepEqual(e.properties.traits, { plan: 'team', email: 'sally@example.com' });
  });
  client.page({ userId: 'user-1', category: 'Docs', name: 'Pricing', properties: { path: '/pricing' }, messageId: 'rudder-page' }, cb('page'));
  expected.set('rudder-page', (e) => {
    assert.equal(e.event, 'Page Viewed');
    assert.equal(e.profile_id, 'user-1');
    assert.equal(e.properties.name, 'Pricing');
    assert.equal(e.properties.category, 'Docs');
    assert.equal(e.properties.path, '/pricing');
  });
  client.screen({ anonymousId: 'anon-9', name: 'Home', messageId: 'rudder-screen' }, cb('screen'));
  expected.set('rudder-screen', (e) => {
    assert.equal(e.event, 'Screen Viewed');
    assert.equal(e.profile_id, 'anon-9');
    assert.equal(e.properties.name, 'Home');
  });
  client.group({ userId: 'user-1', groupId: 'acme', traits: { name: 'Acme' }, messageId: 'rudder-group' }, cb('group'));
  expected.set('rudder-group', (e) => {
    assert.equal(e.event, 'Group Identified');
    assert.equal(e.profile_id, 'user-1');
    assert.equal(e.properties.group_id, 'acme');
  });
  client.alias({ userId: 'user-1', previousId: 'anon-1', messageId: 'rudder-alias' }, cb('alias'));
  expected.set('rudder-alias', (e) => {
    assert.equal(e.event, 'Profile Aliased');
    assert.equal(e.profile_id, 'user-1');
    assert.equal(e.properties.previous_id, 'anon-1');
  });
  // One without a messageId: the SDK makes a UUID.
  client.track({ anonymousId: 'anon-2', event: 'Generated Id' }, cb('generated'));

  const flush = () =>
    client.flush().catch((e) => {
      throw new Error(`flush failed: ${e.message} (the SDK POSTs a gzip body with Content-Type: application/x-www-form-urlencoded; see CLIENTS.md)`);
    });
  await flush();
  await flush(); // the queue held more than one flushAt
  await sleep(500);
  assert.deepEqual(errors, [], 'the SDK reported errors');
  assert.deepEqual(unhandled, [], 'unhandled rejections from the SDK');

  const ids = [...expected.keys()];
  const storedOf = (evs) => evs.filter((e) => expected.has(e.message_id) || e.event === 'Generated Id');
  await waitFor(async () => storedOf(await readEvents(collector.url, store)).length >= ids.length + 1, {
    timeoutMs: 20000,
    what: `${ids.length + 1} stored events`,
  });
  await sleep(1000);
  const events = storedOf(await readEvents(collector.url, store));
  for (const id of ids) {
    const got = events.filter((e) => e.message_id === id);
    assert.equal(got.length, 1, `${id} stored ${got.length} times`);
    expected.get(id)(got[0]);
  }
  const generated = events.filter((e) => e.event === 'Generated Id');
  assert.equal(generated.length, 1);
  assert.match(generated[0].message_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(generated[0].profile_id, 'anon-2');
  assert.equal(events.length, ids.length + 1, 'no other events');
});

await t.run();
