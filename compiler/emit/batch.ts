// Batched entry points over row-major batches: the loops over the batch axis the schedule
// strip-mined (schedule/batch.ts). Blocks of rows computed together where the schedule made
// one, so that each weight is loaded once per block and each gradient element is read and
// written once per block, then the remaining rows one by one. The gradient is accumulated and
// its mean taken once at the end.
import type { Shapes } from '../ir/program.ts';
import type { BatchPlan, PhasedPlan } from '../schedule/batch.ts';
import type { Schedule } from '../schedule/schedule.ts';
import { emitProgram, type EmittedFunction, type Frame } from './body.ts';
import { CodeWriter, ident } from './code.ts';
import { signatureOf, type AbiNeeds } from './abi.ts';

/** Up to this many parameters, the gradient is cleared and averaged in straight-line code. */
const INLINE_PARAMS = 128;

/** The signatures of models without a seed (what the wasm backend compiles). */
export const BATCH_SIGNATURES = {
  forwardBatch: signatureOf('forwardBatch'),
  gradientBatch: signatureOf('gradientBatch'),
};

type Kind = keyof typeof BATCH_SIGNATURES;

/** Up to this many batch statistics, a phase clears and scales them in straight-line code. */
const INLINE_STATS = 128;

/** The context the bodies of one batched entry point share. */
interface Ctx {
  readonly kind: Kind;
  /** The entry point's parameters. */
  readonly sig: readonly string[];
  readonly statBase: number;
}

/** The frame of a body of `s.lanes` rows. */
function frame(ctx: Ctx, prefix: string, s: Schedule, lossSlot: number | null): Frame {
  const lanes = s.lanes;
  const rows = (p: string) =>
    lanes === 1 ? [p] : Array.from({ length: lanes }, (_, l) => `${p}${l}`);
  const base = { input: rows('xo'), target: rows('to'), output: rows('oo') };
  const fixed = ctx.sig.filter((p) => p !== 'count');
  return {
    name: `${prefix}_${lanes === 1 ? 'sample' : 'block'}`,
    signature:
      ctx.kind === 'forwardBatch'
        ? [...fixed, ...base.input, ...base.output]
        : [...fixed, ...base.input, ...base.target],
    input: 'inputs',
    target: 'targets',
    output: 'outputs',
    base,
    lossSlot,
    statBase: ctx.statBase,
  };
}

/** The row offset of sample `s + lane` in a row-major array with `width` columns. */
function row(width: number, lane: number): string {
  const s = lane === 0 ? 's' : `s + ${lane}`;
  if (width === 1) return s;
  return lane === 0 ? `s * ${width}` : `(${s}) * ${width}`;
}

function fn(
  name: string,
  kind: EmittedFunction['kind'],
  entry: Kind,
  signature: readonly string[],
  w: CodeWriter,
  returnsNumber = false,
): EmittedFunction {
  return { name: ident(name), kind, signature, body: w.toString(), returnsNumber, entry };
}

/** The loop over the samples of one plan, written into `w`: the bodies' functions are
 * returned, helpers pushed. `prefix` names them (the entry point, or one of its phases). */
function sampleLoops(
  ctx: Ctx,
  prefix: string,
  plan: BatchPlan,
  sections: ReadonlyMap<string, string>,
  shapes: Shapes,
  w: CodeWriter,
  helpers: EmittedFunction[],
): EmittedFunction[] {
  const { kind, sig } = ctx;
  // Lane l's offsets: its input row, and its output row (forward) or target row (gradient).
  const width = (l: number) => [row(shapes.inputSize, l), row(shapes.outputSize, l)];
  const single = frame(ctx, prefix, plan.sample, plan.lossSlot);
  const fixed = sig.filter((p) => p !== 'count').join(', ');
  const call = (f: Frame, lanes: number) => {
    const rowsOf = Array.from({ length: lanes }, (_, l) => width(l));
    return `${f.name}(${fixed}, ${[...rowsOf.map((r) => r[0]), ...rowsOf.map((r) => r[1])].join(', ')});`;
  };
  const bodies = emitProgram(plan.sample, sections, single, 'sample', kind);
  if (!plan.block) {
    w.line(`for (let s = 0; s < count; s++) ${call(single, 1)}`);
  } else {
    const rows = plan.block.lanes;
    const blocked = frame(ctx, prefix, plan.block, plan.lossSlot);
    bodies.push(...emitProgram(plan.block, sections, blocked, 'sample', kind));
    // The remainder loop is a function of its own: one loop per function (see body.ts).
    const rest = new CodeWriter(1);
    rest.line(`for (let s = start; s < count; s++) ${call(single, 1)}`);
    helpers.push(fn(`${prefix}_rest`, 'loop', kind, [...sig, 'start'], rest));
    w.line('let s = 0;');
    w.line(`for (; s + ${rows} <= count; s += ${rows}) ${call(blocked, rows)}`);
    w.line(`${prefix}_rest(${sig.join(', ')}, s);`);
  }
  return bodies;
}

/** Emits the entry point `kind` with its bodies. `before`/`after` add statements around the
 * sample loops (the gradient's clearing and averaging). */
function emitBatch(
  ctx: Ctx,
  plan: BatchPlan,
  sections: ReadonlyMap<string, string>,
  shapes: Shapes,
  before: (w: CodeWriter, helpers: EmittedFunction[]) => void,
  after: (w: CodeWriter, helpers: EmittedFunction[]) => void,
): EmittedFunction[] {
  const helpers: EmittedFunction[] = [];
  const w = new CodeWriter(1);
  before(w, helpers);
  const bodies = sampleLoops(ctx, ctx.kind, plan, sections, shapes, w, helpers);
  after(w, helpers);
  const { kind, sig } = ctx;
  return [fn(kind, 'entry', kind, sig, w, kind === 'gradientBatch'), ...bodies, ...helpers];
}

export function emitForwardBatch(
  plan: BatchPlan,
  sections: ReadonlyMap<string, string>,
  shapes: Shapes,
): EmittedFunction[] {
  return emitBatch(
    { kind: 'forwardBatch', sig: signatureOf('forwardBatch'), statBase: 0 },
    plan,
    sections,
    shapes,
    () => {},
    () => {},
  );
}

export function emitGradientBatch(
  plan: BatchPlan,
  sections: ReadonlyMap<string, string>,
  shapes: Shapes,
  needs: AbiNeeds = {},
  phased: PhasedPlan | null = null,
): EmittedFunction[] {
  const slot = plan.lossSlot!;
  const sig = signatureOf('gradientBatch', needs);
  const ctx: Ctx = { kind: 'gradientBatch', sig, statBase: phased?.statBase ?? 0 };
  const args = sig.join(', ');
  // The per-sample gradient's arguments, from the batch's (row 0 of inputs and targets).
  const batchName: Record<string, string> = { input: 'inputs', target: 'targets' };
  const single = signatureOf('gradient', needs)
    .map((p) => batchName[p] ?? p)
    .join(', ');
  const kernel = (name: string, lines: string[]): EmittedFunction => {
    const k = new CodeWriter(1);
    for (const l of lines) k.line(l);
    return fn(name, 'loop', 'gradientBatch', sig, k);
  };
  return emitBatch(
    ctx,
    plan,
    sections,
    shapes,
    (w, helpers) => {
      // One sample is the per-sample gradient itself (its row 0 starts at offset 0): no
      // clearing, accumulating or averaging passes over the gradient.
      w.line(`if (count === 1) return gradient(${single});`);
      // Small nets clear and average the gradient inline; large ones in a loop of their own.
      if (shapes.paramCount <= INLINE_PARAMS) {
        for (let k = 0; k < shapes.paramCount; k++) w.line(`grad[${k}] = 0;`);
      } else {
        const clear = kernel('gradientBatch_clear', [
          `for (let k = 0; k < ${shapes.paramCount}; k++) grad[k] = 0;`,
        ]);
        helpers.push(clear);
        w.line(`${clear.name}(${args});`);
      }
      w.line(`work[${slot}] = 0;`);
      if (phased) {
        // No samples, no statistics: the moving statistics stay as they are.
        w.line('if (count === 0) return 0;');
        phased.stats.forEach((ph, d) => {
          const f = emitPhase(ctx, `gradientBatch_p${d + 1}`, ph, sections, shapes, helpers);
          helpers.push(f);
          w.line(`${f.name}(${args});`);
        });
      }
    },
    (w, helpers) => {
      if (shapes.paramCount <= INLINE_PARAMS) {
        w.line('const scale = count > 0 ? 1 / count : 0;');
        for (let k = 0; k < shapes.paramCount; k++) w.line(`grad[${k}] *= scale;`);
      } else {
        const scale = kernel('gradientBatch_scale', [
          'const scale = count > 0 ? 1 / count : 0;',
          `for (let k = 0; k < ${shapes.paramCount}; k++) grad[k] *= scale;`,
        ]);
        helpers.push(scale);
        w.line(`${scale.name}(${args});`);
      }
      if (phased?.state) {
        const f: Frame = {
          name: 'gradientBatch_state',
          signature: sig,
          input: 'inputs',
          target: 'targets',
          output: 'outputs',
          base: null,
          lossSlot: null,
          statBase: phased.statBase,
        };
        helpers.push(...emitProgram(phased.state, sections, f, 'sample', 'gradientBatch'));
        w.line(`gradientBatch_state(${args});`);
      }
      w.line(`return count > 0 ? work[${slot}] / count : 0;`);
    },
  );
}

/**
 * One phase of a batched gradient with batch statistics (batch/phases.ts): clear its slots,
 * sum each sample's values into them (the ordinary sample loops), divide by the count.
 * Straight-line for few slots; otherwise each pass is a loop in a function of its own.
 */
function emitPhase(
  ctx: Ctx,
  name: string,
  phase: PhasedPlan['stats'][number],
  sections: ReadonlyMap<string, string>,
  shapes: Shapes,
  helpers: EmittedFunction[],
): EmittedFunction {
  const args = ctx.sig.join(', ');
  const body = new CodeWriter(1);
  const from = ctx.statBase + phase.range[0];
  const to = ctx.statBase + phase.range[1];
  const inline = to - from <= INLINE_STATS;
  const pass = (suffix: string, head: string[], line: (k: number | string) => string) => {
    if (inline) {
      for (const h of head) body.line(h);
      for (let k = from; k < to; k++) body.line(line(k));
      return;
    }
    const k = new CodeWriter(1);
    for (const h of head) k.line(h);
    k.line(`for (let k = ${from}; k < ${to}; k++) ${line('k')}`);
    const loop = fn(`${name}_${suffix}`, 'loop', ctx.kind, ctx.sig, k);
    helpers.push(loop);
    body.line(`${loop.name}(${args});`);
  };
  pass('clear', [], (k) => `work[${k}] = 0;`);
  helpers.push(...sampleLoops(ctx, name, phase.plan, sections, shapes, body, helpers));
  pass('scale', ['const scale = 1 / count;'], (k) => `work[${k}] *= scale;`);
  return fn(name, 'loop', ctx.kind, ctx.sig, body);
}
