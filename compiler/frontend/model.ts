// ModelSpec → the forward graph: one program for the output, one for the loss.
import { Builder } from '../ir/builder.ts';
import type { Node } from '../ir/node.ts';
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
  let x = B.input(spec.input);
  let fanIn = spec.input;
  let z = x;
  spec.layers.forEach((layer, l) => {
    const name = `dense${l}`;
    const m = layer.units;
    B.section = name;
    sections.set(name, `${name}: dense ${fanIn} → ${m}, ${activationLabel(layer.activation)}`);
    sections.set(`${name}.backward`, `${name} backward`);
    const common = {
      layer: l,
      fanIn,
      fanOut: m,
      activation: layer.activation.name,
      trainable: layer.trainable,
    };
    params.push({
      name: `${name}.kernel`,
      shape: [fanIn, m],
      offset,
      size: fanIn * m,
      role: 'kernel',
      ...common,
    });
    const kernel = B.param(offset, fanIn * m);
    offset += fanIn * m;
    params.push({ name: `${name}.bias`, shape: [m], offset, size: m, role: 'bias', ...common });
    const bias = B.param(offset, m);
    offset += m;
    layers.push({
      name,
      type: 'dense',
      inputs: fanIn,
      units: m,
      activation: layer.activation.name,
    });
    z = B.named(B.add(B.named(B.matvec(x, kernel, fanIn, m), `xw${l}`), bias), `z${l}`);
    x = B.named(activate(B, layer.activation, z), `a${l}`);
    fanIn = m;
  });
  const output = x;
  B.section = 'loss';
  sections.set('loss', `loss: ${activationLabel(spec.loss)}`);
  sections.set('loss.backward', 'loss backward');
  const last = spec.layers[spec.layers.length - 1]!.activation.name;
  const t = B.target(fanIn);
  const lossNode = spec.loss.expr
    ? B.div(B.sum(exprToIR(B, spec.loss.expr, { y: output, t })), B.const(fanIn))
    : losses[spec.loss.name]!.build({ B, y: output, t, activation: last }, spec.loss.params);
  B.named(lossNode, 'loss');
  B.section = undefined;
  return {
    spec,
    B,
    shapes: { inputSize: spec.input, outputSize: fanIn, paramCount: offset },
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
