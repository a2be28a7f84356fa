// Reading data files: every bad row is one GradcError naming the file, the line (or JSON
// record) and the column.
import { describe, expect, it } from 'vitest';
import { csvTable, jsonTable, readTable } from '../../compiler/training/data.ts';
import { encodeTable, planColumns, sortedClasses } from '../../compiler/training/encode.ts';
import { GradcError } from '../../compiler/format/errors.ts';
import type { ModelInfo } from '../../runtime/index.ts';
import { tempDir, write } from './helpers.ts';

const HEADER = 'a,b,species';
const MODEL = {
  name: 'm',
  inputSize: 2,
  outputSize: 3,
  paramCount: 0,
  workSize: 0,
  precision: 'f64',
  loss: 'categoricalCrossEntropy',
  params: [],
  layers: [],
} satisfies ModelInfo;

function error(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(GradcError);
    return (e as Error).message;
  }
  throw new Error('expected a GradcError');
}

function encode(text: string, choice = { label: 'species' }) {
  const t = csvTable('d.csv', text);
  return encodeTable(t, planColumns(t, MODEL, choice), MODEL.outputSize);
}

describe('CSV errors name the file and the line', () => {
  it('wrong cell count', () => {
    expect(error(() => csvTable('d.csv', `${HEADER}\n1,2,x\n1,2,y\n1,2\n`))).toBe(
      'd.csv: line 4: 2 cells, but the header has 3 columns',
    );
  });
  it('non-numeric and empty cells, counting blank lines and CRLF', () => {
    expect(error(() => encode(`${HEADER}\r\n1,2,x\r\n\r\n1,abc,y\r\n1,2,z\r\n`))).toBe(
      'd.csv: line 4: column "b": "abc" is not a number',
    );
    expect(error(() => encode(`${HEADER}\n1,2,x\n,2,y\n1,2,z\n`))).toBe(
      'd.csv: line 3: column "a": empty cell',
    );
    expect(error(() => encode(`${HEADER}\n1,Infinity,x\n1,2,y\n1,2,z\n`))).toContain(
      'line 2: column "b"',
    );
  });
  it('a quoted field spanning lines does not shift later line numbers', () => {
    expect(error(() => encode(`${HEADER}\n1,2,"x\ny"\n1,oops,y\n1,2,z\n`))).toContain(
      'line 4: column "b"',
    );
  });
  it('unclosed quote', () => {
    expect(error(() => csvTable('d.csv', `${HEADER}\n1,2,x\n1,2,"y\n`))).toMatch(
      /^d\.csv: line \d: malformed CSV: quote not closed/,
    );
  });
  it('unknown column names, with a suggestion', () => {
    expect(error(() => encode(`${HEADER}\n1,2,x\n`, { label: 'specis' }))).toBe(
      'd.csv: line 1: --label: no column "specis" (did you mean "species"?); the columns are "a", "b", "species"',
    );
  });
  it('empty file, duplicate and unnamed columns', () => {
    expect(error(() => csvTable('d.csv', ''))).toContain('d.csv: line 1: the file is empty');
    expect(error(() => csvTable('d.csv', 'a,a\n1,2\n'))).toBe(
      'd.csv: line 1: column "a" appears twice',
    );
    expect(error(() => csvTable('d.csv', 'a,,c\n1,2,3\n'))).toBe(
      'd.csv: line 1: column 2 has no name',
    );
  });
  it('column counts that do not fit the model', () => {
    expect(error(() => encode('a,species\n1,x\n'))).toContain(
      'takes 2 inputs; choose columns with --features',
    );
    expect(error(() => encode(`${HEADER}\n1,2,x\n1,2,y\n`))).toBe(
      'd.csv: --label: column "species" has 2 classes, but model "m" has 3 outputs',
    );
  });
  it('a missing file', () => {
    expect(error(() => readTable('/nonexistent/d.csv'))).toBe(
      '/nonexistent/d.csv: --data: cannot read the file (ENOENT)',
    );
  });
});

describe('encoding', () => {
  it('one-hot in sorted class order; BOM and spaces tolerated', () => {
    const e = encode(`\uFEFF${HEADER}\n 1 ,2,virginica\n3,4,setosa\n5,6,versicolor\n`);
    expect(Array.from(e.inputs)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(e.targets!)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
  });
  it('numeric classes sort as numbers', () => {
    expect(sortedClasses(['10', '2', '1', '2'])).toEqual(['1', '2', '10']);
    expect(sortedClasses(['b', 'a', 'B'])).toEqual(['B', 'a', 'b']);
  });
  it('regression targets; no targets when the columns are absent (predict)', () => {
    const t = csvTable('d.csv', 'x,z,y\n1,2,0.5\n');
    const meta = planColumns(t, { ...MODEL, outputSize: 1 }, { targets: ['y'] });
    expect(meta.features).toEqual(['x', 'z']);
    expect(Array.from(encodeTable(t, meta, 1).targets!)).toEqual([0.5]);
    const unlabeled = csvTable('e.csv', 'z,x\n2,1\n');
    const e = encodeTable(unlabeled, meta, 1);
    expect(Array.from(e.inputs)).toEqual([1, 2]); // by name, not by position
    expect(e.targets).toBeUndefined();
  });
});

describe('JSON records', () => {
  it('reads an array of records', () => {
    const t = jsonTable('d.json', '[{"a":1,"b":2,"species":"x"},{"a":3,"b":4,"species":"y"}]');
    expect(t.columns).toEqual(['a', 'b', 'species']);
    expect(t.rows).toEqual([
      ['1', '2', 'x'],
      ['3', '4', 'y'],
    ]);
  });
  it('names the record', () => {
    expect(error(() => jsonTable('d.json', '[{"a":1,"b":2},{"a":3}]'))).toBe(
      'd.json: record 2: missing field "b"',
    );
    expect(error(() => jsonTable('d.json', '[{"a":1},{"a":3,"c":1}]'))).toContain(
      'd.json: record 2: unexpected field "c"',
    );
    expect(error(() => jsonTable('d.json', '[{"a":1},{"a":[1]}]'))).toBe(
      'd.json: record 2: field "a" must be a number or a string',
    );
    expect(error(() => jsonTable('d.json', '{"a":1}'))).toContain(
      'd.json: $: expected a non-empty array',
    );
    const t = jsonTable('d.json', '[{"a":1,"b":"x","species":"s"}]');
    expect(
      error(() =>
        encodeTable(t, planColumns(t, { ...MODEL, outputSize: 1 }, { targets: ['species'] }), 1),
      ),
    ).toBe('d.json: record 1: column "b": "x" is not a number');
  });
  it('readTable picks JSON by extension', () => {
    const file = write(tempDir(), 'd.json', '[{"a":1,"b":2,"species":"x"}]');
    expect(readTable(file).unit).toBe('record');
  });
});
