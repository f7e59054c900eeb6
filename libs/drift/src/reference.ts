import { endianness } from 'node:os';
import { z } from 'zod';
import { ValidationError } from '@modeltrail/contracts';
import { decileEdges, decileShares, distinctValues, meanAndStd, sketch, sortedPresent } from './sorted';
import {
  type BuildReferenceOptions,
  type CategoricalReference,
  type CurrentColumns,
  EXACT_REFERENCE_LIMIT,
  FEW_VALUES_LIMIT,
  type FeatureReference,
  type FeatureSpec,
  type NumericReference,
  type ReferenceProfile,
  SKETCH_POINTS,
} from './types';

/**
 * Freezes the reference profile of `specs` from the reference data (a model's training data,
 * by column; see CurrentColumns). Numeric features keep their present values sorted (all of
 * them up to `exactLimit`, a sketch of `sketchPoints` order statistics beyond), deciles, mean
 * and std computed from every value; categorical features keep their counts. NaNs and the
 * `missing` counts of `columns` are missing values. Throws ValidationError for a feature absent
 * from the data, of the wrong column type, with no present value, or with an infinite value.
 */
export function buildReference(specs: ReadonlyArray<FeatureSpec>, columns: CurrentColumns, options: BuildReferenceOptions = {}): ReferenceProfile {
  const exactLimit = options.exactLimit ?? EXACT_REFERENCE_LIMIT;
  const sketchPoints = options.sketchPoints ?? SKETCH_POINTS;
  if (!(Number.isInteger(exactLimit) && exactLimit >= 1)) throw new RangeError(`exactLimit must be a positive integer, got ${exactLimit}`);
  if (!(Number.isInteger(sketchPoints) && sketchPoints >= 2)) throw new RangeError(`sketchPoints must be an integer ≥ 2, got ${sketchPoints}`);
  checkSpecs(specs);
  const absent = specs.filter((s) => !columns.columns.has(s.name)).map((s) => s.name);
  if (absent.length) throw new ValidationError(`reference data lacks the feature column(s) ${absent.join(', ')}`, { missingColumns: absent });
  const features = specs.map((spec): FeatureReference => {
    const column = columns.columns.get(spec.name)!;
    const missing = columns.missing?.get(spec.name) ?? 0;
    return spec.kind === 'NUMERIC' ? numericReference(spec.name, column, missing, exactLimit, sketchPoints) : categoricalReference(spec.name, column, missing);
  });
  return { formatVersion: 1, rows: columns.rows, features };
}

function checkSpecs(specs: ReadonlyArray<FeatureSpec>): void {
  if (specs.length === 0) throw new ValidationError('a reference profile needs at least one feature');
  const seen = new Set<string>();
  for (const spec of specs) {
    if (spec.kind !== 'NUMERIC' && spec.kind !== 'CATEGORICAL') throw new ValidationError(`feature ${spec.name} has the unknown kind ${String(spec.kind)}: use NUMERIC or CATEGORICAL`);
    if (seen.has(spec.name)) throw new ValidationError(`feature ${spec.name} is listed twice`);
    seen.add(spec.name);
  }
}

function numericReference(name: string, column: Float64Array | string[], missing: number, exactLimit: number, sketchPoints: number): NumericReference {
  if (!(column instanceof Float64Array)) throw new ValidationError(`numeric feature ${name} needs a Float64Array column, got ${describe(column)}`);
  const { sorted, nans } = sortedPresent(column);
  if (sorted.length === 0) throw new ValidationError(`numeric feature ${name} has no value in the reference data (${column.length + missing} missing)`);
  checkFinite(name, sorted, 'reference data');
  const count = sorted.length;
  const edges = decileEdges(sorted);
  const { mean, std } = meanAndStd(sorted);
  const exact = count <= exactLimit;
  return {
    kind: 'NUMERIC',
    name,
    count,
    missing: missing + nans,
    exact,
    values: exact ? sorted : sketch(sorted, Math.min(sketchPoints, count)),
    decileEdges: edges,
    decileShares: decileShares(sorted, edges),
    mean,
    std,
    distinct: distinctValues(sorted, FEW_VALUES_LIMIT),
  };
}

function categoricalReference(name: string, column: Float64Array | string[], missing: number): CategoricalReference {
  if (!Array.isArray(column)) throw new ValidationError(`categorical feature ${name} needs a string[] column, got ${describe(column)}`);
  if (column.length === 0) throw new ValidationError(`categorical feature ${name} has no value in the reference data (${missing} missing)`);
  const counts = countCategories(column);
  return { kind: 'CATEGORICAL', name, count: column.length, missing, counts: Object.fromEntries(sortedEntries(counts)) };
}

/** Counts per category of a string column. */
export function countCategories(column: ReadonlyArray<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of column) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** Entries sorted by key in code-unit order (deterministic, locale-free). */
export function sortedEntries(counts: Map<string, number>): Array<[string, number]> {
  return [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Throws when a sorted, NaN-free column holds ±Infinity (its ends). */
export function checkFinite(name: string, sorted: Float64Array, where: string): void {
  if (sorted.length && (sorted[0] === -Infinity || sorted[sorted.length - 1] === Infinity)) {
    throw new ValidationError(`numeric feature ${name} holds an infinite value in the ${where}`);
  }
}

export function describe(column: unknown): string {
  if (Array.isArray(column)) return 'an array';
  if (ArrayBuffer.isView(column)) return column.constructor.name;
  return column === undefined ? 'nothing' : typeof column;
}

// ---------------------------------------------------------------------------------------------
// Binary form: "MTDR", u32 LE header length, the header as UTF-8 JSON, zero padding to a
// multiple of 8 bytes, then each numeric feature's values as little-endian float64, in order.

const MAGIC = Buffer.from('MTDR', 'ascii');
const PREFIX = 8;

const NumericHeader = z.strictObject({
  kind: z.literal('NUMERIC'),
  name: z.string(),
  count: z.number().int().positive(),
  missing: z.number().int().nonnegative(),
  exact: z.boolean(),
  valueCount: z.number().int().positive(),
  decileEdges: z.array(z.number()).length(9),
  decileShares: z.array(z.number().min(0).max(1)).length(10),
  mean: z.number(),
  std: z.number().nonnegative(),
  distinct: z.strictObject({ values: z.array(z.number()), counts: z.array(z.number().int().positive()) }).nullable(),
});
const CategoricalHeader = z.strictObject({
  kind: z.literal('CATEGORICAL'),
  name: z.string(),
  count: z.number().int().positive(),
  missing: z.number().int().nonnegative(),
  counts: z.array(z.tuple([z.string(), z.number().int().positive()])),
});
const Header = z.strictObject({
  formatVersion: z.literal(1),
  rows: z.number().int().nonnegative(),
  features: z.array(z.discriminatedUnion('kind', [NumericHeader, CategoricalHeader])).min(1),
});
type Header = z.output<typeof Header>;

/**
 * The profile as bytes: the same profile always gives the same bytes (fixed key order,
 * categories sorted by key), so it can be stored under its hash.
 */
export function encodeReference(profile: ReferenceProfile): Buffer {
  const header: Header = {
    formatVersion: 1,
    rows: profile.rows,
    features: profile.features.map((f) =>
      f.kind === 'NUMERIC'
        ? {
            kind: 'NUMERIC' as const,
            name: f.name,
            count: f.count,
            missing: f.missing,
            exact: f.exact,
            valueCount: f.values.length,
            decileEdges: f.decileEdges,
            decileShares: f.decileShares,
            mean: f.mean,
            std: f.std,
            distinct: f.distinct ? { values: f.distinct.values, counts: f.distinct.counts } : null,
          }
        : { kind: 'CATEGORICAL' as const, name: f.name, count: f.count, missing: f.missing, counts: sortedEntries(new Map(Object.entries(f.counts))) },
    ),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const valuesAt = align8(PREFIX + json.length);
  const numeric = profile.features.filter((f): f is NumericReference => f.kind === 'NUMERIC');
  const total = valuesAt + numeric.reduce((n, f) => n + f.values.length * 8, 0);
  const out = Buffer.alloc(total);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(json.length, 4);
  json.copy(out, PREFIX);
  let at = valuesAt;
  for (const f of numeric) {
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(f.values.buffer, f.values.byteOffset, f.values.byteLength), at);
      at += f.values.byteLength;
    } else {
      for (let i = 0; i < f.values.length; i++, at += 8) out.writeDoubleLE(f.values[i], at);
    }
  }
  return out;
}

/** The profile back from encodeReference's bytes; an Error naming the defect when they are not such bytes. */
export function decodeReference(bytes: Buffer): ReferenceProfile {
  const fail = (why: string): never => {
    throw new Error(`corrupt reference profile: ${why}`);
  };
  if (bytes.length < PREFIX || !bytes.subarray(0, 4).equals(MAGIC)) fail('it does not start with the MTDR mark');
  const headerLength = bytes.readUInt32LE(4);
  if (PREFIX + headerLength > bytes.length) fail(`its header of ${headerLength} bytes runs past the end (${bytes.length} bytes)`);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.subarray(PREFIX, PREFIX + headerLength).toString('utf8'));
  } catch (error) {
    fail(`its header is not JSON (${(error as Error).message})`);
  }
  const parsed = Header.safeParse(raw);
  if (!parsed.success) return fail(`its header is invalid: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  const header = parsed.data;
  let at = align8(PREFIX + headerLength);
  const expected = at + header.features.reduce((n, f) => n + (f.kind === 'NUMERIC' ? f.valueCount * 8 : 0), 0);
  if (bytes.length !== expected) fail(`it is ${bytes.length} bytes long where its header describes ${expected}`);
  const features = header.features.map((f): FeatureReference => {
    if (f.kind === 'CATEGORICAL') {
      const total = f.counts.reduce((n, [, c]) => n + c, 0);
      if (total !== f.count) fail(`feature ${f.name}'s category counts add up to ${total}, not ${f.count}`);
      return { kind: 'CATEGORICAL', name: f.name, count: f.count, missing: f.missing, counts: Object.fromEntries(f.counts) };
    }
    const values = readValues(bytes, at, f.valueCount);
    at += f.valueCount * 8;
    if (f.exact ? f.valueCount !== f.count : f.valueCount > f.count) fail(`feature ${f.name} holds ${f.valueCount} values for a count of ${f.count}`);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]) || (i > 0 && values[i] < values[i - 1])) fail(`feature ${f.name}'s values are not finite and ascending (at ${i})`);
    }
    if (f.distinct && f.distinct.values.length !== f.distinct.counts.length) fail(`feature ${f.name}'s distinct values and counts differ in length`);
    return {
      kind: 'NUMERIC',
      name: f.name,
      count: f.count,
      missing: f.missing,
      exact: f.exact,
      values,
      decileEdges: f.decileEdges,
      decileShares: f.decileShares,
      mean: f.mean,
      std: f.std,
      distinct: f.distinct,
    };
  });
  const names = new Set(features.map((f) => f.name));
  if (names.size !== features.length) fail('a feature is listed twice');
  return { formatVersion: 1, rows: header.rows, features };
}

const LITTLE_ENDIAN = endianness() === 'LE';

function readValues(bytes: Buffer, at: number, count: number): Float64Array {
  if (LITTLE_ENDIAN) {
    // A copy into a fresh, aligned buffer: the Buffer's own offset need not be a multiple of 8.
    const values = new Float64Array(count);
    new Uint8Array(values.buffer).set(bytes.subarray(at, at + count * 8));
    return values;
  }
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = bytes.readDoubleLE(at + i * 8);
  return values;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
