// Runs the browser and SDK tests one after the other, each in its own process
// with a timeout, and ends with a one-line summary per test; exits 1 if any failed.
//
//   FIRSTLOG_BIN=/path/to/firstlog node run.mjs [check-tracker tracker-transport tracker analytics-next rudder-node console]
//
// The tracker build check (`npm run check-tracker`) runs first: the tracker tests
// must not test a stale firstparty.min.js. check-tracker and tracker-transport
// need no collector.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { testsDir } from './lib/util.mjs';

const TESTS = [
  { name: 'check-tracker', file: 'build-tracker.mjs', args: ['--check'], timeoutMs: 60000, collector: false },
  { name: 'tracker-transport', file: 'tracker-transport.test.mjs', timeoutMs: 5 * 60000, collector: false },
  { name: 'tracker', file: 'tracker.test.mjs', timeoutMs: 10 * 60000 },
  { name: 'analytics-next', file: 'analytics-next.test.mjs', timeoutMs: 5 * 60000 },
  { name: 'rudder-node', file: 'rudder-node.test.mjs', timeoutMs: 3 * 60000 },
  { name: 'console', file: 'console.test.mjs', timeoutMs: 3 * 60000 },
];

const wanted = process.argv.slice(2);
const selected = wanted.length ? TESTS.filter((t) => wanted.includes(t.name)) : TESTS;
if (!selected.length) {
  console.error(`unknown test(s) ${wanted.join(' ')}; known: ${TESTS.map((t) => t.name).join(' ')}`);
  process.exit(2);
}
if (!process.env.FIRSTLOG_BIN && selected.some((t) => t.collector !== false)) {
  console.error('FIRSTLOG_BIN is not set: point it at the firstlog binary (target/release/firstlog)');
  process.exit(2);
}

function runOne(test) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    console.log(`\n== ${test.name}: node ${test.file} ${(test.args || []).join(' ')}`);
    // Its own process group, so that a timeout also ends the collector and browser it started.
    const child = spawn(process.execPath, [path.join(testsDir, test.file), ...(test.args || [])], {
      cwd: testsDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let last = '';
    const relay = (stream, out) =>
      stream.on('data', (d) => {
        out.write(d);
        const lines = String(d).split('\n').filter((l) => l.trim());
        if (lines.length) last = lines[lines.length - 1];
      });
    relay(child.stdout, process.stdout);
    relay(child.stderr, process.stderr);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
      }, 5000);
    }, test.timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      const ok = code === 0 && !timedOut;
      const why = timedOut ? `timed out after ${test.timeoutMs / 1000} s` : code !== 0 ? `exit ${code ?? signal}` : '';
      resolve({ name: test.name, ok, line: `${ok ? 'ok  ' : 'FAIL'} ${test.name.padEnd(18)} ${secs.padStart(6)} s  ${why ? `${why}: ` : ''}${last}` });
    });
  });
}

const results = [];
for (const test of selected) results.push(await runOne(test));
console.log('\n== summary');
for (const r of results) console.log(r.line);
const failed = results.filter((r) => !r.ok);
console.log(failed.length ? `FAILED: ${failed.map((r) => r.name).join(', ')}` : `all ${results.length} passed`);
process.exitCode = failed.length ? 1 : 0;
