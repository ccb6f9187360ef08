#!/usr/bin/env node
// A development aid, not part of CI: stands in for the `firstlog` binary until the
// collector itself has what browser clients need, by running the real binary
// ($FIRSTLOG_REAL_BIN) behind a small HTTP proxy that adds exactly that (see
// CLIENTS.md, "What the collector must do"):
//
// - CORS: preflights answered (204, Allow-Headers: Authorization, Content-Type,
//   Content-Encoding, X-Retry-Count), Access-Control-Allow-Origin and
//   Access-Control-Expose-Headers: Retry-After on every response;
// - GET /v1/projects/{writeKey}/settings for @segment/analytics-next's cdnURL;
// - the short paths /v1/t /p /i /g /a /s /b (analytics-next) mapped to the long ones;
// - Content-Type application/x-www-form-urlencoded (rudder-sdk-node's gzip bodies)
//   read as JSON;
// - GET /js/firstparty.min.js served from assets/tracker.
//
// Use it as FIRSTLOG_BIN:
//   FIRSTLOG_REAL_BIN=/path/to/firstlog FIRSTLOG_BIN=tools/compat-shim.mjs node run.mjs
// Every command but `serve` goes straight to the real binary.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const TRACKER = path.resolve(here, '..', '..', '..', 'assets', 'tracker', 'firstparty.min.js');
const real = process.env.FIRSTLOG_REAL_BIN;
if (!real) {
  console.error('compat-shim: set FIRSTLOG_REAL_BIN to the firstlog binary');
  process.exit(2);
}

const args = process.argv.slice(2);
const serveAt = args.indexOf('serve');
if (serveAt < 0) {
  const child = spawn(real, args, { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await serve(args);
}

async function serve(argv) {
  const addrAt = argv.indexOf('--addr');
  const addr = addrAt >= 0 ? argv[addrAt + 1] : '127.0.0.1:8080';
  const [host, portText] = [addr.slice(0, addr.lastIndexOf(':')), addr.slice(addr.lastIndexOf(':') + 1)];
  const innerArgs = argv.slice();
  if (addrAt >= 0) innerArgs[addrAt + 1] = '127.0.0.1:0';
  else innerArgs.push('--addr', '127.0.0.1:0');

  const child = spawn(real, innerArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  const inner = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^listening on http:\/\/(\S+)/m.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`firstlog serve exited ${code}`)));
  });
  const [innerHost, innerPort] = [inner.slice(0, inner.lastIndexOf(':')), Number(inner.slice(inner.lastIndexOf(':') + 1))];

  const SHORT = { t: 'track', p: 'page', i: 'identify', g: 'group', a: 'alias', s: 'screen', b: 'batch' };
  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    const cors = {
      'Access-Control-Allow-Origin': origin || '*',
      'Access-Control-Expose-Headers': 'Retry-After',
      Vary: 'Origin',
    };
    const url = new URL(req.url, 'http://shim');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors,
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, Content-Encoding, X-Retry-Count',
        'Access-Control-Max-Age': '86400',
      });
      return res.end();
    }
    const settings = /^\/v1\/projects\/([^/]+)\/settings$/.exec(url.pathname);
    if (req.method === 'GET' && settings) {
      const apiHost = `${req.headers.host}/v1`;
      res.writeHead(200, { ...cors, 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' });
      return res.end(
        JSON.stringify({
          integrations: { 'Segment.io': { apiKey: decodeURIComponent(settings[1]), apiHost, protocol: 'http' } },
          metrics: { sampleRate: 0 },
        })
      );
    }
    if (req.method === 'GET' && url.pathname === '/js/firstparty.min.js') {
      res.writeHead(200, { ...cors, 'Content-Type': 'application/javascript; charset=utf-8', 'Cache-Control': 'no-cache' });
      return res.end(fs.readFileSync(TRACKER));
    }
    const short = /^\/v1\/([tpigasb])$/.exec(url.pathname);
    const forwardPath = short ? `/v1/${SHORT[short[1]]}${url.search}` : req.url;
    const headers = { ...req.headers };
    if (/x-www-form-urlencoded/i.test(headers['content-type'] || '')) headers['content-type'] = 'application/json';
    const upstream = http.request({ host: innerHost, port: innerPort, method: req.method, path: forwardPath, headers }, (up) => {
      res.writeHead(up.statusCode, { ...up.headers, ...cors });
      up.pipe(res);
    });
    upstream.on('error', (e) => {
      res.writeHead(502, cors);
      res.end(String(e.message));
    });
    req.pipe(upstream);
  });
  server.listen(Number(portText), host, () => {
    console.log(`listening on http://${host}:${server.address().port}`);
  });
  const stop = () => {
    server.close();
    server.closeAllConnections();
    child.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  child.on('exit', (code) => process.exit(code ?? 0));
}
