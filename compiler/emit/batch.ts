// Batched entry points: a loop over the rows of a row-major batch that calls the per-sample
// body (unrolled for small nets), which reads its row through offsets and accumulates the
// gradient. The mean is taken once at the end.
import type { Shapes } from '../ir/program.ts';
import type { Schedule } from '../schedule/schedule.ts';
import { emitProgram, type EmittedFunction, type Frame } from './body.ts';
import { CodeWriter, ident } from './code.ts';

export const BATCH_SIGNATURES = {
  forwardBatch: ['params', 'inputs', 'outputs', 'count', 'work'],
  gradientBatch: ['params', 'inputs', 'targets', 'count', 'grad', 'work'],
} as const;

/** The offset of row `s` in a row-major array with `width` columns. */
const row = (width: number) => (width === 1 ? 's' : `s * ${width}`);

const ROW = { input: 'xo', target: 'to', output: 'oo' } as const;

function frame(kind: 'forwardBatch' | 'gradientBatch', lossSlot: number | null): Frame {
  return {
    name: `${kind}_sample`,
    signature:
      kind === 'forwardBatch'
        ? ['params', 'inputs', 'outputs', 'work', ROW.input, ROW.output]
        : ['params', 'inputs', 'targets', 'grad', 'work', ROW.input, ROW.target],
    input: 'inputs',
    target: 'targets',
    output: 'outputs',
    base: ROW,
    accumulate: true,
    lossSlot,
  };
}

function entry(
  name: string,
  signature: readonly string[],
  body: CodeWriter,
  returnsNumber: boolean,
): EmittedFunction {
  return {
    name: ident(name),
    kind: 'entry',
    signature,
    body: body.toString(),
    returnsNumber,
    entry: name,
  };
}

export function emitForwardBatch(
  s: Schedule,
  sections: ReadonlyMap<string, string>,
  shapes: Shapes,
): EmittedFunction[] {
  const f = frame('forwardBatch', null);
  const sample = emitProgram(s, sections, f, 'sample', 'forwardBatch');
  const w = new CodeWriter(1);
  w.line(
    `for (let s = 0; s < count; s++) ${f.name}(params, inputs, outputs, work, ${row(shapes.inputSize)}, ${row(shapes.outputSize)});`,
  );
  return [entry('forwardBatch', BATCH_SIGNATURES.forwardBatch, w, false), ...sample];
}

/** `s` is the gradient program scheduled without writing into `grad` in place; the loss
 * accumulates in `work[lossSlot]`, one slot past what the body uses. */
export function emitGradientBatch(
  s: Schedule,
  sections: ReadonlyMap<string, string>,
  shapes: Shapes,
  lossSlot: number,
): EmittedFunction[] {
  const f = frame('gradientBatch', lossSlot);
  const sample = emitProgram(s, sections, f, 'sample', 'gradientBatch');
  const sig = BATCH_SIGNATURES.gradientBatch;
  const args = sig.join(', ');
  const kernel = (name: string, lines: string[]): EmittedFunction => {
    const k = new CodeWriter(1);
    for (const l of lines) k.line(l);
    return {
      name: ident(name),
      kind: 'loop',
      signature: sig,
      body: k.toString(),
      returnsNumber: false,
      entry: 'gradientBatch',
    };
  };
  const clear = kernel('gradientBatch_clear', [
    `for (let k = 0; k < ${shapes.paramCount}; k++) grad[k] = 0;`,
  ]);
  const scale = kernel('gradientBatch_scale', [
    'const scale = count > 0 ? 1 / count : 0;',
    `for (let k = 0; k < ${shapes.paramCount}; k++) grad[k] *= scale;`,
  ]);
  const w = new CodeWriter(1);
  w.line(`${clear.name}(${args});`);
  w.line(`work[${lossSlot}] = 0;`);
  w.line(
    `for (let s = 0; s < count; s++) ${f.name}(params, inputs, targets, grad, work, ${row(shapes.inputSize)}, ${row(shapes.outputSize)});`,
  );
  w.line(`${scale.name}(${args});`);
  w.line(`return count > 0 ? work[${lossSlot}] / count : 0;`);
  return [entry('gradientBatch', sig, w, true), ...sample, clear, scale];
}
