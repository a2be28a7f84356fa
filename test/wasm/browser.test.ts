// A WebAssembly-backed module in headless Chromium: served with the cross-origin isolation
// headers that shared memory needs, init() instantiates the kernels, alloc() hands out arrays
// in the shared memory, and gradientBatch agrees with the same module run in Node.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { parseModelBytes } from '../../compiler/format/parse.ts';
import { compileSpec } from '../../compiler/pipeline.ts';
import type { GeneratedModule } from '../../runtime/types.ts';
import { hasChromium, withPage } from '../package/browser.ts';

/** The same computation in the page and in Node: a fixed batch through gradientBatch. */
const RUN = `async (m) => {
  await m.init();
  const M = m.model, n = 9;
  const p = m.alloc(M.paramCount), x = m.alloc(n * M.inputSize), g = m.alloc(M.paramCount);
  for (let i = 0; i < p.length; i++) p[i] = Math.sin(i) * 0.05;
  for (let i = 0; i < x.length; i++) x[i] = Math.cos(i * 0.3);
  const t = new Float32Array(n * M.outputSize);
  for (let s = 0; s < n; s++) t[s * M.outputSize + (s % M.outputSize)] = 1;
  const loss = m.gradientBatch(p, x, t, n, g, new Float32Array(M.workSize));
  return { loss, grad: Array.from(g.subarray(0, 2000)), shared: p.buffer instanceof SharedArrayBuffer };
}`;

type Out = { loss: number; grad: number[]; shared: boolean; isolated: boolean };

/** The example compiled for wasm (f32), run by RUN in a cross-origin isolated page and in Node. */
async function pageAndNode(example: string): Promise<{ page: Out; node: Out }> {
  const j = JSON.parse(fs.readFileSync(`examples/${example}.model.json`, 'utf8'));
  const spec = await parseModelBytes(
    new TextEncoder().encode(JSON.stringify({ ...j, precision: 'f32', backend: 'wasm' })),
    `${example}.model.json`,
  );
  const compiled = compileSpec(spec, { format: 'js', source: `${example}.model.json` });
  const files: Record<string, [string, string]> = {
    '/': ['text/html', '<!doctype html><title>gradc wasm</title>'],
    '/m.mjs': ['text/javascript', compiled.code],
  };
  const server = http.createServer((req, res) => {
    const f = files[req.url ?? ''];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, {
      'content-type': f[0],
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(f[1]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const page = await withPage(async (pg) => {
      await pg.goto(url);
      return pg.evaluate(
        `(async () => ({ ...(await (${RUN})(await import('/m.mjs'))), isolated: crossOriginIsolated }))()`,
      ) as Promise<Out>;
    });
    const node = (await (eval(RUN) as (m: GeneratedModule) => Promise<Out>)(
      evaluateCompiled(compiled),
    )) as Out;
    return { page, node };
  } finally {
    server.close();
  }
}

describe.skipIf(!hasChromium)('WebAssembly module in headless Chromium', () => {
  it('cross-origin isolated page: the kernels run in shared memory and agree with Node', async () => {
    const { page, node } = await pageAndNode('mnist-mlp');
    expect(page.isolated).toBe(true);
    expect(page.shared).toBe(true);
    expect(node.shared).toBe(true);
    expect(Math.abs(page.loss - node.loss) / node.loss).toBeLessThan(1e-6);
    let worst = 0;
    for (let k = 0; k < node.grad.length; k++)
      worst = Math.max(worst, Math.abs(page.grad[k]! - node.grad[k]!));
    expect(worst).toBeLessThan(1e-7);
  }, 120_000);

  it('the CNN (conv, pool, flatten, dense kernels) agrees with Node too', async () => {
    const { page, node } = await pageAndNode('mnist-cnn');
    expect(page.isolated).toBe(true);
    expect(page.shared).toBe(true);
    // The page may pick the relaxed-SIMD kernels (fused multiply-adds) where Node does not.
    expect(Math.abs(page.loss - node.loss) / node.loss).toBeLessThan(1e-5);
    let num = 0;
    let den = 0;
    for (let k = 0; k < node.grad.length; k++) {
      num += (page.grad[k]! - node.grad[k]!) ** 2;
      den += node.grad[k]! ** 2;
    }
    expect(den).toBeGreaterThan(0);
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
  }, 120_000);
});
