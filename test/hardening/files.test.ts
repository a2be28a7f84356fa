// Determinism and files: byte-identical output across runs and processes; bad --out paths
// give one clear line and write nothing; a process killed mid-write never leaves a half-written
// module at the target (atomic rename).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../compiler/cli/main.ts';
import { compileBytes } from '../../compiler/index.ts';
import { HERE, ROOT, gradc, removeTempDirs, startGradc, tempDir } from './helpers.ts';

afterAll(removeTempDirs);

const IRIS = path.join(ROOT, 'examples/iris.model.json');
const MNIST = path.join(ROOT, 'examples/mnist-mlp.model.json');

async function inProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return { code: await main(args), stderr };
  } finally {
    err.mockRestore();
    out.mockRestore();
  }
}

describe('determinism', () => {
  it('the same model compiles to the same bytes in-process, twice, in both formats', async () => {
    const bytes = fs.readFileSync(IRIS);
    for (const format of ['ts', 'js'] as const) {
      const a = (await compileBytes(bytes, IRIS, format)).code;
      const b = (await compileBytes(bytes, IRIS, format)).code;
      expect(b).toBe(a);
    }
  });

  it('a separate process, another folder, time zone and locale: the same bytes', async () => {
    const dir = tempDir();
    fs.copyFileSync(IRIS, path.join(dir, 'iris.model.json'));
    const r = await gradc(['compile', 'iris.model.json', '-o', 'out.ts'], dir, {
      env: { TZ: 'Pacific/Chatham', LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8' },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const expected = (await compileBytes(fs.readFileSync(IRIS), IRIS, 'ts')).code;
    expect(fs.readFileSync(path.join(dir, 'out.ts'), 'utf8')).toBe(expected);
    expect(fs.readdirSync(dir).sort()).toEqual(['iris.model.json', 'out.ts']);
  });
});

describe('--out paths that cannot work', () => {
  function setup() {
    const dir = tempDir();
    const model = path.join(dir, 'm.model.json');
    fs.copyFileSync(IRIS, model);
    return { dir, model };
  }
  async function refused(args: string[], line: string, dir: string, files: string[]) {
    const r = await inProcess(args);
    expect(r.stderr).toBe(`gradc: ${line}\n`);
    expect(r.code).toBe(2);
    expect(fs.readdirSync(dir).sort()).toEqual(files.sort());
  }

  it('a folder that does not exist is created; a file in the way of one is refused', async () => {
    const { dir, model } = setup();
    const out = path.join(dir, 'missing', 'out.ts');
    const ok = await inProcess(['compile', model, '-o', out, '--quiet']);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(fs.readdirSync(path.join(dir, 'missing'))).toEqual(['out.ts']);
    const blocked = path.join(dir, 'm.model.json', 'out.ts');
    await refused(
      ['compile', model, '-o', blocked],
      `${blocked}: -o: ${model} is not a folder`,
      dir,
      ['m.model.json', 'missing'],
    );
  });

  it('a folder that is not writable', async () => {
    const root = process.getuid?.() === 0;
    // root may write anywhere chmod allows nothing; /sys refuses new files even to root.
    const folder = root ? '/sys' : tempDir();
    if (!root) fs.chmodSync(folder, 0o555);
    const { dir, model } = setup();
    const out = path.join(folder, 'out.ts');
    const line = root
      ? `${out}: -o: cannot write the file: the folder ${folder} is not writable (EACCES)`
      : `${out}: -o: the folder ${folder} is not writable`;
    await refused(['compile', model, '-o', out], line, dir, ['m.model.json']);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('the model file itself, under any spelling or through a link', async () => {
    const { dir, model } = setup();
    const before = fs.readFileSync(model, 'utf8');
    const link = path.join(dir, 'link.ts');
    fs.symlinkSync(model, link);
    const spellings = [model, path.join(dir, '.', 'x', '..', 'm.model.json'), link];
    for (const out of spellings)
      await refused(
        ['compile', model, '-o', out],
        `${out}: -o: the output file is the model file itself`,
        dir,
        ['link.ts', 'm.model.json'],
      );
    expect(fs.readFileSync(model, 'utf8')).toBe(before);
  });

  it('a directory', async () => {
    const { dir, model } = setup();
    fs.mkdirSync(path.join(dir, 'out.ts'));
    await refused(
      ['compile', model, '-o', path.join(dir, 'out.ts')],
      `${path.join(dir, 'out.ts')}: -o: is a directory`,
      dir,
      ['m.model.json', 'out.ts'],
    );
  });
});

describe('an interrupted write never leaves a half-written module', () => {
  it('killed half-way through writing (SIGKILL inside the write): the old file stays', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'iris.ts');
    fs.writeFileSync(out, 'OLD\n');
    const r = await gradc(['compile', IRIS, '-o', out], ROOT, {
      nodeArgs: ['--import', path.join(HERE, 'crash-mid-write.mjs')],
    });
    expect(r.signal).toBe('SIGKILL');
    expect(fs.readFileSync(out, 'utf8')).toBe('OLD\n');
    // The half-written text went to a temporary file beside the target (a SIGKILL leaves it).
    const others = fs.readdirSync(dir).filter((f) => f !== 'iris.ts');
    expect(others).toHaveLength(1);
    expect(others[0]).toMatch(/^\.iris\.ts\.\d+\.\d+\.tmp$/);
  });

  it('killed at random moments while compiling a large model: old or complete, never partial', async () => {
    const complete = (await compileBytes(fs.readFileSync(MNIST), MNIST, 'ts')).code;
    const dir = tempDir();
    const out = path.join(dir, 'mnist.ts');
    // Measure one full run, then kill runs at fractions of that time.
    const t0 = Date.now();
    const full = await gradc(['compile', MNIST, '-o', out]);
    const elapsed = Date.now() - t0;
    expect(full.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(complete);
    const seen = new Set<string>();
    for (const fraction of [0.6, 0.85, 0.95, 1.0]) {
      fs.writeFileSync(out, 'OLD\n');
      const child = startGradc(['compile', MNIST, '-o', out]);
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const timer = setTimeout(() => child.kill('SIGKILL'), elapsed * fraction);
      await exited;
      clearTimeout(timer);
      const text = fs.readFileSync(out, 'utf8');
      expect(text === 'OLD\n' || text === complete, `after ${fraction}: ${text.length} chars`).toBe(
        true,
      );
      seen.add(text === 'OLD\n' ? 'old' : 'complete');
    }
    expect(seen.size).toBeGreaterThan(0);
  });
});
