// Human-readable names for positions in the flat parameter array.

import type { ModelInfo, ParamInfo } from './types.ts';

/** The tensor holding flat index `index`, or undefined if no tensor covers it. */
export function tensorAt(model: ModelInfo, index: number): ParamInfo | undefined {
  for (const p of model.params) {
    if (index >= p.offset && index < p.offset + p.size) return p;
  }
  return undefined;
}

/** `dense0.kernel[3,1]` for a flat index: the tensor name plus the row-major multi-index. */
export function paramName(model: ModelInfo, index: number): string {
  const p = tensorAt(model, index);
  if (p === undefined) return `params[${index}]`;
  let rest = index - p.offset;
  const idx = new Array<number>(p.shape.length);
  for (let d = p.shape.length - 1; d >= 0; d--) {
    idx[d] = rest % p.shape[d];
    rest = Math.floor(rest / p.shape[d]);
  }
  return `${p.name}[${idx.join(',')}]`;
}
