// Small helpers shared by the browser and SDK tests: ports, polling, temp dirs, checks.

import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
/** tests/browser */
export const testsDir = path.resolve(here, '..');
/** the repository root */
export const repoDir = path.resolve(testsDir, '..', '..');
/** assets/tracker */
export const trackerDir = path.join(repoDir, 'assets', 'tracker');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port that was free a moment ago (bound then released by the kernel's choice). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls `fn` (sync or async) every `everyMs` until it returns a truthy value, which
 * is returned; throws `what` with the last value seen after `timeoutMs`.
 */
export async function waitFor(fn, { timeoutMs = 15000, everyMs = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) {
      const shown = typeof last === 'object' ? JSON.stringify(last) : String(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${shown})`);
    }
    await sleep(everyMs);
  }
}

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Rejects with a clear message if `promise` takes longer than `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const isUuidV4 = (s) => typeof s === 'string' && UUID_V4.test(s);
