// Emitted code reads a slice view at a mapped index (it has no storage of its own), and pad
// and concat run as lowered kernels: a program built from them must compute what the graph
// interpreter computes, unrolled (small blocks, locals) and in loops (large blocks, work).
import { describe, expect, it } from 'vitest';
import { emitProgram } from '../../compiler/emit/body.ts';
import { Builder } from '../../compiler/ir/builder.ts';
import { evaluateNodes } from '../../compiler/ir/interpret.ts';
import type { Node } from '../../compiler/ir/node.ts';
import type { Program } from '../../compiler/ir/program.ts';
import { planMemory } from '../../compiler/schedule/memory.ts';
import { scheduleProgram } from '../../compiler/schedule/schedule.ts';
import { TestRng } from './helpers.ts';

function run(program: Program, params: Float64Array, size: number): Float64Array {
  const s = scheduleProgram(program);
  const work = new Float64Array(planMemory(s) + 1);
  const fns = emitProgram(s, new Map());
  const src = fns.map((f) => `function ${f.name}(${f.signature.join(', ')}) {\n${f.body}\n}`);
  const main = fns[0]!.name;
  const out = new Float64Array(size).fill(NaN);
  const call = new Function(`${src.join('\n')}\nreturn ${main};`)() as (
    ...a: Float64Array[]
  ) => void;
  call(params, new Float64Array(0), out, work);
  return out;
}

function check(B: Builder, y: Node, params: Float64Array): void {
  const program: Program = { name: 'forward', outputs: [{ kind: 'output', node: y, label: 'y' }] };
  const want = evaluateNodes([y], { params, input: new Float64Array(0) }).get(y)!;
  const got = run(program, params, y.size);
  for (let k = 0; k < want.length; k++) expect(got[k], `element ${k}`).toBe(want[k]);
}

describe.each([
  ['unrolled', 3, 4],
  ['in loops', 30, 12],
])('slice, pad and concat emitted %s', (_label, rows, cols) => {
  const rng = new TestRng(rows * 7 + cols);
  const B = new Builder();
  const x = B.param(0, [rows, cols]);
  const params = rng.fill(rows * cols, -2, 2);

  it('reads a slice of the leading axis and of an inner axis', () => {
    const lead = B.slice(x, 0, 1, rows - 1);
    const inner = B.slice(lead, 1, 1, cols - 2);
    check(B, B.unary('tanh', inner), params);
  });

  it('joins blocks with concat and places one with pad', () => {
    const top = B.unary('exp', B.slice(x, 0, 0, 1));
    const rest = B.slice(x, 0, 1, rows - 1);
    const joined = B.make('concat', [rest, top], { axis: 0 });
    const side = B.make('concat', [B.slice(x, 1, 1, 1), B.slice(x, 1, 0, 1)], { axis: 1 });
    const padded = B.make('pad', [B.unary('neg', side)], { axis: 1, start: 2, total: cols });
    check(B, B.add(joined, padded), params);
  });
});
