// Tabular data for `gradc train` / `gradc predict`: a CSV file with a header (parsed by
// csv-parse, which handles quoting, embedded newlines, CRLF and a BOM correctly) or a JSON
// array of records. Every cell stays text until a column is known to be a feature or a
// target, so an error can name the file, the line and the column.
import { parse } from 'csv-parse/sync';
import { didYouMean, escapeText, GradcError, hasControls, quote } from '../format/errors.ts';
import { readBounded } from '../io/read.ts';

/** A parsed file: column names and string cells, with the source line of every row. */
export interface Table {
  readonly file: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Source position of each row: a 1-based line (CSV) or record (JSON) number. */
  readonly lines: readonly number[];
  /** How `lines` is spoken of in messages. */
  readonly unit: 'line' | 'record';
}

/** Default bound on a data file; `--max-data-bytes` raises it. */
export const MAX_DATA_BYTES = 100_000_000;

function readText(file: string, maxBytes: number): string {
  return readBounded(file, '--data', {
    bytes: maxBytes,
    hint: 'raise it with --max-data-bytes',
  }).toString('utf8');
}

/** The error for a cell or row: `file: line 12: detail`. */
export function rowError(table: Table, row: number, detail: string): GradcError {
  return new GradcError(table.file, `${table.unit} ${table.lines[row]}`, detail);
}

/** Reads a `.json` file as records, anything else as CSV. */
export function readTable(file: string, maxBytes = MAX_DATA_BYTES): Table {
  const text = readText(file, maxBytes);
  return /\.json$/i.test(file) ? jsonTable(file, text) : csvTable(file, text);
}

interface CsvRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

/** csv-parse's own errors carry the line; keep only the first sentence of its message. */
function csvParseError(file: string, e: unknown): GradcError {
  const err = e as { lines?: number; message?: string };
  const where = typeof err.lines === 'number' ? `line ${err.lines}` : '--data';
  const detail = (err.message ?? String(e)).split(/:\s/)[0] ?? 'malformed CSV';
  return new GradcError(file, where, `malformed CSV: ${escapeText(detail.toLowerCase(), 120)}`);
}

export function csvTable(file: string, text: string): Table {
  let records: CsvRecord[];
  try {
    records = parse(text, {
      bom: true,
      info: true,
      trim: true,
      skip_empty_lines: true,
      // Checked below, so the message can say which line and how many cells it expected.
      relax_column_count: true,
    }) as unknown as CsvRecord[]; // `info: true` changes the shape; the typings do not follow
  } catch (e) {
    throw csvParseError(file, e);
  }
  const header = records[0];
  if (header === undefined)
    throw new GradcError(file, 'line 1', 'the file is empty (a header line is needed)');
  const columns = header.record;
  checkHeader(file, columns, `line ${header.info.lines}`);
  const rows: string[][] = [];
  const lines: number[] = [];
  for (let i = 1; i < records.length; i++) {
    const { record, info } = records[i]!;
    if (record.length !== columns.length) {
      throw new GradcError(
        file,
        `line ${info.lines}`,
        `${record.length} cells, but the header has ${columns.length} columns`,
      );
    }
    rows.push(record);
    lines.push(info.lines);
  }
  return { file, columns, rows, lines, unit: 'line' };
}

function checkHeader(file: string, columns: readonly string[], where: string): void {
  const seen = new Set<string>();
  columns.forEach((c, i) => {
    if (c === '') throw new GradcError(file, where, `column ${i + 1} has no name`);
    // Column names reach predict's CSV header and the terminal: no control characters.
    if (hasControls(c))
      throw new GradcError(file, where, `column ${quote(c)} has a control character in its name`);
    if (seen.has(c)) throw new GradcError(file, where, `column ${quote(c)} appears twice`);
    seen.add(c);
  });
}

/** `[{"x": 1, "species": "setosa"}, ...]`: the columns are the first record's keys. */
export function jsonTable(file: string, text: string): Table {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    // V8's message quotes the text around the error: escape it.
    throw new GradcError(
      file,
      '--data',
      `not valid JSON (${escapeText((e as Error).message, 120)})`,
    );
  }
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!Array.isArray(data) || data.length === 0 || !isRecord(data[0])) {
    throw new GradcError(file, '$', 'expected a non-empty array of records like {"x": 1, "y": 2}');
  }
  const columns = Object.keys(data[0]);
  checkHeader(file, columns, 'record 1');
  const rows: string[][] = [];
  data.forEach((rec: unknown, i) => {
    const where = `record ${i + 1}`;
    if (!isRecord(rec)) throw new GradcError(file, where, 'is not an object');
    const keys = Object.keys(rec);
    const extra = keys.find((k) => !columns.includes(k));
    if (extra !== undefined || keys.length !== columns.length) {
      const missing = columns.find((c) => !(c in rec));
      throw new GradcError(
        file,
        where,
        extra !== undefined
          ? `unexpected field ${quote(extra)} (record 1 has ${columns.map((c) => quote(c)).join(', ')})`
          : `missing field ${quote(missing ?? '?')}`,
      );
    }
    rows.push(
      columns.map((c) => {
        const v = rec[c];
        if (typeof v === 'number' || typeof v === 'string') return String(v);
        throw new GradcError(file, where, `field ${quote(c)} must be a number or a string`);
      }),
    );
  });
  return { file, columns, rows, lines: rows.map((_, i) => i + 1), unit: 'record' };
}

/** Index of each named column; an unknown name is an error naming the header line. */
export function columnIndices(table: Table, names: readonly string[], option: string): number[] {
  return names.map((name) => {
    const i = table.columns.indexOf(name);
    if (i < 0) {
      throw new GradcError(
        table.file,
        `${table.unit} 1`,
        `${option}: no column ${quote(name)}${didYouMean(name, table.columns)}; the columns are ${table.columns.map((c) => quote(c)).join(', ')}`,
      );
    }
    return i;
  });
}

/** The number in a cell, or an error naming line and column. Empty cells are errors too. */
export function numericCell(table: Table, row: number, col: number): number {
  const text = table.rows[row]![col]!;
  const x = text === '' ? NaN : Number(text);
  if (!Number.isFinite(x)) {
    throw rowError(
      table,
      row,
      `column ${quote(table.columns[col]!)}: ${text === '' ? 'empty cell' : `${quote(text, 30)} is not a number`}`,
    );
  }
  return x;
}
