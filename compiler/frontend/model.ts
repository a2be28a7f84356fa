// ModelSpec → the forward graph: one program for the output, one for the loss.
import type { BatchedPrograms } from '../batch/axis.ts';
import { Builder } from '../ir/builder.ts';
import { sizeOf, type Node } from '../ir/node.ts';
import { getLayer } from '../layers/registry.ts';
import type { Program, ProgramOutput, Shapes } from '../ir/program.ts';
import type { FunctionSpec, ModelSpec } from '../format/model.ts';
import type { LayerInfo, ParamInfo } from '@gradc/runtime';
import { activations } from './activations.ts';
import { exprToIR } from './expr.ts';
import { losses } from './losses.ts';

export interface Compilation {
  readonly spec: ModelSpec;
  readonly B: Builder;
  readonly shapes: Shapes;
  readonly params: readonly ParamInfo[];
  readonly layers: readonly LayerInfo[];
  /** Section id → the title printed above that part of the generated code. */
  readonly sections: ReadonlyMap<string, string>;
  /** Sections in the order their code should appear: layers, loss, then backward in reverse. */
  readonly sectionOrder: readonly string[];
  readonly programs: readonly Program[];
  /** The batched entry points' programs with their batch axis; set by the `batch` pass. */
  readonly batched?: BatchedPrograms;
}

function activationLabel(a: FunctionSpec): string {
  const ps = Object.entries(a.params).map(([k, v]) => `${k}=${v}`);
  return ps.length ? `${a.name}(${ps.join(', ')})` : a.name;
}

/** The IR of activation `a` applied to `z` (also the WebAssembly backend's source for its kernels). */
export function activate(B: Builder, a: FunctionSpec, z: Node): Node {
  if (a.expr) return exprToIR(B, a.expr, { x: z });
  return activations[a.name]!.build(B, z, a.params);
}

function lossLabel(spec: ModelSpec): string {
  if (spec.outputs.length === 1) return activationLabel(spec.loss);
  return spec.outputs
    .map((o) => `${o.weight === 1 ? '' : `${o.weight} × `}${activationLabel(o.loss)}(${o.name})`)
    .join(' + ');
}

export function buildModel(spec: ModelSpec): Compilation {
  const B = new Builder();
  const sections = new Map<string, string>();
  const params: ParamInfo[] = [];
  const layers: LayerInfo[] = [];
  let offset = 0;
  const input = () =>
    new Map<string, Node>(spec.inputs.map((x) => [x.name, B.input(x.shape, x.offset)]));
  // Every value a layer may take, by name: the model inputs (each a leaf at its offset in the
  // packed input), then each layer's output.
  const values = input();
  // A model whose layers do not simply follow each other lists what each layer takes.
  const graph =
    spec.inputs.length > 1 ||
    spec.outputs.length > 1 ||
    spec.layers.some(
      (layer, l) =>
        layer.inputs.join('\0') !== (l === 0 ? spec.inputs[0]!.name : spec.layers[l - 1]!.name),
    );
  const layerWeights: Record<string, Node>[] = [];
  const context = (l: number, vals: ReadonlyMap<string, Node>) => {
    const layer = spec.layers[l]!;
    const xs = layer.inputs.map((n) => vals.get(n)!);
    return {
      B,
      x: xs[0]!,
      xs,
      weights: layerWeights[l]!,
      outputShape: layer.outputShape,
      activate: (z: Node) => activate(B, layer.activation, z),
      named: (n: Node, role: string) => B.named(n, `${role}${l}`),
    };
  };
  const checkShape = (l: number, y: Node) => {
    const layer = spec.layers[l]!;
    if (y.shape.join() !== layer.outputShape.join())
      throw new Error(
        `internal: ${layer.type} built [${y.shape}], its shape rule says [${layer.outputShape}]`,
      );
  };
  spec.layers.forEach((layer, l) => {
    const rec = getLayer(layer.type);
    const name = layer.name;
    B.section = name;
    const act = rec.activation === 'none' ? '' : `, ${activationLabel(layer.activation)}`;
    sections.set(name, `${name}: ${rec.describe(layer.options, layer.inputShape)}${act}`);
    sections.set(`${name}.backward`, `${name} backward`);
    const weights: Record<string, Node> = {};
    for (const w of layer.weights) {
      const size = sizeOf(w.shape);
      params.push({
        name: `${name}.${w.name}`,
        shape: w.shape,
        offset,
        size,
        role: w.role,
        init: w.init,
        layer: l,
        fanIn: w.fanIn,
        fanOut: w.fanOut,
        activation: layer.activation.name,
        trainable: layer.trainable && w.trainable !== false,
      });
      weights[w.name] = B.param(offset, w.shape);
      offset += size;
    }
    layerWeights.push(weights);
    layers.push({
      name,
      type: layer.type,
      inputs: sizeOf(layer.inputShape),
      units: sizeOf(layer.outputShape),
      inputShape: layer.inputShape,
      outputShape: layer.outputShape,
      activation: layer.activation.name,
      ...(graph ? { from: layer.inputs } : {}),
    });
    const y = rec.build(context(l, values), layer.options);
    checkShape(l, y);
    values.set(name, B.named(y, `a${l}`));
  });
  B.section = 'loss';
  sections.set('loss', `loss: ${lossLabel(spec)}`);
  sections.set('loss.backward', 'loss backward');
  const { loss: lossNode, outputs } = buildLoss(B, spec, values);
  B.named(lossNode, 'loss');
  B.section = undefined;
  const programs: Program[] = [
    { name: 'forward', outputs },
    { name: 'loss', outputs: [{ kind: 'loss', node: lossNode, label: 'loss' }] },
  ];
  // Layers that train differently (dropout, batch statistics) get a second, training-mode
  // build of the loss; layers without a `train` build give the same nodes (hash-consing).
  if (spec.layers.some((layer) => getLayer(layer.type).train)) {
    const trainValues = input();
    const state: ProgramOutput[] = [];
    spec.layers.forEach((layer, l) => {
      const rec = getLayer(layer.type);
      B.section = layer.name;
      const ctx = context(l, trainValues);
      if (!rec.train) {
        trainValues.set(layer.name, B.named(rec.build(ctx, layer.options), `a${l}`));
        return;
      }
      const built = rec.train({ ...ctx, salt: l }, layer.options);
      checkShape(l, built.y);
      trainValues.set(layer.name, B.named(built.y, `ta${l}`));
      for (const [w, node] of Object.entries(built.state ?? {})) {
        const p = params.find((q) => q.layer === l && q.name === `${layer.name}.${w}`)!;
        state.push({
          kind: 'state',
          node: B.named(node, `new${w}${l}`),
          offset: p.offset,
          label: p.name,
        });
      }
    });
    B.section = 'loss';
    const built = buildLoss(B, spec, trainValues);
    B.named(built.loss, 'tloss');
    B.section = undefined;
    // The training-mode outputs ride along for the interpreters and the TF.js oracle (what
    // Keras's `training: true` forward returns); no entry point computes them.
    programs.push({
      name: 'trainLoss',
      outputs: [{ kind: 'loss', node: built.loss, label: 'loss' }, ...state, ...built.outputs],
    });
  }
  return {
    spec,
    B,
    shapes: {
      inputSize: spec.input,
      outputSize: sizeOf(spec.outputShape),
      inputShape: spec.inputShape,
      outputShape: spec.outputShape,
      paramCount: offset,
    },
    params,
    layers,
    sections,
    sectionOrder: [
      ...layers.map((l) => l.name),
      'loss',
      'loss.backward',
      ...layers.map((l) => `${l.name}.backward`).reverse(),
    ],
    programs,
  };
}

/** Σ weight × loss over the outputs (Keras lossWeights); each output reads its own part of
 * the packed target. Also the `output` list of the forward program. */
function buildLoss(
  B: Builder,
  spec: ModelSpec,
  values: ReadonlyMap<string, Node>,
): { loss: Node; outputs: ProgramOutput[] } {
  let lossNode: Node | undefined;
  const outputs: ProgramOutput[] = [];
  const packed = spec.outputs.length > 1;
  for (const o of spec.outputs) {
    const y = values.get(o.name)!;
    const t = B.target(y.shape, o.offset);
    let part = o.loss.expr
      ? B.div(B.sum(exprToIR(B, o.loss.expr, { y, t })), B.const(y.size))
      : losses[o.loss.name]!.build({ B, y, t, activation: o.activation }, o.loss.params);
    if (o.weight !== 1) part = B.mul(B.const(o.weight), part);
    lossNode = lossNode ? B.add(lossNode, part) : part;
    outputs.push(
      packed
        ? {
            kind: 'output',
            node: y,
            label: `output.${o.name}`,
            offset: o.offset,
            total: spec.outputShape[0]!,
          }
        : { kind: 'output', node: y, label: 'output' },
    );
  }
  return { loss: lossNode!, outputs };
}
