// The dropout mask of generated code: ops/batch.ts `maskHash` as JavaScript text, one helper
// per module of a model with dropout. Integer arithmetic on locals only, so it allocates
// nothing; test/training-mode.test.ts checks it against `maskHash` on many arguments.
import type { EmittedFunction } from './body.ts';
import { dropThreshold } from '../ops/batch.ts';
import { num } from './code.ts';

export const MASK_FUNCTION = 'dropoutMask';

const FMIX = (v: string) => [
  `${v} ^= ${v} >>> 16;`,
  `${v} = Math.imul(${v}, 0x85ebca6b);`,
  `${v} ^= ${v} >>> 13;`,
  `${v} = Math.imul(${v}, 0xc2b2ae35);`,
  `${v} ^= ${v} >>> 16;`,
];

/** The helper: 0 where the element is dropped, `scale` where it is kept. */
export function maskFunction(entry: string): EmittedFunction {
  const body = [
    'let h = (seed | 0) ^ 0x9e3779b9;',
    ...FMIX('h'),
    'h ^= Math.imul(key + 1, 0x27d4eb2f);',
    ...FMIX('h'),
    'h ^= Math.imul(salt + 1, 0x165667b1);',
    ...FMIX('h'),
    'h ^= Math.imul(k + 1, 0x61c88647);',
    ...FMIX('h'),
    'return h >>> 0 < threshold ? 0 : scale;',
  ];
  return {
    name: MASK_FUNCTION,
    kind: 'mask',
    signature: ['seed', 'key', 'salt', 'k', 'threshold', 'scale'],
    body: body.map((l) => `  ${l}`).join('\n'),
    returnsNumber: true,
    entry,
  };
}

/** A call of the helper for one element (`key` names the sample, `k` the element). */
export function maskCall(rate: number, salt: number, key: string, k: number | string): string {
  return `${MASK_FUNCTION}(seed, ${key}, ${salt}, ${k}, ${dropThreshold(rate)}, ${num(1 / (1 - rate))})`;
}
