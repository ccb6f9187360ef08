// A capture server: records every request a client makes (method, path, query,
// every header as sent, the raw body, and the body decoded: gunzipped when
// `Content-Encoding: gzip`, parsed when it is JSON), and answers like a permissive
// Segment-compatible collector so that the client carries on:
//
// - CORS: every response carries `Access-Control-Allow-Origin` (the request's
//   Origin), preflights (OPTIONS) get 204 with the methods and the headers asked for;
// - `GET /v1/projects/{writeKey}/settings` (what @segment/analytics-next fetches
//   from its `cdnURL`) answers `settings(writeKey, record)` when given (404 when
//   that returns undefined);
// - any other request answers `respond(record)` (default 200 `{"success":true}`).
//
// Used by research-clients.mjs (what the real SDKs send, see CLIENTS.md). It is
// not a collector: nothing is stored.
//
// CLI: node lib/capture-server.mjs [--port 9000] [--api-host 127.0.0.1:9000/v1]
//      prints one JSON line per request on stdout.

import http from 'node:http';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

/** Starts the server; resolves to {url, port, records, reset(), close()}. */
export function startCaptureServer({ port = 0, host = '127.0.0.1', settings, respond, onRecord, cors: corsOpts = {} } = {}) {
  // CORS answers, to find out what a browser client needs: allowOrigin 'echo' (the
  // request's Origin, the default) or a fixed value such as '*'; allowHeaders 'echo'
  // (whatever the preflight asks for, the default) or a fixed list; exposeHeaders
  // (none by default); preflight false answers OPTIONS with 405 (no CORS support).
  const { allowOrigin = 'echo', allowHeaders = 'echo', exposeHeaders, preflight = true } = corsOpts;
  const records = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url, `http://${req.headers.host || host}`);
      const record = {
        at: new Date().toISOString(),
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: headerObject(req.rawHeaders),
        bodyBytes: raw.length,
        body: decodeBody(raw, req.headers),
      };
      records.push(record);
      if (onRecord) onRecord(record);

      const origin = req.headers.origin;
      const cors =
        allowOrigin === 'echo'
          ? origin
            ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' }
            : { 'Access-Control-Allow-Origin': '*' }
          : { 'Access-Control-Allow-Origin': allowOrigin };
      if (exposeHeaders) cors['Access-Control-Expose-Headers'] = exposeHeaders;
      if (req.method === 'OPTIONS') {
        if (!preflight) {
          res.writeHead(405, { Allow: 'POST' });
          return res.end();
        }
        res.writeHead(204, {
          ...cors,
          'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
          'Access-Control-Allow-Headers':
            allowHeaders === 'echo' ? req.headers['access-control-request-headers'] || '' : allowHeaders,
          'Access-Control-Max-Age': '0',
        });
        return res.end();
      }
      const m = /^\/v1\/projects\/([^/]+)\/settings$/.exec(url.pathname);
      if (req.method === 'GET' && m && settings) {
        const body = settings(decodeURIComponent(m[1]), record);
        if (body === undefined) {
          res.writeHead(404, { ...cors, 'Content-Type': 'application/json' });
          return res.end(JSON.stringify({ error: 'not_found' }));
        }
        res.writeHead(200, { ...cors, 'Content-Type': 'application/json' });
        return res.end(JSON.stringify(body));
      }
      const out = (respond && respond(record)) || {};
      const status = out.status || 200;
      const body = out.body !== undefined ? out.body : { success: true };
      res.writeHead(status, {
        ...cors,
        'Content-Type': 'application/json',
        ...(out.headers || {}),
      });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      resolve({
        url: `http://${host}:${actual}`,
        port: actual,
        records,
        reset() {
          records.length = 0;
        },
        close() {
          server.closeAllConnections();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}

/** Headers exactly as received: names in their sent case, repeated ones as arrays. */
function headerObject(raw) {
  const out = {};
  for (let i = 0; i < raw.length; i += 2) {
    const [name, value] = [raw[i], raw[i + 1]];
    if (name in out) out[name] = [].concat(out[name], value);
    else out[name] = value;
  }
  return out;
}

/** {encoding, text, json} of a body: gunzipped when the headers say gzip, parsed when JSON. */
function decodeBody(raw, headers) {
  if (raw.length === 0) return null;
  let text;
  let encoding = 'identity';
  if (/gzip/i.test(headers['content-encoding'] || '')) {
    encoding = 'gzip';
    try {
      text = zlib.gunzipSync(raw).toString('utf8');
    } catch (e) {
      return { encoding, error: `bad gzip: ${e.message}`, base64: raw.toString('base64') };
    }
  } else {
    text = raw.toString('utf8');
  }
  try {
    return { encoding, json: JSON.parse(text) };
  } catch {
    return { encoding, text };
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const port = Number(arg('--port', '9000'));
  const apiHost = arg('--api-host', `127.0.0.1:${port}/v1`);
  const srv = await startCaptureServer({
    port,
    settings: (writeKey) => ({
      integrations: { 'Segment.io': { apiKey: writeKey, apiHost, protocol: 'http' } },
      metrics: { sampleRate: 0 },
    }),
    onRecord: (r) => console.log(JSON.stringify(r)),
  });
  console.error(`capture server on ${srv.url}`);
}
