// Helpers for the browser tests: Debian's headless chromium driven by playwright-core on a
// phone-sized screen, a page that records every console error, CSP violation, uncaught error and
// request that leaves loopback (a test ends with assertClean), and screenshots for the docs.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from '../e2e/relay.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const WEB_ROOT = path.resolve(REPO_ROOT, process.env.VARELAY_WEB_ROOT || 'web/dist');
export const SCREENSHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');
// Screenshots of pages showing what changes from run to run (random account numbers, the real
// date): kept out of the repository.
export const RUN_SCREENSHOTS = path.join(REPO_ROOT, 'build', 'screenshots');
export const PHONE = { width: 390, height: 844 };  // a common phone's CSS pixels
// Every page sees this instant (Asia/Seoul noon), so dates on screen and in screenshots are stable.
export const FIXED_NOW = new Date('2026-12-07T12:00:00+09:00');

/** Fails at once, saying what to run, when the pages have not been built. */
export function assertBuilt() {
  assert.ok(existsSync(path.join(WEB_ROOT, 'pay', 'index.html')),
    `no web build in ${WEB_ROOT}: run \`npm run build:web\` (scripts/test does)`);
}

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none'] });
}

/**
 * A new phone-sized page in its own context. `allowConsole`: patterns of console errors this test
 * expects (Chromium logs every 4xx answer to a fetch as one); anything else fails assertClean.
 * `fixedTime`: the instant the page's clock shows (FIXED_NOW), or null for the real time.
 */
export async function openPage(browser, { locale = 'en-US', allowConsole = [], fixedTime = FIXED_NOW } = {}) {
  const context = await browser.newContext({ viewport: PHONE, locale, timezoneId: 'Asia/Seoul', serviceWorkers: 'block' });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (!msg.text().startsWith('CSP violation') && allowConsole.some((re) => re.test(msg.text()))) return;
    problems.push(`console error: ${msg.text()}${msg.location()?.url ? ` (${msg.location().url})` : ""}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  context.on('request', (req) => {
    const url = new URL(req.url());
    if ((url.protocol === 'http:' || url.protocol === 'https:' || url.protocol.startsWith('ws')) &&
        url.hostname !== '127.0.0.1') {
      problems.push(`request off loopback: ${req.url()}`);
    }
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });
  if (fixedTime) await page.clock.setFixedTime(fixedTime);  // null: the real time (against a real server's records)
  page.assertClean = () => assert.deepEqual(problems, [], 'the page logged errors, broke its CSP or left loopback');
  page.close = async () => context.close();
  return page;
}

/**
 * A full-page screenshot into docs/screenshots/<name>.png (or `dir`). The file is left as it is when the new
 * one differs from it in a few pixels only (Chromium's antialiasing of rounded corners varies
 * from run to run), so a test run does not rewrite the docs for nothing.
 */
export async function screenshot(page, name, dir = SCREENSHOTS) {
  mkdirSync(dir, { recursive: true });
  await page.mouse.move(0, 0);  // no hover state left where the last click was
  await page.evaluate(() => document.fonts.ready);
  const png = await page.screenshot({ fullPage: true, animations: 'disabled' });
  const file = path.join(dir, `${name}.png`);
  if (existsSync(file) && await nearlySame(page.context().browser(), readFileSync(file), png)) return;
  writeFileSync(file, png);
}

const SAME_PIXELS_MAX_DIFFERENT = 200;  // of some 330,000 on a phone screen

async function nearlySame(browser, oldPng, newPng) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    return await page.evaluate(async ([a, b, most]) => {
      const load = (src) => new Promise((resolve, reject) => {
        const img = new Image();
        img.onload = () => resolve(img);
        img.onerror = reject;
        img.src = `data:image/png;base64,${src}`;
      });
      const pixels = (img) => {
        const canvas = document.createElement('canvas');
        canvas.width = img.width;
        canvas.height = img.height;
        const g = canvas.getContext('2d');
        g.drawImage(img, 0, 0);
        return g.getImageData(0, 0, img.width, img.height).data;
      };
      const [ia, ib] = await Promise.all([load(a), load(b)]);
      if (ia.width !== ib.width || ia.height !== ib.height) return false;
      const [pa, pb] = [pixels(ia), pixels(ib)];
      let different = 0;
      for (let i = 0; i < pa.length && different <= most; i += 4) {
        if (pa[i] !== pb[i] || pa[i + 1] !== pb[i + 1] || pa[i + 2] !== pb[i + 2]) different++;
      }
      return different <= most;
    }, [oldPng.toString('base64'), newPng.toString('base64'), SAME_PIXELS_MAX_DIFFERENT]);
  } finally {
    await context.close();
  }
}

/** Chromium's console line for an answer with an error status (expected where a test provokes one). */
export const FAILED_LOAD = /^Failed to load resource: the server responded with a status of 4\d\d/;

/** A 16-digit number starting 94 with a right Luhn check digit (the test's own computation). */
export function luhnNumber(body15) {
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    let d = Number(body15[14 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body15 + String((10 - (sum % 10)) % 10);
}
