import { join } from 'node:path';
import { ValidationError, ValidationReport, type ValidationRule } from '@modeltrail/contracts';
import { openTable, type Row, type Table } from '@modeltrail/tabular';
import { checkColumns, Hash64Set, validateTable } from './validate';

const churn = join(__dirname, '../../../../examples/datasets/customer-churn.csv');

function table(columns: string[], rows: Row[]): Table {
  return {
    format: 'CSV',
    columns,
    rows: (async function* () {
      yield* rows;
    })(),
  };
}

// id, age, city, code: row numbers are 1-based data rows.
const columns = ['id', 'age', 'city', 'code'];
const rows: Row[] = [
  ['1', '34', 'Berlin', 'AB-1'],
  ['2', null, 'Paris', 'AB-2'],
  ['3', '150', 'berlin', 'ab-3'],
  ['2', '-1', null, 'AB-4'],
  ['5', 'old', 'Paris', null],
  ['6', '40', 'Rome', 'AB-6x'],
  ['1', null, 'Berlin', 'AB-7'],
];

async function validate(rules: ValidationRule[], data: Row[] = rows) {
  const report = await validateTable(table(columns, data), rules);
  expect(ValidationReport.parse(report)).toEqual(report);
  return report;
}

describe('validateTable', () => {
  it('NOT_NULL fails on missing cells', async () => {
    const failing = await validate([{ type: 'NOT_NULL', column: 'age' }]);
    expect(failing).toEqual({
      passed: false,
      rowsChecked: 7,
      results: [{ rule: { type: 'NOT_NULL', column: 'age' }, passed: false, failingRows: 2, exampleRows: [2, 7], observed: '2 of 7 rows are missing a value' }],
    });
    const passing = await validate([{ type: 'NOT_NULL', column: 'id' }]);
    expect(passing.passed).toBe(true);
    expect(passing.results[0]).toMatchObject({ passed: true, failingRows: 0, exampleRows: [], observed: 'no missing values in 7 rows' });
  });

  it('RANGE fails on numbers outside the bounds and on values that are not numbers, ignoring missing cells', async () => {
    const report = await validate([{ type: 'RANGE', column: 'age', min: 0, max: 120 }]);
    expect(report.results[0]).toMatchObject({
      passed: false,
      failingRows: 3,
      exampleRows: [3, 4, 5],
      observed: '2 values are outside [0, 120] (observed min -1, max 150); 1 value is not a number (e.g. "old")',
    });
    const lowOnly = await validate([{ type: 'RANGE', column: 'id', min: 2 }]);
    expect(lowOnly.results[0]).toMatchObject({ passed: false, failingRows: 2, exampleRows: [1, 7], observed: '2 values are outside ≥ 2 (observed min 1, max 6)' });
    const passing = await validate([{ type: 'RANGE', column: 'id', max: 6 }]);
    expect(passing.results[0]).toMatchObject({ passed: true, failingRows: 0, exampleRows: [], observed: 'all 7 values are within ≤ 6 (observed min 1, max 6)' });
  });

  it('ALLOWED_VALUES fails on present values outside the list, comparing text exactly', async () => {
    const report = await validate([{ type: 'ALLOWED_VALUES', column: 'city', values: ['Berlin', 'Paris'] }]);
    expect(report.results[0]).toMatchObject({
      passed: false,
      failingRows: 2,
      exampleRows: [3, 6],
      observed: '2 values are not allowed, e.g. "berlin", "Rome" (allowed: "Berlin", "Paris")',
    });
    const passing = await validate([{ type: 'ALLOWED_VALUES', column: 'city', values: ['Berlin', 'Paris', 'Rome', 'berlin'] }]);
    expect(passing.results[0]).toMatchObject({ passed: true, failingRows: 0, observed: 'every present value is one of the 4 allowed values' });
  });

  it('UNIQUE fails on every repeat of an earlier value, the first occurrence passing', async () => {
    const report = await validate([{ type: 'UNIQUE', column: 'id' }]);
    expect(report.results[0]).toMatchObject({ passed: false, failingRows: 2, exampleRows: [4, 7], observed: '2 values repeat a value of an earlier row, e.g. "2", "1"' });
    const passing = await validate([{ type: 'UNIQUE', column: 'code' }]);
    expect(passing.results[0]).toMatchObject({ passed: true, failingRows: 0, observed: 'all 6 present values are distinct' });
  });

  it('REGEX must match the whole value', async () => {
    const report = await validate([{ type: 'REGEX', column: 'code', pattern: 'AB-\\d' }]);
    expect(report.results[0]).toMatchObject({
      passed: false,
      failingRows: 2,
      exampleRows: [3, 6],
      observed: '2 values do not match ^(?:AB-\\d)$, e.g. "ab-3", "AB-6x"',
    });
    const alternatives = await validate([{ type: 'REGEX', column: 'city', pattern: 'Berlin|Paris|Rome|berlin' }]);
    expect(alternatives.results[0]).toMatchObject({ passed: true, failingRows: 0, observed: 'every present value matches ^(?:Berlin|Paris|Rome|berlin)$' });
  });

  it('MAX_MISSING_FRACTION compares missing cells / rows with the fraction', async () => {
    const failing = await validate([{ type: 'MAX_MISSING_FRACTION', column: 'age', fraction: 0.2 }]);
    expect(failing.results[0]).toMatchObject({ passed: false, failingRows: 2, exampleRows: [2, 7], observed: 'missing fraction 0.2857 (2 of 7 rows) > 0.2' });
    const passing = await validate([{ type: 'MAX_MISSING_FRACTION', column: 'age', fraction: 0.3 }]);
    expect(passing.results[0]).toMatchObject({ passed: true, failingRows: 2, exampleRows: [2, 7], observed: 'missing fraction 0.2857 (2 of 7 rows) ≤ 0.3' });
    const empty = await validate([{ type: 'MAX_MISSING_FRACTION', column: 'age', fraction: 0 }], []);
    expect(empty).toMatchObject({ passed: true, rowsChecked: 0 });
  });

  it('checks several rules in one pass; the report passes only when every rule does', async () => {
    const report = await validate([
      { type: 'NOT_NULL', column: 'id' },
      { type: 'UNIQUE', column: 'code' },
      { type: 'RANGE', column: 'age', min: 0 },
    ]);
    expect(report.results.map((r) => r.passed)).toEqual([true, true, false]);
    expect(report.passed).toBe(false);
    const good = await validate([
      { type: 'NOT_NULL', column: 'id' },
      { type: 'UNIQUE', column: 'code' },
    ]);
    expect(good.passed).toBe(true);
  });

  it('lists at most 10 example rows, the first ones in file order', async () => {
    const many: Row[] = Array.from({ length: 25 }, (_unused, i) => [String(i), i % 2 === 0 ? null : '1', 'x', 'y']);
    const report = await validate([{ type: 'NOT_NULL', column: 'age' }], many);
    expect(report.results[0]).toMatchObject({ failingRows: 13, exampleRows: [1, 3, 5, 7, 9, 11, 13, 15, 17, 19] });
  });

  it('validates a file as it streams: the customer-churn example has repeated customers', async () => {
    const report = await validateTable(await openTable(churn, 'CSV'), [
      { type: 'UNIQUE', column: 'customer_id' },
      { type: 'NOT_NULL', column: 'churned' },
      { type: 'ALLOWED_VALUES', column: 'contract', values: ['month-to-month', 'one-year', 'two-year'] },
      { type: 'MAX_MISSING_FRACTION', column: 'age', fraction: 0.05 },
    ]);
    expect(report.rowsChecked).toBe(306);
    expect(report.results.map((r) => [r.passed, r.failingRows])).toEqual([
      [false, 6],
      [true, 0],
      [true, 0],
      [true, 5],
    ]);
  });

  it('refuses rules on unknown columns, naming every one and the columns there are', async () => {
    await expect(
      validateTable(table(columns, rows), [
        { type: 'NOT_NULL', column: 'id' },
        { type: 'RANGE', column: 'agee', min: 0 },
        { type: 'UNIQUE', column: 'zip' },
      ]),
    ).rejects.toThrow(
      new ValidationError('rule 2 (RANGE) names column "agee" (did you mean "age"?) which does not exist; rule 3 (UNIQUE) names column "zip" which does not exist; columns are: id, age, city, code'),
    );
  });
});

describe('checkColumns', () => {
  it('accepts known columns', () => {
    expect(() => checkColumns(columns, ['id', 'city'], 'DROP_COLUMNS step 1')).not.toThrow();
  });

  it('names every unknown column, suggests near names and lists the columns', () => {
    expect(() => checkColumns(columns, ['agee'], 'rule 2 (RANGE)')).toThrow(
      new ValidationError('rule 2 (RANGE) names column "agee" (did you mean "age"?) which does not exist; columns are: id, age, city, code'),
    );
    expect(() => checkColumns(columns, ['CITY', 'zip', 'id', 'zip'], 'step 3 (DROP_COLUMNS)')).toThrow(
      new ValidationError('step 3 (DROP_COLUMNS) names columns "CITY" (did you mean "city"?), "zip" which do not exist; columns are: id, age, city, code'),
    );
    try {
      checkColumns(columns, ['x'], 'stratifyBy');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details).toEqual({ unknownColumns: ['x'] });
    }
  });

  it('shortens a very long column list', () => {
    const wide = Array.from({ length: 60 }, (_unused, i) => `c${i}`);
    expect(() => checkColumns(wide, ['nothing-like-it'], 'rule 1 (NOT_NULL)')).toThrow(/columns are: c0, c1, .*, c49, … and 10 more$/);
  });
});

describe('UNIQUE beyond the exact limit', () => {
  it('finds the same repeats with 64-bit hashes as with the texts', async () => {
    const many: Row[] = Array.from({ length: 5_000 }, (_unused, i) => [String(i % 4_000 === 17 ? 3 : i), null, null, i % 1_000 === 999 ? 'dup' : `c${i}`]);
    const rules: ValidationRule[] = [
      { type: 'UNIQUE', column: 'id' },
      { type: 'UNIQUE', column: 'code' },
    ];
    const exact = await validateTable(table(columns, many), rules);
    const hashed = await validateTable(table(columns, many), rules, { exactUniqueLimit: 100 });
    expect(hashed).toEqual(exact);
    expect(exact.results.map((r) => [r.failingRows, r.exampleRows])).toEqual([
      [2, [18, 4018]],
      [4, [2000, 3000, 4000, 5000]],
    ]);
  });

  it('Hash64Set tells new texts from repeated ones while it grows', () => {
    const set = new Hash64Set(16);
    let fresh = 0;
    let repeated = 0;
    for (let i = 0; i < 50_000; i++) if (set.add(`v${i}`)) fresh++;
    for (let i = 0; i < 50_000; i += 97) if (!set.add(`v${i}`)) repeated++;
    expect([fresh, repeated, set.size]).toEqual([50_000, 516, 50_000]);
  });
});
