// Random SHAPED networks for the fuzzer: inputs [h, w, c], [steps, c] or vectors, stacks of
// conv1d/conv2d, pooling, global pooling, flatten, reshape, activation, normalization,
// recurrent (simpleRNN, gru, lstm, bidirectional) and dense (on any rank) layers, and DAGs: a `merge` step joins the current value with an
// earlier one (a skip connection) by an elementwise merge layer of equal shapes, or by
// concatenate along the last axis. fast-check draws a list of raw steps; `assemble` walks them with the current shape
// and turns each into a layer that is valid there (a window that does not fit is shrunk, a
// step that has no meaning at that rank is dropped), so every case compiles and shrinking
// the raw steps still gives valid, smaller networks. Sizes stay small so a case takes
// milliseconds.
import fc from 'fast-check';
import {
  activationArb,
  lossArb,
  type Activation,
  type FuzzCase,
  type FuzzLayer,
} from './fuzz-core.ts';

const KINDS = [
  'conv',
  'conv',
  'conv',
  'pool',
  'global',
  'flatten',
  'reshape',
  'activation',
  'norm',
  'recurrent',
  'dense',
  'merge',
  'merge',
  'merge',
  'merge',
] as const;

interface Step {
  readonly kind: (typeof KINDS)[number];
  /** filters or units */
  readonly n: number;
  readonly k: readonly [number, number];
  /** kernelSize / poolSize as a per-axis list rather than a number */
  readonly tuple: boolean;
  /** per axis, 1 or 2 */
  readonly stride: readonly [number, number];
  /** pooling: leave `strides` out (TF.js default: the pool size) */
  readonly defaultStrides: boolean;
  readonly same: boolean;
  readonly dilate: boolean;
  readonly useBias: boolean;
  readonly max: boolean;
  /** picks the reshape target among the factorizations of the size */
  readonly pick: number;
  readonly act: Activation;
  readonly frozen: boolean;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom(...KINDS),
  n: fc.integer({ min: 1, max: 4 }),
  k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  tuple: fc.boolean(),
  stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  defaultStrides: fc.boolean(),
  same: fc.boolean(),
  dilate: fc.boolean(),
  useBias: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
  max: fc.boolean(),
  pick: fc.nat({ max: 1000 }),
  act: fc.oneof({ weight: 2, arbitrary: fc.constant<Activation>('linear') }, activationArb()),
  frozen: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, fc.constant(true)),
});

const inputArb: fc.Arbitrary<number[]> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 3 }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 3 })),
  },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 8 })) },
);

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const divisors = (n: number) =>
  Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
/** A number when all axes agree and no list was asked for, else one entry per axis. */
const axes = (xs: readonly number[], tuple: boolean) =>
  tuple || xs.some((x) => x !== xs[0]) ? [...xs] : xs[0]!;

function windowed(
  st: Step,
  shape: readonly number[],
  conv: boolean,
): { layer: FuzzLayer; out: number[] } {
  const rank = shape.length - 1;
  const spatial = shape.slice(0, rank);
  const stride = spatial.map((_, a) => st.stride[a]!);
  // TF.js refuses strides > 1 together with dilation > 1 (on any axes).
  const d0 = conv && st.dilate && stride.every((x) => x === 1) ? 2 : 1;
  const k = spatial.map((_, a) => st.k[a]!);
  const d = spatial.map(() => d0);
  const s = spatial.map((_, a) => (!conv && st.defaultStrides ? 0 : stride[a]!));
  spatial.forEach((n, a) => {
    // valid padding: the (dilated) window must fit in the input.
    while (!st.same && (k[a]! - 1) * d[a]! + 1 > n) {
      if (d[a]! > 1) d[a] = 1;
      else k[a] = k[a]! - 1;
    }
  });
  const strides = s.map((x, a) => x || k[a]!);
  const out = spatial.map((n, a) =>
    st.same
      ? Math.ceil(n / strides[a]!)
      : Math.floor((n - ((k[a]! - 1) * d[a]! + 1)) / strides[a]!) + 1,
  );
  const padding = st.same ? { padding: 'same' } : st.pick % 2 ? { padding: 'valid' } : {};
  const dims = rank === 1 ? '1d' : '2d';
  if (conv) {
    const layer: FuzzLayer = {
      type: `conv${dims}`,
      filters: st.n,
      kernelSize: axes(k, st.tuple),
      ...(stride.some((x) => x > 1) ? { strides: axes(strides, st.tuple) } : {}),
      ...padding,
      ...(d.some((x) => x > 1) ? { dilationRate: axes(d, st.tuple) } : {}),
      ...(st.useBias ? {} : { useBias: false }),
      activation: st.act,
      ...(st.frozen ? { trainable: false } : {}),
    };
    return { layer, out: [...out, st.n] };
  }
  const layer: FuzzLayer = {
    type: `${st.max ? 'max' : 'average'}Pooling${dims}`,
    poolSize: axes(k, st.tuple),
    ...(st.defaultStrides ? {} : { strides: axes(strides, st.tuple) }),
    ...padding,
  };
  return { layer, out: [...out, shape[rank]!] };
}

/** The reshape targets of a size: rank 1 to 3, with one entry sometimes -1. */
function reshapeTarget(size: number, pick: number): number[] {
  const rank = 1 + (pick % 3);
  const ds = divisors(size);
  const a = ds[Math.floor(pick / 3) % ds.length]!;
  const bs = divisors(size / a);
  const b = bs[Math.floor(pick / 7) % bs.length]!;
  const shape = rank === 1 ? [size] : rank === 2 ? [a, size / a] : [a, b, size / a / b];
  const unknown = Math.floor(pick / 11) % (rank + 1);
  return shape.map((x, i) => (i === unknown ? -1 : x));
}

const MERGES = ['add', 'subtract', 'multiply', 'average', 'maximum', 'minimum'] as const;

/**
 * A merge of the current value (`current`) with an earlier value that fits: one of equal
 * shape for an elementwise merge, else one equal but for the last axis for concatenate.
 */
function merge(
  st: Step,
  current: { name: string; shape: readonly number[] },
  earlier: readonly { name: string; shape: readonly number[] }[],
): { layer: FuzzLayer; out: number[] } | undefined {
  const same = (a: readonly number[], b: readonly number[]) => a.join() === b.join();
  const equal = earlier.filter((e) => same(e.shape, current.shape));
  const r = current.shape.length;
  const joinable = earlier.filter(
    (e) => e.shape.length === r && same(e.shape.slice(0, -1), current.shape.slice(0, -1)),
  );
  if (equal.length && !(st.max && joinable.length)) {
    const other = equal[st.pick % equal.length]!;
    const type = MERGES[st.pick % MERGES.length]!;
    // Three inputs now and then (subtract takes exactly 2).
    const third = type !== 'subtract' && st.dilate ? [other.name] : [];
    return {
      layer: { type, inputs: [current.name, other.name, ...third] },
      out: [...current.shape],
    };
  }
  if (!joinable.length) return undefined;
  const other = joinable[st.pick % joinable.length]!;
  const first = st.useBias ? [current, other] : [other, current];
  return {
    layer: {
      type: 'concatenate',
      ...(st.tuple ? { axis: r } : {}),
      inputs: first.map((x) => x.name),
    },
    out: [...current.shape.slice(0, -1), current.shape[r - 1]! + other.shape[r - 1]!],
  };
}

function assemble(
  input: readonly number[],
  steps: readonly Step[],
): { layers: FuzzLayer[]; shape: number[] } {
  let shape = [...input];
  const layers: FuzzLayer[] = [];
  // Every value so far by name (the input, then each layer as `l0`, `l1`, ...), for merges.
  const values: { name: string; shape: readonly number[] }[] = [{ name: 'input', shape }];
  const named = () => {
    const n = layers.length;
    for (let i = values.length - 1; i < n; i++) {
      const l = layers[i] as FuzzLayer & { name?: string };
      (l as { name?: string }).name = `l${i}`;
      values.push({ name: `l${i}`, shape: i === n - 1 ? shape : [] });
    }
  };
  for (const st of steps) {
    named();
    const r = shape.length;
    const frozen = st.frozen ? { trainable: false } : {};
    switch (st.kind) {
      case 'conv':
      case 'pool': {
        if (r < 2 || r > 3) continue;
        const w = windowed(st, shape, st.kind === 'conv');
        layers.push(w.layer);
        shape = w.out;
        break;
      }
      case 'global':
        if (r < 2 || r > 3) continue;
        layers.push({ type: `global${st.max ? 'Max' : 'Average'}Pooling${r === 2 ? '1d' : '2d'}` });
        shape = [shape[r - 1]!];
        break;
      case 'flatten':
        if (r < 2) continue;
        layers.push({ type: 'flatten' });
        shape = [prod(shape)];
        break;
      case 'reshape': {
        const targetShape = reshapeTarget(prod(shape), st.pick);
        layers.push({ type: 'reshape', targetShape });
        const known = prod(targetShape.filter((x) => x !== -1));
        shape = targetShape.map((x) => (x === -1 ? prod(shape) / known : x));
        break;
      }
      case 'activation':
        layers.push({ type: 'activation', activation: st.act === 'linear' ? 'tanh' : st.act });
        break;
      case 'norm': {
        // layerNormalization over the last axis (it needs 2 features there),
        // batchNormalization (inference mode: the moving statistics) or dropout (the
        // identity), by `pick`; `max` / `dilate` reuse drop gamma / beta.
        const off = {
          ...(st.max ? { scale: false } : {}),
          ...(st.dilate ? { center: false } : {}),
        };
        const which = st.pick % 3;
        if (which === 1) layers.push({ type: 'batchNormalization', ...off, ...frozen });
        else if (which === 2) layers.push({ type: 'dropout', rate: (st.pick % 10) / 10 });
        else if (shape[r - 1]! >= 2) layers.push({ type: 'layerNormalization', ...off, ...frozen });
        else continue;
        break;
      }
      case 'recurrent': {
        // simpleRNN / gru (both resetAfter) / lstm over a [steps, features] input, by `pick`;
        // `same` keeps the sequence, `dilate` runs it backwards, `tuple` wraps it in a
        // bidirectional layer (merge mode by `pick`); `pick` also sets `unroll` (absent: the
        // cost rule, true: unrolled, false: looped over time).
        if (r !== 2 || shape[0]! > 6) continue;
        const kinds = ['simpleRNN', 'gru', 'lstm'] as const;
        const type = kinds[st.pick % 3]!;
        const cell = {
          type,
          units: st.n,
          ...(st.same ? { returnSequences: true } : {}),
          ...(st.dilate ? { goBackwards: true } : {}),
          ...(type === 'gru' && st.max ? { resetAfter: true } : {}),
          ...(st.useBias ? {} : { useBias: false }),
          ...[{}, { unroll: true }, { unroll: false }][Math.floor(st.pick / 12) % 3],
        };
        const modes = ['concat', 'sum', 'mul', 'ave'] as const;
        const mode = modes[Math.floor(st.pick / 3) % 4]!;
        const units = st.tuple && mode === 'concat' ? 2 * st.n : st.n;
        layers.push(
          st.tuple
            ? { type: 'bidirectional', mergeMode: mode, layer: cell, ...frozen }
            : { ...cell, ...frozen },
        );
        shape = st.same ? [shape[0]!, units] : [units];
        break;
      }
      case 'dense':
        layers.push({
          type: 'dense',
          units: st.n,
          activation: st.act,
          ...(st.useBias ? {} : { useBias: false }),
          ...frozen,
        });
        shape = [...shape.slice(0, -1), st.n];
        break;
      case 'merge': {
        const current = values[values.length - 1]!;
        let earlier = values.slice(0, -1);
        // No earlier value of this shape: project one onto it with a dense layer (a ResNet
        // projection shortcut), so elementwise merges are not rare.
        const r0 = current.shape.length;
        const base = earlier.find(
          (e) =>
            e.shape.length === r0 &&
            e.shape.slice(0, -1).join() === current.shape.slice(0, -1).join(),
        );
        if (!st.max && base && !earlier.some((e) => e.shape.join() === current.shape.join())) {
          const name = `l${layers.length}`;
          layers.push({ type: 'dense', name, units: current.shape[r0 - 1]!, inputs: [base.name] });
          values.push({ name, shape: current.shape });
          earlier = [...earlier, { name, shape: current.shape }];
        }
        const m = merge(st, current, earlier);
        if (!m) continue;
        layers.push(m.layer);
        shape = m.out;
        break;
      }
    }
  }
  named();
  return { layers, shape };
}

export function shapedCaseArb(): fc.Arbitrary<FuzzCase> {
  return fc
    .record({
      input: inputArb,
      steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }),
      // A final dense layer (with this activation and width), or end on the last step.
      head: fc.option(
        fc.record({
          units: fc.integer({ min: 1, max: 4 }),
          activation: fc.oneof(
            activationArb(),
            fc.constantFrom<Activation>('softmax', 'sigmoid', 'linear'),
          ),
        }),
        { freq: 3 },
      ),
      loss: lossArb(),
      precision: fc.constantFrom<'f64' | 'f32'>('f64', 'f32'),
      inputGradient: fc.boolean(),
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    })
    .map(({ input, steps, head, loss, precision, inputGradient, seed }) => {
      const { layers, shape } = assemble(input, steps);
      const cce = loss === 'categoricalCrossEntropy';
      if (head !== null || layers.length === 0 || (cce && prod(shape) < 2)) {
        const h = head ?? { units: 2, activation: 'linear' };
        const softmax = h.activation === 'softmax';
        // softmax needs a vector: flatten first when the network is still shaped.
        if (softmax && shape.length > 1) layers.push({ type: 'flatten' });
        const units = softmax || cce ? Math.max(2, h.units) : h.units;
        layers.push({ type: 'dense', units, activation: h.activation });
      }
      const model = {
        name: 'fuzz',
        input: input.length === 1 ? input[0]! : input,
        layers,
        loss,
        precision,
        ...(inputGradient ? { inputGradient } : {}),
      };
      return { model, seed };
    });
}
