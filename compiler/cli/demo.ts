// `npm run demo`: compile and verify each bundled example, train XOR with plain SGD, then
// train Iris from its CSV the way `gradc train` does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initParams, sgd, train } from '@gradc/runtime';
import { compileBytes } from '../index.ts';
import { runCheck } from './check.ts';
import { exampleFiles } from './generate.ts';
import { importCompiled } from './load.ts';
import { runTrain } from './train.ts';

const XOR = { inputs: [0, 0, 0, 1, 1, 0, 1, 1], targets: [0, 1, 1, 0] };

export async function runDemo(out: (s: string) => void): Promise<boolean> {
  let ok = true;
  out('gradc demo: compile and check every example\n');
  for (const file of exampleFiles()) {
    const t0 = performance.now();
    const compiled = await compileBytes(fs.readFileSync(file), file, 'js');
    const ms = performance.now() - t0;
    const r = await runCheck(compiled, { samples: 1, seed: 1, maxParams: 300 });
    ok &&= r.ok;
    const { paramCount } = compiled.c.shapes;
    out(
      `  ${path.basename(file).padEnd(24)} ${String(paramCount).padStart(7)} params  compiled in ${ms.toFixed(0).padStart(4)} ms  ${r.ok ? 'gradients ok' : 'GRADIENT CHECK FAILED'}\n`,
    );
    if (!r.ok) for (const l of r.lines) out(`    ${l}\n`);
  }

  out('\ntrain XOR (2-8-1, tanh/sigmoid, mse) with SGD\n');
  const xor = await importCompiled(
    await compileBytes(fs.readFileSync('examples/xor.model.json'), 'examples/xor.model.json', 'js'),
  );
  const params = initParams(xor.model, { seed: 1 });
  const data = {
    inputs: Float64Array.from(XOR.inputs),
    targets: Float64Array.from(XOR.targets),
    count: 4,
  };
  const t0 = performance.now();
  const history = train(xor, params, data, {
    epochs: 2000,
    batchSize: 4,
    optimizer: sgd({ lr: 0.5 }),
    seed: 1,
    diagnostics: false,
    onEpochEnd: (e) => {
      if ((e.epoch + 1) % 500 === 0)
        out(`  epoch ${String(e.epoch + 1).padStart(4)}  loss ${e.loss.toFixed(5)}\n`);
    },
  });
  const ms = performance.now() - t0;
  const final = history.epochs[history.epochs.length - 1]!.loss;
  const y = new Float64Array(1);
  const work = new Float64Array(xor.model.workSize);
  const preds: string[] = [];
  for (let i = 0; i < 4; i++) {
    xor.forward(params, data.inputs.subarray(2 * i, 2 * i + 2), y, work);
    preds.push(`${XOR.inputs[2 * i]} xor ${XOR.inputs[2 * i + 1]} → ${y[0]!.toFixed(3)}`);
  }
  out(
    `  final loss ${final.toFixed(5)} after ${history.epochs.length} epochs in ${ms.toFixed(0)} ms  ${final < 0.01 ? '(< 0.01: ok)' : '(NOT below 0.01)'}\n`,
  );
  out(`  ${preds.join('   ')}\n`);
  ok &&= final < 0.01;
  return (await trainIris(out)) && ok;
}

/** The README's `gradc train` command for Iris, with the weights in a temporary folder. */
async function trainIris(out: (s: string) => void): Promise<boolean> {
  out('\ntrain Iris (4-16-16-3, relu/softmax, cross-entropy) with Adam: examples/data/iris.csv\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-demo-'));
  try {
    const r = await runTrain(
      {
        model: 'examples/iris.model.json',
        data: 'examples/data/iris.csv',
        label: 'species',
        epochs: 200,
        batch: 16,
        optimizer: 'adam',
        lr: 0.01,
        seed: 1,
        val: 0.2,
        normalize: true,
        out: path.join(dir, 'iris.bin'),
      },
      { out: (s) => out(`  ${s}`), err: (s) => out(`  ${s}`), tty: false, every: 50 },
    );
    const acc = r.val?.accuracy ?? 0;
    out(
      `  held-out accuracy ${(100 * acc).toFixed(1)}% on ${r.valCount} flowers ${acc >= 0.95 ? '(≥ 95%: ok)' : '(NOT ≥ 95%)'}\n`,
    );
    return acc >= 0.95;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
