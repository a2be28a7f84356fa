import { describe, expect, it } from 'vitest';
import { evaluate, predict } from '../../runtime/metrics.ts';
import { makeDenseModule } from './fixtures/dense.ts';

// Identity-like linear layer 2 → 2: kernel [[1, 0], [0, 1]] plus bias [0, 0.5], so
// output = (x0, x1 + 0.5).
const twoOut = makeDenseModule({
  name: 'lin2',
  input: 2,
  layers: [{ units: 2, activation: 'linear' }],
  loss: 'mse',
});
const twoParams = Float64Array.of(1, 0, 0, 1, 0, 0.5);

// One sigmoid output of x0: kernel [1, 0], bias 0.
const oneOut = makeDenseModule({
  name: 'sig1',
  input: 2,
  layers: [{ units: 1, activation: 'sigmoid' }],
  loss: 'mse',
});
const oneParams = Float64Array.of(1, 0, 0);

describe('evaluate', () => {
  it('multi-class: argmax accuracy, mae and mean loss by hand', () => {
    const data = {
      // outputs: (2, 0.5) → class 0; (0, 1.5) → class 1; (1, 1.5) → class 1
      inputs: Float64Array.of(2, 0, 0, 1, 1, 1),
      targets: Float64Array.of(1, 0, 1, 0, 0, 1),
      count: 3,
    };
    const m = evaluate(twoOut, twoParams, data);
    expect(m.accuracy).toBeCloseTo(2 / 3, 15);
    // |errors|: (1, 0.5), (1, 1.5), (1, 0.5) → sum 5.5 over 6 entries
    expect(m.mae).toBeCloseTo(5.5 / 6, 15);
    // mse per sample = mean of squares: (1 + 0.25)/2, (1 + 2.25)/2, (1 + 0.25)/2
    expect(m.loss).toBeCloseTo((0.625 + 1.625 + 0.625) / 3, 15);
  });

  it('single output: both sides thresholded at 0.5', () => {
    const data = {
      // sigmoid(x0): 0.88, 0.12, 0.5 (≥ 0.5 counts as positive), 0.27
      inputs: Float64Array.of(2, 0, -2, 0, 0, 0, -1, 0),
      targets: Float64Array.of(1, 0, 1, 1),
      count: 4,
    };
    expect(evaluate(oneOut, oneParams, data).accuracy).toBe(0.75);
  });

  it('an empty data set gives NaN metrics', () => {
    const m = evaluate(oneOut, oneParams, {
      inputs: new Float64Array(0),
      targets: new Float64Array(0),
      count: 0,
    });
    expect(m.loss).toBeNaN();
    expect(m.accuracy).toBeNaN();
  });

  it('rejects a data set that does not fit the model', () => {
    expect(() =>
      evaluate(oneOut, oneParams, {
        inputs: new Float64Array(3),
        targets: new Float64Array(1),
        count: 1,
      }),
    ).toThrow(/inputs has 3 entries/);
  });
});

describe('predict', () => {
  it('runs forward on every row', () => {
    const out = predict(twoOut, twoParams, Float64Array.of(1, 2, 3, 4), 2);
    expect(Array.from(out)).toEqual([1, 2.5, 3, 4.5]);
  });

  it('writes into a given buffer and checks sizes', () => {
    const buf = new Float64Array(4);
    expect(predict(twoOut, twoParams, Float64Array.of(1, 2, 3, 4), 2, buf)).toBe(buf);
    expect(() => predict(twoOut, twoParams, Float64Array.of(1, 2, 3), 2)).toThrow(
      /inputs has 3 entries/,
    );
    expect(() =>
      predict(twoOut, twoParams, Float64Array.of(1, 2, 3, 4), 2, new Float64Array(3)),
    ).toThrow(/out has 3/);
  });

  it('returns the model precision', () => {
    const f32 = makeDenseModule({
      name: 'f',
      input: 1,
      layers: [{ units: 1, activation: 'linear' }],
      loss: 'mse',
      precision: 'f32',
    });
    expect(predict(f32, Float32Array.of(2, 1), Float32Array.of(3), 1)).toEqual(Float32Array.of(7));
  });
});
