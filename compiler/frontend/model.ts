// ModelSpec → the forward graph: one program for the output, one for the loss.
import { Builder } from '../ir/builder.ts';
import { sizeOf, type Node } from '../ir/node.ts';
import { getLayer } from '../layers/registry.ts';
import type { Program, Shapes } from '../ir/program.ts';
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
}

function activationLabel(a: FunctionSpec): string {
  const ps = Object.entries(a.params).map(([k, v]) => `${k}=${v}`);
  return ps.length ? `${a.name}(${ps.join(', ')})` : a.name;
}

function activate(B: Builder, a: FunctionSpec, z: Node): Node {
  if (a.expr) return exprToIR(B, a.expr, { x: z });
  return activations[a.name]!.build(B, z, a.params);
}

export function buildModel(spec: ModelSpec): Compilation {
  const B = new Builder();
  const sections = new Map<string, string>();
  const params: ParamInfo[] = [];
  const layers: LayerInfo[] = [];
  let offset = 0;
  let x = B.input(spec.inputShape);
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
    layers.push({
      name,
      type: layer.type,
      inputs: sizeOf(layer.inputShape),
      units: sizeOf(layer.outputShape),
      inputShape: layer.inputShape,
      outputShape: layer.outputShape,
      activation: layer.activation.name,
    });
    const y = rec.build(
      {
        B,
        x,
        weights,
        outputShape: layer.outputShape,
        activate: (z) => activate(B, layer.activation, z),
        named: (n, role) => B.named(n, `${role}${l}`),
      },
      layer.options,
    );
    if (y.shape.join() !== layer.outputShape.join())
      throw new Error(
        `internal: ${layer.type} built [${y.shape}], its shape rule says [${layer.outputShape}]`,
      );
    x = B.named(y, `a${l}`);
  });
  const output = x;
  B.section = 'loss';
  sections.set('loss', `loss: ${activationLabel(spec.loss)}`);
  sections.set('loss.backward', 'loss backward');
  const last = spec.layers[spec.layers.length - 1]!.activation.name;
  const t = B.target(output.shape);
  const lossNode = spec.loss.expr
    ? B.div(B.sum(exprToIR(B, spec.loss.expr, { y: output, t })), B.const(output.size))
    : losses[spec.loss.name]!.build({ B, y: output, t, activation: last }, spec.loss.params);
  B.named(lossNode, 'loss');
  B.section = undefined;
  return {
    spec,
    B,
    shapes: {
      inputSize: spec.input,
      outputSize: output.size,
      inputShape: spec.inputShape,
      outputShape: output.shape,
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
    programs: [
      { name: 'forward', outputs: [{ kind: 'output', node: output, label: 'output' }] },
      { name: 'loss', outputs: [{ kind: 'loss', node: lossNode, label: 'loss' }] },
    ],
  };
}
