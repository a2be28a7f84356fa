// Property test over the CLI's file arguments: random `compile -o`, `predict --out` and
// `train --out [--report]` targets drawn from a folder full of traps (the inputs under other
// spellings, symbolic and hard links, a FIFO, a device node, a folder, a read-only and a full
// file system) next to ordinary targets. For every combination the outcome is predicted from
// what the targets are, and checked: a run either succeeds and changes nothing but its
// outputs (left as regular files), or fails with one line, exit 2, and changes nothing.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from './helpers.ts';
import {
  changed,
  cli,
  fillUp,
  isOneLineError,
  isRoot,
  makeCharDevice,
  makeFifo,
  mountTmpfs,
  snapshot,
  trainArgs,
  unmount,
  workspace,
  type Workspace,
} from './cli-support.ts';

let template: Workspace;
let mounts: { ro?: string; full?: string } = {};
let haveDevice = false;
let haveFifo = false;

beforeAll(async () => {
  template = await workspace({ trained: true });
  const probe = tempDir('gradc-probe-');
  haveDevice = makeCharDevice(path.join(probe, 'dev'));
  haveFifo = makeFifo(path.join(probe, 'fifo'));
  if (isRoot) {
    const ro = tempDir('gradc-ro-');
    const full = tempDir('gradc-full-');
    if (mountTmpfs(ro, 64, true)) mounts.ro = ro;
    if (mountTmpfs(full, 64)) {
      mounts.full = full;
      fillUp(full);
    }
  }
  if (!mounts.ro || !mounts.full) console.warn('read-only / full file system cases skipped');
}, 60_000);

afterAll(() => {
  if (mounts.ro) unmount(mounts.ro);
  if (mounts.full) unmount(mounts.full);
  mounts = {};
  removeTempDirs();
});

/** What a name in the case folder is: the object it names decides what may happen to it. */
type Obj =
  | 'model'
  | 'data'
  | 'weights'
  | 'meta'
  | 'fresh'
  | 'existing'
  | 'fifo'
  | 'device'
  | 'link'
  | 'folder'
  | 'readonly'
  | 'full';

interface Target {
  readonly name: string;
  readonly obj: Obj;
  /** For 'fresh' and 'existing': distinct targets have distinct ids. */
  readonly id: string;
}

function targets(): Target[] {
  const t = (name: string, obj: Obj, id = name): Target => ({ name, obj, id });
  const list = [
    t('m.model.json', 'model'),
    t('d.csv', 'data'),
    t('w.bin', 'weights'),
    t('w.bin.meta.json', 'meta'),
    t('sub/../d.csv', 'data'),
    t('./m.model.json', 'model'),
    t('link-to-data', 'link'),
    t('link-to-model', 'link'),
    t('hard-data', 'data'),
    t('hard-weights', 'weights'),
    t('dangling', 'link'),
    t('sub', 'folder'),
    t('new.out', 'fresh'),
    t('sub/../new.out', 'fresh', 'new.out'),
    t('deep/er/new.out', 'fresh'),
    t('exists.out', 'existing'),
    t('sub/new2.out', 'fresh'),
  ];
  if (haveFifo) list.push(t('fifo', 'fifo'));
  if (haveDevice) list.push(t('dev', 'device'));
  if (mounts.ro) list.push(t(path.join(mounts.ro, 'x.out'), 'readonly'));
  if (mounts.full) list.push(t(path.join(mounts.full, 'x.out'), 'full'));
  return list;
}

/** A fresh copy of the template folder with every trap in place. */
function caseFolder(): string {
  const dir = tempDir('gradc-prop-');
  for (const f of ['m.model.json', 'd.csv', 'w.bin', 'w.bin.meta.json'])
    fs.copyFileSync(path.join(template.dir, f), path.join(dir, f));
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.symlinkSync(path.join(dir, 'd.csv'), path.join(dir, 'link-to-data'));
  fs.symlinkSync('m.model.json', path.join(dir, 'link-to-model'));
  fs.linkSync(path.join(dir, 'd.csv'), path.join(dir, 'hard-data'));
  fs.linkSync(path.join(dir, 'w.bin'), path.join(dir, 'hard-weights'));
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'));
  fs.writeFileSync(path.join(dir, 'exists.out'), 'old', { mode: 0o600 });
  if (haveFifo) makeFifo(path.join(dir, 'fifo'));
  if (haveDevice) makeCharDevice(path.join(dir, 'dev'));
  return dir;
}

type Command = 'compile' | 'predict' | 'train';

const INPUTS: Record<Command, readonly Obj[]> = {
  compile: ['model'],
  predict: ['model', 'weights', 'meta', 'data'],
  train: ['model', 'data'],
};

/** The sidecar `train --out X` also writes, as a target of its own. */
function sidecar(t: Target): Target {
  if (t.obj === 'weights') return { name: `${t.name}.meta.json`, obj: 'meta', id: 'meta' };
  if (t.obj === 'fresh' || t.obj === 'existing')
    return { name: `${t.name}.meta.json`, obj: 'fresh', id: `${t.id}.meta.json` };
  // A `.meta.json` next to a trap: a fresh name, but the trap itself already fails the run.
  return { name: `${t.name}.meta.json`, obj: 'fresh', id: `${t.name}.meta.json` };
}

/** Regular files and new names may be replaced, unless the command reads them. */
function mayWrite(cmd: Command, outs: readonly Target[]): boolean {
  const writable: Obj[] = ['model', 'data', 'weights', 'meta', 'fresh', 'existing'];
  const shared: Obj[] = ['model', 'data', 'weights', 'meta'];
  const ids = outs.map((o) => (shared.includes(o.obj) ? o.obj : o.id));
  return (
    outs.every((o) => writable.includes(o.obj) && !INPUTS[cmd].includes(o.obj)) &&
    new Set(ids).size === ids.length
  );
}

describe('every combination of output flags and targets', () => {
  it('succeeds changing only its outputs, or fails with one line and changes nothing', async () => {
    const pool = targets();
    const arb = fc.record({
      cmd: fc.constantFrom<Command>('compile', 'predict', 'train'),
      out: fc.constantFrom(...pool),
      report: fc.option(fc.constantFrom(...pool), { nil: undefined }),
    });
    let successes = 0;
    let failures = 0;
    await fc.assert(
      fc.asyncProperty(arb, async ({ cmd, out, report }) => {
        const dir = caseFolder();
        // Spelled as given (`sub/../d.csv` stays that way on the command line).
        const arg = (t: Target) => (path.isAbsolute(t.name) ? t.name : `${dir}/${t.name}`);
        const abs = (t: Target) => path.resolve(dir, t.name);
        const m = path.join(dir, 'm.model.json');
        const d = path.join(dir, 'd.csv');
        const w = path.join(dir, 'w.bin');
        let args: string[];
        let outs: Target[];
        if (cmd === 'compile') {
          args = ['compile', m, '-o', arg(out), '--quiet'];
          outs = [out];
        } else if (cmd === 'predict') {
          args = ['predict', m, '--weights', w, '--data', d, '--out', arg(out), '--quiet'];
          outs = [out];
        } else {
          args = trainArgs(m, d, arg(out), ...(report ? ['--report', arg(report)] : []));
          outs = [out, sidecar(out), ...(report ? [report] : [])];
        }
        const watched = [
          dir,
          ...(mounts.ro ? [mounts.ro] : []),
          ...(mounts.full ? [mounts.full] : []),
        ];
        const before = watched.map(snapshot);
        const r = await cli(args);
        const diffs = watched.flatMap((p, i) =>
          changed(before[i]!, snapshot(p)).map((n) => path.join(p, n)),
        );
        const expectOk = mayWrite(cmd, outs);
        const what = `${args.join(' ')} → ${r.code} ${r.stderr}`;
        if (expectOk) {
          expect(r.code, what).toBe(0);
          successes++;
          const allowed = new Set(outs.map(abs));
          // Created folders may appear too.
          for (const f of diffs) {
            const ok = allowed.has(f) || [...allowed].some((a) => a.startsWith(`${f}${path.sep}`));
            expect(ok, `${what}: ${f} changed`).toBe(true);
          }
          for (const o of outs)
            expect(fs.lstatSync(abs(o)).isFile(), `${what}: ${o.name}`).toBe(true);
        } else {
          expect(isOneLineError(r), what).toBe(true);
          expect(diffs, what).toEqual([]);
          failures++;
        }
      }),
      { numRuns: 70, seed: 10 },
    );
    // Both kinds of outcome were exercised.
    expect(successes).toBeGreaterThan(5);
    expect(failures).toBeGreaterThan(5);
  }, 240_000);
});
