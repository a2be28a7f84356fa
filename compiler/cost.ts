// Resource bounds measured on what the compiler actually builds, not on the model text: a
// 1 KB expression like `x^x^…^x` is inside every textual limit yet grows to thousands of IR
// nodes once differentiated, and every node is emitted once per unit when unrolled. Three
// checks, each against a limit in LIMITS (format/schema.ts):
// - each custom expression, built and differentiated on its own (maxExprNodes);
// - the whole model after differentiation and optimization (maxIrNodes);
// - the real schedule: emitted scalar operations (maxStatements) and the work array of the
//   memory plan, batched entry points included (maxWork) — checked before any code is emitted.
import { differentiate } from './autodiff/reverse.ts';
import { buildModel, type Compilation } from './frontend/model.ts';
import { GradcError, jsonPath } from './format/errors.ts';
import type { FunctionSpec, ModelSpec } from './format/model.ts';
import { LIMITS } from './format/schema.ts';
import { topoOrder } from './ir/node.ts';
import { costOf, type Schedule } from './schedule/schedule.ts';

/** Distinct IR nodes reachable from the outputs of every program. */
export function irNodeCount(c: Compilation): number {
  return topoOrder(c.programs.flatMap((p) => p.outputs.map((o) => o.node))).length;
}

const LINEAR: FunctionSpec = { name: 'linear', params: {} };
const MSE: FunctionSpec = { name: 'mse', params: {} };

/** Nodes of a one-unit model around `activation` / `loss`, differentiated. */
function probeNodes(activation: FunctionSpec, loss: FunctionSpec): number {
  // One dense unit, in the normalized form the layer registry produces for `{units: 1}`.
  const fan = { fanIn: 1, fanOut: 1 } as const;
  const spec: ModelSpec = {
    name: 'probe',
    input: 1,
    inputShape: [1],
    outputShape: [1],
    layers: [
      {
        type: 'dense',
        name: 'dense0',
        options: { type: 'dense', units: 1 },
        units: 1,
        inputs: ['input'],
        inputShape: [1],
        inputShapes: [[1]],
        outputShape: [1],
        weights: [
          { name: 'kernel', shape: [1, 1], role: 'kernel', init: 'glorotUniform', ...fan },
          { name: 'bias', shape: [1], role: 'bias', init: 'zeros', ...fan },
        ],
        activation,
        trainable: true,
      },
    ],
    inputs: [{ name: 'input', shape: [1], offset: 0, size: 1 }],
    outputs: [
      {
        name: 'dense0',
        shape: [1],
        offset: 0,
        size: 1,
        loss,
        weight: 1,
        activation: activation.name,
      },
    ],
    loss,
    precision: 'f64',
    inputGradient: false,
  };
  return irNodeCount(differentiate(buildModel(spec)));
}

/**
 * Refuses a custom expression whose IR, with its derivative, has more than
 * LIMITS.maxExprNodes nodes (the probe's own nodes without the expression are not counted).
 */
export function checkExpressionCost(spec: ModelSpec, file: string): void {
  const base = probeNodes(LINEAR, MSE);
  const check = (f: FunctionSpec, path: (string | number)[], nodes: () => number) => {
    if (!f.expr) return;
    const n = nodes() - base;
    if (n > LIMITS.maxExprNodes)
      throw new GradcError(
        file,
        jsonPath([...path, 'expr']),
        `the expression and its derivative take ${n} operations, more than the limit of ${LIMITS.maxExprNodes}`,
      );
  };
  spec.layers.forEach((l, i) =>
    check(l.activation, ['layers', i, 'activation'], () => probeNodes(l.activation, MSE)),
  );
  // A graph's losses sit in `outputs`; a single output's is the top-level one.
  spec.outputs.forEach((o, j) =>
    check(o.loss, spec.outputs.length > 1 ? ['outputs', j, 'loss'] : ['loss'], () =>
      probeNodes(LINEAR, o.loss),
    ),
  );
}

/** Refuses a model whose differentiated IR has more than LIMITS.maxIrNodes nodes. */
export function checkModelCost(c: Compilation, file: string): void {
  const n = irNodeCount(c);
  if (n > LIMITS.maxIrNodes)
    throw new GradcError(
      file,
      '$.layers',
      `the model and its gradient take ${n} operations, more than the limit of ${LIMITS.maxIrNodes}`,
    );
}

/** Scalar operations the emitted code holds (a loop counts as its body), as the scheduler
 * counts them: unrolled code once per lane of a block. */
export function statementCount(bodies: readonly Schedule[]): number {
  let total = 0;
  for (const { steps, lanes } of bodies)
    for (const step of steps)
      total += costOf(step.node, step.mode) * (step.mode === 'unroll' ? lanes : 1);
  return total;
}

/** The real plan against the limits, before any code is emitted. */
export function checkPlan(bodies: readonly Schedule[], workSize: number, file: string): void {
  const statements = statementCount(bodies);
  if (statements > LIMITS.maxStatements)
    throw new GradcError(
      file,
      '$.layers',
      `the generated code would hold ${statements} operations, more than the limit of ${LIMITS.maxStatements} (fewer units or a simpler activation)`,
    );
  if (workSize > LIMITS.maxWork)
    throw new GradcError(
      file,
      '$.layers',
      `the model needs ${workSize} elements of work memory, more than the limit of ${LIMITS.maxWork}`,
    );
}
