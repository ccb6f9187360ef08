// Headless Chromium (the Debian package, /usr/bin/chromium) through playwright-core.
// `npx playwright install` cannot download browsers here, so the executable is given.
// Playwright gives each launch a fresh temporary --user-data-dir; the
// background-networking flags keep Chromium from calling home, which the closed
// network would refuse.

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60000,
  });
}

/**
 * Collects what a page does on the network and in its console, for assertions and
 * for printing when a test fails.
 */
export function watchPage(page, log = []) {
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => log.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => log.push(`request: ${r.method()} ${r.url()}`));
  page.on('response', (r) => log.push(`response: ${r.status()} ${r.url()}`));
  return log;
}
