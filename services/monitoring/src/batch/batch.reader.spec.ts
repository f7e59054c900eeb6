import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForbiddenError, ValidationError } from '@modeltrail/contracts';
import { ReadableRoots } from '@modeltrail/tabular';
import { BatchReader, type ExtraColumns, formatOf } from './batch.reader';

describe('BatchReader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-batch-'));
  const outside = mkdtempSync(join(tmpdir(), 'mt-batch-outside-'));
  const reader = new BatchReader(new ReadableRoots([dir], 'monitoring'));
  const features = [
    { name: 'age', kind: 'NUMERIC' as const },
    { name: 'plan', kind: 'CATEGORICAL' as const },
  ];
  const skipped: ExtraColumns = { kind: 'ONLY', names: new Set(['churned']) };
  const csv = 'age,plan,churned\n31,pro,no\n,basic,yes\n45,pro,no\n';
  const csvPath = join(dir, 'batch.csv');
  writeFileSync(csvPath, csv);
  const jsonlPath = join(dir, 'batch.jsonl');
  writeFileSync(jsonlPath, '{"age": 31, "plan": "pro"}\n{"age": 52, "plan": null}\n');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('reads the features of a CSV or JSONL file, counting missing values; the skipped columns may come along', async () => {
    const columns = await reader.readFile(csvPath, 'CSV', features, skipped);
    expect(columns.rows).toBe(3);
    expect(Array.from(columns.columns.get('age') as Float64Array)).toEqual([31, 45]);
    expect(columns.columns.get('plan')).toEqual(['pro', 'basic', 'pro']);
    expect(columns.missing?.get('age')).toBe(1);
    const jsonl = await reader.readFile(jsonlPath, 'JSONL', features, { kind: 'ONLY', names: new Set() });
    expect(jsonl.rows).toBe(2);
    expect(jsonl.missing?.get('plan')).toBe(1);
  });

  it('refuses columns it does not know and features the batch lacks, naming them', async () => {
    await expect(reader.readFile(csvPath, 'CSV', [...features, { name: 'spend', kind: 'NUMERIC' }], { kind: 'ONLY', names: new Set() })).rejects.toThrow(
      /features missing from the batch: spend; columns the reference does not know: churned/,
    );
  });

  it("refuses a dataset version's file whose bytes changed since it was registered", async () => {
    const registered = createHash('sha256').update(csv).digest('hex');
    await expect(reader.readFile(csvPath, 'CSV', features, skipped, registered)).resolves.toBeDefined();
    await expect(reader.readFile(csvPath, 'CSV', features, skipped, 'a'.repeat(64))).rejects.toThrow(/changed since its dataset version was registered/);
  });

  it('refuses a file outside the allowed roots (FORBIDDEN), through a file:// URI too', async () => {
    const file = join(outside, 'batch.csv');
    writeFileSync(file, csv);
    await expect(reader.readFile(file, 'CSV', features, skipped)).rejects.toThrow(ForbiddenError);
    await expect(reader.readFile(`file://${file}`, 'CSV', features, skipped)).rejects.toThrow(ForbiddenError);
    await expect(reader.readFile(join(dir, '..', outside.split('/').pop()!, 'batch.csv'), 'CSV', features, skipped)).rejects.toThrow(ForbiddenError);
  });

  it('tells the format from the extension, or asks for it', () => {
    expect(formatOf('/srv/data/batch.CSV')).toBe('CSV');
    expect(formatOf('file:///srv/data/batch.ndjson')).toBe('JSONL');
    expect(formatOf('/srv/data/batch.parquet')).toBe('PARQUET');
    expect(() => formatOf('/srv/data/batch.txt')).toThrow(ValidationError);
    expect(() => formatOf('/srv/data/batch.txt')).toThrow(/give format/);
  });
});
