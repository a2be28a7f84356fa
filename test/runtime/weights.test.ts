import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32, fnv1a64 } from '../../runtime/checksum.ts';
import { initParams } from '../../runtime/init.ts';
import type { FloatArray, ModelInfo, Precision } from '../../runtime/types.ts';
import {
  decodeWeights,
  encodeWeights,
  encodeWeightsJson,
  HEADER_SIZE,
  layoutKey,
  WeightsError,
  type WeightsErrorCode,
} from '../../runtime/weights.ts';
import { loadWeights, loadWeightsInto, saveWeights } from '../../runtime/weights-fs.ts';
import { classifierModule, xorModule } from './fixtures/models.ts';

const dir = mkdtempSync(join(tmpdir(), 'gradc-weights-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bits(a: FloatArray): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
}

function params(precision: Precision): { model: ModelInfo; params: FloatArray } {
  const model = xorModule(precision).model;
  const p = initParams(model, { seed: 3 });
  // Values JSON cannot hold directly, and a subnormal.
  p[1] = NaN;
  p[2] = -0;
  p[3] = Infinity;
  p[4] = -Infinity;
  p[5] = precision === 'f32' ? 1.401298464324817e-45 : 5e-324;
  return { model, params: p };
}

function expectError(f: () => unknown, code: WeightsErrorCode, message: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'should throw').toBeInstanceOf(WeightsError);
  expect((err as WeightsError).code).toBe(code);
  expect((err as WeightsError).message).toMatch(message);
}

describe('checksums', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
  it('fnv1a64 matches published vectors', () => {
    expect(fnv1a64('')).toBe(0xcbf29ce484222325n);
    expect(fnv1a64('a')).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64('foobar')).toBe(0x85944171f73967e8n);
  });
});

describe('round trips', () => {
  for (const precision of ['f64', 'f32'] as Precision[]) {
    for (const ext of ['bin', 'json']) {
      it(`${precision} ${ext} via files, bit-exact (NaN, −0, ±Infinity, subnormal)`, () => {
        const { model, params: p } = params(precision);
        const path = join(dir, `rt-${precision}.${ext}`);
        saveWeights(path, model, p);
        const loaded = loadWeights(path, model);
        expect(loaded).toBeInstanceOf(precision === 'f32' ? Float32Array : Float64Array);
        expect(bits(loaded)).toBe(bits(p));
        const text = readFileSync(path);
        if (ext === 'json') {
          const obj = JSON.parse(text.toString('utf8'));
          expect(obj).toMatchObject({
            format: 'gradc-weights',
            magic: 'GRDC',
            version: 1,
            precision,
            paramCount: 33,
            model: 'xor',
          });
          expect(obj.params.slice(1, 5)).toEqual(['NaN', '-0', 'Infinity', '-Infinity']);
        } else {
          expect(text.length).toBe(HEADER_SIZE + 33 * (precision === 'f32' ? 4 : 8));
          expect(text.subarray(0, 4).toString('latin1')).toBe('GRDC');
        }
      });
    }
  }

  it('binary and JSON share the payload CRC and the layout hash', () => {
    const { model, params: p } = params('f64');
    const bin = Buffer.from(encodeWeights(model, p));
    const json = JSON.parse(encodeWeightsJson(model, p));
    expect(json.crc32).toBe(bin.readUInt32LE(20).toString(16).padStart(8, '0'));
    expect(json.layoutHash).toBe(bin.readBigUInt64LE(12).toString(16).padStart(16, '0'));
  });

  it('decodes from memory without fs (Uint8Array or string)', () => {
    const { model, params: p } = params('f32');
    expect(bits(decodeWeights(encodeWeights(model, p), model))).toBe(bits(p));
    expect(bits(decodeWeights(encodeWeightsJson(model, p), model))).toBe(bits(p));
    expect(bits(decodeWeights(new TextEncoder().encode(encodeWeightsJson(model, p)), model))).toBe(
      bits(p),
    );
  });

  it('the layout key is names, shapes, offsets, sizes, precision, layer types, shapes and activations, and loss', () => {
    const model = xorModule().model;
    expect(layoutKey(model)).toBe(
      `gradc-layout-v2|f64|33|dense0.kernel:2x8@0+16;dense0.bias:8@16+8;dense1.kernel:8x1@24+8;dense1.bias:1@32+1|dense0:dense:2>8:tanh;dense1:dense:8>1:sigmoid|loss:${model.loss}`,
    );
  });

  it('weights of a model with the same shapes but another activation or loss do not load', () => {
    const model = xorModule().model;
    const bytes = encodeWeights(model, new Float64Array(model.paramCount));
    const relu = {
      ...model,
      layers: model.layers.map((l, i) => (i === 0 ? { ...l, activation: 'relu' } : l)),
    };
    expectError(() => decodeWeights(bytes, relu), 'wrongLayout', /different parameter layout/);
    const otherLoss = { ...model, loss: model.loss === 'mse' ? 'mae' : 'mse' };
    expectError(() => decodeWeights(bytes, otherLoss), 'wrongLayout', /different parameter layout/);
  });

  it('saving refuses a params array of the wrong size or precision', () => {
    const model = xorModule().model;
    expectError(
      () => encodeWeights(model, new Float64Array(5)),
      'badParams',
      /5 entries but model xor has 33/,
    );
    expectError(
      () => encodeWeights(model, new Float32Array(33)),
      'badParams',
      /Float32Array but model xor is f64/,
    );
  });
});

describe('corrupt or foreign binary files fail with a clear WeightsError', () => {
  const { model, params: p } = params('f64');
  const good = encodeWeights(model, p);
  const mutate = (f: (b: Buffer) => Buffer | void): Buffer => {
    const b = Buffer.from(good);
    return f(b) ?? b;
  };

  it('empty / shorter than the header', () => {
    expectError(
      () => decodeWeights(new Uint8Array(0), model),
      'truncated',
      /truncated: 0 bytes, the header alone needs 24/,
    );
    expectError(() => decodeWeights(good.subarray(0, 10), model), 'truncated', /truncated/);
  });
  it('bad magic', () => {
    expectError(
      () =>
        decodeWeights(
          mutate((b) => void b.write('PNG!', 0, 'latin1')),
          model,
        ),
      'badMagic',
      /not a gradc weights file \(magic "PNG!"/,
    );
  });
  it('unsupported version', () => {
    expectError(
      () =>
        decodeWeights(
          mutate((b) => void b.writeUInt16LE(9, 4)),
          model,
        ),
      'badVersion',
      /version 9 \(this runtime reads version 1\)/,
    );
  });
  it('unknown precision code', () => {
    expectError(
      () =>
        decodeWeights(
          mutate((b) => void (b[6] = 7)),
          model,
        ),
      'badHeader',
      /precision code 7/,
    );
  });
  it('wrong precision', () => {
    const f32 = xorModule('f32').model;
    expectError(
      () => decodeWeights(good, f32),
      'wrongPrecision',
      /weights are f64 but model xor is f32/,
    );
  });
  it('saved for a model with another parameter count', () => {
    expectError(
      () => decodeWeights(good, classifierModule().model),
      'wrongParamCount',
      /hold 33 parameters but model classifier has 403/,
    );
  });
  it('saved for another layout with the same count', () => {
    const transposed: ModelInfo = {
      ...model,
      params: model.params.map((q) => (q.name === 'dense0.kernel' ? { ...q, shape: [8, 2] } : q)),
    };
    expectError(() => decodeWeights(good, transposed), 'wrongLayout', /different parameter layout/);
  });
  it('truncated payload', () => {
    expectError(
      () => decodeWeights(good.subarray(0, good.length - 1), model),
      'truncated',
      /287 bytes, expected 288 for 33 f64 parameters/,
    );
  });
  it('trailing bytes', () => {
    expectError(
      () => decodeWeights(Buffer.concat([good, Buffer.of(0)]), model),
      'trailingBytes',
      /1 unexpected trailing bytes/,
    );
  });
  it('a flipped payload bit fails the CRC', () => {
    expectError(
      () =>
        decodeWeights(
          mutate((b) => void (b[HEADER_SIZE + 100] ^= 0x10)),
          model,
        ),
      'badChecksum',
      /corrupted: CRC-32 [0-9a-f]{8} does not match/,
    );
  });
  it('a damaged CRC field fails the CRC', () => {
    expectError(
      () =>
        decodeWeights(
          mutate((b) => void (b[21] ^= 1)),
          model,
        ),
      'badChecksum',
      /corrupted/,
    );
  });
  it('a damaged layout hash field reads as another layout', () => {
    expectError(
      () =>
        decodeWeights(
          mutate((b) => void (b[13] ^= 1)),
          model,
        ),
      'wrongLayout',
      /different parameter layout/,
    );
  });
});

describe('corrupt JSON files fail with a clear WeightsError', () => {
  const { model, params: p } = params('f64');
  const good = JSON.parse(encodeWeightsJson(model, p)) as Record<string, unknown>;
  const with_ = (patch: Record<string, unknown>) => JSON.stringify({ ...good, ...patch });

  it('does not parse', () => {
    expectError(
      () => decodeWeights('{"format": "gradc-weights", ', model),
      'badJson',
      /does not parse/,
    );
  });
  it('not an object / not ours', () => {
    expectError(() => decodeWeights('[1, 2]', model), 'badJson', /must be an object/);
    expectError(
      () => decodeWeights(with_({ magic: 'XXXX' }), model),
      'badMagic',
      /not a gradc weights file/,
    );
  });
  it('bad header fields', () => {
    expectError(() => decodeWeights(with_({ version: 2 }), model), 'badVersion', /version 2/);
    expectError(
      () => decodeWeights(with_({ precision: 'f16' }), model),
      'badHeader',
      /unknown precision "f16"/,
    );
    expectError(
      () => decodeWeights(with_({ precision: 'f32' }), model),
      'wrongPrecision',
      /weights are f32/,
    );
    expectError(
      () => decodeWeights(with_({ paramCount: '33' }), model),
      'badJson',
      /"paramCount" must be a non-negative integer/,
    );
    expectError(
      () => decodeWeights(with_({ layoutHash: 'xyz' }), model),
      'badJson',
      /"layoutHash" must be 16 lowercase hex digits/,
    );
    expectError(
      () => decodeWeights(with_({ layoutHash: '0123456789abcdef' }), model),
      'wrongLayout',
      /different parameter layout/,
    );
  });
  it('missing, short, long or non-numeric params', () => {
    const list = good.params as unknown[];
    expectError(
      () => decodeWeights(with_({ params: undefined }), model),
      'badJson',
      /"params" must be an array/,
    );
    expectError(
      () => decodeWeights(with_({ params: list.slice(1) }), model),
      'truncated',
      /32 entries, the header says 33/,
    );
    expectError(
      () => decodeWeights(with_({ params: [...list, 0] }), model),
      'trailingBytes',
      /34 entries/,
    );
    expectError(
      () => decodeWeights(with_({ params: [...list.slice(0, 32), 'x'] }), model),
      'badJson',
      /params\[32\] is "x"/,
    );
  });
  it('an edited value fails the CRC', () => {
    const list = [...(good.params as unknown[])];
    list[0] = (list[0] as number) + 1e-9;
    expectError(() => decodeWeights(with_({ params: list }), model), 'badChecksum', /corrupted/);
  });
});

describe('files on disk', () => {
  it('names the file in errors and leaves params untouched', () => {
    const model = xorModule().model;
    const path = join(dir, 'bad.bin');
    writeFileSync(path, Buffer.from('GRDC but not really'));
    const live = initParams(model, { seed: 1 });
    const before = bits(live);
    expectError(
      () => loadWeightsInto(path, model, live),
      'truncated',
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: weights file is truncated`),
    );
    expect(bits(live)).toBe(before);
    expectError(
      () => loadWeights(join(dir, 'missing.bin'), model),
      'io',
      /cannot read weights file .*missing\.bin/,
    );
  });

  it('loadWeightsInto copies into the given array', () => {
    const model = xorModule().model;
    const p = initParams(model, { seed: 9 });
    const path = join(dir, 'into.bin');
    saveWeights(path, model, p);
    const target = new Float64Array(33);
    loadWeightsInto(path, model, target);
    expect(bits(target)).toBe(bits(p));
  });

  it('saves atomically: overwrites, leaves no temp files, keeps the old file on failure', () => {
    const sub = join(dir, 'atomic');
    mkdirSync(sub);
    const model = xorModule().model;
    const path = join(sub, 'w.bin');
    const a = initParams(model, { seed: 1 });
    const b = initParams(model, { seed: 2 });
    saveWeights(path, model, a);
    saveWeights(path, model, b);
    expect(bits(loadWeights(path, model))).toBe(bits(b));
    expect(readdirSync(sub)).toEqual(['w.bin']);
    // Encoding fails before the disk is touched: the old file survives intact.
    expect(() => saveWeights(path, model, new Float64Array(3))).toThrow(WeightsError);
    expect(bits(loadWeights(path, model))).toBe(bits(b));
    // The final rename fails (the target is a directory): the temp file is removed.
    const blocked = join(sub, 'blocked.bin');
    mkdirSync(blocked);
    expectError(
      () => saveWeights(blocked, model, a),
      'io',
      /cannot save weights to .*blocked\.bin/,
    );
    expect(readdirSync(sub).sort()).toEqual(['blocked.bin', 'w.bin']);
    // A directory that does not exist.
    expectError(
      () => saveWeights(join(sub, 'nope', 'w.bin'), model, a),
      'io',
      /cannot save weights/,
    );
  });

  it('picks the format from the extension unless told', () => {
    const model = xorModule().model;
    const p = initParams(model, { seed: 1 });
    saveWeights(join(dir, 'x.JSON'), model, p);
    expect(readFileSync(join(dir, 'x.JSON'), 'utf8').startsWith('{')).toBe(true);
    saveWeights(join(dir, 'x.weights'), model, p, { format: 'json' });
    expect(bits(loadWeights(join(dir, 'x.weights'), model))).toBe(bits(p));
  });
});
