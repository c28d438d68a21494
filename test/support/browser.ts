import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's Chromium, installed by test/support/ensure-chromium.sh (the `pretest` script). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium for the console's browser tests. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run test/support/ensure-chromium.sh`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** A phone's viewport (CSS pixels), for checking a page stays usable at that width. */
export const PHONE = { width: 375, height: 740 };

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's violations of impact serious or critical on the page as it is now, as
 * "rule: target" lines (empty when the page passes). Evaluated through the DevTools protocol,
 * which the console's content security policy (no inline scripts) does not govern, so the page is
 * checked under its real policy.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  // Runs in the page: axe is the global its script defined, and `document` the page's own.
  const violations = await page.evaluate(`axe.run(document).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) })))`);
  return (violations as { id: string; impact: string | null; targets: string[] }[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.targets.join(', ')}`);
}

/**
 * What sticks out sideways at this width: empty when the page is no wider than the viewport, else
 * the page's overflow and the innermost elements whose right edge passes the viewport's.
 */
export const overflowing = (page: Page): Promise<string[]> =>
  page.evaluate<string[]>(`(() => {
    const over = document.documentElement.scrollWidth - window.innerWidth;
    if (over <= 0) return [];
    const wide = [...document.querySelectorAll('body *')].filter(
      (e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && ![...e.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 0.5),
    );
    return ['page ' + over + 'px too wide', ...wide.slice(0, 8).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).split(' ').join('.') : ''))];
  })()`);

/** Who signs in to the console: an address and the private key the console imports. */
interface ConsoleUser {
  address: string;
  keys?: { privateKey: string };
}

/**
 * A console page signed in as `who` (its key imported on the home page), then opened at `path`.
 * Page errors and console errors (but failed resource loads, which tests provoke) go to `errors`.
 */
export async function signedInPage(
  browser: Browser,
  baseUrl: string,
  who: ConsoleUser,
  path: string,
  errors: string[],
  viewport = { width: 1100, height: 1200 },
): Promise<Page> {
  const poll = { timeout: 30_000, interval: 200 };
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on(
    'console',
    (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text()),
  );
  const privateKey = who.keys?.privateKey;
  if (!privateKey) throw new Error(`${who.address} has no key to sign in with`);
  await page.goto(`${baseUrl}/console/`);
  await page.fill('#key-input', privateKey);
  await page.click('#key-import');
  await expect.poll(() => page.textContent('#address'), poll).toBe(who.address);
  if (path !== '/console/') {
    await page.goto(`${baseUrl}${path}`);
    await expect.poll(() => page.textContent('#address'), poll).toBe(who.address);
  }
  return page;
}
