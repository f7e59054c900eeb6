import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '@modeltrail/artifacts';
import { numericValue, openTable, parseCsv, type Row } from '@modeltrail/tabular';
import { artifactSink, csvField, fileSink, writeTable } from './writer';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* stream(rows: Row[]): AsyncGenerator<Row> {
  for (const row of rows) yield row;
}

async function readRows(path: string, format: 'CSV' | 'JSONL' | 'PARQUET'): Promise<{ columns: readonly string[]; rows: Row[] }> {
  const table = await openTable(path, format);
  const rows: Row[] = [];
  for await (const row of table.rows) rows.push(row);
  return { columns: table.columns, rows };
}

describe('CSV', () => {
  it('quotes only the fields that need it and reads back every edge case as written', async () => {
    const columns = ['id', 'text', 'note, with comma'];
    const rows: Row[] = [
      ['1', 'plain', 'x'],
      ['2', 'a,b', 'say "hi"'],
      ['3', 'line\nbreak', 'carriage\r\nreturn'],
      ['4', ' leading', 'trailing '],
      ['5', null, '"'],
      ['6', 'tab\tinside', '\tlead tab'],
      ['7', 'unicode é 漢字 🚀', "it's"],
    ];
    const path = join(dir, 'edge.csv');
    expect(await writeTable(path, 'CSV', columns, stream(rows))).toBe(rows.length);

    const text = await readFile(path, 'utf8');
    expect(text.split('\n')[0]).toBe('id,text,"note, with comma"');
    expect(text).toContain('1,plain,x\n');
    expect(text).toContain('2,"a,b","say ""hi"""\n');
    expect(text).toContain('4," leading","trailing "\n');
    expect(text).toContain('5,,""""\n');
    expect(text).toContain('6,tab\tinside,"\tlead tab"\n');
    expect(text).not.toContain('\r\n\n');
    expect(text.endsWith('\n')).toBe(true);

    const back = await readRows(path, 'CSV');
    expect(back.columns).toEqual(columns);
    expect(back.rows).toEqual(rows);
  });

  it('writes numbers so that they read back equal, booleans as true/false, missing as an empty field', async () => {
    const numbers = [0, -0, 1, -17, 0.1, 1 / 3, 1e21, 1.5e-7, 2 ** 53 + 2, -1234567.891, Number.MAX_VALUE, Number.MIN_VALUE];
    const path = join(dir, 'numbers.csv');
    await writeTable(path, 'CSV', ['n', 'b', 'm'], stream(numbers.map((n, i) => [n, i % 2 === 0, null])));
    const back = await readRows(path, 'CSV');
    expect(back.rows.map((r) => numericValue(r[0]))).toEqual(numbers.map((n) => (Object.is(n, -0) ? 0 : n)));
    expect(back.rows.map((r) => r[1])).toEqual(numbers.map((_, i) => (i % 2 === 0 ? 'true' : 'false')));
    expect(back.rows.every((r) => r[2] === null)).toBe(true);
    expect(csvField(NaN)).toBe('');
    expect(csvField(Infinity)).toBe('');
  });

  it('writes a missing value in a one-column file as "" so that the row is not a blank line', async () => {
    const path = join(dir, 'one.csv');
    await writeTable(path, 'CSV', ['only'], stream([['a'], [null], ['b']]));
    expect(await readFile(path, 'utf8')).toBe('only\na\n""\nb\n');
    expect(parseCsv(await readFile(path, 'utf8')).map((r) => r.fields)).toEqual([['only'], ['a'], [null], ['b']]);
    expect((await readRows(path, 'CSV')).rows).toEqual([['a'], [null], ['b']]);
  });

  it('streams many rows through the file with backpressure and counts them', async () => {
    const count = 30_000;
    async function* many(): AsyncGenerator<Row> {
      for (let i = 0; i < count; i++) yield [i, `row ${i} ${'x'.repeat(40)}`, i % 3 === 0 ? null : i / 7];
    }
    const path = join(dir, 'many.csv');
    expect(await writeTable(path, 'CSV', ['i', 's', 'f'], many())).toBe(count);
    const back = await readRows(path, 'CSV');
    expect(back.rows).toHaveLength(count);
    expect(back.rows[12_346]).toEqual(['12346', `row 12346 ${'x'.repeat(40)}`, String(12_346 / 7)]);
    expect(back.rows[12_345]).toEqual(['12345', `row 12345 ${'x'.repeat(40)}`, null]);
  });
});

describe('JSONL', () => {
  it('writes one object per line with the columns in order, nulls kept, numbers and booleans typed', async () => {
    const rows: Row[] = [
      [1, 'a "quoted"\nline', true, null],
      [2.5, null, false, 'x'],
    ];
    const path = join(dir, 'out.jsonl');
    expect(await writeTable(path, 'JSONL', ['n', 's', 'b', 'z'], stream(rows))).toBe(2);
    const text = await readFile(path, 'utf8');
    expect(text).toBe('{"n":1,"s":"a \\"quoted\\"\\nline","b":true,"z":null}\n{"n":2.5,"s":null,"b":false,"z":"x"}\n');
    const back = await readRows(path, 'JSONL');
    expect(back.columns).toEqual(['n', 's', 'b', 'z']);
    expect(back.rows).toEqual(rows);
  });

  it('writes non-finite numbers as null', async () => {
    const path = join(dir, 'nan.jsonl');
    await writeTable(path, 'JSONL', ['v'], stream([[NaN], [Infinity], [3]]));
    expect(await readFile(path, 'utf8')).toBe('{"v":null}\n{"v":null}\n{"v":3}\n');
  });
});

describe('Parquet', () => {
  it('writes through writeParquet with the column types and reads back', async () => {
    const path = join(dir, 'out.parquet');
    const rows: Row[] = [
      ['1', '2.5', 'true', 'x', '2024-01-02T03:04:05.000Z'],
      [null, '3', 'false', null, null],
    ];
    expect(await writeTable(path, 'PARQUET', ['i', 'n', 'b', 's', 't'], stream(rows), ['INTEGER', 'NUMBER', 'BOOLEAN', 'STRING', 'DATETIME'])).toBe(2);
    const back = await readRows(path, 'PARQUET');
    expect(back.columns).toEqual(['i', 'n', 'b', 's', 't']);
    expect(back.rows).toEqual([
      [1, 2.5, true, 'x', '2024-01-02T03:04:05.000Z'],
      [null, 3, false, null, null],
    ]);
  });

  it('refuses to write Parquet without column types', async () => {
    await expect(writeTable(join(dir, 'x.parquet'), 'PARQUET', ['a'], stream([['1']]))).rejects.toThrow(/without the column types/);
  });
});

describe('failures', () => {
  it('removes the file when the rows fail midway', async () => {
    async function* failing(): AsyncGenerator<Row> {
      for (let i = 0; i < 5000; i++) yield [i, 'y'.repeat(50)];
      throw new Error('source broke');
    }
    for (const format of ['CSV', 'JSONL'] as const) {
      const path = join(dir, `broken.${format}`);
      await expect(writeTable(path, format, ['a', 'b'], failing())).rejects.toThrow('source broke');
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a row whose width is not the header width, leaving no file', async () => {
    const path = join(dir, 'ragged.csv');
    await expect(writeTable(path, 'CSV', ['a', 'b'], stream([['1', '2'], ['3']]))).rejects.toThrow('row 2 has 1 cells, the header has 2');
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a file that cannot be created', async () => {
    await expect(writeTable(join(dir, 'missing-dir', 'x.csv'), 'CSV', ['a'], stream([['1']]))).rejects.toThrow(/ENOENT/);
  });
});

describe('sinks', () => {
  it('fileSink writes to its path; artifactSink stores by digest with the format extension', async () => {
    const path = join(dir, 'f.csv');
    expect(await fileSink(path, 'CSV')(['a'], stream([['x']]), undefined)).toBe(1);
    expect(await readFile(path, 'utf8')).toBe('a\nx\n');

    const store = new ArtifactStore(join(dir, 'store'));
    const stored = await artifactSink(store, 'JSONL')(['a'], stream([['x'], ['y']]), undefined);
    expect(stored.result).toBe(2);
    expect(stored.path).toBe(store.pathFor(stored.digest, 'jsonl'));
    expect(await readFile(stored.path, 'utf8')).toBe('{"a":"x"}\n{"a":"y"}\n');
  });
});
