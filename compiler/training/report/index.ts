// The training report: one self-contained HTML file (inline CSS, inline SVG, one small
// inline script; nothing fetched) with a summary, loss / metric / per-layer gradient-norm
// curves and the diagnostics warnings.
import type { History, LayerInfo, Metrics } from '../../../runtime/index.ts';
import { VERSION } from '../../version.ts';
import { writeAtomic } from '../../io/files.ts';
import type { TrainConfig, TrainResult } from '../../cli/train.ts';
import { lineChart, type Series } from './chart.ts';
import { markup, type Html } from './escape.ts';
import { STYLE, VERIFY_SCRIPT } from './page-assets.ts';
import { readHistory } from './verdict.ts';

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
  readonly settings: readonly (readonly [string, string])[];
  readonly history: History;
  readonly metric: 'accuracy' | 'mae';
  readonly train: Metrics;
  readonly val: Metrics | undefined;
  readonly trainCount: number;
  readonly valCount: number;
  readonly trainMs: number;
  readonly thresholds: { readonly vanishing: number; readonly exploding: number };
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

function metricText(metric: 'accuracy' | 'mae', m: Metrics | undefined): string {
  if (m === undefined) return '–';
  return metric === 'accuracy' ? `${(100 * m.accuracy).toFixed(1)}%` : m.mae.toPrecision(4);
}

function charts(r: ReportInput): Html[] {
  const e = r.history.epochs;
  const hasVal = e.some((s) => s.valLoss !== undefined);
  const lossSeries: Series[] = [
    { name: 'train loss', values: e.map((s) => s.loss), color: PALETTE[0]! },
  ];
  if (hasVal)
    lossSeries.push({
      name: 'validation loss',
      values: e.map((s) => s.valLoss ?? NaN),
      color: PALETTE[1]!,
      dashed: true,
    });
  const acc = r.metric === 'accuracy';
  const pick = (s: (typeof e)[number], val: boolean) =>
    (acc ? (val ? s.valAccuracy : s.accuracy) : val ? s.valMae : s.mae) ?? NaN;
  const metricSeries: Series[] = [
    {
      name: `train ${acc ? 'accuracy' : 'MAE'}`,
      values: e.map((s) => pick(s, false)),
      color: PALETTE[0]!,
    },
  ];
  if (hasVal)
    metricSeries.push({
      name: `validation ${acc ? 'accuracy' : 'MAE'}`,
      values: e.map((s) => pick(s, true)),
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
  const lossPositive = e.every((s) => !(s.loss <= 0) && !((s.valLoss ?? 1) <= 0));
  return [
    lineChart(lossSeries, { title: `Loss (${r.loss})`, yLabel: 'loss', log: lossPositive }),
    acc
      ? lineChart(metricSeries, {
          title: 'Accuracy',
          yLabel: 'accuracy',
          log: false,
          unitRange: true,
          format: (y) => `${Math.round(100 * y)}%`,
        })
      : lineChart(metricSeries, { title: 'Mean absolute error', yLabel: 'MAE', log: true }),
    lineChart(normSeries, {
      title: 'Gradient L2 norm per layer (mean over the epoch’s batches)',
      yLabel: 'gradient norm',
      log: true,
      refLines: [
        { value: r.thresholds.exploding, label: 'exploding', color: '#b00020' },
        { value: r.thresholds.vanishing, label: 'vanishing', color: '#b00020' },
      ],
    }),
  ];
}

export function reportHtml(r: ReportInput): string {
  const h = r.history;
  const findings = readHistory(h, r.thresholds);
  const arch = [`${r.inputSize}`, ...r.layers.map((l) => `${l.units} ${l.activation}`)].join(' → ');
  const summary: [string, string][] = [
    ['model', `${r.modelName} (${r.modelFile})`],
    ['layers', arch],
    ['data', `${r.dataFile}: ${r.trainCount} training rows, ${r.valCount} validation rows`],
    ['features', r.features.join(', ')],
    ['outputs', r.outputs],
    ...r.settings.map(([k, v]) => [k, v] as [string, string]),
    ['epochs run', `${h.epochs.length} (${h.stopReason})`],
    ['wall time', `${(r.trainMs / 1000).toFixed(2)} s`],
  ];
  const name = r.metric === 'accuracy' ? 'accuracy' : 'MAE';
  const finals = markup`<table class="finals">
    <tr>
      <th></th>
      <th>loss</th>
      <th>${name}</th>
    </tr>
    <tr>
      <th>train</th>
      <td>${r.train.loss.toPrecision(4)}</td>
      <td>${metricText(r.metric, r.train)}</td>
    </tr>
    <tr>
      <th>validation</th>
      <td>${r.val ? r.val.loss.toPrecision(4) : '–'}</td>
      <td>${metricText(r.metric, r.val)}</td>
    </tr>
  </table>`;
  const warnings =
    h.warnings.length === 0
      ? markup`<p id="no-warnings">No gradient warnings.</p>`
      : markup`<ul id="warnings">
          ${h.warnings.map((w) => markup`<li class="${w.kind}"><b>${w.kind}</b> · epoch ${w.epoch + 1} · ${w.message}</li>`)}
        </ul>`;
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
            gradc ${VERSION} · ${h.epochs.length} epochs in ${(r.trainMs / 1000).toFixed(2)} s
          </p>
        </header>
        <section class="verdict">
          <h2>At a glance</h2>
          <ul>
            ${findings.map((f) => markup`<li class="${f.tone}">${f.text}</li>`)}
          </ul>
        </section>
        <section class="grid2">
          <div>${finals}</div>
          <table class="summary">
            ${summary.map(
              ([k, v]) =>
                markup`<tr>
                  <th>${k}</th>
                  <td>${v}</td>
                </tr>`,
            )}
          </table>
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

/** Report input from a finished `gradc train`. */
export function reportInput(
  cfg: TrainConfig,
  r: TrainResult,
  thresholds: { vanishingThreshold: number; explodingThreshold: number },
): ReportInput {
  const m = r.module.model;
  const meta = r.meta;
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
    settings: [
      [
        'optimizer',
        `${cfg.optimizer}, lr ${cfg.lr ?? 'default'}${cfg.cosine ? ' (cosine decay)' : ''}, batch ${cfg.batch}`,
      ],
      ['seed', String(cfg.seed)],
      ['normalization', meta.normalize ? 'standardized (training-row mean and std)' : 'none'],
    ],
    history: r.history,
    metric: r.metric,
    train: r.train,
    val: r.val,
    trainCount: r.trainCount,
    valCount: r.valCount,
    trainMs: r.trainMs,
    thresholds: {
      vanishing: thresholds.vanishingThreshold,
      exploding: thresholds.explodingThreshold,
    },
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
