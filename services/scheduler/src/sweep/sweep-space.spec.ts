import { type SweepSpace, ValidationError } from '@modeltrail/contracts';
import { mulberry32 } from '@modeltrail/contracts';
import { countTrials, expandSpace, trialParams } from './sweep-space';

const values = (...list: Array<string | number | boolean>) => ({ values: list, range: null });
const range = (min: number, max: number, options: { log?: boolean; int?: boolean } = {}) => ({ values: null, range: { min, max, log: options.log ?? false, int: options.int ?? false } });

const grid: SweepSpace = { optimizer: values('adam', 'sgd'), lr: values(0.1, 0.01, 0.001), batch: values(32, 64) };
const randomSpace: SweepSpace = {
  lr: range(1e-5, 1e-1, { log: true }),
  layers: range(2, 8, { int: true }),
  width: range(16, 1024, { int: true, log: true }),
  dropout: range(0, 0.5),
  optimizer: values('adam', 'sgd', 'adamw'),
};

const errorOf = (fn: () => unknown): ValidationError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
};

describe('sweep space expansion', () => {
  it('uses the same mulberry32 as the rest of the project (same outputs for the same seed)', () => {
    const random = mulberry32(1);
    expect([random(), random(), random()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });

  it('expands a grid in odometer order over the sorted names: the last name varies fastest', () => {
    expect(countTrials('GRID', grid, null, 1_000)).toBe(12);
    const trials = expandSpace('GRID', grid, 0, 12);
    expect(trials.slice(0, 4)).toEqual([
      { batch: 32, lr: 0.1, optimizer: 'adam' },
      { batch: 32, lr: 0.1, optimizer: 'sgd' },
      { batch: 32, lr: 0.01, optimizer: 'adam' },
      { batch: 32, lr: 0.01, optimizer: 'sgd' },
    ]);
    expect(trials[11]).toEqual({ batch: 64, lr: 0.001, optimizer: 'sgd' });
    expect(new Set(trials.map((t) => JSON.stringify(t))).size).toBe(12);
  });

  it('does not depend on the order the space object was written in (JSONB keeps none)', () => {
    const reordered: SweepSpace = { batch: grid.batch, optimizer: grid.optimizer, lr: grid.lr };
    expect(expandSpace('GRID', reordered, 0, 12)).toEqual(expandSpace('GRID', grid, 0, 12));
    const randomReordered: SweepSpace = Object.fromEntries(Object.entries(randomSpace).reverse());
    expect(expandSpace('RANDOM', randomReordered, 7, 20)).toEqual(expandSpace('RANDOM', randomSpace, 7, 20));
  });

  it('draws random trials reproducibly from the seed, each trial on its own', () => {
    const a = expandSpace('RANDOM', randomSpace, 42, 50);
    expect(expandSpace('RANDOM', randomSpace, 42, 50)).toEqual(a);
    expect(trialParams('RANDOM', randomSpace, 42, 37)).toEqual(a[37]);
    expect(expandSpace('RANDOM', randomSpace, 43, 50)).not.toEqual(a);
    expect(new Set(a.map((t) => t.lr)).size).toBeGreaterThan(40);
  });

  it('keeps random draws inside their ranges, whole where asked, log-spread where asked', () => {
    const trials = expandSpace('RANDOM', randomSpace, 9, 500);
    for (const t of trials) {
      expect(t.lr as number).toBeGreaterThanOrEqual(1e-5);
      expect(t.lr as number).toBeLessThanOrEqual(1e-1);
      expect(Number.isInteger(t.layers)).toBe(true);
      expect(t.layers as number).toBeGreaterThanOrEqual(2);
      expect(t.layers as number).toBeLessThanOrEqual(8);
      expect(Number.isInteger(t.width)).toBe(true);
      expect(t.width as number).toBeGreaterThanOrEqual(16);
      expect(t.width as number).toBeLessThanOrEqual(1024);
      expect(t.dropout as number).toBeGreaterThanOrEqual(0);
      expect(t.dropout as number).toBeLessThanOrEqual(0.5);
      expect(['adam', 'sgd', 'adamw']).toContain(t.optimizer);
    }
    // Log-uniform: about a quarter of the draws per decade of the four.
    const belowMilli = trials.filter((t) => (t.lr as number) < 1e-3).length;
    expect(belowMilli / trials.length).toBeGreaterThan(0.4);
    expect(belowMilli / trials.length).toBeLessThan(0.6);
    expect(new Set(trials.map((t) => t.layers))).toEqual(new Set([2, 3, 4, 5, 6, 7, 8]));
  });

  it('refuses an empty space, a range in a grid, and a space over the trial limit, with clear messages', () => {
    expect(errorOf(() => countTrials('GRID', {}, null, 1_000)).message).toBe('the space must define at least one parameter');
    expect(errorOf(() => countTrials('GRID', { lr: range(0, 1) }, null, 1_000)).message).toBe('a GRID sweep needs a list of values for lr; ranges are for RANDOM sweeps');
    const big: SweepSpace = { a: values(...Array.from({ length: 20 }, (_, i) => i)), b: values(...Array.from({ length: 30 }, (_, i) => i)), c: values(1, 2) };
    const tooBig = errorOf(() => countTrials('GRID', big, null, 1_000));
    expect(tooBig.message).toBe('the grid has 1200 points (a 20 x b 30 x c 2), more than the limit of 1000 trials: narrow the space or sample it with RANDOM');
    expect(tooBig.details).toEqual({ field: 'space' });
    expect(errorOf(() => countTrials('GRID', grid, 5, 1_000)).message).toBe('the grid has 12 points but maxTrials is 5: a grid runs every point (leave maxTrials out, or sample 5 points with RANDOM)');
    expect(countTrials('GRID', grid, 12, 1_000)).toBe(12);
    expect(errorOf(() => countTrials('RANDOM', randomSpace, null, 1_000)).message).toBe('a RANDOM sweep needs maxTrials (the number of draws)');
    expect(errorOf(() => countTrials('RANDOM', randomSpace, 5_000, 1_000)).message).toBe('maxTrials 5000 is more than the limit of 1000 trials');
    expect(countTrials('RANDOM', randomSpace, 1_000, 1_000)).toBe(1_000);
    expect(errorOf(() => countTrials('RANDOM', { lr: { values: [], range: null } }, 3, 1_000)).message).toBe('parameter lr lists no values');
  });
});
