// The HTML report, rendered by a real browser: Debian's chromium, started here in headless
// mode. The page's own script checks that every chart has a drawn curve and records the result
// on <body>; the DOM dump shows it, and the screenshot must be a real picture.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { reportHtml, reportInput, type ReportInput } from '../../compiler/training/report/index.ts';
import { DIAGNOSTICS } from '../../compiler/cli/train.ts';
import type { EpochStats } from '../../runtime/index.ts';
import { DATA, EXAMPLES, quietTrain, tempDir } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `report.test.ts: ${CHROMIUM} is not installed; skipping the browser tests (apt-get install -y chromium, as .ci/run does)`,
  );
}

const HOSTILE = '<script>document.body.dataset.pwned = "yes"</script>';

function chromium(dir: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--user-data-dir=${path.join(dir, 'profile')}`,
        ...args,
      ],
      { timeout: 90_000, maxBuffer: 32 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

let input: ReportInput;
let dir: string;
beforeAll(async () => {
  dir = tempDir();
  const cfg = {
    model: path.join(EXAMPLES, 'iris.model.json'),
    data: path.join(DATA, 'iris.csv'),
    label: 'species',
    epochs: 40,
    lr: 0.01,
    out: path.join(dir, 'iris.bin'),
  } as const;
  const r = await quietTrain(cfg);
  // User text that must stay text: the model name and a column name.
  input = {
    ...reportInput(
      { ...cfg, batch: 16, optimizer: 'adam', seed: 1, val: 0.2, normalize: true },
      r,
      DIAGNOSTICS,
    ),
    modelName: HOSTILE,
    features: ['petal "width" & <length>', ...r.meta.features.slice(1)],
  };
});

describe('report HTML', () => {
  it('is self-contained and escapes user text', () => {
    const page = reportHtml(input);
    expect(page).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(page).not.toContain('<link');
    expect(page).toContain("default-src 'none'");
    expect(page).not.toContain(HOSTILE);
    expect(page).toContain(
      '&lt;script&gt;document.body.dataset.pwned = &quot;yes&quot;&lt;/script&gt;',
    );
    expect(page).toContain('petal &quot;width&quot; &amp; &lt;length&gt;');
    expect(page.match(/<figure class="chart">/g)).toHaveLength(3);
    expect(page.match(/<path class="series"/g)).toHaveLength(7); // 2 loss + 2 accuracy + 3 layers
  });

  it('marks non-finite gradient norms and lists the warnings', () => {
    const epochs: EpochStats[] = [1, 2, 3].map((i) => ({
      epoch: i - 1,
      loss: i === 3 ? NaN : 1 / i,
      gradNorms: [i === 3 ? Infinity : 10 ** (i * 3), 1e-9],
      lr: 0.1,
    }));
    const page = reportHtml({
      ...input,
      history: {
        ...input.history,
        epochs,
        stopReason: 'nonFinite',
        warnings: [
          {
            kind: 'nonFinite',
            layer: 'dense0',
            layerIndex: 0,
            epoch: 2,
            norm: Infinity,
            message: 'layer dense0: gradient norm is Infinity <b>',
          },
        ],
      },
    });
    expect(page).toContain('class="nonfinite"');
    expect(page).toContain(
      '<li class="nonFinite"><b>nonFinite</b> · epoch 3 · layer dense0: gradient norm is Infinity &lt;b&gt;</li>',
    );
    expect(page).toContain('training diverged');
  });
});

describe.skipIf(!hasChromium)('report in headless chromium', { timeout: 180_000 }, () => {
  it('renders every chart, runs no injected script, and screenshots as a real picture', async () => {
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, reportHtml(input));
    const url = pathToFileURL(file).href;
    const dom = await chromium(dir, '--dump-dom', url);
    expect(dom).toMatch(/<body data-rendered="ok" data-charts="3" data-paths-drawn="7"/);
    expect(dom).toContain('Rendered 3 charts, 7 of 7 curves drawn.');
    expect(dom).not.toContain('data-pwned');
    expect(dom.match(/<path class="series" d="M[\d.]+ [\d.]+L/g)?.length).toBe(7);

    const png = path.join(dir, 'report.png');
    await chromium(dir, `--screenshot=${png}`, '--window-size=1200,900', '--hide-scrollbars', url);
    const bytes = fs.readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBe(1200); // IHDR width
    // A blank page compresses to a few kilobytes; curves, text and grids do not.
    expect(bytes.length).toBeGreaterThan(40_000);
  });
});
