import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError, type DataFormat } from '@modeltrail/contracts';
import { fileError, openTable, rowBatches } from './open';
import type { Row, Table } from './table';

const fixtures = join(__dirname, '../test/fixtures');
let dir: string;
let files = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modeltrail-open-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(content: string | Buffer, name = `f${++files}`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function rowsOf(table: Table): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const row of table.rows) rows.push(row);
  return rows;
}

async function openError(path: string, format: DataFormat): Promise<ValidationError> {
  try {
    await rowsOf(await openTable(path, format));
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`${path} opened and read without error`);
}

describe('openTable: CSV', () => {
  it('reads the header as columns and the records as rows of raw text, empty fields missing', async () => {
    const table = await openTable(join(fixtures, 'people.csv'), 'CSV');
    expect(table.format).toBe('CSV');
    expect(table.columns).toEqual(['id', 'name', 'city', 'score', 'joined', 'active']);
    expect(await rowsOf(table)).toEqual([
      ['1', 'Smith, Anna', 'Berlin', '81.5', '2021-03-04', 'true'],
      ['2', 'Bob "the builder"', null, '70', '2020-11-30', 'false'],
      ['3', 'Line\nBreak', 'Paris', null, '2022-01-15T10:00:00Z', 'true'],
      ['4', 'Zoë', 'München', '92.25', null, 'TRUE'],
    ]);
  });

  it('reads a header-only file as a table without rows', async () => {
    const table = await openTable(file('a,b\r\n'), 'CSV');
    expect(table.columns).toEqual(['a', 'b']);
    expect(await rowsOf(table)).toEqual([]);
  });

  it('skips blank lines, except in a one-column file where they are missing values', async () => {
    expect(await rowsOf(await openTable(file('\n\na,b\n1,2\n\n3,4\n\n'), 'CSV'))).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(await rowsOf(await openTable(file('x\n1\n\n3\n'), 'CSV'))).toEqual([['1'], [null], ['3']]);
  });

  it('streams files far larger than one chunk, across chunk boundaries', async () => {
    const lines = ['id,text,value'];
    for (let i = 1; i <= 20_000; i++) lines.push(i % 1000 === 0 ? `${i},"multi\nline, ""quoted""",${i / 2}` : `${i},row ${i},${i / 2}`);
    const table = await openTable(file(lines.join('\r\n')), 'CSV');
    const rows = await rowsOf(table);
    expect(rows).toHaveLength(20_000);
    expect(rows[999]).toEqual(['1000', 'multi\nline, "quoted"', '500']);
    expect(rows[19_999]).toEqual(['20000', 'multi\nline, "quoted"', '10000']);
    expect(rows[12_344]).toEqual(['12345', 'row 12345', '6172.5']);
  });

  it('hands out the same rows in batches (rowBatches) as one by one', async () => {
    const path = join(fixtures, 'people.csv');
    const batched: Row[] = [];
    for await (const batch of rowBatches((await openTable(path, 'CSV')).rows)) batched.push(...batch);
    expect(batched).toEqual(await rowsOf(await openTable(path, 'CSV')));
  });

  it('passes every byte to onBytes while the rows are read', async () => {
    const content = Buffer.from('a,b\n' + '1,2\n'.repeat(50_000));
    const chunks: Buffer[] = [];
    const table = await openTable(file(content), 'CSV', { onBytes: (chunk) => chunks.push(chunk) });
    expect(chunks).toEqual([]);
    expect(await rowsOf(table)).toHaveLength(50_000);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
  });

  it('closes the file when the reader stops early', async () => {
    const path = file('a,b\n' + '1,2\n'.repeat(100_000));
    const before = readdirSync('/proc/self/fd').length;
    const table = await openTable(path, 'CSV');
    for await (const row of table.rows) {
      expect(row).toEqual(['1', '2']);
      expect(readdirSync('/proc/self/fd').length).toBeGreaterThan(before);
      break;
    }
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('refuses a ragged row, naming the data row and the line, after handing out the rows before it', async () => {
    const path = file('id,name,score\n1,a,10\n2,"b\nc",20\n3,c,30\n4,d\n5,e,50\n');
    const table = await openTable(path, 'CSV');
    const seen: Row[] = [];
    let failure: unknown;
    try {
      for await (const row of table.rows) seen.push(row);
    } catch (error) {
      failure = error;
    }
    expect(seen.map((row) => row[0])).toEqual(['1', '2', '3']);
    expect(failure).toBeInstanceOf(ValidationError);
    expect((failure as Error).message).toBe(`${path}: row 4 (line 6) has 2 fields, the header has 3 (quote fields that contain commas)`);
  });

  it('refuses a ragged row far into the file with its row number', async () => {
    const lines = ['a,b,c,d,e'];
    for (let i = 1; i < 30_000; i++) lines.push(`${i},1,2,3,4`);
    lines.push('30000,1,2,3');
    const path = file(lines.join('\n') + '\n');
    expect((await openError(path, 'CSV')).message).toBe(`${path}: row 30000 (line 30001) has 4 fields, the header has 5 (quote fields that contain commas)`);
  });

  it('refuses an unterminated quote, naming the line where it opens', async () => {
    const path = file('a,b\n1,2\n3,"open\n4,5\n');
    expect((await openError(path, 'CSV')).message).toBe(`${path}: line 3: a quoted field is never closed (a " opens it and no " ends it before the end of the file)`);
  });

  it('refuses a header with duplicate or empty names, listing every problem', async () => {
    const duplicate = file('id,age,name,age\n1,2,3,4\n');
    expect((await openError(duplicate, 'CSV')).message).toBe(
      `${duplicate}: the header is not usable: columns 2 and 4 are both named "age" (every column needs a unique, non-empty name)`,
    );
    const empty = file('id,,name, \n1,2,3,4\n');
    expect((await openError(empty, 'CSV')).message).toBe(
      `${empty}: the header is not usable: column 2 has no name; column 4 has no name (every column needs a unique, non-empty name)`,
    );
    const long = file(`${'x'.repeat(300)}\n1\n`);
    expect((await openError(long, 'CSV')).message).toMatch(/column 1 has a name longer than 256 characters/);
  });

  it('refuses an empty file and a file without a header', async () => {
    const empty = file('');
    expect((await openError(empty, 'CSV')).message).toBe(`${empty} is empty: a CSV file needs a header line naming its columns`);
    const blank = file('\n\r\n\n');
    expect((await openError(blank, 'CSV')).message).toBe(`${blank} has no header (it holds only blank lines): a CSV file needs a header line naming its columns`);
  });
});

describe('openTable: files that cannot be read', () => {
  it('refuses a missing file', async () => {
    const path = join(dir, 'missing.csv');
    expect((await openError(path, 'CSV')).message).toBe(`${path} does not exist: check the path (it must be a file on the machine that reads it)`);
    const under = join(file('x'), 'child.csv');
    expect((await openError(under, 'JSONL')).message).toBe(`${under} does not exist: check the path (it must be a file on the machine that reads it)`);
  });

  it('refuses a directory', async () => {
    const path = join(dir, 'a-directory');
    mkdirSync(path);
    expect((await openError(path, 'PARQUET')).message).toBe(`${path} is a directory, not a data file`);
  });

  // Root reads every file whatever its mode, so as root this case cannot fail and is skipped;
  // the mapping of EACCES to the message is covered just below either way.
  const root = process.getuid?.() === 0;
  (root ? it.skip : it)(`refuses a file it may not read${root ? ' (skipped: root may read any file)' : ''}`, async () => {
    const path = file('a\n1\n');
    chmodSync(path, 0o000);
    expect((await openError(path, 'CSV')).message).toBe(`${path} cannot be read: permission denied (the file must be readable by the user the service runs as)`);
  });

  it('describes permission and other file-system errors for a person', () => {
    const denied = Object.assign(new Error("EACCES: permission denied, open '/data/x.csv'"), { code: 'EACCES' });
    expect(fileError('/data/x.csv', denied).message).toBe('/data/x.csv cannot be read: permission denied (the file must be readable by the user the service runs as)');
    const io = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    expect(fileError('/data/x.csv', io)).toBeInstanceOf(ValidationError);
    expect(fileError('/data/x.csv', io).message).toBe('/data/x.csv cannot be read: EIO: i/o error, read');
  });
});

describe('openTable: JSONL', () => {
  it('takes the first object keys, then later keys in order of appearance; absent keys are missing', async () => {
    const table = await openTable(join(fixtures, 'people.jsonl'), 'JSONL');
    expect(table.columns).toEqual(['id', 'name', 'city', 'score', 'tags', 'active']);
    expect(await rowsOf(table)).toEqual([
      [1, 'Smith, Anna', 'Berlin', 81.5, null, null],
      [2, 'Bob', null, 70, '["a","b"]', null],
      [3, null, null, null, null, true],
    ]);
  });

  it('refuses a line that is not valid JSON, naming it', async () => {
    const path = file('{"a":1}\n{"a":2}\n{"a": 3,,}\n');
    expect((await openError(path, 'JSONL')).message).toMatch(new RegExp(`^${escape(path)}: line 3 is not valid JSON: `));
  });

  it('refuses a line that is not an object', async () => {
    const path = file('{"a":1}\n\n[1]\n');
    expect((await openError(path, 'JSONL')).message).toBe(`${path}: line 3 is not a JSON object (it is an array); each line must hold one object such as {"column": value}`);
  });

  it('refuses empty files, files of blank lines, objects without keys and empty keys', async () => {
    const empty = file('');
    expect((await openError(empty, 'JSONL')).message).toBe(`${empty} is empty: a JSONL file needs at least one JSON object`);
    const blank = file('\n  \n');
    expect((await openError(blank, 'JSONL')).message).toBe(`${blank} holds no JSON objects (only blank lines): a JSONL file needs at least one JSON object`);
    const keyless = file('{}\n{}\n');
    expect((await openError(keyless, 'JSONL')).message).toBe(`${keyless} has no columns: every object in it is empty ({})`);
    const emptyKey = file('{"a":1}\n{"":2}\n');
    expect((await openError(emptyKey, 'JSONL')).message).toBe(`${emptyKey}: line 2 has an empty key ""; every column needs a name`);
  });
});

describe('openTable: Parquet', () => {
  it('refuses a file that is not Parquet', async () => {
    const csv = join(fixtures, 'people.csv');
    expect((await openError(csv, 'PARQUET')).message).toBe(`${csv} is not a Parquet file: it does not start and end with the Parquet marker "PAR1"`);
    const tiny = file('PAR1');
    expect((await openError(tiny, 'PARQUET')).message).toBe(`${tiny} is not a Parquet file: it is only 4 bytes long`);
    const broken = file(Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(40, 7), Buffer.from([10, 0, 0, 0]), Buffer.from('PAR1')]));
    expect((await openError(broken, 'PARQUET')).message).toMatch(new RegExp(`^${escape(broken)} is not a Parquet file: its footer cannot be read \\(`));
  });

  it('refuses an empty file', async () => {
    const empty = file('');
    expect((await openError(empty, 'PARQUET')).message).toBe(`${empty} is empty: a Parquet file cannot be empty`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
