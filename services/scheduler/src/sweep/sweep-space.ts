import { mulberry32, type Params, type ParamValue, type SweepParameter, type SweepRange, type SweepSpace, type SweepStrategy, ValidationError } from '@modeltrail/contracts';

/**
 * Expansion of a sweep's parameter space into trials, pure and reproducible.
 *
 * Parameters are taken in sorted name order, never in the order the space object was written
 * (a JSONB column does not keep it), so a stored space expands the same way on every replica
 * and after every replay.
 *
 * GRID: every combination of the listed values, in odometer order: the first parameter by
 * name varies slowest, the last fastest; values in the order they were listed.
 * RANDOM: trial `i` draws each parameter from its own generator, seeded from the sweep's seed
 * and `i`, so trial `i` is the same whether or not trials before it were computed. Draws are
 * with replacement; floats are rounded to 6 significant digits (and kept within the range).
 */


/** The names of a space, in the order expansion goes through them. */
export function parameterNames(space: SweepSpace): string[] {
  return Object.keys(space).sort();
}

/**
 * The number of trials the sweep runs, or a ValidationError saying why the space cannot run:
 * empty, a range in a grid, a grid or a number of draws over `trialLimit`, or a `maxTrials`
 * that would cut a grid short.
 */
export function countTrials(strategy: SweepStrategy, space: SweepSpace, maxTrials: number | null, trialLimit: number): number {
  const names = parameterNames(space);
  if (names.length === 0) throw invalid('space', 'the space must define at least one parameter');
  for (const name of names) {
    const parameter = space[name];
    if (parameter.values !== null && parameter.values.length === 0) throw invalid(`space.${name}`, `parameter ${name} lists no values`);
    if (parameter.values === null && parameter.range === null) throw invalid(`space.${name}`, `parameter ${name} needs values or a range`);
  }
  if (strategy === 'GRID') {
    const ranged = names.filter((name) => space[name].values === null);
    if (ranged.length) throw invalid(`space.${ranged[0]}`, `a GRID sweep needs a list of values for ${ranged.join(', ')}; ranges are for RANDOM sweeps`);
    let size = 1;
    for (const name of names) {
      size *= space[name].values!.length;
      if (size > trialLimit) {
        const factors = names.map((n) => `${n} ${space[n].values!.length}`).join(' x ');
        throw invalid('space', `the grid has ${gridSize(space, names)} points (${factors}), more than the limit of ${trialLimit} trials: narrow the space or sample it with RANDOM`);
      }
    }
    if (maxTrials !== null && maxTrials < size) {
      throw invalid('maxTrials', `the grid has ${size} points but maxTrials is ${maxTrials}: a grid runs every point (leave maxTrials out, or sample ${maxTrials} points with RANDOM)`);
    }
    return size;
  }
  if (maxTrials === null) throw invalid('maxTrials', 'a RANDOM sweep needs maxTrials (the number of draws)');
  if (maxTrials < 1) throw invalid('maxTrials', `maxTrials must be at least 1, got ${maxTrials}`);
  if (maxTrials > trialLimit) throw invalid('maxTrials', `maxTrials ${maxTrials} is more than the limit of ${trialLimit} trials`);
  return maxTrials;
}

/** The params of trial `trial` (0-based). */
export function trialParams(strategy: SweepStrategy, space: SweepSpace, seed: number, trial: number): Params {
  const names = parameterNames(space);
  const params: Params = {};
  if (strategy === 'GRID') {
    let rest = trial;
    for (let i = names.length - 1; i >= 0; i -= 1) {
      const values = space[names[i]].values!;
      params[names[i]] = values[rest % values.length];
      rest = Math.floor(rest / values.length);
    }
    return Object.fromEntries(names.map((name) => [name, params[name]]));
  }
  const random = mulberry32(trialSeed(seed, trial));
  for (const name of names) params[name] = draw(space[name], random);
  return params;
}

/** The first `count` trials' params, in trial order. */
export function expandSpace(strategy: SweepStrategy, space: SweepSpace, seed: number, count: number): Params[] {
  return Array.from({ length: count }, (_, trial) => trialParams(strategy, space, seed, trial));
}

function trialSeed(seed: number, trial: number): number {
  const mix = mulberry32((seed ^ Math.imul(trial + 1, 0x85ebca6b)) >>> 0);
  return Math.floor(mix() * 4294967296) >>> 0;
}

function draw(parameter: SweepParameter, random: () => number): ParamValue {
  if (parameter.values !== null) return parameter.values[Math.min(parameter.values.length - 1, Math.floor(random() * parameter.values.length))];
  return drawRange(parameter.range!, random());
}

function drawRange(range: SweepRange, u: number): number {
  const { min, max } = range;
  if (range.int) {
    const lo = Math.ceil(min);
    const hi = Math.floor(max);
    if (range.log) return Math.min(hi, Math.floor(Math.exp(Math.log(lo) + u * (Math.log(hi + 1) - Math.log(lo)))));
    return Math.min(hi, lo + Math.floor(u * (hi - lo + 1)));
  }
  const value = range.log ? Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min))) : min + u * (max - min);
  return Math.min(max, Math.max(min, Number(value.toPrecision(6))));
}

function gridSize(space: SweepSpace, names: string[]): number {
  return names.reduce((size, name) => size * space[name].values!.length, 1);
}

function invalid(field: string, message: string): ValidationError {
  return new ValidationError(message, { field });
}
