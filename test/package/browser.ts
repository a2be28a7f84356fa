// Headless Chromium for the package and demo tests: Debian's chromium (installed by .ci/run)
// driven by playwright-core, which downloads no browser of its own.
import fs from 'node:fs';
import { chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `${CHROMIUM} is not installed; skipping the browser tests (apt-get install -y chromium, as .ci/run does)`,
  );

export async function withPage<T>(f: (page: Page) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--allow-file-access-from-files'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      return await f(page);
    } catch (e) {
      throw new Error(`${(e as Error).message}\npage errors: ${errors.join('\n') || 'none'}`);
    }
  } finally {
    await browser.close();
  }
}
