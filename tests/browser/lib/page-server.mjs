// The "site" origin of the browser tests: a small HTTP server on its own port (a
// second origin, so everything the tracker or SDK sends to the collector is
// cross-origin, as on a real site). Routes map a path to {type, body} or to a
// function (url) => {type, body} | undefined; anything else is a 404.

import http from 'node:http';

export function startPageServer({ port = 0, routes }) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://page.test');
    let route = routes[url.pathname];
    if (typeof route === 'function') route = route(url);
    if (!route && typeof routes['*'] === 'function') route = routes['*'](url);
    if (!route) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(route.status || 200, {
      'Content-Type': route.type || 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
    });
    res.end(route.body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const actual = server.address().port;
      resolve({
        url: `http://127.0.0.1:${actual}`,
        port: actual,
        close() {
          server.closeAllConnections();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}
