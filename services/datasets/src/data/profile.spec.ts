import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ColumnSchema, DatasetProfile, mulberry32, Sha256Digest, type ColumnProfile } from '@modeltrail/contracts';
import { openTable, writeParquet, type Cell, type Row, type Table } from '@modeltrail/tabular';
import {
  AdaptiveHistogram,
  HyperLogLog,
  Kll,
  profileFile,
  profileTable,
  QUANTILES,
  SpaceSaving,
  type TableProfile,
} from './profile';

const fixtures = join(__dirname, '../../test/fixtures');
const churn = join(__dirname, '../../../../examples/datasets/customer-churn.csv');
let dir: string;
let files = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modeltrail-profile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(content: string, name = `f${++files}.csv`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function table(columns: string[], rows: Row[]): Table {
  return {
    format: 'CSV',
    columns,
    rows: (async function* () {
      yield* rows;
    })(),
  };
}

function column(profile: TableProfile, name: string): ColumnProfile {
  const found = profile.profile.columns.find((c) => c.name === name);
  if (!found) throw new Error(`no column ${name}`);
  return found;
}

function sha256sum(path: string): string {
  return execFileSync('sha256sum', [path]).toString().split(' ')[0];
}

// Independent reference computations (two-pass, sorting, plain counting).
function mean(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}
function sampleStddev(values: number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1));
}
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return lo + 1 < sorted.length ? sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
}
function histogram(values: number[], bins = 20): number[] {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor(((v - min) / (max - min)) * bins))]++;
  return counts;
}
function frequencies(values: string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

function expectNumericProfile(profile: ColumnProfile, values: number[]): void {
  const numeric = profile.numeric!;
  expect(numeric).not.toBeNull();
  expect(numeric.min).toBe(Math.min(...values));
  expect(numeric.max).toBe(Math.max(...values));
  expect(numeric.mean).toBeCloseTo(mean(values), 9);
  expect(numeric.stddev).toBeCloseTo(sampleStddev(values), 9);
  expect(numeric.quantiles.map((q) => q.q)).toEqual([...QUANTILES]);
  for (const { q, value } of numeric.quantiles) expect(value).toBeCloseTo(quantile(values, q), 9);
  expect(numeric.histogram.map((bin) => bin.count)).toEqual(histogram(values));
  expect(numeric.histogram[0].lower).toBe(Math.min(...values));
  expect(numeric.histogram[19].upper).toBe(Math.max(...values));
}

describe('profileFile', () => {
  it('infers the schema and profiles a small CSV; digest and size are those of the bytes', async () => {
    const path = join(fixtures, 'people.csv');
    const result = await profileFile(path, 'CSV');
    expect(result.digest).toBe(sha256sum(path));
    expect(result.size).toBe(readFileSync(path).length);
    expect(result.rows).toBe(4);
    expect(result.schema).toEqual([
      { name: 'id', type: 'INTEGER', nullable: false },
      { name: 'name', type: 'STRING', nullable: false },
      { name: 'city', type: 'STRING', nullable: true },
      { name: 'score', type: 'NUMBER', nullable: true },
      { name: 'joined', type: 'DATETIME', nullable: true },
      { name: 'active', type: 'BOOLEAN', nullable: false },
    ]);
    expect(column(result, 'id')).toMatchObject({ count: 4, missing: 0, distinct: 4, distinctExact: true, categorical: null });
    expectNumericProfile(column(result, 'id'), [1, 2, 3, 4]);
    expectNumericProfile(column(result, 'score'), [81.5, 70, 92.25]);
    expect(column(result, 'score')).toMatchObject({ count: 3, missing: 1, distinct: 3 });
    expect(column(result, 'active')).toEqual({
      name: 'active',
      type: 'BOOLEAN',
      count: 4,
      missing: 0,
      distinct: 3,
      distinctExact: true,
      numeric: null,
      categorical: {
        topValues: [
          { value: 'true', count: 2 },
          { value: 'TRUE', count: 1 },
          { value: 'false', count: 1 },
        ],
        exact: true,
      },
    });
    expect(column(result, 'city').categorical!.topValues).toEqual([
      { value: 'Berlin', count: 1 },
      { value: 'München', count: 1 },
      { value: 'Paris', count: 1 },
    ]);
    expect(DatasetProfile.parse(result.profile)).toEqual(result.profile);
    expect(result.schema.map((s) => ColumnSchema.parse(s))).toEqual(result.schema);
    expect(Sha256Digest.parse(result.digest)).toBe(result.digest);
  });

  it('matches independent computations on a few thousand random rows', async () => {
    const random = mulberry32(7);
    const ints: number[] = [];
    const floats: number[] = [];
    const categories: string[] = [];
    const lines = ['n,x,category,note'];
    let missing = 0;
    for (let i = 0; i < 5_000; i++) {
      const n = Math.floor(random() * 1_000) - 300;
      const x = Math.round((random() * random() * 1e4 - 50) * 1e3) / 1e3;
      const category = ['red', 'green', 'blue', 'teal', 'gold'][Math.floor(random() ** 2 * 5)];
      const skip = random() < 0.1;
      if (skip) missing++;
      else floats.push(x);
      ints.push(n);
      categories.push(category);
      lines.push(`${n},${skip ? '' : x},${category},`);
    }
    const result = await profileFile(file(lines.join('\n')), 'CSV');
    expect(result.rows).toBe(5_000);
    expect(result.schema).toEqual([
      { name: 'n', type: 'INTEGER', nullable: false },
      { name: 'x', type: 'NUMBER', nullable: true },
      { name: 'category', type: 'STRING', nullable: false },
      { name: 'note', type: 'STRING', nullable: true },
    ]);
    expectNumericProfile(column(result, 'n'), ints);
    expectNumericProfile(column(result, 'x'), floats);
    expect(column(result, 'n').distinct).toBe(new Set(ints).size);
    expect(column(result, 'x')).toMatchObject({ count: 5_000 - missing, missing, distinct: new Set(floats).size, distinctExact: true });
    expect(column(result, 'category').categorical).toEqual({
      topValues: frequencies(categories).map(([value, count]) => ({ value, count })),
      exact: true,
    });
    expect(column(result, 'note')).toEqual({
      name: 'note',
      type: 'STRING',
      count: 0,
      missing: 5_000,
      distinct: 0,
      distinctExact: true,
      numeric: null,
      categorical: { topValues: [], exact: true },
    });
    expect(DatasetProfile.parse(result.profile)).toEqual(result.profile);
  });

  it('profiles the customer-churn example', async () => {
    const lines = readFileSync(churn, 'utf8').trimEnd().split('\n');
    const rows = lines.slice(1).map((line) => line.split(','));
    const result = await profileFile(churn, 'CSV');
    expect(result.digest).toBe(sha256sum(churn));
    expect(result.rows).toBe(rows.length);
    expect(result.schema).toEqual([
      { name: 'customer_id', type: 'INTEGER', nullable: false },
      { name: 'age', type: 'INTEGER', nullable: true },
      { name: 'tenure_months', type: 'INTEGER', nullable: false },
      { name: 'monthly_charges', type: 'NUMBER', nullable: true },
      { name: 'contract', type: 'STRING', nullable: true },
      { name: 'country', type: 'STRING', nullable: false },
      { name: 'churned', type: 'STRING', nullable: false },
    ]);
    const present = (c: number) => rows.map((r) => r[c]).filter((v) => v !== '');
    expect(column(result, 'customer_id').distinct).toBe(new Set(present(0)).size);
    expect(column(result, 'customer_id').distinct).toBeLessThan(rows.length);
    expect(column(result, 'age').missing).toBe(rows.length - present(1).length);
    expectNumericProfile(column(result, 'monthly_charges'), present(3).map(Number));
    expect(column(result, 'churned').categorical!.topValues).toEqual(frequencies(present(6)).map(([value, count]) => ({ value, count })));
  });

  it('gives the same profile for the same bytes', async () => {
    const lines = ['v,w'];
    const random = mulberry32(11);
    for (let i = 0; i < 8_000; i++) lines.push(`${random()},k${Math.floor(random() * 2_000)}`);
    const path = file(lines.join('\n'));
    const options = { distinctLimit: 500, exactValuesLimit: 1_000 };
    const first = await profileFile(path, 'CSV', options);
    expect(first.profile.columns[0].distinctExact).toBe(false);
    expect(await profileFile(path, 'CSV', options)).toEqual(first);
  });

  it('profiles JSONL, keeping its numbers and booleans, and hashes the bytes', async () => {
    const path = join(fixtures, 'people.jsonl');
    const result = await profileFile(path, 'JSONL');
    expect(result.digest).toBe(sha256sum(path));
    expect(result.rows).toBe(3);
    expect(result.schema).toEqual([
      { name: 'id', type: 'INTEGER', nullable: false },
      { name: 'name', type: 'STRING', nullable: true },
      { name: 'city', type: 'STRING', nullable: true },
      { name: 'score', type: 'NUMBER', nullable: true },
      { name: 'tags', type: 'STRING', nullable: true },
      { name: 'active', type: 'BOOLEAN', nullable: true },
    ]);
    expectNumericProfile(column(result, 'score'), [81.5, 70]);
    expect(DatasetProfile.parse(result.profile)).toEqual(result.profile);
  });

  it('profiles Parquet and hashes its bytes', async () => {
    const path = join(dir, 'p.parquet');
    const rows: Row[] = Array.from({ length: 1_500 }, (_unused, i) => [i, i % 10 === 0 ? null : i / 8, i % 2 === 0, `c${i % 3}`]);
    await writeParquet(path, ['id', 'x', 'even', 'c'], ['INTEGER', 'NUMBER', 'BOOLEAN', 'STRING'], rows, { rowGroupSize: 400 });
    const result = await profileFile(path, 'PARQUET');
    expect(result.digest).toBe(sha256sum(path));
    expect(result.size).toBe(readFileSync(path).length);
    expect(result.rows).toBe(1_500);
    expect(result.schema).toEqual([
      { name: 'id', type: 'INTEGER', nullable: false },
      { name: 'x', type: 'NUMBER', nullable: true },
      { name: 'even', type: 'BOOLEAN', nullable: false },
      { name: 'c', type: 'STRING', nullable: false },
    ]);
    expectNumericProfile(
      column(result, 'x'),
      rows.map((r) => r[1]).filter((v): v is number => v !== null),
    );
    expect(column(result, 'even').categorical!.topValues).toEqual([
      { value: 'false', count: 750 },
      { value: 'true', count: 750 },
    ]);
  });
});

describe('profileTable', () => {
  it('widens types: integers and decimals make NUMBER, anything else mixed makes STRING', async () => {
    const rows: Cell[][] = [
      ['1', '1', 'true', '2024-01-01', '1', 1],
      ['2.5', 'x', 'false', '2024-01-02T10:00:00Z', 'true', 2.5],
      [null, '3', null, 'soon', null, null],
    ];
    const result = await profileTable(table(['a', 'b', 'c', 'd', 'e', 'f'], rows));
    expect(result.schema.map((s) => s.type)).toEqual(['NUMBER', 'STRING', 'BOOLEAN', 'STRING', 'STRING', 'NUMBER']);
    expect(column(result, 'a').numeric).toMatchObject({ min: 1, max: 2.5, mean: 1.75 });
    expect(column(result, 'b').numeric).toBeNull();
    expect(column(result, 'b').categorical!.topValues).toEqual([
      { value: '1', count: 1 },
      { value: '3', count: 1 },
      { value: 'x', count: 1 },
    ]);
  });

  it('profiles a table without rows', async () => {
    const result = await profileTable(table(['a'], []));
    expect(result).toEqual({
      rows: 0,
      schema: [{ name: 'a', type: 'STRING', nullable: false }],
      profile: {
        rows: 0,
        columns: [{ name: 'a', type: 'STRING', count: 0, missing: 0, distinct: 0, distinctExact: true, numeric: null, categorical: { topValues: [], exact: true } }],
      },
    });
    expect(DatasetProfile.parse(result.profile)).toEqual(result.profile);
  });

  it('gives a single histogram bin when every value is the same', async () => {
    const result = await profileTable(table(['a'], [['5'], ['5'], ['5']]));
    expect(column(result, 'a').numeric).toEqual({
      min: 5,
      max: 5,
      mean: 5,
      stddev: 0,
      quantiles: QUANTILES.map((q) => ({ q, value: 5 })),
      histogram: [{ lower: 5, upper: 5, count: 3 }],
    });
  });

  it('switches to bounded sketches past the limits, with small errors and exact histogram totals', async () => {
    const random = mulberry32(99);
    const n = 60_000;
    const values: number[] = [];
    const words: string[] = [];
    const rows: Row[] = [];
    for (let i = 0; i < n; i++) {
      // Skewed values, drifting over time, so the adaptive histogram must grow both ways.
      const value = (random() - 0.5) * (1 + i / 1_000) ** 2;
      // Heavy hitters plus a long tail of rare words.
      const r = random();
      const word = r < 0.2 ? 'alpha' : r < 0.32 ? 'beta' : r < 0.4 ? 'gamma' : `rare${Math.floor(random() * 40_000)}`;
      values.push(value);
      words.push(word);
      rows.push([String(value), word]);
    }
    const result = await profileTable(table(['v', 'w'], rows), { distinctLimit: 2_000, exactValuesLimit: 5_000 });
    DatasetProfile.parse(result.profile);

    const v = column(result, 'v');
    const trueDistinct = new Set(values.map(String)).size;
    expect(v.distinctExact).toBe(false);
    expect(Math.abs(v.distinct - trueDistinct) / trueDistinct).toBeLessThan(0.03);
    const numeric = v.numeric!;
    expect(numeric.min).toBe(Math.min(...values));
    expect(numeric.max).toBe(Math.max(...values));
    expect(numeric.mean).toBeCloseTo(mean(values), 6);
    expect(numeric.stddev / sampleStddev(values)).toBeCloseTo(1, 9);
    const sorted = [...values].sort((a, b) => a - b);
    for (const { q, value } of numeric.quantiles) {
      const rank = sorted.findIndex((x) => x >= value) / n;
      expect(Math.abs(rank - q)).toBeLessThan(0.02);
    }
    const exact = histogram(values);
    const approximate = numeric.histogram.map((bin) => bin.count);
    expect(approximate.reduce((sum, c) => sum + c, 0)).toBe(n);
    for (let b = 0; b < 20; b++) expect(Math.abs(approximate[b] - exact[b])).toBeLessThanOrEqual(n * 0.002);

    const w = column(result, 'w');
    expect(w.distinctExact).toBe(false);
    const trueWords = new Set(words).size;
    expect(Math.abs(w.distinct - trueWords) / trueWords).toBeLessThan(0.03);
    const top = w.categorical!;
    expect(top.exact).toBe(false);
    const truth = new Map(frequencies(words));
    expect(top.topValues.slice(0, 3).map((t) => t.value)).toEqual(['alpha', 'beta', 'gamma']);
    for (const { value, count } of top.topValues.slice(0, 3)) {
      expect(count).toBeLessThanOrEqual(truth.get(value)!);
      expect(count).toBeGreaterThan(truth.get(value)! * 0.98);
    }
    // The rare words below them are counted honestly, not inflated by the evictions.
    for (const { value, count } of top.topValues.slice(3)) expect(count).toBeLessThanOrEqual(truth.get(value)!);
  });
});

describe('sketches', () => {
  it('KLL keeps quantiles of 300,000 values within about 1% of rank', () => {
    const random = mulberry32(3);
    const sketch = new Kll(256, mulberry32(4));
    const values = new Float64Array(300_000);
    for (let i = 0; i < values.length; i++) {
      values[i] = -Math.log(random());
      sketch.add(values[i]);
    }
    values.sort();
    for (const q of [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999]) {
      const estimate = sketch.quantile(q);
      let rank = 0;
      while (rank < values.length && values[rank] < estimate) rank++;
      expect(Math.abs(rank / values.length - q)).toBeLessThan(0.01);
    }
  });

  it('HyperLogLog estimates distinct counts within 3%', () => {
    for (const n of [100, 10_000, 100_000]) {
      const hll = new HyperLogLog();
      for (let i = 0; i < n; i++) hll.add(`value-${i}`);
      for (let i = 0; i < n; i += 7) hll.add(`value-${i}`);
      expect(Math.abs(hll.estimate() - n) / n).toBeLessThan(0.03);
    }
  });

  it('the adaptive histogram keeps exact totals while its range grows both ways', () => {
    const histogram = new AdaptiveHistogram(0, 1);
    const values = [0, 0.5, 1, -3, 17, 1e6, -2e5, 0.25];
    for (const value of values) histogram.add(value);
    const bins = histogram.bins(-2e5, 1e6, 20);
    expect(bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(values.length);
    expect(bins[0].count).toBe(1);
    expect(bins[19].count).toBe(1);
    expect(bins[3].count).toBe(6);
  });

  it('space-saving keeps the heavy hitters among many rare texts', () => {
    const summary = new SpaceSaving(50);
    const random = mulberry32(5);
    const counts = new Map<string, number>();
    for (let i = 0; i < 100_000; i++) {
      const text = random() < 0.3 ? `hot${Math.floor(random() * 5)}` : `cold${i}`;
      counts.set(text, (counts.get(text) ?? 0) + 1);
      summary.add(text);
    }
    const top = summary
      .entries()
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5);
    expect(top.map(([text]) => text).sort()).toEqual(['hot0', 'hot1', 'hot2', 'hot3', 'hot4']);
    for (const [text, count] of top) {
      expect(count).toBeLessThanOrEqual(counts.get(text)!);
      expect(count).toBeGreaterThan(counts.get(text)! * 0.9);
    }
    const cold = summary.entries().filter(([text]) => text.startsWith('cold'));
    expect(cold.length).toBeGreaterThan(0);
    for (const [, count] of cold) expect(count).toBe(1);
  });
});

describe('opening for profile', () => {
  it('profiles exactly the rows openTable reads', async () => {
    const path = join(fixtures, 'people.csv');
    const fromTable = await profileTable(await openTable(path, 'CSV'));
    const fromFile = await profileFile(path, 'CSV');
    expect(fromFile.profile).toEqual(fromTable.profile);
  });
});
