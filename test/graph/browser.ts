import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's Chromium (`apt-get install chromium`), driven by playwright-core: never a downloaded browser. .ci/run
 * installs it before the tests; without it the graph tests fail with this message rather than skip.
 */
export const CHROMIUM = process.env.DBEE_CHROMIUM ?? '/usr/bin/chromium';

export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the graph page tests need Chromium at ${CHROMIUM} (Debian package): apt-get install -y chromium ` +
        '(.ci/run installs it), or point DBEE_CHROMIUM at a Chromium binary',
    );
  }
}

export interface HeadlessChromium {
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile, no background networking, nothing shared with other runs. */
export async function launchChromium(): Promise<HeadlessChromium> {
  requireChromium();
  const profile = mkdtempSync(join(tmpdir(), 'dbee-graph-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser: context.browser()!,
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Open a page written by `dbee graph` with every request that is not the file itself refused, and wait until it says
 * it is interactive. Returns the refused requests (there should be none) and the time to interactive measured by the
 * page (ms since navigation start).
 */
export async function openGraphPage(
  context: BrowserContext,
  file: string,
): Promise<{ page: Page; blocked: string[]; errors: string[]; interactiveMs: number }> {
  const url = pathToFileURL(file).href;
  const page = await context.newPage();
  const blocked: string[] = [];
  const errors: string[] = [];
  await page.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
  await page.waitForFunction(
    () => (globalThis as unknown as { dbeeGraph?: { ready: boolean } }).dbeeGraph?.ready === true,
    undefined,
    { timeout: 120_000 },
  );
  const interactiveMs = await page.evaluate(
    () => (globalThis as unknown as { dbeeGraph: { interactiveAt: number } }).dbeeGraph.interactiveAt,
  );
  return { page, blocked, errors, interactiveMs };
}
