// Every optimizer against two steps computed by hand on a 3-element vector. The gradients
// are given (not derived from p), so each expected value is plain arithmetic shown below.
import { describe, expect, it } from 'vitest';
import { clipGradNorm, globalNorm } from '../../runtime/clip.ts';
import { adam, adamw, momentum, rmsprop, sgd, type Optimizer } from '../../runtime/optimizers.ts';
import { constant, cosineDecay, exponentialDecay, stepDecay } from '../../runtime/schedules.ts';

const P0 = [1.0, -2.0, 0.5];
const G1 = [0.1, -0.2, 0.3];
const G2 = [-0.4, 0.5, 0.2];

function twoSteps(opt: Optimizer): [number[], number[]] {
  const p = Float64Array.from(P0);
  opt.step(p, Float64Array.from(G1));
  const p1 = Array.from(p);
  opt.step(p, Float64Array.from(G2));
  return [p1, Array.from(p)];
}

function expectClose(actual: number[], expected: number[], digits = 12): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(a, `entry ${i}`).toBeCloseTo(expected[i], digits));
}

describe('sgd', () => {
  it('p ← p − lr·g', () => {
    // p1 = [1 − 0.01, −2 + 0.02, 0.5 − 0.03]; p2 = p1 − 0.1·[−0.4, 0.5, 0.2]
    const [p1, p2] = twoSteps(sgd({ lr: 0.1 }));
    expectClose(p1, [0.99, -1.98, 0.47]);
    expectClose(p2, [1.03, -2.03, 0.45]);
  });

  it('adds coupled L2 weight decay: g + wd·p', () => {
    // p1 = p0 − 0.1·(g1 + 0.01·p0) = [1 − 0.011, −2 + 0.022, 0.5 − 0.0305]
    const [p1] = twoSteps(sgd({ lr: 0.1, weightDecay: 0.01 }));
    expectClose(p1, [0.989, -1.978, 0.4695]);
  });

  it('does not modify grad when decaying weights', () => {
    const g = Float64Array.from(G1);
    sgd({ lr: 0.1, weightDecay: 0.5 }).step(Float64Array.from(P0), g);
    expect(Array.from(g)).toEqual(G1);
  });

  it('rejects mismatched lengths', () => {
    expect(() => sgd().step(new Float64Array(3), new Float64Array(2))).toThrow(/3 entries.*2/);
  });
});

describe('momentum', () => {
  it('PyTorch heavy ball: b ← μb + g; p ← p − lr·b', () => {
    // step 1: b = g1, p1 = p0 − 0.1·g1
    // step 2: b = 0.9·g1 + g2 = [−0.31, 0.32, 0.47], p2 = p1 − 0.1·b
    const [p1, p2] = twoSteps(momentum({ lr: 0.1, momentum: 0.9 }));
    expectClose(p1, [0.99, -1.98, 0.47]);
    expectClose(p2, [1.021, -2.012, 0.423]);
  });

  it('Nesterov: p ← p − lr·(g + μb)', () => {
    // step 1: b = g1, update = 1.9·g1 → p1 = p0 − 0.19·g1
    // step 2: b = [−0.31, 0.32, 0.47], update = g2 + 0.9·b = [−0.679, 0.788, 0.623]
    const [p1, p2] = twoSteps(momentum({ lr: 0.1, momentum: 0.9, nesterov: true }));
    expectClose(p1, [0.981, -1.962, 0.443]);
    expectClose(p2, [1.0489, -2.0408, 0.3807]);
  });

  it('with weight decay', () => {
    // step 1: g' = g1 + 0.1·p0 = [0.2, −0.4, 0.35]; b = g'; p1 = p0 − 0.1·g' = [0.98, −1.96, 0.465]
    // step 2: g' = g2 + 0.1·p1 = [−0.302, 0.304, 0.2465]; b = 0.9·[0.2, −0.4, 0.35] + g'
    //         = [−0.122, −0.056, 0.5615]; p2 = p1 − 0.1·b
    const [p1, p2] = twoSteps(momentum({ lr: 0.1, momentum: 0.9, weightDecay: 0.1 }));
    expectClose(p1, [0.98, -1.96, 0.465]);
    expectClose(p2, [0.9922, -1.9544, 0.40885]);
  });

  it('reset forgets the velocity', () => {
    const opt = momentum({ lr: 0.1 });
    twoSteps(opt);
    opt.reset();
    expect(opt.iterations).toBe(0);
    const [p1] = twoSteps(opt);
    expectClose(p1, [0.99, -1.98, 0.47]);
  });
});

describe('adam', () => {
  it('two steps with bias correction (PyTorch formulation)', () => {
    // step 1: m = 0.1·g1, v = 0.001·g1², m̂ = g1, v̂ = g1² → p1 = p0 − 0.1·g1/(|g1| + 1e-8)
    // step 2, entry 0: m = 0.9·0.01 + 0.1·(−0.4) = −0.031, m̂ = −0.031/0.19 = −0.1631579
    //   v = 0.999·1e-5 + 0.001·0.16 = 1.6999e-4, v̂ = 1.6999e-4/0.001999 = 0.0850375
    //   p2 = 0.9 − 0.1·(−0.1631579/0.2916120) = 0.9559504
    const [p1, p2] = twoSteps(adam({ lr: 0.1 }));
    expectClose(p1, [0.900000009999999, -1.9000000049999997, 0.4000000033333332]);
    expectClose(p2, [0.9559503574851284, -1.9442215302172328, 0.30296479433010304]);
  });

  it('coupled L2 decay adds wd·p to the gradient before the moments', () => {
    const [p1, p2] = twoSteps(adam({ lr: 0.1, weightDecay: 0.1 }));
    // step 1: g' = g1 + 0.1·p0 = [0.2, −0.4, 0.35]; Adam's first step moves each entry by
    // lr·|g'|/(|g'| + eps) ≈ 0.1 against its sign.
    expectClose(p1, [0.9000000049999998, -1.9000000025, 0.40000000285714277]);
    expectClose(p2, [0.9262259349749551, -1.892645493092959, 0.30264984560949143]);
  });

  it('AdamW shrinks p by (1 − lr·wd) and leaves the moments undecayed', () => {
    // step 1: p0·(1 − 0.01) = [0.99, −1.98, 0.495], then −0.1·sign(g1)
    // step 2: p1·0.99 − 0.1·(same Adam update as plain Adam step 2: [−0.5595036, 0.4422153, 0.9703521])
    const expected1 = [0.890000009999999, -1.8800000049999996, 0.3950000033333332];
    const expected2 = [0.9370503573851283, -1.9054215301672328, 0.2940147942967697];
    expectClose(twoSteps(adam({ lr: 0.1, weightDecay: 0.1, decoupled: true }))[0], expected1);
    expectClose(twoSteps(adam({ lr: 0.1, weightDecay: 0.1, decoupled: true }))[1], expected2);
    const w = adamw({ lr: 0.1, weightDecay: 0.1 });
    expect(w.name).toBe('adamw');
    expectClose(twoSteps(w)[1], expected2);
  });

  it('keeps f64 state for f32 parameters', () => {
    const p = Float32Array.from(P0);
    const opt = adam({ lr: 0.1 });
    opt.step(p, Float32Array.from(G1));
    opt.step(p, Float32Array.from(G2));
    expect(p[0]).toBeCloseTo(0.9559503574851284, 6);
  });
});

describe('rmsprop', () => {
  it('v ← αv + (1−α)g²; p ← p − lr·g/(√v + eps)', () => {
    // step 1: v = 0.01·g1², √v = 0.1·|g1| → p1 = p0 − 0.01·10·sign(g1) = [0.9, −1.9, 0.4]
    // step 2, entry 0: v = 0.99·1e-4 + 0.01·0.16 = 0.001699, √v = 0.0412189
    //   p2 = 0.9 − 0.01·(−0.4)/0.0412189 = 0.9970429
    const [p1, p2] = twoSteps(rmsprop({ lr: 0.01 }));
    expectClose(p1, [0.9000000999999, -1.900000049999975, 0.40000003333332224]);
    expectClose(p2, [0.9970428726686518, -1.9929118010156806, 0.34433701482604706]);
  });

  it('with weight decay', () => {
    const [p1, p2] = twoSteps(rmsprop({ lr: 0.01, weightDecay: 0.5 }));
    expectClose(p1, [0.900000016666664, -1.9000000083333326, 0.4000000181818149]);
    expectClose(p2, [0.8916539226128665, -1.864732730018427, 0.34098955948662163]);
  });
});

describe('defaults (PyTorch)', () => {
  it('learning rates and names', () => {
    expect(sgd().lr).toBe(0.01);
    expect(momentum().lr).toBe(0.01);
    expect(momentum({ nesterov: true }).name).toBe('nesterov');
    expect(adam().lr).toBe(0.001);
    expect(rmsprop().lr).toBe(0.01);
  });

  it('rejects bad hyper-parameters', () => {
    expect(() => adam({ beta1: 1 })).toThrow(/beta1/);
    expect(() => momentum({ momentum: -0.1 })).toThrow(/momentum/);
    expect(() => sgd({ weightDecay: -1 })).toThrow(/weightDecay/);
    expect(() => sgd({ clipNorm: 0 })).toThrow(/clipNorm/);
  });
});

describe('schedules', () => {
  it('constant', () => {
    const s = constant(0.3);
    expect(s(0, 0)).toBe(0.3);
    expect(s(1e6, 100)).toBe(0.3);
    expect(() => constant(0)).toThrow(/lr/);
  });

  it('stepDecay (PyTorch StepLR, by epoch)', () => {
    const s = stepDecay({ initial: 0.1, every: 10, factor: 0.5 });
    expect(s(999, 0)).toBeCloseTo(0.1, 15);
    expect(s(999, 9)).toBeCloseTo(0.1, 15);
    expect(s(0, 10)).toBeCloseTo(0.05, 15);
    expect(s(0, 25)).toBeCloseTo(0.025, 15);
    expect(stepDecay({ initial: 1, every: 2, by: 'step' })(5, 0)).toBeCloseTo(0.01, 15);
  });

  it('exponentialDecay (Keras, by step)', () => {
    const s = exponentialDecay({ initial: 1, decaySteps: 10, decayRate: 0.5 });
    expect(s(0, 0)).toBe(1);
    expect(s(5, 0)).toBeCloseTo(Math.SQRT1_2, 15);
    expect(s(20, 0)).toBeCloseTo(0.25, 15);
    const stairs = exponentialDecay({
      initial: 1,
      decaySteps: 10,
      decayRate: 0.5,
      staircase: true,
    });
    expect(stairs(5, 0)).toBe(1);
    expect(stairs(19, 0)).toBe(0.5);
  });

  it('cosineDecay (Keras, with floor alpha)', () => {
    const s = cosineDecay({ initial: 1, decaySteps: 100, alpha: 0.1 });
    expect(s(0, 0)).toBeCloseTo(1, 15);
    expect(s(50, 0)).toBeCloseTo(0.55, 15); // 0.9·½(1 + cos π/2) + 0.1
    expect(s(100, 0)).toBeCloseTo(0.1, 15);
    expect(s(500, 0)).toBeCloseTo(0.1, 15);
    const byEpoch = cosineDecay({ initial: 2, decaySteps: 4, by: 'epoch' });
    expect(byEpoch(1000, 2)).toBeCloseTo(1, 15);
  });

  it('the optimizer consults its schedule before each step', () => {
    const opt = sgd({ lr: exponentialDecay({ initial: 1, decaySteps: 1, decayRate: 0.5 }) });
    expect(opt.lr).toBe(1);
    const p = new Float64Array(1);
    const g = Float64Array.of(1);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      opt.step(p, g);
      seen.push(opt.lr);
    }
    expect(seen).toEqual([1, 0.5, 0.25]);
    expect(p[0]).toBeCloseTo(-1.75, 15);
    expect(opt.iterations).toBe(3);
  });

  it('epoch-based schedules see the epoch set by train', () => {
    const opt = sgd({ lr: stepDecay({ initial: 1, every: 1, factor: 0.1 }) });
    const p = new Float64Array(1);
    opt.epoch = 2;
    opt.step(p, Float64Array.of(1));
    expect(opt.lr).toBeCloseTo(0.01, 15);
  });

  it('a fixed lr can be changed by hand', () => {
    const opt = sgd({ lr: 0.5 });
    opt.lr = 0.25;
    const p = new Float64Array(1);
    opt.step(p, Float64Array.of(1));
    expect(p[0]).toBe(-0.25);
  });
});

describe('gradient clipping', () => {
  it('clipGradNorm rescales to maxNorm and returns the pre-clip norm', () => {
    const g = Float64Array.of(3, 4);
    expect(clipGradNorm(g, 1)).toBe(5);
    // PyTorch: scale = maxNorm / (norm + 1e-6)
    expect(g[0]).toBeCloseTo(3 / (5 + 1e-6), 15);
    expect(g[1]).toBeCloseTo(4 / (5 + 1e-6), 15);
    expect(globalNorm(g)).toBeLessThanOrEqual(1);
  });

  it('leaves small gradients alone', () => {
    const g = Float64Array.of(0.3, 0.4);
    expect(clipGradNorm(g, 1)).toBeCloseTo(0.5, 15);
    expect(Array.from(g)).toEqual([0.3, 0.4]);
  });

  it('leaves non-finite gradients alone and reports the norm', () => {
    const g = Float64Array.of(NaN, 1);
    expect(clipGradNorm(g, 1)).toBeNaN();
    expect(g[1]).toBe(1);
    expect(clipGradNorm(Float64Array.of(Infinity, 1), 1)).toBe(Infinity);
  });

  it('optimizers clip before the update when clipNorm is set', () => {
    const opt = sgd({ lr: 1, clipNorm: 1 });
    const p = new Float64Array(2);
    opt.step(p, Float64Array.of(30, 40));
    expect(opt.lastGradNorm).toBe(50);
    expect(p[0]).toBeCloseTo(-0.6, 6);
    expect(p[1]).toBeCloseTo(-0.8, 6);
  });
});
