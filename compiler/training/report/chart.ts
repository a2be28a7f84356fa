// Line charts as inline SVG, drawn here in Node: the page needs no script and no library to
// show them, and a broken browser script cannot hide the curves. Log scales for quantities
// that span decades (loss, gradient norms); non-finite points break the line and are marked.
import { el, markup, type Html } from './escape.ts';

export interface Series {
  readonly name: string;
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
  readonly title: string;
  readonly yLabel: string;
  readonly log: boolean;
  /** Pin the linear axis to [0, 1] (accuracy). */
  readonly unitRange?: boolean;
  readonly refLines?: readonly RefLine[];
  readonly format?: (y: number) => string;
}

const W = 560;
const H = 300;
const M = { left: 64, right: 16, top: 30, bottom: 40 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

interface Scale {
  readonly lo: number;
  readonly hi: number;
  readonly ticks: readonly number[];
  /** Plot y (pixels) of a finite, in-domain value. */
  readonly y: (v: number) => number;
}

function niceStep(span: number, count: number): number {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/** Smallest and largest value, by a loop: spreading a long run into Math.min overflows the stack. */
function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function linearScale(values: readonly number[], unitRange: boolean): Scale {
  const [min, max] = extent(values);
  let lo = unitRange ? 0 : min;
  let hi = unitRange ? 1 : max;
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const step = niceStep(hi - lo, 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { lo, hi, ticks, y: (v) => M.top + PH * (1 - (v - lo) / (hi - lo)) };
}

function logScale(values: readonly number[]): Scale {
  const [min, max] = extent(values);
  const lo = Math.floor(Math.log10(min));
  let hi = Math.ceil(Math.log10(max));
  if (hi <= lo) hi = lo + 1;
  const every = Math.max(1, Math.ceil((hi - lo) / 8));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e += every) ticks.push(10 ** e);
  return { lo, hi, ticks, y: (v) => M.top + PH * (1 - (Math.log10(v) - lo) / (hi - lo)) };
}

function defaultFormat(log: boolean): (y: number) => string {
  return log
    ? (y) => `1e${Math.round(Math.log10(y))}`
    : (y) =>
        Math.abs(y) >= 1e4 || (y !== 0 && Math.abs(y) < 1e-3) ? y.toExponential(0) : String(y);
}

/**
 * A chart of per-epoch series (x = epoch 1..n). On a log axis, zeros and negative values
 * are drawn on the bottom edge (they are "below any threshold"); NaN/±Infinity break the
 * line and get a red cross on the top edge.
 */
export function lineChart(series: readonly Series[], o: ChartOptions): Html {
  let n = 1;
  for (const s of series) n = Math.max(n, s.values.length);
  const usable = (v: number) => Number.isFinite(v) && (!o.log || v > 0);
  const domain = series.flatMap((s) => s.values.filter(usable));
  for (const r of o.refLines ?? []) if (usable(r.value)) domain.push(r.value);
  if (domain.length === 0) domain.push(o.log ? 1 : 0);
  const scale = o.log ? logScale(domain) : linearScale(domain, o.unitRange ?? false);
  const fmt = o.format ?? defaultFormat(o.log);
  const x = (i: number) => M.left + (n === 1 ? PW / 2 : (PW * i) / (n - 1));
  const bottom = M.top + PH;
  const r1 = (v: number) => v.toFixed(1);

  const grid = scale.ticks.map((t) => {
    const y = r1(scale.y(t));
    return markup`${el('line', { class: 'grid', x1: M.left, x2: M.left + PW, y1: y, y2: y })}${el('text', { class: 'tick', x: M.left - 6, y, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, fmt(t))}`;
  });
  const quarters =
    n <= 10
      ? Array.from({ length: n }, (_, i) => i)
      : [0, 0.25, 0.5, 0.75, 1].map((q) => Math.round(q * (n - 1)));
  const xTicks = [...new Set(quarters)].map((i) =>
    el('text', { class: 'tick', x: r1(x(i)), y: bottom + 16, 'text-anchor': 'middle' }, i + 1),
  );
  const [lo, hi] = o.log ? [10 ** scale.lo, 10 ** scale.hi] : [scale.lo, scale.hi];
  const refs = (o.refLines ?? [])
    .filter((r) => usable(r.value) && r.value >= lo && r.value <= hi)
    .map((r) => {
      const y = scale.y(r.value);
      // Label below a line at the top edge, above it elsewhere.
      const ly = y < M.top + 14 ? y + 12 : y - 4;
      return markup`${el('line', { class: 'ref', x1: M.left, x2: M.left + PW, y1: r1(y), y2: r1(y), stroke: r.color })}${el('text', { class: 'reflabel', x: M.left + PW - 4, y: r1(ly), 'text-anchor': 'end', fill: r.color }, r.label)}`;
    });

  const paths: Html[] = [];
  const marks: Html[] = [];
  for (const s of series) {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        pen = false;
        const title = el('title', {}, `${s.name}: ${String(v)} at epoch ${i + 1}`);
        marks.push(
          el(
            'path',
            { class: 'nonfinite', d: `M${r1(x(i) - 4)} ${M.top - 4}l8 8m0 -8l-8 8` },
            title,
          ),
        );
        return;
      }
      const y = o.log && v <= 0 ? bottom : scale.y(v);
      d += `${pen ? 'L' : 'M'}${r1(x(i))} ${r1(y)}`;
      pen = true;
    });
    // A single point would be an invisible path: give it a tiny horizontal tick.
    if (d !== '' && !d.includes('L')) d += 'h2';
    if (d === '') continue;
    const last = s.values[s.values.length - 1];
    const title = el('title', {}, `${s.name}: last ${last === undefined ? '-' : fmt(last)}`);
    const dash = s.dashed ? '6 4' : undefined;
    paths.push(
      el('path', { class: 'series', d, stroke: s.color, 'stroke-dasharray': dash }, title),
    );
  }
  const legend = series.map((s) => {
    const dash = s.dashed ? '6 4' : undefined;
    const line = el('line', {
      x1: 0,
      x2: 22,
      y1: 4,
      y2: 4,
      stroke: s.color,
      'stroke-width': 2,
      'stroke-dasharray': dash,
    });
    return el(
      'span',
      { class: 'key' },
      el('svg', { width: 22, height: 8, 'aria-hidden': 'true' }, line),
      s.name,
    );
  });

  return markup`<figure class="chart">
    <svg
      xmlns="http://www.w3.org/2000/svg"
      viewBox="0 0 ${W} ${H}"
      width="${W}"
      height="${H}"
      role="img"
      aria-label="${o.title}"
    >
      <text class="title" x="${M.left}" y="18">${o.title}</text>
      ${grid}${refs}
      <line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${bottom}" />
      <line class="axis" x1="${M.left}" x2="${M.left + PW}" y1="${bottom}" y2="${bottom}" />
      ${xTicks}
      <text class="axislabel" x="${M.left + PW / 2}" y="${H - 6}" text-anchor="middle">epoch</text>
      <text
        class="axislabel"
        transform="translate(14,${M.top + PH / 2}) rotate(-90)"
        text-anchor="middle"
      >
        ${o.yLabel}${o.log ? ' (log)' : ''}
      </text>
      ${paths}${marks}
    </svg>
    <figcaption>${legend}</figcaption>
  </figure>`;
}
