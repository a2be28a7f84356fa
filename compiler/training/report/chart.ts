// Charts as inline SVG, drawn here in Node: the page needs no script and no library to show
// them, and a broken browser script cannot hide the curves. Axes are fitted to the data
// (accuracy zoomed to its range, not 0–100 %), ticks fall on round values, every point
// carries its value in a <title> (the browser shows it on hover), and a vertical marker can
// flag the best epoch. Log scales for quantities that span decades (loss, gradient norms);
// non-finite points break the line and are marked with a red cross.
import { formatNumber } from '@gradc/runtime';
import { el, markup, type Html } from './escape.ts';

export interface Series {
  readonly name: string;
  /** values[i] is drawn at x = xStart + i. */
  readonly values: readonly number[];
  readonly color: string;
  readonly dashed?: boolean;
}

export interface RefLine {
  readonly value: number;
  readonly label: string;
  readonly color: string;
}

export interface ChartOptions {
  /** Element id of the <figure>, for the page's own check and for tests. */
  readonly id: string;
  readonly title: string;
  readonly yLabel: string;
  readonly log: boolean;
  /** x of values[0]: 0 when the series start with the value at initialization. */
  readonly xStart?: number;
  readonly xLabel?: string;
  readonly refLines?: readonly RefLine[];
  /** Vertical marker (e.g. the best epoch) at this x. */
  readonly marker?: { readonly x: number; readonly label: string };
  /** Tick labels; values in tooltips use `formatValue`. */
  readonly format?: (y: number, step: number) => string;
  readonly formatValue?: (y: number) => string;
  /** Include 0 in a linear axis (times, counts). */
  readonly fromZero?: boolean;
  /**
   * Fit the axis to values from this index on (e.g. accuracy after the first tenth of the
   * run, so the range where runs differ is not squashed by the first epochs); earlier values
   * outside it are drawn on the edge, with their true value on hover.
   */
  readonly fitFrom?: number;
}

export const W = 560;
export const H = 300;
const M = { left: 64, right: 16, top: 30, bottom: 40 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

export interface Scale {
  readonly lo: number;
  readonly hi: number;
  readonly step: number;
  readonly ticks: readonly number[];
  /** Pixel of a finite, in-domain value. */
  readonly at: (v: number) => number;
}

export function niceStep(span: number, count: number): number {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/** Smallest and largest value, by a loop: spreading a long run into Math.min overflows the stack. */
export function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** A linear axis over [min, max] widened to round ticks; `p0`/`p1` are the pixel ends. */
export function linearScale(
  values: readonly number[],
  p0: number,
  p1: number,
  count = 5,
  fromZero = false,
): Scale {
  let [lo, hi] = extent(values);
  if (fromZero) {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  if (!(hi > lo)) {
    // A flat series (a constant learning rate): one decade of room around it.
    const pad = lo === 0 ? 0.5 : 10 ** Math.floor(Math.log10(Math.abs(lo)));
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, count);
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  // Round away the drift of repeated additions (-2.8e-17 is 0).
  for (let t = lo; t <= hi + step / 2; t += step)
    ticks.push(Math.abs(t) < step * 1e-6 ? 0 : Number(t.toPrecision(12)));
  return { lo, hi, step, ticks, at: (v) => p0 + ((p1 - p0) * (v - lo)) / (hi - lo) };
}

function logScale(values: readonly number[], p0: number, p1: number): Scale {
  const [min, max] = extent(values);
  const lo = Math.floor(Math.log10(min));
  let hi = Math.ceil(Math.log10(max));
  if (hi <= lo) hi = lo + 1;
  const every = Math.max(1, Math.ceil((hi - lo) / 8));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e += every) ticks.push(10 ** e);
  return {
    lo,
    hi,
    step: every,
    ticks,
    at: (v) => p0 + ((p1 - p0) * (Math.log10(v) - lo)) / (hi - lo),
  };
}

/** Integer epoch ticks on round numbers (0, 50, 100, …), at most about 6. */
function epochScale(first: number, last: number): Scale {
  const span = Math.max(1, last - first);
  let step = niceStep(span, 5);
  // Epochs are integers: 0.5 → 1, 2.5 → 5.
  if (!Number.isInteger(step)) step = Math.max(1, step * 2);
  const ticks: number[] = [];
  for (let t = Math.ceil(first / step) * step; t <= last; t += step) ticks.push(t);
  const at = (v: number) =>
    last === first ? M.left + PW / 2 : M.left + (PW * (v - first)) / (last - first);
  return { lo: first, hi: last, step, ticks, at };
}

function tickText(log: boolean): (y: number, step: number) => string {
  if (log) return (y) => `1e${Math.round(Math.log10(y))}`;
  return (y) => formatNumber(y);
}

const r1 = (v: number) => v.toFixed(1);

function frame(o: {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  body: readonly Html[];
  legend: readonly Html[];
}): Html {
  const bottom = M.top + PH;
  return markup`<figure class="chart" id="${o.id}">
    <svg
      xmlns="http://www.w3.org/2000/svg"
      viewBox="0 0 ${W} ${H}"
      role="img"
      aria-label="${o.title}"
    >
      <text class="title" x="${M.left}" y="18">${o.title}</text>
      ${o.body}
      <line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${bottom}" />
      <line class="axis" x1="${M.left}" x2="${M.left + PW}" y1="${bottom}" y2="${bottom}" />
      <text class="axislabel" x="${M.left + PW / 2}" y="${H - 6}" text-anchor="middle">
        ${o.xLabel}
      </text>
      <text
        class="axislabel"
        transform="translate(14,${M.top + PH / 2}) rotate(-90)"
        text-anchor="middle"
      >
        ${o.yLabel}
      </text>
    </svg>
    <figcaption>${o.legend}</figcaption>
  </figure>`;
}

function key(name: string, color: string, dashed: boolean | undefined, dot = false): Html {
  const mark = dot
    ? el('circle', { cx: 11, cy: 4, r: 3, fill: color })
    : el('line', {
        x1: 0,
        x2: 22,
        y1: 4,
        y2: 4,
        stroke: color,
        'stroke-width': 2,
        'stroke-dasharray': dashed ? '6 4' : undefined,
      });
  return el(
    'span',
    { class: 'key' },
    el('svg', { width: 22, height: 8, 'aria-hidden': 'true' }, mark),
    name,
  );
}

function yGrid(scale: Scale, fmt: (y: number, step: number) => string): Html[] {
  return scale.ticks.map((t) => {
    const y = r1(scale.at(t));
    return markup`${el('line', { class: 'grid', x1: M.left, x2: M.left + PW, y1: y, y2: y })}${el('text', { class: 'tick', x: M.left - 6, y, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, fmt(t, scale.step))}`;
  });
}

function xTicks(scale: Scale): Html[] {
  const bottom = M.top + PH;
  return scale.ticks.map((t) =>
    el(
      'text',
      { class: 'tick', x: r1(scale.at(t)), y: bottom + 16, 'text-anchor': 'middle' },
      formatNumber(t),
    ),
  );
}

/**
 * A chart of per-epoch series. On a log axis zeros and negative values are drawn on the
 * bottom edge ("below any threshold"); NaN/±Infinity break the line and get a red cross.
 */
export function lineChart(series: readonly Series[], o: ChartOptions): Html {
  const x0 = o.xStart ?? 1;
  let n = 1;
  for (const s of series) n = Math.max(n, s.values.length);
  const usable = (v: number) => Number.isFinite(v) && (!o.log || v > 0);
  const from = Math.min(o.fitFrom ?? 0, Math.max(0, n - 2));
  const domain = series.flatMap((s) => s.values.filter((v, i) => i >= from && usable(v)));
  for (const r of o.refLines ?? []) if (usable(r.value)) domain.push(r.value);
  if (domain.length === 0) domain.push(o.log ? 1 : 0);
  const ys = o.log
    ? logScale(domain, M.top + PH, M.top)
    : linearScale(domain, M.top + PH, M.top, 5, o.fromZero);
  const xs = epochScale(x0, x0 + n - 1);
  const fmt = o.format ?? tickText(o.log);
  const value = o.formatValue ?? ((v: number) => formatNumber(v));
  const bottom = M.top + PH;
  const [lo, hi] = o.log ? [10 ** ys.lo, 10 ** ys.hi] : [ys.lo, ys.hi];

  const refs = (o.refLines ?? [])
    .filter((r) => usable(r.value) && r.value >= lo && r.value <= hi)
    .map((r) => {
      const y = ys.at(r.value);
      // Label below a line at the top edge, above it elsewhere.
      const ly = y < M.top + 14 ? y + 12 : y - 4;
      return markup`${el('line', { class: 'ref', x1: M.left, x2: M.left + PW, y1: r1(y), y2: r1(y), stroke: r.color })}${el('text', { class: 'reflabel', x: M.left + PW - 4, y: r1(ly), 'text-anchor': 'end', fill: r.color }, r.label)}`;
    });
  const marker =
    // The label sits at the foot of the line: loss curves fall and accuracy rises away from it.
    o.marker !== undefined
      ? (() => {
          const mx = r1(xs.at(o.marker.x));
          const right = xs.at(o.marker.x) > M.left + PW * 0.75;
          return markup`<g class="marker">${el('line', { class: 'best', x1: mx, x2: mx, y1: M.top, y2: bottom })}${el('text', { class: 'bestlabel', x: right ? Number(mx) - 4 : Number(mx) + 4, y: bottom - 6, 'text-anchor': right ? 'end' : 'start' }, o.marker.label)}</g>`;
        })()
      : undefined;

  const paths: Html[] = [];
  const points: Html[] = [];
  const marks: Html[] = [];
  for (const s of series) {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      const epoch = x0 + i;
      const where = epoch === 0 ? 'at initialization' : `epoch ${epoch}`;
      if (!Number.isFinite(v)) {
        pen = false;
        const title = el('title', {}, `${s.name}, ${where}: ${String(v)}`);
        marks.push(
          el(
            'path',
            { class: 'nonfinite', d: `M${r1(xs.at(epoch) - 4)} ${M.top - 4}l8 8m0 -8l-8 8` },
            title,
          ),
        );
        return;
      }
      const y = Math.min(bottom, Math.max(M.top, o.log && v <= 0 ? bottom : ys.at(v)));
      const px = r1(xs.at(epoch));
      d += `${pen ? 'L' : 'M'}${px} ${r1(y)}`;
      pen = true;
      points.push(
        el(
          'circle',
          { class: 'pt', cx: px, cy: r1(y), r: 4, fill: s.color },
          el('title', {}, `${s.name}, ${where}: ${value(v)}`),
        ),
      );
    });
    // A single point would be an invisible path: give it a tiny horizontal tick.
    if (d !== '' && !d.includes('L')) d += 'h2';
    if (d === '') continue;
    paths.push(
      el('path', {
        class: 'series',
        d,
        stroke: s.color,
        'stroke-dasharray': s.dashed ? '6 4' : undefined,
      }),
    );
  }
  const legend = series.map((s) => key(s.name, s.color, s.dashed));
  return frame({
    id: o.id,
    title: o.title,
    xLabel: o.xLabel ?? 'epoch',
    yLabel: `${o.yLabel}${o.log ? ' (log)' : ''}`,
    body: [
      ...yGrid(ys, fmt),
      ...refs,
      ...xTicks(xs),
      ...(marker !== undefined ? [marker] : []),
      ...paths,
      ...points,
      ...marks,
    ],
    legend,
  });
}

export interface ScatterOptions {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly color: string;
  /** Horizontal reference line (e.g. residual 0). */
  readonly zero?: boolean;
}

/** Points (x[i], y[i]), each with its values on hover. */
export function scatterChart(x: readonly number[], y: readonly number[], o: ScatterOptions): Html {
  const ok = x.map((_, i) => Number.isFinite(x[i]!) && Number.isFinite(y[i]!));
  const fx = x.filter((_, i) => ok[i]);
  const fy = y.filter((_, i) => ok[i]);
  const xs = linearScale(fx.length > 0 ? fx : [0], M.left, M.left + PW);
  const ys = linearScale(fy.length > 0 ? fy : [0], M.top + PH, M.top, 5, o.zero === true);
  const body: Html[] = [...yGrid(ys, tickText(false))];
  const bottom = M.top + PH;
  for (const t of xs.ticks) {
    body.push(
      el(
        'text',
        { class: 'tick', x: r1(xs.at(t)), y: bottom + 16, 'text-anchor': 'middle' },
        formatNumber(t),
      ),
    );
  }
  if (o.zero && ys.lo <= 0 && ys.hi >= 0) {
    const zy = r1(ys.at(0));
    body.push(el('line', { class: 'zero', x1: M.left, x2: M.left + PW, y1: zy, y2: zy }));
  }
  x.forEach((xv, i) => {
    if (!ok[i]) return;
    body.push(
      el(
        'circle',
        { class: 'dot', cx: r1(xs.at(xv)), cy: r1(ys.at(y[i]!)), r: 3, fill: o.color },
        el('title', {}, `${o.xLabel} ${formatNumber(xv)}, ${o.yLabel} ${formatNumber(y[i]!)}`),
      ),
    );
  });
  return frame({
    id: o.id,
    title: o.title,
    xLabel: o.xLabel,
    yLabel: o.yLabel,
    body,
    legend: [key(`${fx.length} rows`, o.color, false, true)],
  });
}
