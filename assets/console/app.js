// The firstlog console: a read-only single-page app over the collector's read
// endpoints. Plain JavaScript, no build step; charts by uPlot (vendor/uplot).
// The read token is kept in sessionStorage and sent as `Authorization: Bearer`
// with every data call; nothing else is stored and no cookie is used. Every
// value from the store is put in the page as text (never as HTML).
(() => {
  'use strict';

  const BASE = document.querySelector('meta[name="firstlog-base"]').content || '';
  const TOKEN_KEY = 'firstlog.readToken';
  const DAY_MS = 86400000;
  const HOUR_MS = 3600000;
  const STREAM_MAX = 200;

  const $ = (id) => document.getElementById(id);
  const main = $('main');
  let token = sessionStorage.getItem(TOKEN_KEY);
  /** Functions that stop what the current page started (timers, polls, charts). */
  let cleanups = [];

  class AuthError extends Error {}

  // ---- DOM ---------------------------------------------------------------------

  /** An element: h('td', {class: 'num'}, 'text', child, ...). Children are text or nodes. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const nf = new Intl.NumberFormat('en-US');
  const plural = (n, word) => `${nf.format(n)} ${word}${n === 1 ? '' : 's'}`;
  const num = (n) => (n === null || n === undefined ? '–' : nf.format(n));
  function bytes(n) {
    if (n === null || n === undefined) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${i ? n.toFixed(1) : n} ${units[i]}`;
  }
  const time = (s) => (s ? s.replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace('Z', ' UTC') : '–');
  function duration(secs) {
    if (secs === null || secs === undefined) return 'none';
    for (const [unit, n] of [['d', 86400], ['h', 3600], ['m', 60]]) if (secs % n === 0) return `${secs / n}${unit}`;
    return `${secs}s`;
  }
  /** Replaces the page's content (null and false children are left out). */
  const setMain = (...nodes) => main.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
  const status = (text) => ($('status').textContent = text || '');

  // ---- API ---------------------------------------------------------------------

  async function api(path, { method = 'GET', signal, raw = false } = {}) {
    const res = await fetch(BASE + path, {
      method,
      signal,
      cache: 'no-store',
      credentials: 'omit',
      headers: { Authorization: `Bearer ${token}` },
    });
    if (res.status === 401 || res.status === 403) {
      const body = await res.json().catch(() => ({}));
      throw new AuthError(body.message || `refused (${res.status})`);
    }
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new Error(`${res.status} ${body.error || ''}: ${body.message || res.statusText}`);
    }
    return raw ? res.text() : res.json();
  }

  /** An events page: {events, cursor} from the NDJSON body (last line: the cursor). */
  async function eventsPage(path, signal) {
    const text = await api(path, { signal, raw: true });
    const lines = text.split('\n').filter((l) => l.trim());
    const cursor = JSON.parse(lines.pop() || '{}');
    if (cursor.error) throw new Error(`reading failed: ${cursor.message}`);
    return { events: lines.map((l) => JSON.parse(l)), cursor };
  }

  // ---- login -------------------------------------------------------------------

  function showLogin(message) {
    stopPage();
    main.replaceChildren();
    $('login').hidden = false;
    $('nav').hidden = true;
    $('logout').hidden = true;
    const err = $('login-error');
    err.hidden = !message;
    err.textContent = message || '';
    $('token').focus();
  }

  async function login(event) {
    event.preventDefault();
    const candidate = $('token').value.trim();
    if (!candidate) return;
    token = candidate;
    try {
      await api('/v1/stats');
    } catch (e) {
      token = null;
      showLogin(e instanceof AuthError ? `The token was refused: ${e.message}` : `Cannot reach the server: ${e.message}`);
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    $('login').hidden = true;
    route();
  }

  function logout() {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    showLogin();
  }

  // ---- routing -----------------------------------------------------------------

  function stopPage() {
    for (const f of cleanups) {
      try {
        f();
      } catch {}
    }
    cleanups = [];
  }

  async function route() {
    stopPage();
    if (!token) return showLogin();
    $('login').hidden = true;
    $('nav').hidden = false;
    $('logout').hidden = false;
    const hash = location.hash.replace(/^#\/?/, '');
    const parts = hash.split('/').filter(Boolean);
    let page = 'sources';
    let render = renderSources;
    if (parts[0] === 'sources' && parts[1]) {
      render = () => renderSource(Number(parts[1]));
    } else if (parts[0] === 'rejected') {
      page = 'rejected';
      render = renderRejected;
    } else if (parts[0] === 'store') {
      page = 'store';
      render = renderStore;
    }
    for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === page);
    main.replaceChildren(h('p', { class: 'empty' }, 'Loading…'));
    try {
      await render();
    } catch (e) {
      if (e instanceof AuthError) return showLogin(`The token was refused: ${e.message}`);
      if (e.name === 'AbortError') return;
      main.replaceChildren(h('p', { class: 'notice bad' }, `Could not load this page: ${e.message}`));
    }
  }

  /** Calls `fn` every `ms` while the page is shown. */
  function every(ms, fn) {
    const timer = setInterval(() => fn().catch(() => {}), ms);
    cleanups.push(() => clearInterval(timer));
  }

  // ---- charts ------------------------------------------------------------------

  const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');

  function sparkline(values, since) {
    const holder = h('div', { class: 'spark', title: `events per day, last ${values.length} days` });
    const xs = values.map((_, i) => (since + i * DAY_MS) / 1000);
    const chart = new uPlot(
      {
        width: 160,
        height: 34,
        pxAlign: false,
        cursor: { show: false },
        legend: { show: false },
        select: { show: false },
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
        axes: [{ show: false }, { show: false }],
        series: [{}, { stroke: '#2f6fde', fill: 'rgba(47,111,222,0.15)', width: 1.5, points: { show: false } }],
      },
      [xs, values],
      holder,
    );
    cleanups.push(() => chart.destroy());
    return holder;
  }

  function timeChart(holder, groups, { since, until, step }) {
    const byStart = new Map(groups.map((g) => [Date.parse(g.start), g]));
    const xs = [];
    const events = [];
    const profiles = [];
    for (let t = since; t < until; t += step) {
      const g = byStart.get(t);
      xs.push(t / 1000);
      events.push(g ? g.events : 0);
      profiles.push(g ? g.profiles : 0);
    }
    const width = Math.max(320, holder.clientWidth || 800);
    const chart = new uPlot(
      {
        width,
        height: 300,
        tzDate: utc,
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.05)] } },
        axes: [{}, { size: 60 }],
        series: [
          { label: step === HOUR_MS ? 'Hour (UTC)' : 'Day (UTC)' },
          {
            label: 'Events',
            stroke: '#2f6fde',
            fill: 'rgba(47,111,222,0.25)',
            paths: uPlot.paths.bars({ size: [0.8, 40] }),
            points: { show: false },
          },
          { label: 'Distinct profiles', stroke: '#e8871e', width: 2, points: { show: false } },
        ],
      },
      [xs, events, profiles],
      holder,
    );
    const resize = () => chart.setSize({ width: Math.max(320, holder.clientWidth), height: 300 });
    window.addEventListener('resize', resize);
    cleanups.push(() => {
      window.removeEventListener('resize', resize);
      chart.destroy();
    });
    return chart;
  }

  // ---- sources -----------------------------------------------------------------

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Not a secure context (plain http to another host): select and copy.
      const area = h('textarea', { class: 'copy-buffer' }, text);
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    const was = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => (button.textContent = was), 1200);
  }

  function setupRow(s, columns) {
    const warnings = s.naming_warnings.length
      ? h(
          'ul',
          { class: 'warnings' },
          s.naming_warnings.map((w) =>
            h(
              'li',
              {},
              h('code', {}, w.name),
              ` (${num(w.events)} events): ${w.violations.join('; ')}`,
              w.suggestion ? [' → ', h('code', {}, w.suggestion)] : ' (no mechanical fix)',
            ),
          ),
        )
      : h('p', { class: 'empty' }, 'Every event name follows the guideline ("Noun Verbed", Title Case).');
    const copyButton = h('button', { type: 'button', class: 'small', dataset: { copy: 'key' } }, 'Copy');
    copyButton.addEventListener('click', () => copy(s.write_key, copyButton));
    const snippetButton = h('button', { type: 'button', class: 'small' }, 'Copy snippet');
    snippetButton.addEventListener('click', () => copy(s.snippet || '', snippetButton));
    return h(
      'tr',
      { class: 'setup', dataset: { sourceId: s.id } },
      h(
        'td',
        { colspan: columns },
        h(
          'details',
          {},
          h('summary', {}, 'Write key, tracker snippet', s.naming_warnings.length ? ` and ${plural(s.naming_warnings.length, 'naming warning')}` : ''),
          h(
            'div',
            { class: 'setup-grid' },
            h(
              'div',
              {},
              h('div', { class: 'keyline' }, 'Write key ', h('code', { dataset: { field: 'write_key' } }, s.write_key), copyButton),
              s.snippet
                ? [
                    h('p', {}, 'Paste before ', h('code', {}, '</head>'), ' on every page of the site ', snippetButton),
                    h('pre', { class: 'snippet' }, s.snippet),
                  ]
                : h('p', { class: 'empty' }, 'No snippet: the request had no Host header.'),
            ),
            h('div', {}, h('strong', {}, 'Naming warnings'), warnings),
          ),
        ),
      ),
    );
  }

  async function renderSources() {
    const data = await api('/v1/sources');
    const since = Date.parse(data.since);
    const columns = 7;
    const total = data.sources.reduce((a, s) => a + s.events, 0);
    const rows = [];
    for (const s of data.sources) {
      rows.push(
        h(
          'tr',
          { class: 'source', dataset: { sourceId: s.id } },
          h(
            'td',
            {},
            h('a', { href: `#/sources/${s.id}`, dataset: { field: 'name' } }, s.name),
            ' ',
            h('span', { class: 'badge' }, `#${s.id}`),
            s.enabled ? '' : [' ', h('span', { class: 'badge bad' }, 'disabled')],
          ),
          h('td', { class: 'num', dataset: { field: 'events', value: s.events } }, num(s.events)),
          h('td', { class: 'num', dataset: { field: 'profiles', value: s.profiles } }, num(s.profiles)),
          h('td', { class: 'num', dataset: { field: 'bytes', value: s.bytes } }, bytes(s.bytes)),
          h('td', {}, sparkline(s.daily, since)),
          h('td', {}, time(s.last_timestamp)),
          h(
            'td',
            { class: 'num' },
            s.naming_warnings.length
              ? h('span', { class: 'badge warn', dataset: { field: 'warnings' } }, plural(s.naming_warnings.length, 'name'))
              : h('span', { class: 'badge ok' }, 'ok'),
          ),
        ),
        setupRow(s, columns),
      );
    }
    main.replaceChildren(
      h('h1', {}, 'Sources'),
      h(
        'p',
        { class: 'sub' },
        `${num(data.sources.length)} sources, ${num(total)} events. Sparklines: events per day, ${data.days} days to ${time(data.until).slice(0, 10)} (UTC).`,
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'sources-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'Source'),
              h('th', { class: 'num' }, 'Events'),
              h('th', { class: 'num' }, 'Profiles'),
              h('th', { class: 'num' }, 'Bytes'),
              h('th', {}, `Last ${data.days} days`),
              h('th', {}, 'Last event'),
              h('th', { class: 'num' }, 'Naming'),
            ),
          ),
          h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: columns, class: 'empty' }, 'No sources yet: firstlog source create NAME'))),
        ),
      ),
    );
    markRendered('sources');
  }

  /** For tests and the first-render measurement: when a page's data is on screen. */
  function markRendered(page) {
    if (!window.__firstlogRendered) {
      window.__firstlogRendered = { page, ms: performance.now() };
      performance.mark('firstlog-first-render');
    }
    document.body.dataset.rendered = page;
  }

  // ---- one source --------------------------------------------------------------

  const RANGES = [
    { id: '24h', label: 'Last 24 hours, hourly', span: DAY_MS, step: HOUR_MS },
    { id: '7d', label: 'Last 7 days, hourly', span: 7 * DAY_MS, step: HOUR_MS },
    { id: '30d', label: 'Last 30 days, daily', span: 30 * DAY_MS, step: DAY_MS },
    { id: '90d', label: 'Last 90 days, daily', span: 90 * DAY_MS, step: DAY_MS },
    { id: '365d', label: 'Last 365 days, daily', span: 365 * DAY_MS, step: DAY_MS },
  ];

  /** The range to chart: ending now, or at the source's last event when it is older than the range. */
  function rangeOf(r, lastTimestamp) {
    const now = Date.now();
    const last = lastTimestamp ? Date.parse(lastTimestamp) : now;
    const endAt = last < now - r.span ? last : now;
    const until = Math.floor(endAt / r.step) * r.step + r.step;
    return { since: until - r.span, until, step: r.step, endedAtLast: endAt !== now };
  }

  async function renderSource(id) {
    const s = await api(`/v1/sources/${id}`);
    const rangeSelect = h('select', { id: 'range' }, RANGES.map((r) => h('option', { value: r.id }, r.label)));
    rangeSelect.value = sessionStorage.getItem('firstlog.range') || '7d';
    const chartHolder = h('div', { class: 'chart', id: 'chart' });
    const rangeNote = h('span', { class: 'sub' });
    const names = h('div', { id: 'top-names' });
    const stream = h('div', { class: 'stream', id: 'stream' });
    const liveDot = h('span', { class: 'live-dot' });
    const liveText = h('span', { id: 'live-state' }, 'Live');
    const pause = h('button', { type: 'button', class: 'small', id: 'pause' }, 'Pause');

    main.replaceChildren(
      h('p', {}, h('a', { href: '#/' }, '← Sources')),
      h('h1', { id: 'source-name' }, s.name, ' ', h('span', { class: 'badge' }, `#${s.id}`)),
      h('p', { class: 'sub' }, `Write key `, h('code', {}, s.write_key), s.enabled ? '' : ' (disabled)'),
      h(
        'div',
        { class: 'tiles' },
        tile('Events', num(s.events), 'events'),
        tile('Distinct profiles', num(s.profiles), 'profiles'),
        tile('Event names', num(s.names)),
        tile('Bytes', bytes(s.bytes)),
        tile('First event', time(s.first_timestamp)),
        tile('Last event', time(s.last_timestamp)),
      ),
      h(
        'div',
        { class: 'card' },
        h('div', { class: 'controls' }, h('strong', {}, 'Events over time'), rangeSelect, rangeNote),
        chartHolder,
      ),
      h(
        'div',
        { class: 'two' },
        h(
          'div',
          { class: 'card' },
          h('div', { class: 'controls' }, liveDot, h('strong', {}, 'Live events'), liveText, h('span', { class: 'spacer' }), pause),
          h('p', { class: 'sub' }, 'The newest events of this source, new ones arriving at the top within a second. Click one for its full JSON.'),
          stream,
        ),
        h('div', { class: 'card' }, h('strong', {}, 'Top event names'), h('span', { class: 'sub' }, ' (in the chosen range)'), names),
      ),
    );

    let chart = null;
    let seq = 0;
    async function loadRange() {
      const r = RANGES.find((x) => x.id === rangeSelect.value) || RANGES[1];
      sessionStorage.setItem('firstlog.range', r.id);
      const range = rangeOf(r, s.last_timestamp);
      const mine = ++seq;
      const by = r.step === HOUR_MS ? 'hour' : 'day';
      const q = `since=${range.since}&until=${range.until}`;
      const [counts, byName] = await Promise.all([
        api(`/v1/sources/${id}/counts?by=${by}&${q}`),
        api(`/v1/sources/${id}/counts?by=name&${q}`),
      ]);
      if (mine !== seq) return;
      rangeNote.textContent = `${time(new Date(range.since).toISOString())} to ${time(new Date(range.until).toISOString())}${range.endedAtLast ? ' (ending at the last event)' : ''}: ${num(counts.events)} events, ${num(counts.profiles)} profiles`;
      if (chart) chart.destroy();
      chartHolder.replaceChildren();
      chart = timeChart(chartHolder, counts.groups, range);
      chartHolder.dataset.events = counts.events;
      renderNames(names, byName);
      markRendered('source');
    }
    rangeSelect.addEventListener('change', () => loadRange().catch((e) => status(e.message)));
    await loadRange();
    startStream(id, stream, { pause, liveDot, liveText });
  }

  function tile(label, value, field) {
    return h('div', { class: 'tile' }, h('div', { class: 'label' }, label), h('div', { class: 'value', dataset: field ? { field } : {} }, value));
  }

  function renderNames(holder, byName) {
    if (!byName.groups.length) return holder.replaceChildren(h('p', { class: 'empty' }, 'No events in this range.'));
    const max = byName.groups[0].events;
    holder.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Event'), h('th', { class: 'num' }, 'Events'), h('th', { class: 'num' }, 'Profiles'))),
        h(
          'tbody',
          {},
          byName.groups.slice(0, 15).map((g) => {
            const bar = h('div', { class: 'bar' });
            bar.style.width = `${Math.max(1, (100 * g.events) / max)}%`;
            return h('tr', {}, h('td', {}, g.name, bar), h('td', { class: 'num' }, num(g.events)), h('td', { class: 'num' }, num(g.profiles)));
          }),
        ),
      ),
    );
  }

  // ---- the live stream -----------------------------------------------------------

  function eventRow(e, fresh) {
    const who = e.profile_id || (e.context && e.context.anonymous_id) || '';
    const props = e.properties ? Object.keys(e.properties).length : 0;
    return h(
      'details',
      { class: `event${fresh ? ' new' : ''}`, dataset: { seq: e.seq } },
      h(
        'summary',
        {},
        h('span', { class: 'time' }, time(e.timestamp)),
        h('span', { class: 'name' }, e.event),
        h('span', { class: 'who' }, who ? `${who} · ${props} props` : `${props} props`),
        h('span', { class: 'seq' }, `#${e.seq}`),
      ),
      h('pre', { class: 'json' }, JSON.stringify(e, null, 2)),
    );
  }

  /**
   * Shows the newest events, then follows new ones with long polls
   * (`events?after=SEQ&wait_ms=…`: the server answers as soon as one exists).
   */
  function startStream(id, holder, { pause, liveDot, liveText }) {
    const controller = new AbortController();
    let stopped = false;
    let paused = false;
    let wake = null;
    cleanups.push(() => {
      stopped = true;
      controller.abort();
    });
    pause.addEventListener('click', () => {
      paused = !paused;
      pause.textContent = paused ? 'Resume' : 'Pause';
      liveDot.classList.toggle('paused', paused);
      liveText.textContent = paused ? 'Paused' : 'Live';
      if (!paused && wake) wake();
    });

    const add = (events, fresh) => {
      const empty = holder.querySelector('.empty');
      if (empty) empty.remove();
      for (const e of events) holder.prepend(eventRow(e, fresh));
      while (holder.children.length > STREAM_MAX) holder.lastElementChild.remove();
    };

    (async () => {
      const first = await eventsPage(`/v1/sources/${id}/events?order=desc&limit=50`, controller.signal);
      let after = first.events.length ? first.events[0].seq : 0;
      if (!first.events.length) holder.append(h('p', { class: 'empty' }, 'No events yet. New ones appear here as they are collected.'));
      add(first.events.slice().reverse(), false);
      holder.dataset.ready = 'true';
      while (!stopped) {
        if (paused) {
          await new Promise((resolve) => (wake = resolve));
          wake = null;
          continue;
        }
        try {
          const page = await eventsPage(`/v1/sources/${id}/events?after=${after}&limit=500&wait_ms=20000`, controller.signal);
          if (page.events.length) {
            after = page.events[page.events.length - 1].seq;
            add(page.events, true);
          }
          liveText.textContent = 'Live';
        } catch (e) {
          if (stopped || e.name === 'AbortError') return;
          if (e instanceof AuthError) return showLogin(`The token was refused: ${e.message}`);
          liveText.textContent = `Reconnecting (${e.message})`;
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    })().catch((e) => {
      if (e.name !== 'AbortError') holder.replaceChildren(h('p', { class: 'notice bad' }, `The stream failed: ${e.message}`));
    });
  }

  // ---- rejected payloads ---------------------------------------------------------

  async function renderRejected() {
    const data = await api('/v1/rejected?limit=200');
    main.replaceChildren(
      h('h1', {}, 'Rejected payloads'),
      h(
        'p',
        { class: 'sub' },
        `Payloads collection turned away, newest first, with the reason (the store's quarantine, rejected.ndjson). ${num(data.rejected_since_open)} since the server started.`,
      ),
      data.rejected.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { id: 'rejected-table' },
              h('thead', {}, h('tr', {}, h('th', {}, 'Received'), h('th', {}, 'Reason'), h('th', {}, 'Payload'))),
              h(
                'tbody',
                {},
                data.rejected.map((r) =>
                  h(
                    'tr',
                    {},
                    h('td', { class: 'mono' }, time(r.received_at)),
                    h('td', {}, r.reason),
                    h('td', {}, h('details', {}, h('summary', {}, r.payload.slice(0, 80) || '(empty)'), h('pre', { class: 'json' }, pretty(r.payload)))),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'empty' }, 'Nothing was rejected.'),
    );
    markRendered('rejected');
  }

  function pretty(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }

  // ---- store health, retention, erasures -----------------------------------------

  async function renderStore() {
    const [stats, retention, erasures, ready] = await Promise.all([
      api('/v1/stats'),
      api('/v1/retention'),
      api('/v1/erasures'),
      fetch(`${BASE}/readyz`, { cache: 'no-store' })
        .then((r) => r.json())
        .catch((e) => ({ status: 'unreachable', reason: e.message })),
    ]);
    const unsynced = stats.last_seq - stats.synced_seq;
    const readyTile = tile('Readiness', ready.status === 'ready' ? 'ready' : `${ready.status}${ready.reason ? `: ${ready.reason}` : ''}`, 'ready');
    readyTile.querySelector('.value').classList.add(ready.status === 'ready' ? 'ok' : 'bad');
    const b = stats.bytes_by_age;
    setMain(
      h('h1', {}, 'Store'),
      h('p', { class: 'sub' }, 'Health and statistics of the store this collector writes; counters marked "since open" start when the server started.'),
      h(
        'div',
        { class: 'tiles', id: 'store-tiles' },
        readyTile,
        tile('Events', num(stats.events), 'events'),
        tile('Bytes', bytes(stats.bytes)),
        tile('Segments', `${num(stats.segments)} (${num(stats.sealed_segments)} sealed)`, 'segments'),
        tile('Last seq', num(stats.last_seq)),
        tile('Synced', unsynced > 0 ? `${num(unsynced)} events to sync` : 'everything', 'synced'),
        tile('Log start', num(stats.log_start), 'log_start'),
        tile('Accepted since open', num(stats.accepted)),
        tile('Duplicates since open', num(stats.duplicates)),
        tile('Rejected since open', num(stats.rejected)),
        tile('Naming warnings since open', num(stats.naming_warnings)),
        tile('Dedup window', `${num(stats.dedup_entries)} ids`),
      ),
      stats.maintenance_error ? h('p', { class: 'notice bad' }, `The last maintenance pass failed: ${stats.maintenance_error}`) : null,
      stats.dropped.length ? h('p', {}, 'Dropped by rules since open: ', stats.dropped.map((d) => `${d.rule} ${num(d.events)}`).join(', ')) : null,
      h('h2', {}, 'Per source'),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h('tr', {}, ['Source', 'Events', 'Bytes', 'First seq', 'Last seq', 'First event', 'Last event'].map((t, i) => h('th', { class: i && i < 5 ? 'num' : null }, t))),
          ),
          h(
            'tbody',
            {},
            stats.sources.map((s) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#/sources/${s.id}` }, s.name)),
                h('td', { class: 'num' }, num(s.events)),
                h('td', { class: 'num' }, bytes(s.bytes)),
                h('td', { class: 'num' }, num(s.first_seq)),
                h('td', { class: 'num' }, num(s.last_seq)),
                h('td', {}, time(s.first_timestamp)),
                h('td', {}, time(s.last_timestamp)),
              ),
            ),
          ),
        ),
      ),
      h('h2', {}, 'Retention'),
      h(
        'div',
        { class: 'card', id: 'retention' },
        h(
          'p',
          {},
          `Store policy: maximum age ${duration(retention.max_age_secs)}, maximum size ${retention.max_bytes ? bytes(retention.max_bytes) : 'none'}, roll interval ${duration(retention.roll_interval_secs)}. Log start: sequence number ${num(retention.log_start)}.`,
        ),
        h('p', {}, `Bytes by age of each segment's newest event: under 1 day ${bytes(b.under_1_day)}, 1–7 days ${bytes(b.under_7_days)}, 7–30 days ${bytes(b.under_30_days)}, 30–365 days ${bytes(b.under_365_days)}, older ${bytes(b.older)}.`),
        h(
          'p',
          {},
          'Sources with their own maximum age: ',
          retention.sources.filter((s) => s.max_age_secs).map((s) => `${s.name} ${duration(s.max_age_secs)}`).join(', ') || 'none',
          `. Suppressed profiles: ${num(retention.suppressed_profiles)}.`,
        ),
      ),
      h('h2', {}, 'Erasure requests'),
      erasures.erasures.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { id: 'erasures-table' },
              h('thead', {}, h('tr', {}, ['Id', 'Profile', 'Sources', 'State', 'Asked', 'Finished', 'Removed'].map((t) => h('th', {}, t)))),
              h(
                'tbody',
                {},
                erasures.erasures.map((e) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, `#${e.id}`),
                    h('td', {}, e.profile_id === null ? h('span', { class: 'sub' }, '(forgotten once done)') : e.profile_id),
                    h('td', {}, e.sources.length ? e.sources.join(', ') : 'all', e.suppress ? ' + suppressed' : ''),
                    h('td', {}, h('span', { class: `badge ${e.state === 'done' ? 'ok' : e.state === 'failed' ? 'bad' : 'warn'}` }, e.state), e.reason ? ` ${e.reason}` : ''),
                    h('td', {}, time(e.asked_at)),
                    h('td', {}, time(e.finished_at)),
                    h('td', {}, `${num(e.removed_events)} events, ${bytes(e.removed_bytes)}`),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'empty' }, 'No erasure requests.'),
      h('p', { class: 'sub' }, 'The console is read-only. Erase a profile with POST /v1/erasures (see the README, "Data lifecycle") or firstlog erase.'),
    );
    markRendered('store');
  }

  // ---- start -------------------------------------------------------------------

  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  route();
})();
