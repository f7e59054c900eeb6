import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CleaningStep, type ColumnType, ValidationError } from '@modeltrail/contracts';
import { ArtifactStore } from '@modeltrail/artifacts';
import { openTable, type Cell, type Row, type Table } from '@modeltrail/tabular';
import { cleanTable, Hash128Set, planCleaning } from './clean';
import { artifactSink, type RowSink } from './writer';

/** An in-memory table that can be opened again and again (fresh row arrays each time), counting opens and full reads. */
function memory(columns: string[], rows: Cell[][]) {
  const stats = { opens: 0, reads: 0 };
  const open = async (): Promise<Table> => {
    stats.opens++;
    async function* iterate(): AsyncGenerator<Row> {
      stats.reads++;
      for (const row of rows) yield [...row];
    }
    return { format: 'CSV', columns, rows: iterate() };
  };
  return { open, stats };
}

const collect: RowSink<{ columns: string[]; rows: Row[]; types: ColumnType[] | undefined }> = async (columns, rows, types) => {
  const out: Row[] = [];
  for await (const row of rows) out.push([...row]);
  return { columns: [...columns], rows: out, types: types ? [...types] : undefined };
};

async function clean(columns: string[], rows: Cell[][], steps: CleaningStep[], types?: ColumnType[]) {
  const table = memory(columns, rows);
  const cleaned = await cleanTable(table.open, steps, collect, { types });
  return { ...cleaned, out: cleaned.result.rows, opens: table.stats.opens, reads: table.stats.reads };
}

function caught(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: Error) => error,
  );
}

const people = ['id', 'age', 'city', 'score'];
const peopleRows: Cell[][] = [
  ['1', '30', 'Paris', '1.5'],
  ['2', null, 'Lyon', '2.5'],
  ['3', '40', null, null],
  ['4', '50', 'Paris', '4'],
  ['5', null, null, '5'],
];

describe('DROP_MISSING', () => {
  it('drops rows missing any listed column', async () => {
    const r = await clean(people, peopleRows, [{ type: 'DROP_MISSING', columns: ['age'] }]);
    expect(r.out).toEqual([peopleRows[0], peopleRows[2], peopleRows[3]]);
    expect(r.steps).toEqual([{ step: 1, type: 'DROP_MISSING', rowsDropped: 2, cellsFilled: 0, cellsCast: 0, columnsDropped: 0, fillValue: null }]);
    expect(r.rowsIn).toBe(5);
    expect(r.rowsOut).toBe(3);
    expect(r.passes).toBe(1);
  });

  it('drops rows missing any column when none are listed', async () => {
    const r = await clean(people, peopleRows, [{ type: 'DROP_MISSING', columns: [] }]);
    expect(r.out).toEqual([peopleRows[0], peopleRows[3]]);
    expect(r.steps[0].rowsDropped).toBe(3);
  });
});

describe('FILL_MISSING', () => {
  it('fills with a constant, converted to the column type when known', async () => {
    const r = await clean(people, peopleRows, [{ type: 'FILL_MISSING', column: 'age', strategy: 'CONSTANT', value: '0' }], ['INTEGER', 'INTEGER', 'STRING', 'NUMBER']);
    expect(r.out.map((row) => row[1])).toEqual(['30', 0, '40', '50', 0]);
    expect(r.steps[0]).toMatchObject({ cellsFilled: 2, fillValue: 0 });
    expect(r.types).toEqual(['INTEGER', 'INTEGER', 'STRING', 'NUMBER']);

    const untyped = await clean(people, peopleRows, [{ type: 'FILL_MISSING', column: 'city', strategy: 'CONSTANT', value: 'unknown' }]);
    expect(untyped.out.map((row) => row[2])).toEqual(['Paris', 'Lyon', 'unknown', 'Paris', 'unknown']);
    expect(untyped.types).toBeNull();
  });

  it('refuses a constant that does not fit the known column type, before reading', async () => {
    const table = memory(people, peopleRows);
    const error = await caught(
      cleanTable(table.open, [{ type: 'FILL_MISSING', column: 'age', strategy: 'CONSTANT', value: 'n/a' }], collect, { types: ['INTEGER', 'INTEGER', 'STRING', 'NUMBER'] }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(
      'step 1 (FILL_MISSING CONSTANT): the value "n/a" does not fit column "age", whose type is INTEGER ("n/a" is not a valid integer); fill it with a value of that type, or CAST the column in an earlier step',
    );
    expect(table.stats.reads).toBe(0);
  });

  it('fills with the MEAN, MEDIAN and MODE of the values left by the steps before it', async () => {
    const rows: Cell[][] = [
      ['1', '10', 'a', 'drop'],
      ['2', null, 'b', 'keep'],
      ['3', '1', 'b', 'keep'],
      ['4', '2', null, 'keep'],
      ['5', '6', 'c', 'keep'],
      ['6', '1000', 'c', null],
    ];
    // Without the first step the mean would be (10 + 1 + 2 + 6 + 1000) / 5; after dropping row 6 ...
    const steps: CleaningStep[] = [
      { type: 'DROP_MISSING', columns: ['flag'] },
      { type: 'FILL_MISSING', column: 'x', strategy: 'MEAN' },
    ];
    const mean = await clean(['id', 'x', 'cat', 'flag'], rows, steps);
    expect(mean.out.map((row) => row[1])).toEqual(['10', 4.75, '1', '2', '6']);
    expect(mean.steps[1]).toMatchObject({ cellsFilled: 1, fillValue: 4.75 });
    expect(mean.passes).toBe(2);

    const median = await clean(['id', 'x', 'cat', 'flag'], rows, [{ type: 'DROP_MISSING', columns: ['flag'] }, { type: 'FILL_MISSING', column: 'x', strategy: 'MEDIAN' }]);
    expect(median.out.map((row) => row[1])).toEqual(['10', 4, '1', '2', '6']);

    const droppedFirst = await clean(['id', 'x', 'cat', 'flag'], rows, [
      { type: 'DROP_DUPLICATES', columns: ['flag'] },
      { type: 'FILL_MISSING', column: 'x', strategy: 'MEDIAN' },
    ]);
    // Rows 1 ('drop'), 2 ('keep', x missing) and 6 (flag missing) remain: the median of 10 and 1000.
    expect(droppedFirst.out.map((row) => row[1])).toEqual(['10', 505, '1000']);

    const mode = await clean(['id', 'x', 'cat', 'flag'], rows, [
      { type: 'DROP_MISSING', columns: ['flag'] },
      { type: 'FILL_MISSING', column: 'cat', strategy: 'MODE' },
    ]);
    // After the drop: a, b, b, c — b is the most frequent (the dropped row 6 held another c).
    expect(mode.out.map((row) => row[2])).toEqual(['a', 'b', 'b', 'b', 'c']);
    expect(mode.steps[1]).toMatchObject({ cellsFilled: 1, fillValue: 'b' });
  });

  it('breaks MODE ties by the smallest text', async () => {
    const r = await clean(['v'], [['pear'], ['apple'], [null], ['pear'], ['apple'], ['zebra']], [{ type: 'FILL_MISSING', column: 'v', strategy: 'MODE' }]);
    expect(r.out.map((row) => row[0])).toEqual(['pear', 'apple', 'apple', 'pear', 'apple', 'zebra']);
  });

  it('takes the exact median of an odd and an even count, and widens an INTEGER column filled with a fraction to NUMBER', async () => {
    const odd = await clean(['v'], [['5'], [null], ['1'], ['3']], [{ type: 'FILL_MISSING', column: 'v', strategy: 'MEDIAN' }], ['INTEGER']);
    expect(odd.out).toEqual([['5'], [3], ['1'], ['3']]);
    expect(odd.types).toEqual(['INTEGER']);
    const even = await clean(['v'], [['4'], [null], ['1'], ['3'], ['10']], [{ type: 'FILL_MISSING', column: 'v', strategy: 'MEDIAN' }], ['INTEGER']);
    expect(even.out.map((row) => row[0])).toEqual(['4', 3.5, '1', '3', '10']);
    expect(even.types).toEqual(['NUMBER']);
  });

  it('refuses MEAN or MEDIAN of a column known not to be numeric, before reading', async () => {
    const table = memory(people, peopleRows);
    const error = await caught(cleanTable(table.open, [{ type: 'FILL_MISSING', column: 'city', strategy: 'MEAN' }], collect, { types: ['INTEGER', 'INTEGER', 'STRING', 'NUMBER'] }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toMatch(/^step 1 \(FILL_MISSING MEAN\): column "city" holds string values, not numbers; MEAN needs a numeric column/);
    expect(table.stats.reads).toBe(0);
  });

  it('refuses MEDIAN of a column that turns out not to be numeric, naming the row and value', async () => {
    const error = await caught(clean(people, peopleRows, [{ type: 'DROP_MISSING', columns: ['score'] }, { type: 'FILL_MISSING', column: 'city', strategy: 'MEDIAN' }]));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(
      'step 2 (FILL_MISSING MEDIAN): column "city" is not numeric: row 1 holds "Paris"; MEDIAN needs numbers (fill with MODE or a CONSTANT, or drop or cast the other values first)',
    );
  });

  it('fills nothing on a table without rows', async () => {
    const r = await clean(['v'], [], [{ type: 'FILL_MISSING', column: 'v', strategy: 'MEDIAN' }]);
    expect(r.out).toEqual([]);
    expect(r.steps[0]).toMatchObject({ cellsFilled: 0, fillValue: null });
  });

  it('refuses a statistic fill of a column with no values left', async () => {
    const some = await clean(['a', 'b'], [['1', null], [null, null], ['3', '9']], [{ type: 'DROP_MISSING', columns: ['a'] }, { type: 'FILL_MISSING', column: 'b', strategy: 'MEAN' }]);
    expect(some.out).toEqual([
      ['1', 9],
      ['3', '9'],
    ]);
    const none = await caught(clean(['a', 'b'], [['1', null], [null, '2']], [{ type: 'DROP_MISSING', columns: ['a'] }, { type: 'FILL_MISSING', column: 'b', strategy: 'MEAN' }]));
    expect(none).toBeInstanceOf(ValidationError);
    expect(none.message).toBe('step 2 (FILL_MISSING MEAN): column "b" has no values left after the steps before it, so there is no mean to fill its 1 missing cell with; use a CONSTANT fill');
  });

  it('computes independent statistics in one pass and dependent ones in separate passes', async () => {
    const rows: Cell[][] = [
      ['1', null, 'x'],
      [null, '4', 'y'],
      ['3', '8', null],
    ];
    const shared = await clean(['a', 'b', 'c'], rows, [
      { type: 'FILL_MISSING', column: 'a', strategy: 'MEAN' },
      { type: 'FILL_MISSING', column: 'b', strategy: 'MEAN' },
      { type: 'FILL_MISSING', column: 'c', strategy: 'MODE' },
    ]);
    expect(shared.out).toEqual([
      ['1', 6, 'x'],
      [2, '4', 'y'],
      ['3', '8', 'x'],
    ]);
    expect(shared.passes).toBe(2);
    expect(shared.reads).toBe(2);

    // The DROP_MISSING on a sees a's filled cells: b's mean must wait for a's.
    const dependent = await clean(['a', 'b', 'c'], rows, [
      { type: 'FILL_MISSING', column: 'a', strategy: 'MEAN' },
      { type: 'DROP_MISSING', columns: ['a'] },
      { type: 'FILL_MISSING', column: 'b', strategy: 'MEAN' },
    ]);
    expect(dependent.out).toEqual([
      ['1', 6, 'x'],
      [2, '4', 'y'],
      ['3', '8', null],
    ]);
    expect(dependent.passes).toBe(3);
  });
});

describe('DROP_DUPLICATES', () => {
  const rows: Cell[][] = [
    ['1', 'a', 'x'],
    ['1', 'a', 'x'],
    ['2', 'a', 'y'],
    ['1', 'a', 'z'],
    [null, 'b', null],
    [null, 'b', null],
    ['', 'b', null],
  ];

  it('keeps the first of equal whole rows (missing equal only to missing)', async () => {
    const r = await clean(['k', 'g', 'v'], rows, [{ type: 'DROP_DUPLICATES', columns: [] }]);
    expect(r.out).toEqual([rows[0], rows[2], rows[3], rows[4], rows[6]]);
    expect(r.steps[0].rowsDropped).toBe(2);
  });

  it('compares only the listed columns', async () => {
    const r = await clean(['k', 'g', 'v'], rows, [{ type: 'DROP_DUPLICATES', columns: ['g'] }]);
    expect(r.out).toEqual([rows[0], rows[4]]);
    const two = await clean(['k', 'g', 'v'], rows, [{ type: 'DROP_DUPLICATES', columns: ['k', 'g'] }]);
    expect(two.out).toEqual([rows[0], rows[2], rows[4], rows[6]]);
  });

  it('compares cells by text, so a number and its text are equal', async () => {
    const r = await clean(['n'], [[1], ['1'], [1.5], ['1.50']], [{ type: 'DROP_DUPLICATES', columns: [] }]);
    expect(r.out).toEqual([[1], [1.5], ['1.50']]);
  });

  it('keeps a 128-bit hash set that grows and tells new keys from seen ones', () => {
    const set = new Hash128Set(16);
    const key = (i: number) => {
      const b = Buffer.alloc(16);
      b.writeUInt32LE(i * 2654435761 >>> 0, 0);
      b.writeUInt32LE(i, 12);
      return b;
    };
    let added = 0;
    for (let i = 0; i < 10_000; i++) if (set.add(key(i))) added++;
    let again = 0;
    for (let i = 0; i < 10_000; i += 7) if (set.add(key(i))) again++;
    expect([added, again, set.size]).toEqual([10_000, 0, 10_000]);
  });
});

describe('CAST', () => {
  it('converts every present cell and counts them', async () => {
    const r = await clean(people, peopleRows, [
      { type: 'CAST', column: 'age', to: 'INTEGER' },
      { type: 'CAST', column: 'score', to: 'NUMBER' },
      { type: 'CAST', column: 'id', to: 'STRING' },
    ], ['INTEGER', 'INTEGER', 'STRING', 'STRING']);
    expect(r.out).toEqual([
      ['1', 30, 'Paris', 1.5],
      ['2', null, 'Lyon', 2.5],
      ['3', 40, null, null],
      ['4', 50, 'Paris', 4],
      ['5', null, null, 5],
    ]);
    expect(r.steps.map((s) => s.cellsCast)).toEqual([3, 4, 5]);
    expect(r.types).toEqual(['STRING', 'INTEGER', 'STRING', 'NUMBER']);
  });

  it('fails on the first cell that cannot be cast, naming column, row and value, and leaves no output file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clean-'));
    try {
      const store = new ArtifactStore(dir);
      const rows: Cell[][] = Array.from({ length: 3000 }, (_, i) => [String(i + 1), i === 2499 ? 'twelve' : String(i % 90)]);
      const table = memory(['id', 'age'], rows);
      const error = await caught(cleanTable(table.open, [{ type: 'DROP_DUPLICATES', columns: ['id'] }, { type: 'CAST', column: 'age', to: 'INTEGER' }], artifactSink(store, 'CSV')));
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toBe('step 2 (CAST): column "age" cannot be cast to INTEGER: row 2500 holds "twelve", which is not a valid integer');
      expect((error as ValidationError).details).toEqual({ step: 2, column: 'age', row: 2500, value: 'twelve' });
      const left = await readdir(dir, { recursive: true, withFileTypes: true });
      expect(left.filter((e) => e.isFile())).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('DROP_COLUMNS', () => {
  it('removes the columns for the output and for the steps after it', async () => {
    const r = await clean(people, peopleRows, [
      { type: 'DROP_COLUMNS', columns: ['city', 'id', 'city'] },
      { type: 'DROP_MISSING', columns: [] },
    ], ['INTEGER', 'INTEGER', 'STRING', 'NUMBER']);
    expect(r.columns).toEqual(['age', 'score']);
    expect(r.result.columns).toEqual(['age', 'score']);
    expect(r.types).toEqual(['INTEGER', 'NUMBER']);
    expect(r.out).toEqual([
      ['30', '1.5'],
      ['50', '4'],
    ]);
    expect(r.steps.map((s) => [s.columnsDropped, s.rowsDropped])).toEqual([
      [2, 0],
      [0, 3],
    ]);
  });

  it('refuses a later step naming a removed column, and removing every column', async () => {
    const table = memory(people, peopleRows);
    const later = await caught(cleanTable(table.open, [{ type: 'DROP_COLUMNS', columns: ['age'] }, { type: 'FILL_MISSING', column: 'age', strategy: 'MEAN' }], collect));
    expect(later).toBeInstanceOf(ValidationError);
    expect(later.message).toBe('step 2 (FILL_MISSING MEAN) names column "age", which step 1 (DROP_COLUMNS) removed; put this step before it or keep the column');
    const every = await caught(cleanTable(table.open, [{ type: 'DROP_COLUMNS', columns: ['id', 'age', 'city', 'score'] }], collect));
    expect(every.message).toBe('step 1 (DROP_COLUMNS) would remove every column (id, age, city, score); at least one column must remain');
    expect(table.stats.reads).toBe(0);
  });
});

describe('unknown columns', () => {
  it('names the step and the unknown columns, with the columns there are, before reading', async () => {
    const table = memory(people, peopleRows);
    const error = await caught(cleanTable(table.open, [{ type: 'DROP_MISSING', columns: [] }, { type: 'DROP_DUPLICATES', columns: ['agee', 'nope'] }], collect));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('step 2 (DROP_DUPLICATES) names columns "agee" (did you mean "age"?), "nope" which do not exist; columns are: id, age, city, score');
    expect(() => planCleaning(people, [{ type: 'CAST', column: 'Score', to: 'NUMBER' }])).toThrow('step 1 (CAST) names column "Score" (did you mean "score"?) which does not exist');
    expect(table.stats.reads).toBe(0);
  });
});

describe('files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clean-files-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('cleans a CSV file into the artifact store, reading it again for statistics', async () => {
    const source = join(dir, 'in.csv');
    await writeFile(source, 'id,age,city\n1,30,"Paris, FR"\n2,,Lyon\n2,,Lyon\n3,41,\n');
    const store = new ArtifactStore(join(dir, 'store'));
    const cleaned = await cleanTable(
      () => openTable(source, 'CSV'),
      [
        { type: 'DROP_DUPLICATES', columns: [] },
        { type: 'FILL_MISSING', column: 'age', strategy: 'MEDIAN' },
        { type: 'FILL_MISSING', column: 'city', strategy: 'CONSTANT', value: 'unknown' },
      ],
      artifactSink(store, 'CSV'),
      { types: ['INTEGER', 'INTEGER', 'STRING'] },
    );
    expect(cleaned.rowsIn).toBe(4);
    expect(cleaned.rowsOut).toBe(3);
    expect(cleaned.result.result).toBe(3);
    expect(cleaned.types).toEqual(['INTEGER', 'NUMBER', 'STRING']);
    expect(await readFile(cleaned.result.path, 'utf8')).toBe('id,age,city\n1,30,"Paris, FR"\n2,35.5,Lyon\n3,41,unknown\n');
  });

  it('cleans a JSONL file into Parquet with the output types', async () => {
    const source = join(dir, 'in.jsonl');
    await writeFile(source, '{"id":1,"flag":"yes","v":"2.5"}\n{"id":2,"flag":null,"v":"3"}\n{"id":3,"flag":"no","v":null}\n');
    const store = new ArtifactStore(join(dir, 'store'));
    const cleaned = await cleanTable(
      () => openTable(source, 'JSONL'),
      [
        { type: 'CAST', column: 'v', to: 'NUMBER' },
        { type: 'FILL_MISSING', column: 'v', strategy: 'MEAN' },
        { type: 'DROP_COLUMNS', columns: ['flag'] },
      ],
      artifactSink(store, 'PARQUET'),
      { types: ['INTEGER', 'STRING', 'STRING'] },
    );
    expect(cleaned.types).toEqual(['INTEGER', 'NUMBER']);
    const back = await openTable(cleaned.result.path, 'PARQUET');
    const rows: Row[] = [];
    for await (const row of back.rows) rows.push(row);
    expect(back.columns).toEqual(['id', 'v']);
    expect(rows).toEqual([
      [1, 2.5],
      [2, 3],
      [3, 2.75],
    ]);
  });
});
