// The bad-input corpus: every file in test/hardening/bad/ is refused with exactly the message
// in bad/expected.json, through the library (all of them) and through the CLI (a sample that
// covers every kind of error: spawning costs ~1 s each).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readModelFile } from '../../compiler/io/files.ts';
import { main } from '../../compiler/cli/main.ts';
import { GradcError } from '../../compiler/format/errors.ts';
import { MAX_FILE_BYTES, parseModelBytes } from '../../compiler/format/parse.ts';
import { compileSpec } from '../../compiler/pipeline.ts';
import { BAD, gradc, removeTempDirs, tempDir } from './helpers.ts';

const expected = JSON.parse(fs.readFileSync(path.join(BAD, 'expected.json'), 'utf8')) as Record<
  string,
  string
>;
const files = fs.readdirSync(BAD).filter((f) => f.endsWith('.model.json'));

afterAll(removeTempDirs);

/** The error of parsing, or else of compiling (the cost and memory-plan checks run there). */
async function apiError(bytes: Uint8Array, file: string): Promise<GradcError> {
  try {
    compileSpec(await parseModelBytes(bytes, file), { format: 'js', source: file });
  } catch (e) {
    if (e instanceof GradcError) return e;
    throw new Error(`${file}: expected a GradcError, got ${String(e)}`);
  }
  throw new Error(`${file}: accepted`);
}

describe('the corpus', () => {
  it('has at least 60 files, each with an expected message, and nothing else', () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
    expect(Object.keys(expected).sort()).toEqual([...files].sort());
  });

  it.each(files)('%s', async (file) => {
    const e = await apiError(fs.readFileSync(path.join(BAD, file)), file);
    expect(e.message).toBe(expected[file]);
    expect(e.message.startsWith(`${file}: ${e.where}: `)).toBe(true);
    expect(e.where).toMatch(/^(\$[^ ]*|\d+:\d+)$/);
    expect(e.message).not.toMatch(/[\r\n\u2028\u2029]/);
    // Printable ASCII only: a hostile file cannot put escape sequences on a terminal.
    expect(e.message).toMatch(/^[\x20-\x7e]*$/);
  });
});

describe('huge inputs are refused before they are read whole', () => {
  it('a file over the size limit', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'huge.model.json');
    fs.writeFileSync(file, `{"name": "${'x'.repeat(MAX_FILE_BYTES)}"}`);
    const size = fs.statSync(file).size;
    const msg = `${file}: $: the file is ${size} bytes, more than the limit of ${MAX_FILE_BYTES}`;
    expect(() => readModelFile(file)).toThrow(msg);
    const bytes = fs.readFileSync(file);
    expect((await apiError(bytes, file)).message).toBe(msg);
  });

  it('a device that never ends (/dev/zero) is read only up to the limit', () => {
    if (!fs.existsSync('/dev/zero')) return;
    expect(() => readModelFile('/dev/zero')).toThrow(
      `/dev/zero: $: the file is more than the limit of ${MAX_FILE_BYTES} bytes`,
    );
  });

  it('a directory and a missing file', () => {
    expect(() => readModelFile(BAD)).toThrow(`${BAD}: $: is a directory, not a model file`);
    expect(() => readModelFile(path.join(BAD, 'nope.json'))).toThrow(
      `${path.join(BAD, 'nope.json')}: $: cannot read the file (ENOENT)`,
    );
  });
});

// Spawned for real (~2 s each; ~8 s for a model with an expression, as mathjs loads slowly, so
// expressions are covered in-process only): one of each kind of error. Every file also goes through the CLI's `main` in-process below.
const CLI_SAMPLE = [
  'json-bare-word',
  'not-utf8-latin1',
  'type-input-string',
  'unknown-activation-typo',
  'missing-type',
  'extra-proto-key',
  'size-units-fractional',
  'limit-work',
  'structure-cce-one-unit',
  'json-empty',
].map((n) => `${n}.model.json`);

describe('through the CLI in-process (main): one line, exit 2, nothing written', () => {
  it.each(files)('%s', async (file) => {
    const out = tempDir();
    const target = path.join(out, 'model.js');
    fs.writeFileSync(target, 'OLD\n');
    let stderr = '';
    let stdout = '';
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      stderr += String(s);
      return true;
    });
    const std = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      stdout += String(s);
      return true;
    });
    const cwd = process.cwd();
    let code: number;
    try {
      process.chdir(BAD);
      code = await main(['compile', file, '-o', target]);
    } finally {
      process.chdir(cwd);
      err.mockRestore();
      std.mockRestore();
    }
    expect(stderr).toBe(`gradc: ${expected[file]}\n`);
    expect(stdout).toBe('');
    expect(code).toBe(2);
    expect(fs.readFileSync(target, 'utf8')).toBe('OLD\n');
    expect(fs.readdirSync(out)).toEqual(['model.js']);
  });
});

describe('through the CLI, spawned: one line, exit 2, nothing written', () => {
  it('the sample names files of the corpus', () => {
    for (const f of CLI_SAMPLE) expect(files).toContain(f);
  });

  async function refuses(file: string, cwd: string, message: string): Promise<void> {
    const out = tempDir();
    const target = path.join(out, 'model.js');
    fs.writeFileSync(target, 'OLD\n');
    const r = await gradc(['compile', file, '-o', target], cwd);
    expect(r.stderr).toBe(`gradc: ${message}\n`);
    expect(r.stderr).not.toMatch(/\bat .*:\d+:\d+|Error:/); // no stack trace
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
    expect(fs.readFileSync(target, 'utf8')).toBe('OLD\n');
    expect(fs.readdirSync(out)).toEqual(['model.js']); // no temporary files left
  }

  it.concurrent.each(CLI_SAMPLE)('%s', (file) => refuses(file, BAD, expected[file]!));

  it.concurrent('a file over the size limit', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'huge.model.json'), ' '.repeat(MAX_FILE_BYTES + 10));
    await refuses(
      'huge.model.json',
      dir,
      `huge.model.json: $: the file is ${MAX_FILE_BYTES + 10} bytes, more than the limit of ${MAX_FILE_BYTES}`,
    );
  });
});
