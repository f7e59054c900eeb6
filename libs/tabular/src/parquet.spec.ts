import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError, type ColumnType } from '@modeltrail/contracts';
import { openTable, rowBatches } from './open';
import { parquetCell, readParquetFile, writeParquet } from './parquet';
import type { Row, Table } from './table';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modeltrail-parquet-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function rowsOf(table: Table): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const row of table.rows) rows.push(row);
  return rows;
}

const columns = ['id', 'score', 'active', 'name', 'seen_at'];
const types: ColumnType[] = ['INTEGER', 'NUMBER', 'BOOLEAN', 'STRING', 'DATETIME'];

describe('writeParquet and reading Parquet', () => {
  it('round-trips every column type and missing values', async () => {
    const path = join(dir, 'types.parquet');
    const rows: Row[] = [
      [1, 0.5, true, 'a', '2024-01-02T03:04:05.678Z'],
      ['2', '-1e3', 'false', 'Zoë, "quoted"', '2024-02-29'],
      [null, null, null, null, null],
      [9_007_199_254_740_991, 3, false, '', '2024-03-01 12:00'],
    ];
    await writeParquet(path, columns, types, rows);
    expect(readFileSync(path).subarray(0, 4).toString()).toBe('PAR1');
    const table = await openTable(path, 'PARQUET');
    expect(table.format).toBe('PARQUET');
    expect(table.columns).toEqual(columns);
    expect(await rowsOf(table)).toEqual([
      [1, 0.5, true, 'a', '2024-01-02T03:04:05.678Z'],
      [2, -1000, false, 'Zoë, "quoted"', '2024-02-29T00:00:00.000Z'],
      [null, null, null, null, null],
      [9_007_199_254_740_991, 3, false, '', new Date('2024-03-01T12:00').toISOString()],
    ]);
  });

  it('writes from an async iterable and reads back row group by row group', async () => {
    const path = join(dir, 'groups.parquet');
    async function* generate(): AsyncGenerator<Row> {
      for (let i = 0; i < 2_500; i++) yield [i, i / 4, i % 3 === 0, `name ${i % 7}`, null];
    }
    await writeParquet(path, columns, types, generate(), { rowGroupSize: 1_000 });
    const file = await readParquetFile(path);
    expect(file.rows).toBe(2_500);
    expect(file.metadata.row_groups.map((group) => Number(group.num_rows))).toEqual([1_000, 1_000, 500]);

    const batches: number[] = [];
    const rows: Row[] = [];
    for await (const batch of rowBatches((await openTable(path, 'PARQUET')).rows)) {
      batches.push(batch.length);
      rows.push(...batch);
    }
    expect(batches).toEqual([1_000, 1_000, 500]);
    expect(rows[0]).toEqual([0, 0, true, 'name 0', null]);
    expect(rows[2_498]).toEqual([2_498, 624.5, false, 'name 6', null]);
    expect(rows.map((row) => row[0])).toEqual(Array.from({ length: 2_500 }, (_unused, i) => i));
  });

  it('writes a valid file without rows', async () => {
    const path = join(dir, 'empty.parquet');
    await writeParquet(path, ['a', 'b'], ['STRING', 'INTEGER'], []);
    const table = await openTable(path, 'PARQUET');
    expect(table.columns).toEqual(['a', 'b']);
    expect(await rowsOf(table)).toEqual([]);
  });

  it('refuses a cell that does not fit its column type, naming row and column, and leaves no file', async () => {
    const path = join(dir, 'bad.parquet');
    const write = writeParquet(path, ['id', 'age'], ['INTEGER', 'INTEGER'], [
      [1, 20],
      [2, 'twelve'],
    ]);
    await expect(write).rejects.toThrow(ValidationError);
    await expect(write).rejects.toThrow(`cannot write ${path}: row 2, column "age": "twelve" is not a valid integer`);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses rows that do not match the columns, and mismatched column types', async () => {
    const path = join(dir, 'ragged.parquet');
    await expect(writeParquet(path, ['a', 'b'], ['STRING', 'STRING'], [['x']])).rejects.toThrow(`cannot write ${path}: row 1 has 1 cells, the header has 2`);
    expect(existsSync(path)).toBe(false);
    await expect(writeParquet(path, ['a', 'b'], ['STRING'], [])).rejects.toThrow(`cannot write ${path}: 2 columns but 1 column types`);
    await expect(writeParquet(path, [], [], [])).rejects.toThrow(`cannot write ${path}: a Parquet file needs at least one column`);
  });
});

describe('parquetCell', () => {
  it('turns values read from Parquet into cells', () => {
    expect(parquetCell(null)).toBeNull();
    expect(parquetCell(undefined)).toBeNull();
    expect(parquetCell(1.5)).toBe(1.5);
    expect(parquetCell(Number.NaN)).toBeNull();
    expect(parquetCell(Number.POSITIVE_INFINITY)).toBeNull();
    expect(parquetCell(true)).toBe(true);
    expect(parquetCell('x')).toBe('x');
    expect(parquetCell(42n)).toBe(42);
    expect(parquetCell(2n ** 63n - 1n)).toBe('9223372036854775807');
    expect(parquetCell(new Date('2024-01-02T00:00:00Z'))).toBe('2024-01-02T00:00:00.000Z');
    expect(parquetCell(new Uint8Array([104, 105]))).toBe('aGk=');
    expect(parquetCell([1, 2n, { k: 'v' }])).toBe('[1,"2",{"k":"v"}]');
  });
});
