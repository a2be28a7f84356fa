// The training report: one self-contained HTML file (inline CSS, inline SVG, one small
// inline script; nothing fetched). It is a view: the verdict comes from the runtime
// (judgeTraining), the figures from compiler/training/evaluation.ts, formatted by the same
// functions as the CLI's final line.
import {
  formatNumber,
  formatPercent,
  type History,
  type LayerInfo,
  type TrainingVerdict,
} from '@gradc/runtime';
import { VERSION } from '../../version.ts';
import { writeAtomic } from '../../io/files.ts';
import type { TrainConfig, TrainResult } from '../../cli/train.ts';
import { figureText, keptText } from '../summary-text.ts';
import {
  formatMetric,
  metricLabel,
  precisionRecall,
  type MetricId,
  type SetFigures,
} from '../evaluation.ts';
import { cliAdvice } from '../verdict-view.ts';
import { lineChart, scatterChart, type Series } from './chart.ts';
import { el, markup, type Html } from './escape.ts';
import { STYLE, VERIFY_SCRIPT } from './page-assets.ts';

export interface ReportInput {
  readonly modelName: string;
  readonly modelFile: string;
  readonly dataFile: string;
  readonly layers: readonly LayerInfo[];
  readonly inputSize: number;
  readonly loss: string;
  readonly features: readonly string[];
  /** `species → setosa, versicolor, virginica` or the target columns. */
  readonly outputs: string;
  /** Class names in output order (classification). */
  readonly classes?: readonly string[];
  readonly settings: readonly (readonly [string, string])[];
  readonly history: History;
  readonly metric: 'accuracy' | 'mae';
  readonly metrics: readonly MetricId[];
  readonly train: SetFigures;
  readonly val: SetFigures | undefined;
  readonly trainCount: number;
  readonly valCount: number;
  readonly trainMs: number;
  readonly thresholds: { readonly vanishing: number; readonly exploding: number };
  readonly verdict: TrainingVerdict;
  /** Advice in the CLI's terms (flags). */
  readonly advice: readonly string[];
  /** `weights of epoch 84 (best validation loss)` and where they went. */
  readonly kept: string;
  /** The shell command that reproduces the run. */
  readonly command: string;
  readonly exitCode: number;
}

// Colour-blind-safe (Okabe–Ito) order.
const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#F0E442',
  '#000000',
];

/** Percent ticks with as many decimals as the tick step needs. */
function pctTick(y: number, step: number): string {
  const p = step * 100;
  const decimals = p >= 1 && Math.abs(p - Math.round(p)) < 1e-9 ? 0 : p >= 0.1 ? 1 : 2;
  return `${(100 * y).toFixed(decimals)}%`;
}

function charts(r: ReportInput): Html[] {
  const h = r.history;
  const e = h.epochs;
  const hasVal = e.some((s) => s.valLoss !== undefined);
  const init = h.initial;
  const best =
    hasVal && h.bestEpoch >= 0
      ? { x: h.bestEpoch + 1, label: `best epoch ${h.bestEpoch + 1}` }
      : undefined;
  const withInit = (first: number | undefined, values: number[]) => [first ?? NaN, ...values];
  const lossSeries: Series[] = [
    {
      name: 'train loss',
      values: withInit(
        init.loss,
        e.map((s) => s.loss),
      ),
      color: PALETTE[0]!,
    },
  ];
  if (hasVal)
    lossSeries.push({
      name: 'validation loss',
      values: withInit(
        init.valLoss,
        e.map((s) => s.valLoss ?? NaN),
      ),
      color: PALETTE[1]!,
      dashed: true,
    });
  const acc = r.metric === 'accuracy';
  const pick = (s: (typeof e)[number], val: boolean) =>
    (acc ? (val ? s.valAccuracy : s.accuracy) : val ? s.valMae : s.mae) ?? NaN;
  const metricSeries: Series[] = [
    {
      name: `train ${acc ? 'accuracy' : 'MAE'}`,
      values: withInit(
        acc ? init.accuracy : init.mae,
        e.map((s) => pick(s, false)),
      ),
      color: PALETTE[0]!,
    },
  ];
  if (hasVal)
    metricSeries.push({
      name: `validation ${acc ? 'accuracy' : 'MAE'}`,
      values: withInit(
        acc ? init.valAccuracy : init.valMae,
        e.map((s) => pick(s, true)),
      ),
      color: PALETTE[1]!,
      dashed: true,
    });
  // A loop, not Math.max(...epochs): 70,000 epochs would overflow the stack.
  let layerCount = 0;
  for (const s of e) layerCount = Math.max(layerCount, s.gradNorms.length);
  const normSeries: Series[] = Array.from({ length: layerCount }, (_, l) => {
    const layer = r.layers[l];
    return {
      name: layer ? `${layer.name} (${layer.activation})` : `layer ${l}`,
      values: e.map((s) => s.gradNorms[l] ?? NaN),
      color: PALETTE[l % PALETTE.length]!,
    };
  });
  const positive = (v: readonly number[]) => v.every((x) => !(x <= 0));
  const lrs = e.map((s) => s.lr);
  const out = [
    lineChart(lossSeries, {
      id: 'loss-chart',
      title: `Loss (${r.loss}); epoch 0 = at initialization`,
      yLabel: 'loss',
      log: lossSeries.every((s) => positive(s.values)),
      xStart: 0,
      ...(best !== undefined ? { marker: best } : {}),
    }),
    acc
      ? lineChart(metricSeries, {
          id: 'metric-chart',
          title: 'Accuracy (axis fitted to the epochs after the first tenth)',
          yLabel: 'accuracy',
          log: false,
          xStart: 0,
          format: pctTick,
          formatValue: formatPercent,
          fitFrom: Math.ceil(e.length / 10) + 1,
          ...(best !== undefined ? { marker: best } : {}),
        })
      : lineChart(metricSeries, {
          id: 'metric-chart',
          title: 'Mean absolute error (axis fitted to the epochs after the first tenth)',
          yLabel: 'MAE',
          log: metricSeries.every((s) => positive(s.values)),
          xStart: 0,
          fitFrom: Math.ceil(e.length / 10) + 1,
          ...(best !== undefined ? { marker: best } : {}),
        }),
    lineChart([{ name: 'learning rate', values: lrs, color: PALETTE[2]! }], {
      id: 'lr-chart',
      title: 'Learning rate (at the end of each epoch)',
      yLabel: 'learning rate',
      // Linear from 0: a cosine or step schedule shows its shape (on a log axis the last
      // steps of a decay to 0 would take the whole height).
      log: false,
      fromZero: true,
    }),
    lineChart([{ name: 'epoch time', values: e.map((s) => s.ms), color: PALETTE[3]! }], {
      id: 'time-chart',
      title: 'Time per epoch (training and validation pass)',
      yLabel: 'ms',
      log: false,
      fromZero: true,
      formatValue: (v) => `${formatNumber(v, 3)} ms`,
    }),
    lineChart(normSeries, {
      id: 'norm-chart',
      title: 'Gradient L2 norm per layer (mean over the epoch’s batches)',
      yLabel: 'gradient norm',
      log: true,
      refLines: [
        { value: r.thresholds.exploding, label: 'exploding', color: '#b00020' },
        { value: r.thresholds.vanishing, label: 'vanishing', color: '#b00020' },
      ],
    }),
  ];
  const set = r.val ?? r.train;
  const which = r.val !== undefined ? 'validation' : 'training';
  if (set.residuals !== undefined) {
    const { predicted, actual } = set.residuals;
    out.push(
      scatterChart(
        predicted,
        actual.map((a, i) => a - predicted[i]!),
        {
          id: 'residual-chart',
          title: `Residuals on the ${which} rows (actual − predicted, first target)`,
          xLabel: 'predicted',
          yLabel: 'residual',
          color: PALETTE[0]!,
          zero: true,
        },
      ),
    );
  }
  return out;
}

function confusion(r: ReportInput): Html | undefined {
  const set = r.val ?? r.train;
  const m = set.confusion;
  if (m === undefined) return undefined;
  const names = r.classes ?? m.map((_, i) => String(i));
  // A loop, not Math.max(...m.flat()): 1,000 classes are a million cells.
  let max = 1;
  for (const row of m) for (const v of row) max = Math.max(max, v);
  const pr = precisionRecall(m);
  const which = r.val !== undefined ? 'validation' : 'training';
  const head = names.map((c) => el('th', { class: 'pred' }, c));
  const rows = m.map((row, a) =>
    el(
      'tr',
      {},
      el('th', {}, names[a] ?? String(a)),
      ...row.map((n, p) => {
        // Shade by share of the largest cell; diagonal green, errors red.
        const alpha = n === 0 ? 0 : 0.12 + 0.6 * (n / max);
        const rgb = a === p ? '0, 158, 115' : '213, 94, 0';
        return el(
          'td',
          {
            class: a === p ? 'hit' : 'miss',
            style: `background: rgba(${rgb}, ${alpha.toFixed(2)})`,
            title: `actual ${names[a]}, predicted ${names[p]}: ${n}`,
          },
          n,
        );
      }),
    ),
  );
  const prRows = pr.map((x, c) =>
    el(
      'tr',
      {},
      el('th', {}, names[c] ?? String(c)),
      el('td', {}, Number.isNaN(x.precision) ? '–' : formatPercent(x.precision)),
      el('td', {}, Number.isNaN(x.recall) ? '–' : formatPercent(x.recall)),
      el('td', {}, x.support),
    ),
  );
  return markup`<section class="panel" id="confusion">
    <h2>Confusion matrix (${which} rows, kept weights)</h2>
    <table class="confusion">
      <tr>
        <th class="corner">actual ↓ predicted →</th>
        ${head}
      </tr>
      ${rows}
    </table>
    <table class="pr" id="precision-recall">
      <tr>
        <th>class</th>
        <th>precision</th>
        <th>recall</th>
        <th>rows</th>
      </tr>
      ${prRows}
    </table>
  </section>`;
}

function finals(r: ReportInput): Html {
  const cells = (f: SetFigures | undefined) => [
    el('td', {}, f !== undefined ? formatNumber(f.loss) : '–'),
    ...r.metrics.map((id) => {
      const x = f?.metrics.find(([k]) => k === id)?.[1];
      return el('td', {}, x !== undefined ? formatMetric(id, x) : '–');
    }),
  ];
  return markup`<table class="finals" id="finals">
    <tr>
      <th></th>
      <th>loss</th>
      ${r.metrics.map((id) => el('th', {}, metricLabel(id)))}
    </tr>
    <tr>
      <th>train</th>
      ${cells(r.train)}
    </tr>
    <tr>
      <th>validation</th>
      ${cells(r.val)}
    </tr>
  </table>`;
}

export function reportHtml(r: ReportInput): string {
  const h = r.history;
  const v = r.verdict;
  const arch = [`${r.inputSize}`, ...r.layers.map((l) => `${l.units} ${l.activation}`)].join(' → ');
  const summary: [string, string][] = [
    ['model', `${r.modelName} (${r.modelFile})`],
    ['layers', arch],
    ['data', `${r.dataFile}: ${r.trainCount} training rows, ${r.valCount} validation rows`],
    ['features', r.features.join(', ')],
    ['outputs', r.outputs],
    ...r.settings.map(([k, val]) => [k, val] as [string, string]),
    ['epochs run', `${h.epochs.length} (${h.stopReason})`],
    ['wall time', `${formatNumber(r.trainMs / 1000, 3)} s`],
  ];
  const headline = [
    r.kept,
    `train ${figureText(r.train)}`,
    ...(r.val !== undefined ? [`val ${figureText(r.val)}`] : []),
  ].join(' · ');
  const gradients =
    h.warnings.length === 0
      ? markup`<li class="good">
          gradients healthy: every layer's norm stayed between the vanishing
          (${formatNumber(r.thresholds.vanishing)}) and exploding
          (${formatNumber(r.thresholds.exploding)}) thresholds
        </li>`
      : markup``;
  const warnings =
    h.warnings.length === 0
      ? markup`<p id="no-warnings">No gradient warnings.</p>`
      : markup`<ul id="warnings">
          ${h.warnings.map((w) => markup`<li class="${w.kind}"><b>${w.kind}</b> · epoch ${w.epoch + 1} · ${w.message}</li>`)}
        </ul>`;
  const exit =
    r.exitCode !== 0
      ? markup`<p class="exit">gradc train exited with code ${r.exitCode}.</p>`
      : markup``;
  const page = markup`<!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta
          http-equiv="Content-Security-Policy"
          content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
        />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>gradc training report: ${r.modelName}</title>
        <style>
          ${STYLE}
        </style>
      </head>
      <body data-rendered="pending">
        <header>
          <h1>Training report: <span id="model-name">${r.modelName}</span></h1>
          <p class="sub">
            gradc ${VERSION} · ${h.epochs.length} epochs in ${formatNumber(r.trainMs / 1000, 3)} s
          </p>
        </header>
        <section class="verdict ${v.tone}" id="verdict" data-verdict="${v.verdict}">
          <h2>At a glance: <span id="verdict-title">${v.title}</span></h2>
          <p id="headline">${headline}</p>
          <ul>
            ${v.reasons.map((t) => markup`<li class="${v.tone}">${t}</li>`)} ${gradients}
          </ul>
          ${
            r.advice.length > 0
              ? markup`<p id="advice">
                try: ${r.advice.map((a, i) => markup`${i > 0 ? ' · ' : ''}<code>${a}</code>`)}
              </p>`
              : markup``
          }
          ${exit}
        </section>
        <section class="top">
          <div class="panel">
            <h2>Figures of the kept weights</h2>
            ${finals(r)}
            <h2>Command</h2>
            <pre id="command">${r.command}</pre>
          </div>
          <div class="panel">
            <h2>Run</h2>
            <table class="summary">
              ${summary.map(
                ([k, val]) =>
                  markup`<tr>
                    <th>${k}</th>
                    <td>${val}</td>
                  </tr>`,
              )}
            </table>
          </div>
          ${confusion(r) ?? markup``}
        </section>
        <section class="charts">${charts(r)}</section>
        <section>
          <h2>Warnings</h2>
          ${warnings}
        </section>
        <p id="render-status" class="sub">Charts not verified (scripts disabled).</p>
        <script>
          ${VERIFY_SCRIPT};
        </script>
      </body>
    </html> `;
  return page.text;
}

/** POSIX-shell quoting for the reproducing command. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The flags that reproduce `cfg` (used when no command line was recorded). */
export function commandFor(cfg: TrainConfig): string {
  const a: string[] = ['gradc', 'train', cfg.model, '--data', cfg.data];
  if (cfg.label !== undefined) a.push('--label', cfg.label);
  if (cfg.targets !== undefined) a.push('--target', cfg.targets.join(','));
  if (cfg.features !== undefined) a.push('--features', cfg.features.join(','));
  a.push('--epochs', String(cfg.epochs), '--batch', String(cfg.batch));
  a.push('--optimizer', cfg.optimizer);
  if (cfg.lr !== undefined) a.push('--lr', String(cfg.lr));
  if (cfg.cosine) a.push('--schedule', 'cosine');
  a.push('--seed', String(cfg.seed), '--val', String(cfg.val));
  if (cfg.patience !== undefined) a.push('--patience', String(cfg.patience));
  if (cfg.weightDecay !== undefined) a.push('--weight-decay', String(cfg.weightDecay));
  if (cfg.clipNorm !== undefined) a.push('--clip-norm', String(cfg.clipNorm));
  if (cfg.metrics !== undefined) a.push('--metrics', cfg.metrics);
  if (cfg.classWeights !== undefined)
    a.push(
      '--class-weights',
      cfg.classWeights === 'balanced'
        ? 'balanced'
        : [...cfg.classWeights].map(([k, w]) => `${k}=${w}`).join(','),
    );
  if (cfg.keepLast) a.push('--keep-last');
  if (!cfg.normalize) a.push('--no-normalize');
  if (cfg.resume !== undefined) a.push('--resume', cfg.resume);
  if (cfg.out !== undefined) a.push('--out', cfg.out);
  if (cfg.saveOptimizer) a.push('--save-optimizer');
  if (cfg.saveAnyway) a.push('--save-anyway');
  if (cfg.report !== undefined) a.push('--report', cfg.report);
  return a.map(shellQuote).join(' ');
}

/** Report input from a finished `gradc train`. */
export function reportInput(
  cfg: TrainConfig,
  r: TrainResult,
  thresholds: { vanishingThreshold: number; explodingThreshold: number },
): ReportInput {
  const m = r.module.model;
  const meta = r.meta;
  const where = r.wrote
    ? ` → ${cfg.out}`
    : cfg.out === undefined
      ? ' (dry run, not written)'
      : ' (not written)';
  return {
    modelName: m.name,
    modelFile: cfg.model,
    dataFile: cfg.data,
    layers: m.layers,
    inputSize: m.inputSize,
    loss: m.loss,
    features: meta.features,
    outputs:
      meta.classes !== undefined
        ? `${meta.label ?? ''} → ${meta.classes.join(', ')}`
        : (meta.targets ?? []).join(', '),
    ...(meta.classes !== undefined ? { classes: meta.classes } : {}),
    settings: [
      [
        'optimizer',
        [
          `${cfg.optimizer}, lr ${cfg.lr ?? 'default'}${cfg.cosine ? ' (cosine decay)' : ''}, batch ${cfg.batch}`,
          ...(cfg.weightDecay !== undefined ? [`weight decay ${cfg.weightDecay}`] : []),
          ...(cfg.clipNorm !== undefined ? [`clip norm ${cfg.clipNorm}`] : []),
        ].join(', '),
      ],
      ['seed', String(cfg.seed)],
      ['normalization', meta.normalize ? 'standardized (training-row mean and std)' : 'none'],
      ...(cfg.resume !== undefined
        ? [
            ['resumed from', `${cfg.resume} (${r.startIterations} earlier steps)`] as [
              string,
              string,
            ],
          ]
        : []),
    ],
    history: r.history,
    metric: r.metric,
    metrics: r.metrics,
    train: r.train,
    val: r.val,
    trainCount: r.trainCount,
    valCount: r.valCount,
    trainMs: r.trainMs,
    thresholds: {
      vanishing: thresholds.vanishingThreshold,
      exploding: thresholds.explodingThreshold,
    },
    verdict: r.verdict,
    advice: r.verdict.advice.map((a) => cliAdvice(a, cfg.keepLast === true)),
    kept: `${keptText(r)}${where}`,
    command: cfg.command ?? commandFor(cfg),
    exitCode: r.exitCode,
  };
}

export function writeReport(
  file: string,
  cfg: TrainConfig,
  r: TrainResult,
  thresholds: { vanishingThreshold: number; explodingThreshold: number },
): void {
  writeAtomic(file, reportHtml(reportInput(cfg, r, thresholds)));
}
