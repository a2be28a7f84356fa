// The browser demo end to end: built with its own Vite config (examples/browser), served by
// Vite's preview server, driven in headless Chromium by playwright-core. Training runs in a
// Web Worker; the test checks the live chart got every epoch, the loss fell, and typed
// flowers are classified. The screenshot goes to .tmp/browser-demo.png.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewServer } from 'vite';
import { ROOT } from '../support/gradc-cli.ts';
import { hasChromium, withPage } from '../package/browser.ts';

const DEMO = path.join(ROOT, 'examples/browser');
let outDir: string;
let server: PreviewServer | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  const { build, preview } = await import('vite');
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-demo-'));
  const common = {
    configFile: path.join(DEMO, 'vite.config.ts'),
    root: DEMO,
    logLevel: 'silent',
  } as const;
  await build({ ...common, build: { outDir, emptyOutDir: true } });
  server = await preview({ ...common, build: { outDir }, preview: { port: 0, host: '127.0.0.1' } });
}, 120_000);
afterAll(async () => {
  await server?.close();
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

describe.skipIf(!hasChromium)('browser demo (examples/browser)', () => {
  it('trains in a worker with a live loss chart, then classifies typed flowers', async () => {
    const url = server!.resolvedUrls!.local[0]!;
    const shot = path.join(ROOT, '.tmp/browser-demo.png');
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    const r = await withPage(async (page) => {
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.state !== undefined, null, {
        timeout: 90_000,
      });
      const state = await page.evaluate(() => ({ ...document.body.dataset }));
      const points = await page.evaluate(
        () => document.querySelector('#loss')!.getAttribute('points')!.trim().split(' ').length,
      );
      const classify = async (values: number[]) => {
        const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
        for (let i = 0; i < 4; i++) await page.fill(`input[name=${names[i]}]`, String(values[i]));
        await page.evaluate(() => delete document.body.dataset.prediction);
        await page.click('#classify');
        await page.waitForFunction(() => document.body.dataset.prediction !== undefined);
        return page.evaluate(() => document.body.dataset.prediction);
      };
      const setosa = await classify([5.1, 3.5, 1.4, 0.2]);
      const virginica = await classify([6.7, 3.0, 5.2, 2.3]);
      const text = await page.textContent('#prediction');
      await page.screenshot({ path: shot });
      return { state, points, setosa, virginica, text };
    });
    expect(r.state.state).toBe('trained');
    expect(Number(r.state.epochs)).toBe(150);
    expect(r.points).toBe(150);
    expect(Number(r.state.lastLoss)).toBeLessThan(Number(r.state.firstLoss) / 5);
    expect(r.setosa).toBe('setosa');
    expect(r.virginica).toBe('virginica');
    expect(r.text).toMatch(/^virginica \(\d+\.\d % \/ \d+\.\d % \/ \d+\.\d %\)$/);
    const png = fs.readFileSync(shot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(10_000);
  });
});
