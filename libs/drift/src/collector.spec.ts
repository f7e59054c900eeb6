import { ValidationError } from '@modeltrail/contracts';
import { ColumnCollector, type FeatureSpec } from '@modeltrail/drift';

const features: FeatureSpec[] = [
  { name: 'age', kind: 'NUMERIC' },
  { name: 'plan', kind: 'CATEGORICAL' },
];

function thrown(work: () => void): ValidationError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('ColumnCollector', () => {
  it('collects numbers, numeric strings and categories in the header order, counting missing values', () => {
    const collector = new ColumnCollector(features);
    collector.header(['plan', 'age']);
    collector.add(['pro', 41]);
    collector.add(['free', ' 3.5 ']);
    collector.add([true, '-1e3']);
    collector.add([7, null]);
    collector.add([null, '']);
    collector.add(['', Number.NaN]);
    const current = collector.finish();
    expect(current.rows).toBe(6);
    expect(current.columns.get('age')).toEqual(Float64Array.of(41, 3.5, -1000));
    expect(current.columns.get('plan')).toEqual(['pro', 'free', 'true', '7']);
    expect(current.missing).toEqual(new Map([['age', 3], ['plan', 2]]));
  });

  it('grows past its first capacity', () => {
    const collector = new ColumnCollector([features[0]]);
    collector.header(['age']);
    for (let i = 0; i < 5_000; i++) collector.add([i]);
    const age = collector.finish().columns.get('age') as Float64Array;
    expect(age.length).toBe(5_000);
    expect(age[4_999]).toBe(4_999);
  });

  it('names the columns missing from the batch and those not in the reference', () => {
    const error = thrown(() => new ColumnCollector(features).header(['age', 'id', 'ts']));
    expect(error.message).toBe("the batch does not match the reference's features (columns missing from the batch: plan; columns not in the reference: id, ts)");
    expect(error.details).toEqual({ missingColumns: ['plan'], extraColumns: ['id', 'ts'] });
    const lenient = new ColumnCollector(features, { ignoreExtraColumns: true });
    lenient.header(['id', 'age', 'plan']);
    lenient.add([1, 2, 'x']);
    expect(lenient.finish().columns.get('age')).toEqual(Float64Array.of(2));
    expect(thrown(() => new ColumnCollector(features).header(['age', 'plan', 'age'])).message).toBe('the batch repeats the column(s) age');
  });

  it('names the feature, the row and the value of a non-numeric cell', () => {
    const collector = new ColumnCollector(features);
    collector.header(['age', 'plan']);
    collector.add([30, 'pro']);
    const error = thrown(() => collector.add(['thirty', 'pro']));
    expect(error.message).toBe('numeric feature age has the non-numeric value "thirty" in row 2');
    expect(error.details).toEqual({ feature: 'age', row: 2, value: 'thirty' });
    expect(thrown(() => collector.add([true, 'pro'])).message).toBe('numeric feature age has the non-numeric value true in row 3');
    expect(thrown(() => collector.add(['0x10', 'pro'])).message).toBe('numeric feature age has the non-numeric value "0x10" in row 4');
    expect(thrown(() => collector.add([Infinity, 'pro'])).message).toBe('numeric feature age has the non-numeric value Infinity in row 5');
    expect(thrown(() => collector.add([1])).message).toBe('row 6 has 1 cells where the header names 2 columns');
  });

  it('rejects an empty batch', () => {
    const collector = new ColumnCollector(features);
    collector.header(['age', 'plan']);
    expect(thrown(() => collector.finish()).message).toBe('the batch is empty: it has no rows');
  });
});
