// Training-mode primitives: what couples the samples of a batch (batchMean), where a batched
// entry point keeps the finished means (batchStat), and dropout's seeded mask (dropoutMask).
import type { Attrs } from '../ir/node.ts';
import type { LeafOp, ViewOp } from './types.ts';

function shapeOf(attrs: Attrs, op: string): readonly number[] {
  const s = attrs.shape;
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 1))
    throw new Error(`${op}: bad shape ${JSON.stringify(s)}`);
  return s;
}

/** 2^32, the range of the mask hash. */
const RANGE = 4294967296;

/** murmur3's 32-bit finalizer: every input bit reaches every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The 32-bit hash behind dropout masks, of (seed, sample key, layer salt, element index):
 * integer arithmetic only, so a generated module computes it without allocating
 * (`emit/mask.ts` holds the same function as JavaScript text; a test checks they agree).
 */
export function maskHash(seed: number, sample: number, salt: number, k: number): number {
  let h = fmix((seed | 0) ^ 0x9e3779b9);
  h = fmix(h ^ Math.imul(sample + 1, 0x27d4eb2f));
  h = fmix(h ^ Math.imul(salt + 1, 0x165667b1));
  return fmix(h ^ Math.imul(k + 1, 0x61c88647)) >>> 0;
}

/** Elements whose hash is below this are dropped: a fraction `rate` of them. */
export function dropThreshold(rate: number): number {
  return Math.floor(rate * RANGE);
}

/** The mask's value at one element: 0 (dropped) or 1/(1 − rate) (kept and scaled, as TF.js). */
export function maskValue(rate: number, seed: number, sample: number, salt: number, k: number) {
  return maskHash(seed, sample, salt, k) < dropThreshold(rate) ? 0 : 1 / (1 - rate);
}

export const batchOps: (LeafOp | ViewOp)[] = [
  {
    name: 'batchMean',
    // Per sample (a batch of one) the mean over the batch is the value itself, so it is a
    // view there; a batched entry point computes it in a phase of its own (batch/phases.ts),
    // and the batch interpreter (ir/interpret-batch.ts) averages across the samples.
    kind: 'view',
    arity: 1,
    smooth: true,
    batch: 'mean',
    doc: 'the mean over the batch of a per-sample value (the value itself for one sample); self-transpose',
    shape: (args) => args[0]!.shape,
    evaluate: (args, _attrs, out) => out.set(args[0]!),
    // d/du_s of mean_r(u_r) applied to the cotangents of every sample is their mean.
    vjp: ({ B, ct, y }) => [B.make('batchMean', [ct.size === y.size ? ct : B.bcast(ct, y.shape)])],
  },
  {
    name: 'batchStat',
    kind: 'leaf',
    arity: 0,
    smooth: true,
    doc: 'a finished batchMean of a batched entry point: work[offset .. offset+size), one for all samples',
    shape: (_a, attrs) => shapeOf(attrs, 'batchStat'),
    evaluate: () => {
      throw new Error('batchStat is bound by the batched entry point');
    },
    vjp: () => [],
  },
  {
    name: 'dropoutMask',
    kind: 'leaf',
    batch: 'row',
    arity: 0,
    smooth: true,
    doc: "dropout's mask for one sample: 0 or 1/(1 − rate) per element, from the hash of (seed, sample, salt, element)",
    shape: (_a, attrs) => {
      const shape = shapeOf(attrs, 'dropoutMask');
      const r = attrs.rate;
      if (typeof r !== 'number' || !(r >= 0 && r < 1))
        throw new Error(`dropoutMask: bad rate ${r}`);
      if (!Number.isInteger(attrs.salt)) throw new Error('dropoutMask: salt must be an integer');
      return shape;
    },
    evaluate: () => {
      throw new Error('dropoutMask is bound by the interpreter (it needs the seed and sample)');
    },
    vjp: () => [],
  },
];
