// Builds assets/tracker/firstparty.min.js from firstparty.js with terser (pinned in
// package.json), or with --check verifies that the committed min file is exactly
// what the build produces (CI: `npm run check-tracker`). Prints the sizes.
//
//   npm run build-tracker      # write firstparty.min.js
//   npm run check-tracker      # exit 1 if firstparty.min.js is stale

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { minify } from 'terser';
import { trackerDir } from './lib/util.mjs';

const SRC = path.join(trackerDir, 'firstparty.js');
const MIN = path.join(trackerDir, 'firstparty.min.js');

export async function buildTracker() {
  const source = fs.readFileSync(SRC, 'utf8');
  const out = await minify(
    { 'firstparty.js': source },
    {
      ecma: 5,
      compress: { passes: 2 },
      mangle: true,
      format: { comments: /^!/, ecma: 5 },
    }
  );
  return out.code + '\n';
}

const sizes = (code) => {
  const raw = Buffer.byteLength(code);
  const gz = zlib.gzipSync(code, { level: 9 }).length;
  return `${raw} bytes minified, ${gz} bytes min+gzip`;
};

const check = process.argv.includes('--check');
const code = await buildTracker();
if (check) {
  const committed = fs.existsSync(MIN) ? fs.readFileSync(MIN, 'utf8') : null;
  if (committed !== code) {
    console.error(
      `check-tracker: ${path.relative(process.cwd(), MIN)} is not what the build produces from firstparty.js` +
        (committed === null ? ' (it is missing)' : '') +
        '; run `npm run build-tracker` in tests/browser and commit the result'
    );
    process.exit(1);
  }
  console.log(`check-tracker: firstparty.min.js is up to date (${sizes(code)})`);
} else {
  fs.writeFileSync(MIN, code);
  console.log(`build-tracker: wrote ${MIN} (${sizes(code)})`);
}
