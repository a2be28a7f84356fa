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
import { judgeTraining, type EpochStats, type History } from '../../runtime/index.ts';
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
let regression: ReportInput;
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
    command: `gradc train ${HOSTILE}`,
  };
  const sineCfg = {
    model: path.join(EXAMPLES, 'sine.model.json'),
    data: path.join(DATA, 'sine.csv'),
    targets: ['y'],
    epochs: 30,
    lr: 0.01,
    metrics: 'mae,rmse,r2',
  } as const;
  const s = await quietTrain(sineCfg);
  regression = reportInput(
    { ...sineCfg, batch: 16, optimizer: 'adam', seed: 1, val: 0.2, normalize: true },
    s,
    DIAGNOSTICS,
  );
});

// Points with a hover value: every finite value of every series (+ the residual dots).
function pointCount(r: ReportInput): number {
  const e = r.history.epochs;
  const finite = (xs: (number | undefined)[]) => xs.filter((x) => Number.isFinite(x)).length;
  const acc = r.metric === 'accuracy';
  const init = r.history.initial;
  return (
    finite([init.loss, ...e.map((s) => s.loss)]) +
    finite([init.valLoss, ...e.map((s) => s.valLoss)]) +
    finite([acc ? init.accuracy : init.mae, ...e.map((s) => (acc ? s.accuracy : s.mae))]) +
    finite([
      acc ? init.valAccuracy : init.valMae,
      ...e.map((s) => (acc ? s.valAccuracy : s.valMae)),
    ]) +
    finite(e.map((s) => s.lr)) +
    finite(e.map((s) => s.ms)) +
    e.reduce((n, s) => n + finite([...s.gradNorms]), 0) +
    (r.val?.residuals?.predicted.length ?? 0)
  );
}

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
    expect(page).not.toContain(`gradc train ${HOSTILE}`);
    // loss, accuracy, learning rate, epoch time, gradient norms
    expect(page.match(/<figure class="chart" id="[a-z-]+">/g)).toHaveLength(5);
    // 2 loss + 2 accuracy + 1 lr + 1 time + 3 layers
    expect(page.match(/<path class="series"/g)).toHaveLength(9);
    expect(page.match(/<circle class="pt"/g)).toHaveLength(pointCount(input));
    expect(page).toContain(`best epoch ${input.history.bestEpoch + 1}</text>`);
    expect(page).toContain('id="confusion"');
    expect(page.match(/<td class="(hit|miss)"/g)).toHaveLength(9);
  });

  it('a regression report has a residual plot and no confusion matrix', () => {
    const page = reportHtml(regression);
    expect(page).toContain('id="residual-chart"');
    expect(page.match(/<circle class="dot"/g)).toHaveLength(regression.valCount);
    expect(page).not.toContain('id="confusion"');
    expect(page).toMatch(/<th>R²<\/th>/);
  });

  it('marks non-finite gradient norms and lists the warnings', () => {
    const epochs: EpochStats[] = [1, 2, 3].map((i) => ({
      epoch: i - 1,
      loss: i === 3 ? NaN : 1 / i,
      gradNorms: [i === 3 ? Infinity : 10 ** (i * 3), 1e-9],
      lr: 0.1,
      ms: 5,
    }));
    const history: History = {
      ...input.history,
      epochs,
      stopReason: 'nonFinite' as const,
      keptEpoch: 2,
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
    };
    const page = reportHtml({ ...input, history, verdict: judgeTraining(history) });
    expect(page).toContain('class="nonfinite"');
    expect(page).toContain(
      '<li class="nonFinite"><b>nonFinite</b> · epoch 3 · layer dense0: gradient norm is Infinity &lt;b&gt;</li>',
    );
    expect(page).toContain('data-verdict="diverged"');
    expect(page).toContain('the loss became NaN in epoch 3');
  });
});

describe.skipIf(!hasChromium)('report in headless chromium', { timeout: 180_000 }, () => {
  it('renders every chart, runs no injected script, and screenshots as a real picture', async () => {
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, reportHtml(input));
    const url = pathToFileURL(file).href;
    const dom = await chromium(dir, '--dump-dom', url);
    const points = pointCount(input);
    expect(dom).toContain(
      `<body data-rendered="ok" data-charts="5" data-paths-drawn="9" data-points="${points}" data-markers="2" data-confusion-cells="9"`,
    );
    expect(dom).toContain(
      `Rendered 5 charts, 9 of 9 curves drawn, ${points} of ${points} points with values.`,
    );
    expect(dom).not.toContain('data-pwned');
    expect(dom.match(/<path class="series" d="M[\d.]+ [\d.]+L/g)?.length).toBe(9);
    for (const id of ['lr-chart', 'time-chart', 'confusion', 'precision-recall', 'command'])
      expect(dom).toContain(`id="${id}"`);

    const sine = path.join(dir, 'sine.html');
    fs.writeFileSync(sine, reportHtml(regression));
    const sdom = await chromium(dir, '--dump-dom', pathToFileURL(sine).href);
    const spoints = pointCount(regression);
    expect(sdom).toContain(
      `<body data-rendered="ok" data-charts="6" data-paths-drawn="9" data-points="${spoints}" data-markers="2" data-confusion-cells="0"`,
    );

    const png = path.join(dir, 'report.png');
    await chromium(dir, `--screenshot=${png}`, '--window-size=1200,900', '--hide-scrollbars', url);
    const bytes = fs.readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBe(1200); // IHDR width
    // A blank page compresses to a few kilobytes; curves, text and grids do not.
    expect(bytes.length).toBeGreaterThan(40_000);
  });
});
