// What the WebAssembly tests share: compiling a spec on one backend (the cost rule off, so
// tiny nets reach the kernels too), a norm-wise relative error, and the per-call allocation
// probe that runs a module in a fresh V8.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import type { ModelSpec } from '../../compiler/format/model.ts';
import { compileSpec } from '../../compiler/pipeline.ts';
import type { GeneratedModule } from '../../runtime/types.ts';

export type Batched = Required<GeneratedModule>;

/** The module `spec` compiles to on `backend`, instantiated unless `init` is false. */
export async function loadBackend(
  spec: ModelSpec,
  backend: 'js' | 'wasm',
  o: { source?: string; init?: boolean } = {},
): Promise<Batched> {
  const compiled = compileSpec(
    { ...spec, backend },
    { format: 'js', source: o.source ?? 'm.json', wasmCostRule: false },
  );
  if (backend === 'wasm' && !compiled.code.includes('const wasmBytes'))
    throw new Error('the planner accepted the model but the module has no WebAssembly');
  const mod = evaluateCompiled(compiled) as Batched;
  if (o.init ?? true) await mod.init();
  return mod;
}

/** ‖a − b‖ / ‖b‖ (the distance itself when b = 0). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let k = 0; k < b.length; k++) {
    num += (a[k]! - b[k]!) ** 2;
    den += b[k]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/**
 * Bytes of new-space growth per call of each batched entry point (and `sgd` if asked) of the
 * f32 module `code`, on alloc() arrays, in a fresh V8: warmed up, then the least of 3
 * measurements over `calls` calls. `oneHot` targets make the loss a non-integer double;
 * `memory` puts targets and outputs in the module's memory too (params, inputs and grad
 * always are).
 */
export function allocPerCall(
  code: string,
  o: { samples: number; calls: number; oneHot: boolean; sgd: boolean; memory?: boolean },
): Record<string, number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-wasm-alloc-'));
  try {
    fs.writeFileSync(path.join(dir, 'm.mjs'), code);
    const probe = `
      import v8 from 'node:v8';
      const m = await import('./m.mjs');
      await m.init();
      const M = m.model, n = ${o.samples};
      const p = m.alloc(M.paramCount), x = m.alloc(n * M.inputSize), g = m.alloc(M.paramCount);
      for (let i = 0; i < p.length; i++) p[i] = Math.sin(i) * 0.05;
      for (let i = 0; i < x.length; i++) x[i] = Math.cos(i * 0.3);
      const t = ${o.memory ? 'm.alloc(n * M.outputSize)' : 'new Float32Array(n * M.outputSize)'};
      const o = ${o.memory ? 'm.alloc(n * M.outputSize)' : 'new Float32Array(n * M.outputSize)'};
      ${o.oneHot ? 'for (let s = 0; s < n; s++) t[s * M.outputSize + (s % M.outputSize)] = 1;' : ''}
      const w = new Float32Array(M.workSize), sink = new Float64Array(1);
      const used = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_used_size;
      const loops = {
        forwardBatch: (k) => { for (let i = 0; i < k; i++) m.forwardBatch(p, x, o, n, w); },
        gradientBatch: (k) => { for (let i = 0; i < k; i++) sink[0] += m.gradientBatch(p, x, t, n, g, w); },
        ${o.sgd ? 'sgd: (k) => { for (let i = 0; i < k; i++) m.sgd(p, g, 1e-9); },' : ''}
      };
      const out = {};
      for (const [name, loop] of Object.entries(loops)) {
        loop(300);
        let best = Infinity;
        for (let r = 0; r < 3; r++) {
          globalThis.gc();
          const h0 = used();
          loop(${o.calls});
          const h1 = used();
          if (h1 >= h0) best = Math.min(best, (h1 - h0) / ${o.calls});
        }
        out[name] = best;
      }
      console.log(JSON.stringify(out));
    `;
    fs.writeFileSync(path.join(dir, 'probe.mjs'), probe);
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', '--max-semi-space-size=64', path.join(dir, 'probe.mjs')],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (r.stderr !== '') throw new Error(`allocation probe: ${r.stderr}`);
    return JSON.parse(r.stdout.trim()) as Record<string, number>;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
