/*!
 * firstparty.js: the browser tracker of firstlog. No dependencies; ES5 syntax.
 * Sends Segment-shaped messages to {host}{prefix}/v1/batch with the write key in
 * the body (text/plain, no custom header: no CORS preflight).
 */
/*
 * How it works, in order:
 *
 * 1. The snippet (snippet.html) makes `window.firstparty` an array with stub
 *    methods that push [method, ...args] (each with its call time as `.t`), loads
 *    this script asynchronously, and queues `load(writeKey, host, options)`.
 * 2. Here the stub's `load` runs first, then a page view is sent (unless
 *    `page: false`), then the other queued calls replay in their order; the stub
 *    object itself gets the real methods, so references to it keep working.
 * 3. Every call builds a complete message at once (ids, timestamp, context) and
 *    appends it to a queue kept in memory and in localStorage. The queue is sent
 *    with fetch(keepalive) when it reaches `flushAt` messages or `flushInterval` ms
 *    after the first queued one; one request at a time.
 * 4. When the page is hidden or closed, what is queued goes with
 *    navigator.sendBeacon (chunks under 64 KB).
 * 5. Network errors, 408, 429 and 5xx are retried with jittered exponential
 *    backoff (Retry-After honoured when the server exposes it): an HTTP failure
 *    counts towards `maxRetries` per message, a network error (offline, collector
 *    unreachable) does not; a message older than `maxAgeMs` that still fails is
 *    dropped. Other 4xx drop the message (one console.warn). While the browser
 *    is offline nothing is attempted; the 'online' event sends at once.
 *
 * Persistence and "exactly once": each page load owns one localStorage entry
 * `fp_q:{writeKey}:{pageId}` holding its unsent and in-flight messages, refreshed
 * (`t`) whenever it changes and every 20 s while it is not empty. A new page
 * adopts the entries of pages that were closed (marked at pagehide) or have
 * stopped refreshing (crashed, evicted, killed): so nothing is lost, and a
 * message is never sent by two live pages at once. A message whose request was
 * still in flight when its page closed is sent again by the next page (its
 * response could not be seen); the collector stores it once, by messageId.
 */
(function (window, document) {
  'use strict';

  var VERSION = '1.0.0';
  var LIBRARY = 'firstparty.js';

  var ANON_KEY = 'fp_aid'; // cookie and localStorage: the anonymous id
  var USER_KEY = 'fp_uid'; // cookie and localStorage: the user id after identify()
  var TRAITS_KEY = 'fp_traits'; // localStorage: the user's traits
  var QUEUE_PREFIX = 'fp_q:'; // localStorage: fp_q:{writeKey}:{pageId} -> {t, c, q}
  var COOKIE_MAX_AGE_S = 31536000; // one year
  var STALE_MS = 120000; // an entry not refreshed for this long belongs to a dead page
  var HEARTBEAT_MS = 20000;
  var BEACON_MAX_BYTES = 60000; // sendBeacon and keepalive fetch allow 64 KiB in flight
  var BATCH_MAX_BYTES = 450000; // the collector takes 500 KiB per request
  var BATCH_MAX_MESSAGES = 100;

  var DEFAULTS = {
    prefix: '', // a path prefix in front of /v1/batch, e.g. "/collect"
    page: true, // send a page view when loaded
    spa: true, // send a page view on every history.pushState/replaceState/popstate URL change
    hash: false, // count a change of the #fragment as a new page (hash-routed apps)
    flushAt: 10, // send when this many messages are queued...
    flushInterval: 5000, // ...or this many ms after the first one was queued
    maxQueue: 500, // messages kept at most (memory and localStorage); the oldest go first
    maxRetries: 10, // HTTP failures (5xx, 408, 429) per message before it is dropped
    maxAgeMs: 86400000, // a message still failing this long after it was made is dropped
    retryBaseMs: 1000, // first backoff; doubles per failure, +/-25% jitter
    retryMaxMs: 60000,
    cookieDomain: '' // e.g. "example.com" to share the anonymous id with subdomains
  };

  var stub = window.firstparty;
  if (stub && stub.initialized) return; // the script was included twice
  var api = stub && typeof stub === 'object' ? stub : [];

  // ------------------------------------------------------------------ state

  var opts = null; // the options after load()
  var writeKey = null;
  var endpoint = null;
  var pageId = uuid();
  var storeKey = null; // fp_q:{writeKey}:{pageId}
  var queue = []; // entries {m: message, n: attempts made}, oldest first, not in flight
  var inflight = []; // the entries of the request being sent
  var flushTimer = null;
  var retryTimer = null;
  var heartbeatTimer = null;
  var failures = 0; // consecutive failed requests, for the backoff
  var warned = false;
  var lastUrl = null; // the page URL of the last page view (SPA tracking)
  var closed = false;
  var saved = false; // the last save() reached localStorage
  var pending = []; // calls made before load()

  // ------------------------------------------------------------------ utilities

  function now() {
    return new Date().getTime();
  }

  function iso(ms) {
    return new Date(ms).toISOString();
  }

  function uuid() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === 'function') {
      try {
        return c.randomUUID(); // secure contexts only
      } catch (e) {}
    }
    var b = new Array(16);
    var i;
    if (c && c.getRandomValues) {
      var r = new Uint8Array(16);
      c.getRandomValues(r);
      for (i = 0; i < 16; i++) b[i] = r[i];
    } else {
      for (i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    }
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // variant 10
    var h = '';
    for (i = 0; i < 16; i++) {
      h += (b[i] + 0x100).toString(16).slice(1);
      if (i === 3 || i === 5 || i === 7 || i === 9) h += '-';
    }
    return h;
  }

  function extend(target) {
    for (var i = 1; i < arguments.length; i++) {
      var src = arguments[i];
      if (src) for (var k in src) if (Object.prototype.hasOwnProperty.call(src, k)) target[k] = src[k];
    }
    return target;
  }

  // UTF-8 size of a string (surrogate pairs count 6, an overestimate that is fine here).
  function bytes(str) {
    var n = str.length;
    for (var i = 0; i < str.length; i++) {
      var c = str.charCodeAt(i);
      if (c > 0x7f) n += c > 0x7ff ? 2 : 1;
    }
    return n;
  }

  function isObject(x) {
    return x !== null && typeof x === 'object' && !(x instanceof Array);
  }

  function warn(msg) {
    if (window.console && console.warn) console.warn('[firstparty.js] ' + msg);
  }

  // localStorage can be missing, full or forbidden: every access is guarded.
  function lsGet(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function lsSet(key, value) {
    try {
      window.localStorage.setItem(key, value);
      return true;
    } catch (e) {
      return false;
    }
  }

  function lsRemove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (e) {}
  }

  function lsJson(key) {
    try {
      return JSON.parse(lsGet(key) || 'null');
    } catch (e) {
      return null;
    }
  }

  function cookieGet(name) {
    var parts = ('; ' + document.cookie).split('; ' + name + '=');
    return parts.length > 1 ? decodeURIComponent(parts[1].split(';')[0]) : null;
  }

  function cookieSet(name, value, maxAge) {
    var c = name + '=' + encodeURIComponent(value) + '; Max-Age=' + maxAge + '; Path=/; SameSite=Lax';
    if (opts && opts.cookieDomain) c += '; Domain=' + opts.cookieDomain;
    if (location.protocol === 'https:') c += '; Secure';
    try {
      document.cookie = c;
    } catch (e) {}
  }

  // An id kept both in a first-party cookie and in localStorage: either copy
  // restores the other.
  function readId(key) {
    return cookieGet(key) || lsGet(key);
  }

  function writeId(key, value) {
    if (value) {
      cookieSet(key, value, COOKIE_MAX_AGE_S);
      lsSet(key, value);
    } else {
      cookieSet(key, '', 0);
      lsRemove(key);
    }
  }

  // ------------------------------------------------------------------ identity

  function anonymousId() {
    var id = readId(ANON_KEY);
    if (!id) id = uuid();
    if (cookieGet(ANON_KEY) !== id || lsGet(ANON_KEY) !== id) writeId(ANON_KEY, id);
    return id;
  }

  function userId() {
    return readId(USER_KEY);
  }

  // ------------------------------------------------------------------ context

  // The page's URL as tracked: without the #fragment unless options.hash.
  function pageUrl() {
    var href = location.href;
    var i = href.indexOf('#');
    return opts.hash || i < 0 ? href : href.slice(0, i);
  }

  function pageContext() {
    return {
      url: pageUrl(),
      path: location.pathname,
      search: location.search,
      title: document.title,
      referrer: document.referrer
    };
  }

  // utm_* parameters of the current URL, as Segment's context.campaign.
  function campaign() {
    var names = { utm_source: 'source', utm_medium: 'medium', utm_campaign: 'name', utm_term: 'term', utm_content: 'content' };
    var out = null;
    var pairs = location.search.replace(/^\?/, '').split('&');
    for (var i = 0; i < pairs.length; i++) {
      var kv = pairs[i].split('=');
      var key = names[decodeParam(kv[0])];
      if (key && kv.length > 1) {
        out = out || {};
        out[key] = decodeParam(kv.slice(1).join('='));
      }
    }
    return out;
  }

  function decodeParam(s) {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch (e) {
      return s;
    }
  }

  function context(page) {
    var ctx = {
      page: page || pageContext(),
      userAgent: navigator.userAgent,
      locale: navigator.language,
      library: { name: LIBRARY, version: VERSION }
    };
    try {
      ctx.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {}
    var s = window.screen;
    if (s) ctx.screen = { width: s.width, height: s.height, density: window.devicePixelRatio || 1 };
    var c = campaign();
    if (c) ctx.campaign = c;
    return ctx;
  }

  // A complete Segment message: the fields common to every type, then `fields`.
  function message(type, fields, at, page) {
    var msg = {
      type: type,
      messageId: uuid(),
      timestamp: iso(at || now()),
      anonymousId: anonymousId(),
      context: context(page)
    };
    var uid = userId();
    if (uid) msg.userId = uid;
    return extend(msg, fields);
  }

  // ------------------------------------------------------------------ the public calls
  // Each takes its call time `at` as the last, hidden argument (see call()).

  function track(name, properties, at) {
    if (!name || typeof name !== 'string') return warn('track() needs an event name');
    enqueue(message('track', { event: name, properties: isObject(properties) ? properties : {} }, at));
  }

  // page(name?, properties?); page(properties)
  function page(name, properties, at, pageCtx) {
    if (isObject(name)) {
      properties = name;
      name = null;
    }
    var p = pageCtx || pageContext();
    var props = extend({ url: p.url, path: p.path, search: p.search, title: p.title, referrer: p.referrer }, isObject(properties) ? properties : null);
    var fields = { properties: props };
    if (name) fields.name = String(name);
    enqueue(message('page', fields, at, p));
  }

  // identify(userId, traits?); identify(traits) for the current user
  function identify(id, traits, at) {
    if (isObject(id)) {
      traits = id;
      id = null;
    }
    var current = userId();
    var stored = lsJson(TRAITS_KEY) || {};
    if (id !== null && id !== undefined && id !== '') {
      id = String(id);
      if (current && current !== id) stored = {}; // another user: their traits are not ours
      writeId(USER_KEY, id);
    }
    var all = extend(stored, isObject(traits) ? traits : null);
    lsSet(TRAITS_KEY, JSON.stringify(all));
    enqueue(message('identify', { traits: all }, at));
  }

  function group(groupId, traits, at) {
    if (groupId === null || groupId === undefined || groupId === '') return warn('group() needs a group id');
    enqueue(message('group', { groupId: String(groupId), traits: isObject(traits) ? traits : {} }, at));
  }

  // alias(userId, previousId?): previousId defaults to the current user id, else the anonymous id.
  function alias(id, previousId, at) {
    if (id === null || id === undefined || id === '') return warn('alias() needs a user id');
    var prev = previousId || userId() || anonymousId();
    enqueue(message('alias', { userId: String(id), previousId: String(prev) }, at));
  }

  // Forgets the user (id and traits) and starts a new anonymous id.
  function reset() {
    writeId(USER_KEY, null);
    lsRemove(TRAITS_KEY);
    writeId(ANON_KEY, uuid());
  }

  // ------------------------------------------------------------------ queue and persistence

  function enqueue(msg) {
    queue.push({ m: msg, n: 0 });
    trim();
    save();
    if (queue.length >= opts.flushAt) flush();
    else if (!flushTimer && !retryTimer) flushTimer = setTimeout(flush, opts.flushInterval);
  }

  // Keeps at most maxQueue messages, dropping the oldest that are not in flight.
  function trim() {
    var over = queue.length + inflight.length - opts.maxQueue;
    if (over > 0) queue.splice(0, Math.min(over, queue.length));
  }

  // Writes this page's entry: what is queued and what is in flight.
  function save() {
    if (!storeKey) return;
    var items = inflight.concat(queue);
    if (!items.length) {
      lsRemove(storeKey);
      if (heartbeatTimer) clearInterval(heartbeatTimer);
      heartbeatTimer = null;
      return;
    }
    var entry = { t: now(), c: closed ? 1 : 0, q: items };
    saved = lsSet(storeKey, JSON.stringify(entry));
    if (!heartbeatTimer) heartbeatTimer = setInterval(save, HEARTBEAT_MS);
  }

  // Takes over the entries of pages that are gone (closed, or silent for STALE_MS).
  function adopt() {
    var prefix = QUEUE_PREFIX + writeKey + ':';
    var keys = [];
    var seen = {};
    var i;
    try {
      for (i = 0; i < window.localStorage.length; i++) keys.push(window.localStorage.key(i));
    } catch (e) {
      return;
    }
    for (i = 0; i < queue.length; i++) seen[queue[i].m.messageId] = 1;
    var adopted = [];
    for (i = 0; i < keys.length; i++) {
      var key = keys[i];
      if (!key || key.indexOf(prefix) !== 0 || key === storeKey) continue;
      var entry = lsJson(key);
      if (entry && !entry.c && now() - entry.t < STALE_MS) continue; // a live page's
      lsRemove(key);
      var items = (entry && entry.q) || [];
      for (var j = 0; j < items.length; j++) {
        var it = items[j];
        if (it && it.m && it.m.messageId && !seen[it.m.messageId]) {
          seen[it.m.messageId] = 1;
          adopted.push(it);
        }
      }
    }
    if (!adopted.length) return;
    adopted.sort(function (a, b) {
      return a.m.timestamp < b.m.timestamp ? -1 : a.m.timestamp > b.m.timestamp ? 1 : 0;
    });
    queue = adopted.concat(queue);
    trim();
    save();
  }

  // ------------------------------------------------------------------ sending

  function body(entries) {
    var batch = [];
    for (var i = 0; i < entries.length; i++) batch.push(entries[i].m);
    return JSON.stringify({ writeKey: writeKey, sentAt: iso(now()), batch: batch });
  }

  // The first entries of the queue that fit one request (at least one).
  function takeBatch(maxBytes) {
    var n = 0;
    var total = 60; // the envelope
    while (n < queue.length && n < BATCH_MAX_MESSAGES) {
      var size = bytes(JSON.stringify(queue[n].m)) + 1;
      if (n > 0 && total + size > maxBytes) break;
      total += size;
      n++;
    }
    return queue.splice(0, n);
  }

  function flush() {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    if (!endpoint || inflight.length || retryTimer || !queue.length) return;
    if (navigator.onLine === false) return; // the 'online' event flushes
    send(takeBatch(BATCH_MAX_BYTES));
  }

  // Sends `entries` (one request at a time: the caller checked that none is in
  // flight); settle() applies the answer.
  function send(entries) {
    inflight = entries; // still in localStorage: this page's entry holds them
    var json = body(inflight);
    var done = false;
    var finish = function (outcome, retryAfterS) {
      if (done) return;
      done = true;
      settle(outcome, retryAfterS);
    };
    try {
      window
        .fetch(endpoint, {
          method: 'POST',
          keepalive: bytes(json) < BEACON_MAX_BYTES, // keepalive requests are limited to 64 KiB
          headers: { 'Content-Type': 'text/plain' },
          body: json
        })
        .then(function (res) {
          var retryAfter = parseInt(res.headers.get('Retry-After'), 10);
          return res.text().then(
            function (text) {
              finish({ status: res.status, text: text }, retryAfter);
            },
            function () {
              finish({ status: res.status }, retryAfter);
            }
          );
        })
        .then(null, function () {
          finish({ status: 0 }); // network error, or a response CORS does not let us read
        });
    } catch (e) {
      finish({ status: 0 });
    }
  }

  function retryable(status) {
    return status === 0 || status === 408 || status === 429 || status >= 500;
  }

  // Applies a response to the entries in flight. A readable batch answer
  // ({"results": [{"status"}, ...]}) is applied per message; else the status of
  // the request applies to all of them.
  function settle(res, retryAfterS) {
    var sent = inflight;
    inflight = [];
    var results = null;
    try {
      results = JSON.parse(res.text || 'null');
      results = results && results.results;
    } catch (e) {}
    var again = [];
    var dropped = 0;
    var failedRequest = retryable(res.status);
    for (var i = 0; i < sent.length; i++) {
      var status = res.status;
      if (results && results[i] && typeof results[i].status === 'number') status = results[i].status;
      if (status >= 200 && status < 300) continue;
      if (retryable(status)) {
        // A network error (offline, collector unreachable) says nothing about the
        // message, so it does not count towards maxRetries; maxAgeMs bounds it.
        if (status !== 0) sent[i].n++;
        var age = now() - Date.parse(sent[i].m.timestamp);
        if (sent[i].n < opts.maxRetries && !(age > opts.maxAgeMs)) again.push(sent[i]);
        else dropped++;
      } else {
        dropped++;
      }
    }
    if (dropped && !warned) {
      warned = true;
      warn('the collector refused or kept failing ' + dropped + ' message(s) (HTTP ' + res.status + ': ' + (res.text || '').slice(0, 200) + '); dropped');
    }
    queue = again.concat(queue);
    save();
    if (again.length) {
      failures = failedRequest ? failures + 1 : 1;
      var delay = Math.min(opts.retryMaxMs, opts.retryBaseMs * Math.pow(2, failures - 1));
      delay = delay * (0.75 + Math.random() * 0.5);
      if (retryAfterS > 0) delay = Math.max(delay, Math.min(retryAfterS, 300) * 1000);
      retryTimer = setTimeout(function () {
        retryTimer = null;
        flush();
      }, delay);
    } else {
      failures = 0;
      if (queue.length >= opts.flushAt) flush();
      else if (queue.length && !flushTimer) flushTimer = setTimeout(flush, opts.flushInterval);
    }
  }

  // The page is being hidden or closed: send what is queued (not what is in
  // flight: fetch keepalive carries on with it) with sendBeacon, in chunks under
  // 64 KB. If a beacon is refused (the browser's keepalive quota), the next chunk
  // goes as an ordinary keepalive request when none is in flight; what is left
  // stays in localStorage for the next page.
  function flushOnHide() {
    if (!endpoint) return;
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    // A beacon's fate is unknown: while the collector is failing or the browser is
    // offline, the messages rather wait in localStorage for the next page.
    if (failures > 0 || navigator.onLine === false) return save();
    while (queue.length) {
      var chunk = takeBatch(BEACON_MAX_BYTES);
      var ok = false;
      try {
        ok = navigator.sendBeacon(endpoint, new Blob([body(chunk)], { type: 'text/plain' }));
      } catch (e) {}
      if (!ok) {
        queue = chunk.concat(queue);
        if (!inflight.length) send(takeBatch(BEACON_MAX_BYTES));
        break;
      }
    }
    save();
  }

  function onPageHide(e) {
    flushOnHide();
    // A page kept in the back/forward cache may come back: it keeps its entry
    // (and adoption waits for it to go stale); a page that is gone gives it up.
    if (!(e && e.persisted)) {
      closed = true;
      save();
    }
  }

  // Back from the back/forward cache: if another page adopted this page's entry
  // meanwhile (it had gone stale), the messages are that page's to send now.
  function onPageShow(e) {
    if (!(e && e.persisted)) return;
    if (saved && (queue.length || inflight.length) && lsGet(storeKey) === null) queue = [];
    closed = false;
    save();
  }

  // ------------------------------------------------------------------ single-page apps

  function onUrlChange() {
    var url = pageUrl();
    if (url === lastUrl) return; // e.g. replaceState with the same URL
    var previous = lastUrl;
    lastUrl = url;
    var at = now();
    var p = pageContext();
    p.previous_url = previous;
    // The title is read a moment later: routers usually set it after the URL.
    setTimeout(function () {
      p.title = document.title;
      safe(page, [null, null, at, p]);
    }, 0);
  }

  function patchHistory(name) {
    var original = history[name];
    if (typeof original !== 'function') return;
    history[name] = function () {
      var result = original.apply(this, arguments);
      safe(onUrlChange, []);
      return result;
    };
  }

  // ------------------------------------------------------------------ load and dispatch

  function load(key, host, options, at) {
    if (writeKey) return warn('load() was called twice; the first call wins');
    if (!key) return warn('load() needs a write key');
    opts = extend({}, DEFAULTS, isObject(options) ? options : null);
    writeKey = String(key);
    var prefix = String(opts.prefix || '').replace(/\/+$/, '');
    if (prefix && prefix.charAt(0) !== '/') prefix = '/' + prefix;
    endpoint = String(host || '').replace(/\/+$/, '') + prefix + '/v1/batch';
    storeKey = QUEUE_PREFIX + writeKey + ':' + pageId;

    writeId(ANON_KEY, anonymousId()); // a year from now again
    if (userId()) writeId(USER_KEY, userId());
    adopt();
    lastUrl = pageUrl();

    window.addEventListener('pagehide', onPageHide);
    window.addEventListener('pageshow', onPageShow);
    document.addEventListener('visibilitychange', function () {
      if (document.visibilityState === 'hidden') safe(flushOnHide, []);
    });
    window.addEventListener('online', function () {
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      failures = 0;
      safe(flush, []);
    });
    if (opts.spa) {
      patchHistory('pushState');
      patchHistory('replaceState');
      window.addEventListener('popstate', function () {
        safe(onUrlChange, []);
      });
      if (opts.hash) {
        window.addEventListener('hashchange', function () {
          safe(onUrlChange, []);
        });
      }
    }
    if (queue.length) flush(); // what was adopted goes now
    if (opts.page) page(null, null, at); // at: when the snippet ran

    var calls = pending;
    pending = [];
    for (var i = 0; i < calls.length; i++) run(calls[i]);
  }

  var methods = {
    load: load,
    track: track,
    page: page,
    identify: identify,
    group: group,
    alias: alias,
    reset: reset,
    flush: function () {
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      flush();
    }
  };
  // The calls that take a call time as their hidden last argument, and its position.
  var ARITY = { load: 3, track: 2, page: 2, identify: 2, group: 2, alias: 2 };

  function safe(fn, args) {
    try {
      return fn.apply(null, args);
    } catch (e) {
      warn('internal error: ' + (e && e.message));
    }
  }

  // Runs one call [method, ...args] (a `.t` property is its call time).
  function run(call) {
    var name = call[0];
    var fn = methods[name];
    if (!fn) return warn('unknown method ' + name);
    if (!call.t) call.t = now();
    if (!writeKey && name !== 'load') {
      pending.push(call);
      return;
    }
    var args = Array.prototype.slice.call(call, 1);
    if (ARITY[name] !== undefined) {
      args.length = ARITY[name];
      args.push(call.t);
    }
    safe(fn, args);
  }

  // ------------------------------------------------------------------ install

  var queued = [];
  for (var q = 0; q < api.length; q++) queued.push(api[q]);
  if (api instanceof Array) api.length = 0;

  function publicMethod(name) {
    return function () {
      var call = [name].concat(Array.prototype.slice.call(arguments));
      call.t = now();
      run(call);
      return api;
    };
  }
  for (var name in methods) if (Object.prototype.hasOwnProperty.call(methods, name)) api[name] = publicMethod(name);
  // firstparty.push(['track', 'Button Clicked']) works too, before and after loading.
  api.push = function (call) {
    if (call && call.length) run(call);
    return 0;
  };
  api.initialized = true;
  api.VERSION = VERSION;
  window.firstparty = api;

  // The stub's load() first, wherever it was queued, then the rest in order.
  for (q = 0; q < queued.length; q++) {
    if (queued[q] && queued[q][0] === 'load') {
      run(queued.splice(q, 1)[0]);
      break;
    }
  }
  // Without a stub: <script src=".../firstparty.min.js" data-write-key="..." data-host="...">
  var script = document.currentScript;
  if (!writeKey && script && script.getAttribute('data-write-key')) {
    run(['load', script.getAttribute('data-write-key'), script.getAttribute('data-host') || '', { prefix: script.getAttribute('data-prefix') || '' }]);
  }
  for (q = 0; q < queued.length; q++) if (queued[q] && queued[q].length) run(queued[q]);
})(window, document);
