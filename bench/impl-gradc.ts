// gradc's generated modules (`generated/<model>.ts`), adapted to the harness interface.
// A training step is the module's `gradientBatch` when it exports one, otherwise the
// per-sample `gradient` accumulated over the batch; either way followed by the SGD update.

import { existsSync, readFileSync } from 'node:fs';
import { compileModel, type ModelInput } from '../compiler/index.ts';
import { importCompiled } from '../compiler/cli/load.ts';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FloatArray, GeneratedModule, ModelInfo } from '../runtime/types.ts';
import { errorText, type ImplFactory, type Prepared, type Unavailable } from './impl.ts';
import { layout, modelFile, outputSize, type NetSpec } from './models.ts';

/** The batched entry points (optional in the contract; every current module has them). */
type BatchedModule = GeneratedModule;

const GENERATED_DIR = fileURLToPath(new URL('../generated/', import.meta.url));

/** Why the generated module is not the benchmark's model, or undefined if it is. */
export function modelMismatch(info: ModelInfo, spec: NetSpec): string | undefined {
  if (spec.conv !== undefined) {
    // Layer types, activations and the input shape: with the parameter count below, that
    // pins the architecture of these 3×3 / 2×2 stacks; verification checks the numbers.
    const file = modelFile(spec);
    const want = [
      `[${spec.conv.inputShape.join(',')}]`,
      ...file.layers.map(
        (l) => `${l.type}:${typeof l.activation === 'string' ? l.activation : 'linear'}`,
      ),
      spec.loss,
    ].join(' ');
    const got = [
      `[${(info.inputShape ?? [info.inputSize]).join(',')}]`,
      ...info.layers.map((l) => `${l.type ?? 'dense'}:${l.activation}`),
      info.loss,
    ].join(' ');
    if (want !== got) return `is model "${got}", the benchmark needs "${want}"`;
    if (info.paramCount !== layout(spec).paramCount)
      return `has ${info.paramCount} parameters, expected ${layout(spec).paramCount}`;
    return undefined;
  }
  const want = [
    spec.inputSize,
    ...spec.layers.map((l) => `${l.units}:${l.activation}`),
    spec.loss,
  ].join(' ');
  const got = [
    info.inputSize,
    ...info.layers.map((l) => `${l.units}:${l.activation}`),
    info.loss,
  ].join(' ');
  if (want !== got) return `is model "${got}", the benchmark needs "${want}"`;
  if (info.paramCount !== layout(spec).paramCount)
    return `has ${info.paramCount} parameters, expected ${layout(spec).paramCount}`;
  return undefined;
}

/** The f32 and WebAssembly variants of an example are compiled on the fly from
 * examples/<name>.model.json (importCompiled awaits the module's init()). */
async function compileVariant(
  name: string,
  precision: 'f32' | 'f64',
  backend: 'js' | 'wasm',
): Promise<BatchedModule> {
  const source = fileURLToPath(new URL(`../examples/${name}.model.json`, import.meta.url));
  const json = JSON.parse(readFileSync(source, 'utf8')) as Record<string, unknown>;
  const compiled = await compileModel({ ...json, precision } as ModelInput, {
    format: 'js',
    source: `${name}.model.json`,
    backend,
  });
  return (await importCompiled(compiled)) as BatchedModule;
}

async function loadModule(
  file: string,
  spec: NetSpec,
  backend: 'js' | 'wasm',
  dir: string,
): Promise<BatchedModule | Unavailable> {
  const rel = dir === GENERATED_DIR ? `generated/${file}` : path.join(dir, file);
  const f32 = file.endsWith('-f32.ts');
  // The JS rows stay JS where the checked-in module (compiled with `auto`) runs WebAssembly.
  const golden = path.join(dir, file);
  const wasmGolden = existsSync(golden) && readFileSync(golden, 'utf8').includes('const wasmBytes');
  const onTheFly = f32 || backend === 'wasm' || wasmGolden;
  if (!f32 && !existsSync(golden)) return { unavailable: `not generated yet (${rel} missing)` };
  const example = `examples/${file.replace(/(-f32)?\.ts$/, '')}.model.json`;
  if (onTheFly && !existsSync(fileURLToPath(new URL(`../${example}`, import.meta.url))))
    return { unavailable: `not generated yet (${example} missing)` };
  let mod: BatchedModule;
  try {
    // Dynamic import because the module may not exist; its shape is checked just below.
    mod = onTheFly
      ? await compileVariant(file.replace(/(-f32)?\.ts$/, ''), f32 ? 'f32' : 'f64', backend)
      : ((await import(pathToFileURL(path.join(dir, file)).href)) as BatchedModule);
  } catch (e) {
    return {
      unavailable: `${onTheFly ? `${rel} (compiled on the fly)` : rel} failed to load: ${errorText(e)}`,
    };
  }
  if (
    typeof mod.gradient !== 'function' ||
    typeof mod.forward !== 'function' ||
    mod.model === undefined
  )
    return { unavailable: `${rel} does not export model/forward/gradient` };
  const mismatch = modelMismatch(mod.model, spec);
  return mismatch === undefined ? mod : { unavailable: `${rel} ${mismatch}` };
}

/**
 * The SGD update of a batched training step without a module's own (`sgd`), params -=
 * lr·grad: a function of its own per precision, as the runtime's optimizer is. A loop in the
 * trainStep closure, as before, ran 54 µs (101,770 f32 parameters) for the first row only:
 * V8 specializes a closure's code to the first closure's arrays, and every later row's copy
 * (f32 and f64 arrays through one piece of code) ran 160–220 µs; these run ~110 µs for each.
 */
function sgdF32(params: FloatArray, grad: FloatArray, lr: number): void {
  const p = params as Float32Array;
  const g = grad as Float32Array;
  for (let k = 0; k < p.length; k++) p[k] -= lr * g[k]!;
}

function sgdF64(params: FloatArray, grad: FloatArray, lr: number): void {
  const p = params as Float64Array;
  const g = grad as Float64Array;
  for (let k = 0; k < p.length; k++) p[k] -= lr * g[k]!;
}

/** `dir`: where the f64 JS modules are read from (generated/, or another checkout's copy for
 * a before/after comparison in one process: `--gradc-from DIR`). */
export function gradcImpl(
  name: string,
  suffix: string,
  backend: 'js' | 'wasm' = 'js',
  dir: string = GENERATED_DIR,
): ImplFactory {
  return {
    name,
    async prepare(c, data, lr) {
      const mod = await loadModule(`${c.generated}${suffix}.ts`, c.spec, backend, dir);
      if ('unavailable' in mod) return mod;
      // A model without a wasm lowering (or under the cost rule) compiles to plain JS.
      if (backend === 'wasm' && !String(mod.forwardBatch).includes('wasmKernels'))
        return { unavailable: 'stays on JS (no WebAssembly lowering, or under the cost rule)' };
      const info = mod.model;
      // In the module's memory when it has one (the WebAssembly kernels' zero-copy path).
      const make = (n: number): FloatArray =>
        mod.alloc
          ? mod.alloc(n)
          : info.precision === 'f32'
            ? new Float32Array(n)
            : new Float64Array(n);
      const I = info.inputSize;
      const O = outputSize(c.spec);
      const P = info.paramCount;
      const B = c.batch;
      const params = make(P);
      const grad = make(P);
      const acc = make(P);
      const work = make(info.workSize);
      const batchWork = work; // the batched entry points use the same model.workSize
      const inputs = make(B * I);
      const targets = make(B * O);
      const outputs = make(B * O);
      inputs.set(data.inputs);
      targets.set(data.targets);
      // Per-sample views made once, so the per-sample path allocates nothing while timed.
      const xs = Array.from({ length: B }, (_, s) => inputs.subarray(s * I, (s + 1) * I));
      const ts = Array.from({ length: B }, (_, s) => targets.subarray(s * O, (s + 1) * O));
      const ys = Array.from({ length: B }, (_, s) => outputs.subarray(s * O, (s + 1) * O));
      const sink = new Float64Array(1);
      const scale = 1 / B;
      const gradientBatch = mod.gradientBatch;
      const forwardBatch = mod.forwardBatch;

      // A WebAssembly-backed module exports its own vector SGD pass (optional in the contract).
      const own = (mod as { sgd?: (p: FloatArray, g: FloatArray, lr: number) => void }).sgd;
      const sgd = own ?? (info.precision === 'f32' ? sgdF32 : sgdF64);
      const trainStep =
        typeof gradientBatch === 'function'
          ? () => {
              sink[0] = gradientBatch(params, inputs, targets, B, grad, batchWork);
              sgd(params, grad, lr);
            }
          : () => {
              acc.fill(0);
              for (let s = 0; s < B; s++) {
                sink[0] = mod.gradient(params, xs[s], ts[s], grad, work);
                for (let k = 0; k < P; k++) acc[k] += grad[k];
              }
              const step = lr * scale;
              for (let k = 0; k < P; k++) params[k] -= step * acc[k];
            };
      const infer =
        typeof forwardBatch === 'function'
          ? () => forwardBatch(params, inputs, outputs, B, batchWork)
          : () => {
              for (let s = 0; s < B; s++) mod.forward(params, xs[s], ys[s], work);
            };
      const prepared: Prepared = {
        precision: info.precision,
        load: (p) => params.set(p),
        infer,
        readOutputs(out) {
          infer();
          out.set(outputs);
        },
        trainStep,
        readParams: (out) => out.set(params),
        forward1: () => mod.forward(params, xs[0], ys[0], work),
        gradient1: () => {
          sink[0] = mod.gradient(params, xs[0], ts[0], grad, work);
        },
        readGradient1(out) {
          const loss = mod.gradient(params, xs[0], ts[0], grad, work);
          out.set(grad);
          return loss;
        },
        dispose() {},
      };
      return prepared;
    },
  };
}
