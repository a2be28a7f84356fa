// The weights file format, on bytes and strings only (no file system), so browsers can use it.
//
// Binary (all little-endian):
//   offset  size  field
//        0     4  magic "GRDC"
//        4     2  format version (u16, currently 1)
//        6     1  precision code (u8: 1 = f32, 2 = f64)
//        7     1  reserved, 0
//        8     4  paramCount (u32)
//       12     8  layout hash (u64, FNV-1a 64 of `layoutKey(model)`)
//       20     4  CRC-32 of the payload
//       24     …  paramCount floats (f32 or f64), little-endian
// The header is 24 bytes so an f64 payload starts 8-byte aligned.
//
// JSON variant: the same header fields by name plus `params` as numbers; NaN, ±Infinity and
// −0 (which JSON cannot hold) are written as the strings "NaN", "Infinity", "-Infinity", "-0".
// Its `crc32` is the CRC of the binary payload, so both encodings of the same weights share it.
//
// Decoding validates everything before producing an array and throws a WeightsError whose
// `code` says what is wrong; nothing is modified on failure.

import { crc32, fnv1a64 } from './checksum.ts';
import type { FloatArray, ModelInfo, Precision } from './types.ts';

export const WEIGHTS_MAGIC = 'GRDC';
export const WEIGHTS_VERSION = 1;
export const HEADER_SIZE = 24;
const JSON_FORMAT = 'gradc-weights';

export type WeightsErrorCode =
  | 'truncated'
  | 'badMagic'
  | 'badVersion'
  | 'badHeader'
  | 'wrongPrecision'
  | 'wrongParamCount'
  | 'wrongLayout'
  | 'trailingBytes'
  | 'badChecksum'
  | 'badJson'
  | 'badParams'
  | 'io';

export class WeightsError extends Error {
  constructor(
    readonly code: WeightsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WeightsError';
  }
}

const PRECISION_CODE: Record<Precision, number> = { f32: 1, f64: 2 };

function bytesPer(precision: Precision): number {
  return precision === 'f32' ? 4 : 8;
}

/**
 * The canonical text of a parameter layout and of what gives it meaning: precision, count,
 * every tensor's name, shape, offset and size in offset order, each layer's name, type,
 * input and output shapes and activation, and the loss. Weights load only into a model with
 * the same key, so weights trained for tanh do not load silently into a relu model of the
 * same shapes. A custom expression is only
 * `custom` here; `gradc train`'s metadata also hashes the expression itself.
 */
export function layoutKey(model: ModelInfo): string {
  const tensors = [...model.params]
    .sort((a, b) => a.offset - b.offset)
    .map((p) => `${p.name}:${p.shape.join('x')}@${p.offset}+${p.size}`)
    .join(';');
  // Type and shapes too: a pooling or reshape layer holds no parameter, yet swapping one
  // changes what every later tensor means.
  const shape = (s: readonly number[] | undefined, n: number) => (s ?? [n]).join('x');
  const layers = model.layers
    .map(
      (l) =>
        `${l.name}:${l.type}:${shape(l.inputShape, l.inputs)}>${shape(l.outputShape, l.units)}:${l.activation}`,
    )
    .join(';');
  return `gradc-layout-v2|${model.precision}|${model.paramCount}|${tensors}|${layers}|loss:${model.loss}`;
}

export function layoutHash(model: ModelInfo): bigint {
  return fnv1a64(layoutKey(model));
}

function hex(value: bigint | number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

function checkParams(model: ModelInfo, params: FloatArray): void {
  if (params.length !== model.paramCount) {
    throw new WeightsError(
      'badParams',
      `params has ${params.length} entries but model ${model.name} has ${model.paramCount}`,
    );
  }
  const f32 = params instanceof Float32Array;
  if (f32 !== (model.precision === 'f32')) {
    throw new WeightsError(
      'badParams',
      `params is a ${f32 ? 'Float32Array' : 'Float64Array'} but model ${model.name} is ${model.precision}`,
    );
  }
}

/** Little-endian payload bytes for `values` at `precision`. */
function payloadBytes(values: ArrayLike<number>, precision: Precision): Uint8Array {
  const size = bytesPer(precision);
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) {
    if (size === 4) view.setFloat32(i * 4, values[i], true);
    else view.setFloat64(i * 8, values[i], true);
  }
  return bytes;
}

/** The binary encoding of `params` for `model`. */
export function encodeWeights(model: ModelInfo, params: FloatArray): Uint8Array {
  checkParams(model, params);
  const payload = payloadBytes(params, model.precision);
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = WEIGHTS_MAGIC.charCodeAt(i);
  view.setUint16(4, WEIGHTS_VERSION, true);
  view.setUint8(6, PRECISION_CODE[model.precision]);
  view.setUint8(7, 0);
  view.setUint32(8, model.paramCount, true);
  view.setBigUint64(12, layoutHash(model), true);
  view.setUint32(20, crc32(payload), true);
  out.set(payload, HEADER_SIZE);
  return out;
}

interface Header {
  version: number;
  precision: Precision;
  paramCount: number;
  layoutHash: bigint;
  crc: number;
}

/** Checks a decoded header against the model; the shared part of binary and JSON decoding. */
function checkHeader(model: ModelInfo, h: Header): void {
  if (h.version !== WEIGHTS_VERSION) {
    throw new WeightsError(
      'badVersion',
      `unsupported weights format version ${h.version} (this runtime reads version ${WEIGHTS_VERSION})`,
    );
  }
  if (h.precision !== model.precision) {
    throw new WeightsError(
      'wrongPrecision',
      `weights are ${h.precision} but model ${model.name} is ${model.precision}`,
    );
  }
  if (h.paramCount !== model.paramCount) {
    throw new WeightsError(
      'wrongParamCount',
      `weights hold ${h.paramCount} parameters but model ${model.name} has ${model.paramCount}: they were saved for a different model`,
    );
  }
  const expected = layoutHash(model);
  if (h.layoutHash !== expected) {
    throw new WeightsError(
      'wrongLayout',
      `weights were saved for a different parameter layout (layout hash ${hex(h.layoutHash, 16)}, model ${model.name} has ${hex(expected, 16)})`,
    );
  }
}

function checkCrc(actual: number, expected: number): void {
  if (actual !== expected) {
    throw new WeightsError(
      'badChecksum',
      `weights payload is corrupted: CRC-32 ${hex(actual, 8)} does not match the header's ${hex(expected, 8)}`,
    );
  }
}

function decodeBinary(bytes: Uint8Array, model: ModelInfo): FloatArray {
  if (bytes.length < HEADER_SIZE) {
    throw new WeightsError(
      'truncated',
      `weights file is truncated: ${bytes.length} bytes, the header alone needs ${HEADER_SIZE}`,
    );
  }
  let magic = '';
  for (let i = 0; i < 4; i++) magic += String.fromCharCode(bytes[i]);
  if (magic !== WEIGHTS_MAGIC) {
    throw new WeightsError(
      'badMagic',
      `not a gradc weights file (magic ${JSON.stringify(magic)}, expected "GRDC")`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const code = view.getUint8(6);
  const precision = code === 1 ? 'f32' : code === 2 ? 'f64' : undefined;
  const version = view.getUint16(4, true);
  if (version === WEIGHTS_VERSION && (precision === undefined || view.getUint8(7) !== 0)) {
    throw new WeightsError(
      'badHeader',
      `weights header is corrupted (precision code ${code}, reserved byte ${view.getUint8(7)})`,
    );
  }
  const header: Header = {
    version,
    precision: precision ?? 'f64',
    paramCount: view.getUint32(8, true),
    layoutHash: view.getBigUint64(12, true),
    crc: view.getUint32(20, true),
  };
  checkHeader(model, header);
  const size = bytesPer(header.precision);
  const expectedLength = HEADER_SIZE + header.paramCount * size;
  if (bytes.length < expectedLength) {
    throw new WeightsError(
      'truncated',
      `weights file is truncated: ${bytes.length} bytes, expected ${expectedLength} for ${header.paramCount} ${header.precision} parameters`,
    );
  }
  if (bytes.length > expectedLength) {
    throw new WeightsError(
      'trailingBytes',
      `weights file has ${bytes.length - expectedLength} unexpected trailing bytes (expected ${expectedLength} bytes)`,
    );
  }
  const payload = bytes.subarray(HEADER_SIZE, expectedLength);
  checkCrc(crc32(payload), header.crc);
  const out =
    header.precision === 'f32'
      ? new Float32Array(header.paramCount)
      : new Float64Array(header.paramCount);
  for (let i = 0; i < out.length; i++) {
    out[i] =
      size === 4
        ? view.getFloat32(HEADER_SIZE + i * 4, true)
        : view.getFloat64(HEADER_SIZE + i * 8, true);
  }
  return out;
}

// ----------------------------------------------------------------------------------------
// JSON

type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity' | '-0';

function toJsonNumber(x: number): JsonNumber {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0 && 1 / x < 0) return '-0';
  return x;
}

function fromJsonNumber(v: unknown, index: number): number {
  if (typeof v === 'number') return v;
  switch (v) {
    case 'NaN':
      return NaN;
    case 'Infinity':
      return Infinity;
    case '-Infinity':
      return -Infinity;
    case '-0':
      return -0;
  }
  throw new WeightsError(
    'badJson',
    `weights JSON: params[${index}] is ${JSON.stringify(v)}, not a number`,
  );
}

/** The JSON encoding of `params` for `model` (pretty-printed header, one-line params). */
export function encodeWeightsJson(model: ModelInfo, params: FloatArray): string {
  checkParams(model, params);
  const values = Array.from(params, toJsonNumber);
  const header = {
    format: JSON_FORMAT,
    magic: WEIGHTS_MAGIC,
    version: WEIGHTS_VERSION,
    model: model.name,
    precision: model.precision,
    paramCount: model.paramCount,
    layoutHash: hex(layoutHash(model), 16),
    crc32: hex(crc32(payloadBytes(params, model.precision)), 8),
  };
  const head = JSON.stringify(header, null, 2).slice(0, -2); // drop "\n}"
  return `${head},\n  "params": ${JSON.stringify(values)}\n}\n`;
}

function field<T>(
  obj: Record<string, unknown>,
  name: string,
  check: (v: unknown) => v is T,
  what: string,
): T {
  const v = obj[name];
  if (!check(v)) {
    throw new WeightsError(
      'badJson',
      `weights JSON: "${name}" must be ${what}, got ${JSON.stringify(v) ?? 'nothing'}`,
    );
  }
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isHex =
  (digits: number) =>
  (v: unknown): v is string =>
    typeof v === 'string' && v.length === digits && /^[0-9a-f]+$/.test(v);

function decodeJson(text: string, model: ModelInfo): FloatArray {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new WeightsError('badJson', `weights JSON does not parse: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new WeightsError('badJson', 'weights JSON must be an object');
  }
  const obj = parsed as Record<string, unknown>;
  if (obj.magic !== WEIGHTS_MAGIC || obj.format !== JSON_FORMAT) {
    throw new WeightsError(
      'badMagic',
      `not a gradc weights file (JSON without "format": "${JSON_FORMAT}", "magic": "GRDC")`,
    );
  }
  const version = field(obj, 'version', isUint, 'a version number');
  const precision = field(obj, 'precision', isString, '"f32" or "f64"');
  if (version === WEIGHTS_VERSION && precision !== 'f32' && precision !== 'f64') {
    throw new WeightsError(
      'badHeader',
      `weights JSON: unknown precision ${JSON.stringify(precision)}`,
    );
  }
  const header: Header = {
    version,
    precision: precision as Precision,
    paramCount: field(obj, 'paramCount', isUint, 'a non-negative integer'),
    layoutHash: BigInt('0x' + field(obj, 'layoutHash', isHex(16), '16 lowercase hex digits')),
    crc: parseInt(field(obj, 'crc32', isHex(8), '8 lowercase hex digits'), 16),
  };
  checkHeader(model, header);
  const list = obj.params;
  if (!Array.isArray(list))
    throw new WeightsError('badJson', 'weights JSON: "params" must be an array');
  if (list.length !== header.paramCount) {
    throw new WeightsError(
      list.length < header.paramCount ? 'truncated' : 'trailingBytes',
      `weights JSON: "params" has ${list.length} entries, the header says ${header.paramCount}`,
    );
  }
  const out =
    header.precision === 'f32' ? new Float32Array(list.length) : new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) out[i] = fromJsonNumber(list[i], i);
  checkCrc(crc32(payloadBytes(out, header.precision)), header.crc);
  return out;
}

function looksLikeJson(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (
      b === 0x20 ||
      b === 0x09 ||
      b === 0x0a ||
      b === 0x0d ||
      b === 0xef ||
      b === 0xbb ||
      b === 0xbf
    )
      continue; // whitespace / UTF-8 BOM
    return b === 0x7b; // '{'
  }
  return false;
}

/**
 * Decodes binary or JSON weights (detected from the content) for `model`. Throws a
 * WeightsError if they do not belong to this model or are damaged.
 */
export function decodeWeights(data: Uint8Array | string, model: ModelInfo): FloatArray {
  if (typeof data === 'string') return decodeJson(data, model);
  if (looksLikeJson(data)) return decodeJson(new TextDecoder().decode(data), model);
  return decodeBinary(data, model);
}
