// A small sequential runner: scenarios run one after the other, each with a
// timeout; a failure prints the error and the scenario's diagnostics (browser
// console and network, collector output); the process exits 1 if any failed, and
// the last line is a one-line summary. ONLY=text runs the scenarios whose title
// contains it.

import { withTimeout } from './util.mjs';

export function suite(name) {
  const scenarios = [];
  let before = null;
  let after = null;
  let diagnose = null;
  return {
    before(fn) {
      before = fn;
    },
    after(fn) {
      after = fn;
    },
    /** fn() returning text printed under a failed scenario (logs). */
    diagnostics(fn) {
      diagnose = fn;
    },
    scenario(title, fn, { timeoutMs = 90000 } = {}) {
      if (process.env.ONLY && !title.includes(process.env.ONLY)) return;
      scenarios.push({ title, fn, timeoutMs });
    },
    async run() {
      const started = Date.now();
      const failed = [];
      let passed = 0;
      let setupError = null;
      try {
        if (before) await withTimeout(Promise.resolve().then(before), 120000, `${name}: setup`);
      } catch (e) {
        setupError = e;
        console.log(`${name}: setup FAILED\n${indent(e.stack || String(e))}`);
        if (diagnose) console.log(indent(await safeText(diagnose)));
      }
      if (!setupError) {
        for (const s of scenarios) {
          const t0 = Date.now();
          const log = [];
          try {
            await withTimeout(Promise.resolve().then(() => s.fn({ log })), s.timeoutMs, s.title);
            passed++;
            console.log(`ok   ${s.title} (${secs(t0)})`);
          } catch (e) {
            failed.push(s.title);
            console.log(`FAIL ${s.title} (${secs(t0)})\n${indent(e.stack || String(e))}`);
            if (log.length) console.log(indent(`--- scenario log (last 60 lines)\n${log.slice(-60).join('\n')}`));
            if (diagnose) console.log(indent(await safeText(diagnose)));
          }
        }
      }
      try {
        if (after) await withTimeout(Promise.resolve().then(after), 60000, `${name}: teardown`);
      } catch (e) {
        console.log(`${name}: teardown failed: ${e.message}`);
      }
      const total = scenarios.length;
      const summary = setupError
        ? `${name}: FAILED in setup (${setupError.message.split('\n')[0]}), 0/${total} scenarios ran (${secs(started)})`
        : failed.length
          ? `${name}: FAILED ${failed.length}/${total} (${failed.join('; ')}) (${secs(started)})`
          : `${name}: ok, ${passed}/${total} scenarios passed (${secs(started)})`;
      console.log(summary);
      process.exitCode = setupError || failed.length ? 1 : 0;
      return { passed, failed, total, setupError };
    },
  };
}

const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const indent = (s) =>
  String(s)
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
async function safeText(fn) {
  try {
    return String(await fn());
  } catch (e) {
    return `(diagnostics failed: ${e.message})`;
  }
}
