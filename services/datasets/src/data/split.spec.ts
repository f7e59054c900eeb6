import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@modeltrail/contracts';
import { ArtifactStore } from '@modeltrail/artifacts';
import { openTable, type Cell, type Row, type Table } from '@modeltrail/tabular';
import { splitSizes, splitTable, type SplitOptions, type SplitSinks, Xoshiro128 } from './split';
import { artifactSink, type RowSink } from './writer';

function memory(columns: string[], rows: Cell[][]) {
  const stats = { opens: 0 };
  const open = async (): Promise<Table> => {
    stats.opens++;
    async function* iterate(): AsyncGenerator<Row> {
      for (const row of rows) yield [...row];
    }
    return { format: 'CSV', columns, rows: iterate() };
  };
  return { open, stats };
}

const collect: RowSink<Row[]> = async (_columns, rows) => {
  const out: Row[] = [];
  for await (const row of rows) out.push(row);
  return out;
};
const collectors: SplitSinks<Row[]> = { train: collect, validation: collect, test: collect };

/** Rows with a unique id (column 0) and a class (column 1). */
function dataset(n: number, classOf: (i: number) => Cell = (i) => (i % 3 === 0 ? 'a' : 'b')): Cell[][] {
  return Array.from({ length: n }, (_, i) => [String(i), classOf(i)]);
}

async function split(rows: Cell[][], options: SplitOptions) {
  return splitTable(memory(['id', 'class'], rows).open, options, collectors);
}

const ids = (rows: Row[]) => rows.map((row) => row[0] as string);

function caught(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: Error) => error,
  );
}

describe('splitSizes', () => {
  it('divides exactly by largest remainder, leftover ties going to train, then validation, then test', () => {
    expect(splitSizes(10, [0.8, 0.1, 0.1])).toEqual([8, 1, 1]);
    expect(splitSizes(7, [0.5, 0.25, 0.25])).toEqual([3, 2, 2]);
    expect(splitSizes(3, [1 / 3, 1 / 3, 1 / 3])).toEqual([1, 1, 1]);
    expect(splitSizes(5, [0.5, 0.5, 0])).toEqual([3, 2, 0]);
    expect(splitSizes(1, [0.2, 0.4, 0.4])).toEqual([0, 1, 0]);
    expect(splitSizes(100, [0.7, 0.15, 0.15])).toEqual([70, 15, 15]);
    expect(splitSizes(0, [0.7, 0.15, 0.15])).toEqual([0, 0, 0]);
    expect(splitSizes(4, [0, 0, 1])).toEqual([0, 0, 4]);
    for (let n = 0; n < 300; n++) {
      const sizes = splitSizes(n, [0.6, 0.3, 0.1]);
      expect(sizes[0] + sizes[1] + sizes[2]).toBe(n);
      sizes.forEach((size, i) => expect(Math.abs(size - [0.6, 0.3, 0.1][i] * n)).toBeLessThan(1));
    }
  });
});

describe('Xoshiro128', () => {
  it('is deterministic per seed text and draws every value of a small range', () => {
    const a = Xoshiro128.seeded('s');
    const b = Xoshiro128.seeded('s');
    const c = Xoshiro128.seeded('t');
    const fromA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(fromA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(fromA);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(a.below(7));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('splitTable', () => {
  it('gives exact part sizes, never loses or duplicates a row, and keeps file order within a part', async () => {
    const rows = dataset(1000);
    const result = await split(rows, { train: 0.7, validation: 0.2, test: 0.1, seed: 42 });
    expect([result.train.rows, result.validation.rows, result.test.rows]).toEqual([700, 200, 100]);
    expect([result.train.result.length, result.validation.result.length, result.test.result.length]).toEqual([700, 200, 100]);
    const all = [...ids(result.train.result), ...ids(result.validation.result), ...ids(result.test.result)];
    expect(new Set(all).size).toBe(1000);
    expect(all.map(Number).sort((x, y) => x - y)).toEqual(rows.map((row) => Number(row[0])));
    for (const part of [result.train, result.validation, result.test]) {
      const order = ids(part.result).map(Number);
      expect(order).toEqual([...order].sort((x, y) => x - y));
    }
    expect(result.rows).toBe(1000);
    expect(result.strata).toBe(1);
    expect(result.columns).toEqual(['id', 'class']);
  });

  it('is deterministic: the same seed gives the same rows, another seed other rows', async () => {
    const rows = dataset(500);
    const options = { train: 0.6, validation: 0.2, test: 0.2, seed: 7 };
    const first = await split(rows, options);
    const again = await split(rows, options);
    const other = await split(rows, { ...options, seed: 8 });
    expect(ids(again.train.result)).toEqual(ids(first.train.result));
    expect(ids(again.validation.result)).toEqual(ids(first.validation.result));
    expect(ids(again.test.result)).toEqual(ids(first.test.result));
    expect(ids(other.train.result)).not.toEqual(ids(first.train.result));
    expect(ids(other.test.result)).not.toEqual(ids(first.test.result));
    expect(other.train.result).toHaveLength(300);
  });

  it('looks random: the train part is not a prefix or a stride of the file', async () => {
    const result = await split(dataset(1000), { train: 0.5, validation: 0.25, test: 0.25, seed: 1 });
    const train = ids(result.train.result).map(Number);
    const firstHalf = train.filter((i) => i < 500).length;
    expect(firstHalf).toBeGreaterThan(200);
    expect(firstHalf).toBeLessThan(300);
  });

  it('splits each stratum in the given proportions, the missing value being a stratum of its own', async () => {
    const classOf = (i: number): Cell => (i < 50 ? 'a' : i < 80 ? 'b' : i < 100 ? 'c' : null);
    const rows = dataset(110, classOf);
    const result = await splitTable(memory(['id', 'class'], rows).open, { train: 0.6, validation: 0.2, test: 0.2, seed: 3, stratifyBy: 'class' }, collectors);
    expect(result.strata).toBe(4);
    const countBy = (part: Row[]) => {
      const counts: Record<string, number> = {};
      for (const row of part) counts[String(row[1])] = (counts[String(row[1])] ?? 0) + 1;
      return counts;
    };
    expect(countBy(result.train.result)).toEqual({ a: 30, b: 18, c: 12, null: 6 });
    expect(countBy(result.validation.result)).toEqual({ a: 10, b: 6, c: 4, null: 2 });
    expect(countBy(result.test.result)).toEqual({ a: 10, b: 6, c: 4, null: 2 });
    const all = [...ids(result.train.result), ...ids(result.validation.result), ...ids(result.test.result)];
    expect(new Set(all).size).toBe(110);
  });

  it('leaves a part of fraction 0 empty and still gives its sink an empty stream', async () => {
    const result = await split(dataset(10), { train: 0.8, validation: 0, test: 0.2, seed: 5 });
    expect([result.train.rows, result.validation.rows, result.test.rows]).toEqual([8, 0, 2]);
    expect(result.validation.result).toEqual([]);
    const everything = await split(dataset(10), { train: 0, validation: 0, test: 1, seed: 5 });
    expect(ids(everything.test.result)).toEqual(ids(dataset(10)));
  });

  it('streams more rows than a sink buffers, with the three parts written at once', async () => {
    const rows = dataset(20_000);
    const result = await split(rows, { train: 0.34, validation: 0.33, test: 0.33, seed: 11 });
    expect([result.train.rows, result.validation.rows, result.test.rows]).toEqual([6800, 6600, 6600]);
    expect(result.train.result.length + result.validation.result.length + result.test.result.length).toBe(20_000);
  });

  it('refuses a fraction above 0 that rounds to no rows, saying how many rows there are', async () => {
    const error = await caught(split(dataset(3), { train: 0.9, validation: 0.05, test: 0.05, seed: 1 }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('the validation fraction 0.05 rounds to no rows: the table has only 3 rows; give validation a larger fraction, or 0 to leave it empty');
    const stratified = await caught(
      splitTable(memory(['id', 'class'], dataset(4, (i) => String(i))).open, { train: 0.8, validation: 0.1, test: 0.1, seed: 1, stratifyBy: 'class' }, collectors),
    );
    expect(stratified.message).toBe(
      'the validation fraction 0.1 rounds to no rows in any of the 4 strata of "class": the table has only 4 rows; give validation a larger fraction, or 0 to leave it empty',
    );
  });

  it('refuses bad options before reading: unknown stratifyBy, fractions not summing to 1, a non-integer seed, an empty table', async () => {
    const unknown = await caught(split(dataset(10), { train: 0.8, validation: 0.1, test: 0.1, seed: 1, stratifyBy: 'klass' }));
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown.message).toBe('stratifyBy names column "klass" (did you mean "class"?) which does not exist; columns are: id, class');
    expect((await caught(split(dataset(10), { train: 0.8, validation: 0.1, test: 0.2, seed: 1 }))).message).toMatch(/must sum to 1/);
    expect((await caught(split(dataset(10), { train: 1.2, validation: -0.1, test: -0.1, seed: 1 }))).message).toMatch(/train fraction must be a number between 0 and 1/);
    expect((await caught(split(dataset(10), { train: 1, validation: 0, test: 0, seed: 1.5 }))).message).toMatch(/seed must be an integer/);
    expect((await caught(split([], { train: 1, validation: 0, test: 0, seed: 1 }))).message).toBe('the table has no rows to split');
  });

  it('refuses a table whose rows changed between the passes', async () => {
    let opens = 0;
    const open = async (): Promise<Table> => {
      const rows = dataset(opens++ === 0 ? 10 : 11);
      async function* iterate(): AsyncGenerator<Row> {
        for (const row of rows) yield row;
      }
      return { format: 'CSV', columns: ['id', 'class'], rows: iterate() };
    };
    await expect(splitTable(open, { train: 0.5, validation: 0.5, test: 0, seed: 1 }, collectors)).rejects.toThrow(/changed while it was being split/);
  });
});

describe('splitTable on files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'split-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function readIds(path: string): Promise<string[]> {
    const table = await openTable(path, 'CSV');
    const out: string[] = [];
    for await (const row of table.rows) out.push(row[0] as string);
    return out;
  }

  it('writes three CSV parts into the artifact store whose union is the input', async () => {
    const source = join(dir, 'in.csv');
    const lines = Array.from({ length: 200 }, (_, i) => `${i},"label, ${i % 4}",${i % 5 === 0 ? '' : i / 2}`);
    await writeFile(source, `id,label,value\n${lines.join('\n')}\n`);
    const store = new ArtifactStore(join(dir, 'store'));
    const sink = artifactSink(store, 'CSV');
    const result = await splitTable(() => openTable(source, 'CSV'), { train: 0.5, validation: 0.3, test: 0.2, seed: 99, stratifyBy: 'label' }, { train: sink, validation: sink, test: sink });
    expect([result.train.rows, result.validation.rows, result.test.rows]).toEqual([100, 60, 40]);
    expect([result.train.result.result, result.validation.result.result, result.test.result.result]).toEqual([100, 60, 40]);
    const parts = await Promise.all([result.train, result.validation, result.test].map((part) => readIds(part.result.path)));
    expect(parts.map((p) => p.length)).toEqual([100, 60, 40]);
    expect(parts.flat().map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));

    const again = await splitTable(() => openTable(source, 'CSV'), { train: 0.5, validation: 0.3, test: 0.2, seed: 99, stratifyBy: 'label' }, { train: sink, validation: sink, test: sink });
    expect(again.train.result.digest).toBe(result.train.result.digest);
    expect(again.test.result.path).toBe(result.test.result.path);
  });

  it('fails every part when one part cannot be written, leaving no file in the store', async () => {
    const source = join(dir, 'in.csv');
    await writeFile(source, `id,value\n${Array.from({ length: 5000 }, (_, i) => `${i},${i === 4321 ? 'oops' : i}`).join('\n')}\n`);
    const store = new ArtifactStore(join(dir, 'store'));
    const sink = artifactSink(store, 'PARQUET');
    const error = await caught(
      splitTable(() => openTable(source, 'CSV'), { train: 0.6, validation: 0.2, test: 0.2, seed: 1, types: ['INTEGER', 'INTEGER'] }, { train: sink, validation: sink, test: sink }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toMatch(/column "value": "oops" is not a valid integer/);
    const left = await readdir(store.root, { recursive: true, withFileTypes: true });
    expect(left.filter((e) => e.isFile())).toEqual([]);
  });
});
