import { InvalidArgumentError } from 'commander';
import { cleaningStep, collect, formatOf, integer, isoTime, keyValue, metricFilter, paramFilter, runOrder, scalar, validationRule } from './args';
import { dataUri } from './commands/datasets';

describe('argument parsing', () => {
  it('reads parameter values as numbers, booleans or strings', () => {
    expect([scalar('0.01'), scalar('6'), scalar('-1e-3'), scalar('true'), scalar('false'), scalar('logloss'), scalar('1.2.3'), scalar('')]).toEqual([0.01, 6, -0.001, true, false, 'logloss', '1.2.3', '']);
    expect(keyValue('lr=0.01')).toEqual(['lr', 0.01]);
    expect(keyValue('name=a=b')).toEqual(['name', 'a=b']);
    expect(() => keyValue('=1')).toThrow(InvalidArgumentError);
    expect(collect(keyValue)('b=2', [['a', 1]])).toEqual([['a', 1], ['b', 2]]);
  });

  it('reads filters on parameters and metrics like the runs query takes them', () => {
    expect(paramFilter('lr=0.01')).toEqual({ key: 'lr', op: 'EQ', value: 0.01 });
    expect(paramFilter('depth>=6')).toEqual({ key: 'depth', op: 'GTE', value: 6 });
    expect(paramFilter('loss!=logloss')).toEqual({ key: 'loss', op: 'NE', value: 'logloss' });
    expect(metricFilter('val/accuracy>0.9')).toEqual({ key: 'val/accuracy', op: 'GT', value: 0.9 });
    expect(metricFilter('loss<=0.2')).toEqual({ key: 'loss', op: 'LTE', value: 0.2 });
    expect(() => metricFilter('accuracy>high')).toThrow(/not a number/);
    expect(() => paramFilter('lr')).toThrow(/not a comparison/);
    expect(runOrder('metric:accuracy')).toEqual({ field: 'METRIC', key: 'accuracy' });
    expect(runOrder('started_at')).toEqual({ field: 'STARTED_AT' });
    expect(() => runOrder('metric')).toThrow(/needs a key/);
    expect(() => runOrder('name')).toThrow(/not an order/);
  });

  it('reads validation rules and cleaning steps into the API\'s inputs', () => {
    expect(validationRule('not_null:age')).toEqual({ type: 'NOT_NULL', column: 'age' });
    expect(validationRule('range:charges:0:500')).toEqual({ type: 'RANGE', column: 'charges', min: 0, max: 500 });
    expect(validationRule('range:charges::500')).toEqual({ type: 'RANGE', column: 'charges', max: 500 });
    expect(validationRule('allowed:contract:a,b')).toEqual({ type: 'ALLOWED_VALUES', column: 'contract', values: ['a', 'b'] });
    expect(validationRule('regex:email:^[^:]+@x$')).toEqual({ type: 'REGEX', column: 'email', pattern: '^[^:]+@x$' });
    expect(validationRule('max_missing:age:0.2')).toEqual({ type: 'MAX_MISSING_FRACTION', column: 'age', fraction: 0.2 });
    expect(() => validationRule('max_missing:age:2')).toThrow(/out of range/);
    expect(() => validationRule('range:charges')).toThrow(/range:<column>:<min>:<max>/);
    expect(() => validationRule('not_null')).toThrow(/needs a column/);
    expect(() => validationRule('unique:id:extra')).toThrow(/takes a column only/);

    expect(cleaningStep('drop_duplicates')).toEqual({ type: 'DROP_DUPLICATES' });
    expect(cleaningStep('drop_missing:a,b')).toEqual({ type: 'DROP_MISSING', columns: ['a', 'b'] });
    expect(cleaningStep('fill_missing:age:median')).toEqual({ type: 'FILL_MISSING', column: 'age', strategy: 'MEDIAN' });
    expect(cleaningStep('fill_missing:plan:constant:basic')).toEqual({ type: 'FILL_MISSING', column: 'plan', strategy: 'CONSTANT', value: 'basic' });
    expect(cleaningStep('cast:age:integer')).toEqual({ type: 'CAST', column: 'age', to: 'INTEGER' });
    expect(() => cleaningStep('fill_missing:age:constant')).toThrow(/needs its value/);
    expect(() => cleaningStep('shuffle')).toThrow(/unknown step/);
  });

  it('checks numbers, times, formats and paths', () => {
    expect(integer(1, 200)('20')).toBe(20);
    expect(() => integer(1, 200)('0')).toThrow(/out of range/);
    expect(() => integer(1, 200)('2.5')).toThrow(/not an integer/);
    expect(isoTime('2026-11-01T12:00:00Z')).toBe('2026-11-01T12:00:00.000Z');
    expect(isoTime('2026-11-01T13:00:00+01:00')).toBe('2026-11-01T12:00:00.000Z');
    for (const bad of ['yesterday', '2026-11-01', '2026-13-45T99:00:00Z']) expect(() => isoTime(bad)).toThrow(InvalidArgumentError);
    expect([formatOf('a.csv'), formatOf('B.JSONL'), formatOf('x.parquet'), formatOf('s3://b/k.csv?v=1'), formatOf('data.txt')]).toEqual(['CSV', 'JSONL', 'PARQUET', 'CSV', undefined]);
    expect(dataUri('examples/a.csv', '/repo')).toBe('/repo/examples/a.csv');
    expect(dataUri('/data/a.csv', '/repo')).toBe('/data/a.csv');
    expect(dataUri('s3://bucket/a.csv', '/repo')).toBe('s3://bucket/a.csv');
  });
});
