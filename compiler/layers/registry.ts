// The one list of layer types. Adding a layer means one record file and one line here.
import { z } from 'zod';
import { conv1d, conv2d } from './conv.ts';
import { dense } from './dense.ts';
import {
  averagePooling1d,
  averagePooling2d,
  globalAveragePooling1d,
  globalAveragePooling2d,
  globalMaxPooling1d,
  globalMaxPooling2d,
  maxPooling1d,
  maxPooling2d,
} from './pooling.ts';
import { batchNormalization } from './batch-normalization.ts';
import { dropout } from './dropout.ts';
import { layerNormalization } from './normalization.ts';
import { mergeLayers } from './merge.ts';
import { embedding } from './embedding.ts';
import { activation, flatten, reshape } from './shape-layers.ts';
import { gru, lstm, simpleRNN } from './recurrent.ts';
import { bidirectional, timeDistributed } from './wrappers.ts';
import type { AnyLayerRecord } from './types.ts';

const list: readonly AnyLayerRecord[] = [
  dense,
  conv1d,
  conv2d,
  maxPooling1d,
  maxPooling2d,
  averagePooling1d,
  averagePooling2d,
  globalMaxPooling1d,
  globalMaxPooling2d,
  globalAveragePooling1d,
  globalAveragePooling2d,
  flatten,
  reshape,
  activation,
  layerNormalization,
  ...mergeLayers,
  embedding,
  simpleRNN,
  gru,
  lstm,
  bidirectional,
  timeDistributed,
  batchNormalization,
  dropout,
];

function buildRegistry(records: readonly AnyLayerRecord[]): ReadonlyMap<string, AnyLayerRecord> {
  const map = new Map<string, AnyLayerRecord>();
  for (const r of records) {
    if (map.has(r.type)) throw new Error(`layer type ${r.type} registered twice`);
    map.set(r.type, r);
  }
  return map;
}

export const layerRegistry = buildRegistry(list);

export const layerTypes: readonly string[] = [...layerRegistry.keys()];

export function getLayer(type: string): AnyLayerRecord {
  const r = layerRegistry.get(type);
  if (!r) throw new Error(`unknown layer type ${type}`);
  return r;
}

/** The fields a layer of `type` may have, from its schema (for "did you mean"). */
export function layerFields(type: string): string[] {
  const r = layerRegistry.get(type);
  const shape = r ? (r.schema as z.ZodObject).shape : undefined;
  return shape ? Object.keys(shape) : ['type'];
}

/** Every layer object a model file may hold; `type` picks the record. */
export const layerSchema = z
  .discriminatedUnion(
    'type',
    list.map((r) => (r.schema as z.ZodObject).describe(r.doc)) as unknown as [
      z.ZodObject,
      ...z.ZodObject[],
    ],
  )
  .describe('A layer: its type is a TF.js Layers factory name');
