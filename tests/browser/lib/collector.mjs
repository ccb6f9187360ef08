// The collector under test: `$FIRSTLOG_BIN` (the firstlog binary) run as the
// README says: `--data DIR init`, `--data DIR source create NAME`, then
// `--data DIR serve --addr 127.0.0.1:PORT --read-token TOKEN` (first stdout line
// `listening on http://ADDR`, stopped with SIGTERM). Events are read back through
// `GET /v1/sources/{id}/events` (NDJSON, last line the cursor).

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, tempDir, sleep } from './util.mjs';

export function firstlogBin() {
  const bin = process.env.FIRSTLOG_BIN;
  if (!bin) {
    console.error('FIRSTLOG_BIN is not set: point it at the firstlog binary (cargo build --release --features cli: target/release/firstlog)');
    process.exit(2);
  }
  if (!fs.existsSync(bin)) {
    console.error(`FIRSTLOG_BIN=${bin} does not exist`);
    process.exit(2);
  }
  return path.resolve(bin);
}

/** A new store in a temporary directory with one source; {bin, dataDir, source, token}. */
export function createStore(sourceName = 'Web') {
  const bin = firstlogBin();
  const dataDir = path.join(tempDir('firstlog-browser-'), 'store');
  const run = (...args) =>
    execFileSync(bin, ['--data', dataDir, ...args], { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] });
  run('init');
  const out = run('source', 'create', sourceName).trim();
  const source = JSON.parse(out.split('\n').pop());
  if (!source.id || !source.write_key) throw new Error(`source create printed ${out}`);
  const token = `tok-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  return { bin, dataDir, source, token };
}

/**
 * Starts `serve` on `port` (a free one when not given, so that a restart can reuse
 * it). Resolves when it prints `listening on`; {url, port, stop(), output()}.
 */
export async function startCollector(store, { port } = {}) {
  port = port || (await freePort());
  const args = ['--data', store.dataDir, 'serve', '--addr', `127.0.0.1:${port}`, '--read-token', store.token];
  const proc = spawn(store.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

  const deadline = Date.now() + 30000;
  let url = null;
  while (!url) {
    const m = /^listening on (\S+)/m.exec(stdout);
    if (m) url = m[1].replace(/\/$/, '');
    else if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`firstlog serve exited (${proc.exitCode ?? proc.signalCode}) before listening:\n${stderr}`);
    else if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`firstlog serve did not print "listening on" within 30 s:\n${stdout}\n${stderr}`);
    } else await sleep(50);
  }

  return {
    url,
    port,
    proc,
    output: () => `--- serve stdout\n${stdout}--- serve stderr\n${stderr}`,
    /** SIGTERM, then waits for the exit (SIGKILL after 20 s). */
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Every stored event of the source, oldest first (follows the cursor). */
export async function readEvents(collectorUrl, store, { sourceId = store.source.id } = {}) {
  const events = [];
  let after = null;
  for (let page = 0; page < 100; page++) {
    const url = `${collectorUrl}/v1/sources/${sourceId}/events?limit=10000${after !== null ? `&after=${after}` : ''}`;
    const res = await fetch(url, { headers: { Authorization: `Bearer ${store.token}` } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text}`);
    const lines = text.split('\n').filter((l) => l.trim());
    const cursor = JSON.parse(lines.pop() || '{}');
    if (cursor.error) throw new Error(`GET ${url}: reading failed: ${JSON.stringify(cursor)}`);
    if (!('next_cursor' in cursor)) throw new Error(`GET ${url}: the last line is not a cursor: ${JSON.stringify(cursor)}`);
    for (const l of lines) events.push(JSON.parse(l));
    if (cursor.next_cursor === null || cursor.next_cursor === undefined) return events;
    after = cursor.next_cursor;
  }
  throw new Error('more than 100 pages of events');
}
