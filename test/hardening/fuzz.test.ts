// Property-based fuzzing: random networks compiled and checked against the IR interpreter,
// finite differences, the dot-product test and the batched entry points (see fuzz-core.ts).
// Two generators: dense chains (caseArb) and shaped networks (conv / pooling / reshape /
// dense on any rank, fuzz-shaped.ts). `npm test` runs 200 small dense networks and 100 shaped
// ones with fixed seeds; `npm run fuzz` (GRADC_FUZZ_RUNS=3000 each, random seed, dense widths
// up to 40; GRADC_FUZZ_KIND=dense|shaped runs one generator, GRADC_FUZZ_SEED repeats a run)
// runs thousands and saves every shrunk failure to test/hardening/regressions/, which
// `npm test` replays below.
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseArb, checkCase, type FuzzCase } from './fuzz-core.ts';
import { shapedCaseArb } from './fuzz-shaped.ts';
import { HERE } from './helpers.ts';

const REGRESSIONS = path.join(HERE, 'regressions');
const FUZZ_RUNS = Number(process.env.GRADC_FUZZ_RUNS ?? 0);
const long = FUZZ_RUNS > 0;
const kind = process.env.GRADC_FUZZ_KIND ?? 'both';
const longSeed = Number(process.env.GRADC_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** Saves a failing case as `regressions/<hash>.json`; returns the file name. */
function save(c: FuzzCase, error: string): string {
  const body = { ...c, error: error.split('\n')[0] };
  const text = `${JSON.stringify(body, null, 2)}\n`;
  const name = `${createHash('sha256').update(JSON.stringify(c)).digest('hex').slice(0, 12)}.json`;
  fs.mkdirSync(REGRESSIONS, { recursive: true });
  fs.writeFileSync(path.join(REGRESSIONS, name), text);
  return name;
}

function fuzz(what: string, arb: fc.Arbitrary<FuzzCase>, runs: number, seed: number): void {
  // The short runs stop (and fail, as fewer than `runs` ran) rather than stall `npm test`.
  const limit = long ? 24 * 3_600_000 : 150_000;
  it(
    `${runs} ${what} (seed ${seed}): emitted = interpreter, gradients = finite differences, batch = per sample`,
    async () => {
      const r = await fc.check(
        fc.asyncProperty(arb, (c) => checkCase(c)),
        { numRuns: runs, seed, interruptAfterTimeLimit: limit },
      );
      if (r.failed) {
        const c = r.counterexample?.[0];
        const note = c && long ? ` (saved as regressions/${save(c, String(r.errorInstance))})` : '';
        throw new Error(`${String(r.errorInstance)}\n${fc.defaultReportMessage(r)}${note}`);
      }
      expect(r.numRuns).toBe(runs);
    },
    limit + 60_000,
  );
}

describe('fuzz: random networks', () => {
  if (kind !== 'shaped')
    fuzz(
      'dense networks',
      caseArb(long ? { maxWidth: 40, maxInput: 40 } : { maxWidth: 12, maxInput: 8 }),
      long ? FUZZ_RUNS : 200,
      long ? longSeed : 20240605,
    );
  if (kind !== 'dense')
    fuzz('shaped networks', shapedCaseArb(), long ? FUZZ_RUNS : 100, long ? longSeed : 20261201);
});

describe('the shaped generator', () => {
  it('draws recurrent layers in every time form: cost rule, unrolled and looped over time', () => {
    const forms = new Set<string>();
    for (const c of fc.sample(shapedCaseArb(), { seed: 20261201, numRuns: 400 })) {
      for (const l of c.model.layers as readonly Record<string, unknown>[]) {
        const cell = (l.type === 'bidirectional' ? l.layer : l) as Record<string, unknown>;
        if (['simpleRNN', 'gru', 'lstm'].includes(String(cell.type)))
          forms.add(cell.unroll === undefined ? 'cost rule' : String(cell.unroll));
      }
    }
    expect([...forms].sort()).toEqual(['cost rule', 'false', 'true']);
  });
});

const regressionFiles = fs.existsSync(REGRESSIONS)
  ? fs.readdirSync(REGRESSIONS).filter((f) => f.endsWith('.json'))
  : [];

interface Regression extends FuzzCase {
  /** Set for a known compiler bug that is not fixed yet: the replay is expected to fail. */
  readonly knownBug?: string;
}

describe('fuzz regressions (test/hardening/regressions/)', () => {
  for (const f of regressionFiles) {
    const c = JSON.parse(fs.readFileSync(path.join(REGRESSIONS, f), 'utf8')) as Regression;
    (c.knownBug ? it.fails : it)(`${f}${c.knownBug ? ` (KNOWN BUG: ${c.knownBug})` : ''}`, () =>
      checkCase({ model: c.model, seed: c.seed }),
    );
  }
  it('has saved cases to replay', () => expect(regressionFiles.length).toBeGreaterThan(0));
});
