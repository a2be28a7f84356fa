// The one list of primitives. Adding an op means adding one record to one of these lists.
import { elementwiseOps } from './elementwise.ts';
import { leafOps, viewOps } from './leaves.ts';
import { axesOps } from './axes.ts';
import { batchOps } from './batch.ts';
import { gatherOps } from './gather.ts';
import { convOps } from './conv.ts';
import { contractOps } from './contract.ts';
import { poolOps } from './pool.ts';
import { reduceOps } from './reduce.ts';
import { scanOps } from './scan.ts';
import { sliceViewOps, slicingOps } from './slicing.ts';
import type { OpDef } from './types.ts';

function buildRegistry(lists: readonly (readonly OpDef[])[]): ReadonlyMap<string, OpDef> {
  const map = new Map<string, OpDef>();
  for (const list of lists) {
    for (const op of list) {
      if (map.has(op.name)) throw new Error(`op ${op.name} registered twice`);
      map.set(op.name, op);
    }
  }
  return map;
}

export const registry = buildRegistry([
  leafOps,
  viewOps,
  elementwiseOps,
  reduceOps,
  contractOps,
  convOps,
  poolOps,
  axesOps,
  gatherOps,
  sliceViewOps,
  slicingOps,
  batchOps,
  scanOps,
]);

export function getOp(name: string): OpDef {
  const op = registry.get(name);
  if (!op) throw new Error(`unknown op ${name}`);
  return op;
}
