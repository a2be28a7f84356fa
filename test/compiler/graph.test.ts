// Functional graphs below the oracle: equal-size inputs stay distinct leaves, several inputs
// and outputs are packed at their offsets (generated code against the graph interpreter,
// after every pass under the verifier), and embedding ids that are not whole numbers in range
// read zero rows and receive no gradient, with a batch's embedding gradient added in place.
import { describe, expect, it } from 'vitest';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { compileSpec, lower, validateModel, type ModelInput } from '../../compiler/index.ts';
import { Builder } from '../../compiler/ir/builder.ts';
import { interpret } from '../../compiler/ir/interpret.ts';
import { verifyProgram } from '../../compiler/ir/verify.ts';
import { maxRelErr, TestRng } from './helpers.ts';

type Fn = (...a: (Float64Array | number)[]) => number | void;

async function build(json: unknown) {
  const spec = await validateModel(json, 'graph.model.json');
  const c = lower(spec, {
    verify: (cc) => {
      for (const p of cc.programs) verifyProgram(p, cc.shapes);
    },
  });
  const compiled = compileSpec(spec, { format: 'js', source: 'graph.model.json' });
  const mod = evaluateCompiled(compiled) as unknown as Record<string, Fn> & {
    model: { inputSize: number; outputSize: number; paramCount: number; workSize: number };
  };
  return { c, mod, compiled };
}

describe('functional graphs', () => {
  it('keeps equal-size inputs distinct (IR leaves differ by offset)', async () => {
    const B = new Builder();
    expect(B.input([3], 0)).not.toBe(B.input([3], 3));
    expect(B.input([3], 3)).toBe(B.input([3], 3));
    const { mod } = await build({
      input: { a: [3], b: [3] },
      layers: [{ type: 'subtract', inputs: ['a', 'b'] }],
      loss: 'mse',
    });
    const out = new Float64Array(3);
    mod.forward!(
      new Float64Array(0),
      Float64Array.of(1, 2, 3, 10, 20, 30),
      out,
      new Float64Array(mod.model.workSize),
    );
    expect([...out]).toEqual([-9, -18, -27]);
  });

  it('packs several inputs and outputs: generated code equals the interpreter', async () => {
    const { c, mod } = await build({
      input: { x: [4], y: [4] },
      layers: [
        { type: 'dense', name: 'dx', units: 3, activation: 'tanh', inputs: ['x'] },
        { type: 'dense', name: 'dy', units: 3, activation: 'tanh', inputs: ['y'] },
        { type: 'maximum', name: 'm', inputs: ['dx', 'dy'] },
        { type: 'concatenate', name: 'cat', inputs: ['m', 'x'] },
        { type: 'dense', name: 'o1', units: 2, activation: 'sigmoid' },
        { type: 'dense', name: 'o2', units: 1, inputs: ['dy'] },
      ],
      outputs: [
        { layer: 'o1', loss: 'binaryCrossEntropy', weight: 2 },
        { layer: 'o2', loss: 'mse' },
      ],
      inputGradient: true,
    });
    const { inputSize: I, outputSize: O, paramCount: P, workSize } = mod.model;
    expect([I, O]).toEqual([8, 3]);
    const rng = new TestRng(11);
    const params = new Float64Array(P).map(() => rng.range(-1, 1));
    const input = new Float64Array(I).map(() => rng.range(-1, 1));
    const target = Float64Array.of(0.2, 0.9, -0.5);
    const work = new Float64Array(workSize);
    const prog = (n: string) => c.programs.find((p) => p.name === n)!;
    const want = interpret(prog('forward'), { params, input }, P);
    const out = new Float64Array(O);
    mod.forward!(params, input, out, work);
    expect(maxRelErr(out, want.output!)).toBeLessThan(1e-12);
    const g = interpret(prog('gradient'), { params, input, target }, P);
    const grad = new Float64Array(P);
    expect(mod.gradient!(params, input, target, grad, work)).toBeCloseTo(g.loss!, 12);
    expect(maxRelErr(grad, g.grad!)).toBeLessThan(1e-10);
    const d = interpret(prog('inputGradient'), { params, input, target }, P);
    const dinput = new Float64Array(I);
    mod.inputGradient!(params, input, target, dinput, work);
    expect(maxRelErr(dinput, d.dinput!)).toBeLessThan(1e-10);
    // Both inputs reach the loss: neither half of dinput is zero.
    expect(dinput.subarray(0, 4).some((v) => v !== 0)).toBe(true);
    expect(dinput.subarray(4).some((v) => v !== 0)).toBe(true);
  });
});

describe('embedding ids', () => {
  const json = (inputDim: number) => ({
    input: [5],
    layers: [
      { type: 'embedding', inputDim, outputDim: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 1 },
    ],
    loss: 'mse',
  });

  it('reads zero rows and adds no gradient for ids that are not whole numbers in range', async () => {
    const { c, mod } = await build(json(4));
    const P = mod.model.paramCount;
    const params = new Float64Array(P).map((_, i) => 1 + i);
    const ids = Float64Array.of(-1, 4, 2.5, 3, 0);
    const work = new Float64Array(mod.model.workSize);
    const prog = (n: string) => c.programs.find((p) => p.name === n)!;
    const target = Float64Array.of(0);
    const grad = new Float64Array(P);
    mod.gradient!(params, ids, target, grad, work);
    const want = interpret(prog('gradient'), { params, input: ids, target }, P);
    expect(maxRelErr(grad, want.grad!)).toBeLessThan(1e-12);
    // Rows 1 and 2 of the table are used by no valid id; rows 3 and 0 are.
    expect([...grad.subarray(2, 6)]).toEqual([0, 0, 0, 0]);
    expect(grad[6]).not.toBe(0);
    expect(grad[0]).not.toBe(0);
    // The output is the dense layer over [0, 0, 0, 0, 0, 0, row 3, row 0].
    const out = new Float64Array(1);
    mod.forward!(params, ids, out, work);
    const k = 8; // the dense kernel starts after the 4 × 2 table
    const x = [0, 0, 0, 0, 0, 0, params[6]!, params[7]!, params[0]!, params[1]!];
    const y = x.reduce((acc, v, i) => acc + v * params[k + i]!, params[k + 10]!);
    expect(out[0]).toBeCloseTo(y, 10);
  });

  it("adds a batch's table gradient in place: no table-sized loop per sample", async () => {
    const { mod, compiled } = await build(json(1000));
    const perSample = compiled.code
      .split(/\n(?=function )/)
      .filter((f) => /^function gradientBatch_/.test(f));
    expect(perSample.length).toBeGreaterThan(0);
    for (const f of perSample) expect(f).not.toMatch(/< 2000\b/);
    // And the mean of per-sample gradients, blocks of four included.
    const P = mod.model.paramCount;
    const rng = new TestRng(5);
    const count = 9;
    const params = new Float64Array(P).map(() => rng.range(-1, 1));
    const inputs = new Float64Array(count * 5).map(() => rng.int(1000));
    inputs[3] = 1000;
    const targets = new Float64Array(count).map(() => rng.range(-1, 1));
    const work = new Float64Array(mod.model.workSize);
    const grad = new Float64Array(P);
    mod.gradientBatch!(params, inputs, targets, count, grad, work);
    const mean = new Float64Array(P);
    const one = new Float64Array(P);
    for (let s = 0; s < count; s++) {
      mod.gradient!(
        params,
        inputs.subarray(s * 5, s * 5 + 5),
        targets.subarray(s, s + 1),
        one,
        work,
      );
      for (let k = 0; k < P; k++) mean[k]! += one[k]! / count;
    }
    expect(maxRelErr(grad, mean)).toBeLessThan(1e-10);
  });
});
