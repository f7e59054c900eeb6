import {
  mulberry32,
  ValidationError,
  type ColumnProfile,
  type ColumnSchema,
  type ColumnType,
  type DataFormat,
  type DatasetProfile,
} from '@modeltrail/contracts';
import { DigestTap, sha256File, type ByteDigest } from '@modeltrail/artifacts';
import { cellType, openTable, ownedText, rowBatches, widenType, type Cell, type Table } from '@modeltrail/tabular';
import { hash32 } from './digest';

/**
 * Schema inference and column profiles, in one streaming pass with bounded memory.
 *
 * Per column:
 * - type: the widened type (`widenType`) of the `cellType` of every present cell; a column with
 *   no present cell is STRING. `nullable` when at least one cell is missing.
 * - `distinct`: the number of distinct cell texts, exact while a column has at most
 *   `distinctLimit` of them (100,000 for up to 10 columns, fewer for wider tables, never below
 *   1,000); above that a HyperLogLog estimate (2^14 registers, about 0.8% standard error) and
 *   `distinctExact` false. Distinct counts compare text: "1" and "1.0" are two values.
 * - numeric columns (INTEGER, NUMBER): min, max, mean and the sample standard deviation (n - 1;
 *   0 for a single value) by Welford's method, all exact. Quantiles at 0.01, 0.05, 0.25, 0.5,
 *   0.75, 0.95, 0.99 and a 20-bin equal-width histogram over [min, max]: exact (quantiles
 *   interpolated linearly between the two nearest values) while the column has at most
 *   `exactValuesLimit` values (100,000 for up to 20 columns); above that, quantiles come from a
 *   KLL sketch (k = 256: rank error around 1% of the count) and the histogram from an
 *   exact-count adaptive histogram of 4,096 fine bins whose range doubles as values fall
 *   outside it, re-binned at the end by each fine bin's midpoint, so a value can only be counted
 *   in the neighbouring bin when it lies within one fine bin of a boundary. The counts always
 *   sum to the column's `count`. When min equals max, the histogram is the single bin
 *   [min, max].
 * - other columns (STRING, BOOLEAN, DATETIME): the 10 most frequent texts with their counts, most
 *   frequent first (ties by text). Exact while the distinct texts are counted exactly; above
 *   that a space-saving summary of 1,000 to 2,000 texts finds them, `exact` is false and each
 *   count is a lower bound (exact for a text that was never evicted from the summary; a column
 *   of unique texts shows counts of 1, not inflated ones).
 *
 * Memory does not grow with the number of rows: about 1,000,000 exact texts and 2,000,000 exact
 * numbers over all columns together (at least 1,000 of each per column), plus about 50 KiB of
 * sketches per column. Sketches use a fixed seed, so the same bytes always give the same
 * profile. (bench/dataset-profile-memory.ts profiles 1 GiB of CSV under a 256 MiB heap limit.)
 */

export interface ProfileOptions {
  /** Distinct texts counted exactly per column before switching to estimates. */
  readonly distinctLimit?: number;
  /** Values kept per numeric column for exact quantiles and histogram before switching to sketches. */
  readonly exactValuesLimit?: number;
}

export interface TableProfile {
  readonly rows: number;
  readonly schema: ColumnSchema[];
  readonly profile: DatasetProfile;
}

export interface FileProfile extends TableProfile {
  /** SHA-256 of the file's bytes, lowercase hexadecimal. */
  readonly digest: string;
  /** Bytes. */
  readonly size: number;
}

export const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;
export const HISTOGRAM_BINS = 20;
export const TOP_VALUES = 10;

/**
 * Digest, size, row count, schema and profile of a data file. CSV and JSONL are hashed while
 * their rows are parsed, in the same read (a JSONL file is read once more, before, for its
 * columns); a Parquet file is read by ranges, so its bytes are hashed by a second, concurrent
 * sequential read.
 */
export async function profileFile(path: string, format: DataFormat, options: ProfileOptions = {}): Promise<FileProfile> {
  if (format === 'PARQUET') {
    const table = await openTable(path, format);
    const [bytes, profile] = await Promise.all([sha256File(path), profileTable(table, options)]);
    return { ...bytes, ...profile };
  }
  const tap = new DigestTap();
  const table = await openTable(path, format, { onBytes: (chunk) => tap.update(chunk) });
  const profile = await profileTable(table, options);
  const bytes: ByteDigest = tap.result();
  return { ...bytes, ...profile };
}

/** Schema and profile of a table's rows, in one pass. */
export async function profileTable(table: Table, options: ProfileOptions = {}): Promise<TableProfile> {
  const width = table.columns.length;
  const distinctLimit = options.distinctLimit ?? clamp(Math.floor(1_000_000 / Math.max(width, 1)), 1_000, 100_000);
  const exactValuesLimit = options.exactValuesLimit ?? clamp(Math.floor(2_000_000 / Math.max(width, 1)), 1_000, 100_000);
  const columns = table.columns.map((_name, index) => new ColumnAccumulator(distinctLimit, exactValuesLimit, index));
  let rows = 0;
  for await (const batch of rowBatches(table.rows)) {
    for (const row of batch) {
      rows++;
      if (row.length !== width) {
        throw new ValidationError(`row ${rows} has ${row.length} cells, the table has ${width} columns`);
      }
      for (let c = 0; c < width; c++) columns[c].add(row[c]);
    }
  }
  const profiles = columns.map((column, c) => column.result(table.columns[c]));
  return {
    rows,
    schema: profiles.map((p) => ({ name: p.name, type: p.type, nullable: p.missing > 0 })),
    profile: { rows, columns: profiles },
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

class ColumnAccumulator {
  private type: ColumnType | null = null;
  private count = 0;
  private missing = 0;
  private numeric: NumericAccumulator | null;
  private readonly values: ValueCounter;

  constructor(distinctLimit: number, exactValuesLimit: number, index: number) {
    this.numeric = new NumericAccumulator(exactValuesLimit, 0x9e3779b9 ^ index);
    this.values = new ValueCounter(distinctLimit);
  }

  add(cell: Cell): void {
    if (cell === null) {
      this.missing++;
      return;
    }
    this.count++;
    const text = typeof cell === 'string' ? cell : String(cell);
    // A text seen before cannot change the column's type: only new texts are typed.
    const seen = this.values.addExact(text);
    if (!seen && this.type !== 'STRING') this.type = widenType(this.type, cellType(cell));
    const numeric = this.type === 'INTEGER' || this.type === 'NUMBER';
    if (this.numeric !== null) {
      if (numeric) this.numeric.add(typeof cell === 'number' ? cell : Number(cell));
      else this.numeric = null;
    }
    if (!this.values.exact) this.values.addApproximate(text, !numeric);
  }

  result(name: string): ColumnProfile {
    const type = this.type ?? 'STRING';
    const numeric = type === 'INTEGER' || type === 'NUMBER';
    const distinct = this.values.distinct(this.count);
    return {
      name,
      type,
      count: this.count,
      missing: this.missing,
      distinct: distinct.value,
      distinctExact: distinct.exact,
      numeric: numeric && this.numeric !== null && this.count > 0 ? this.numeric.result() : null,
      categorical: numeric ? null : this.values.top(TOP_VALUES),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Distinct values and most frequent values
// ---------------------------------------------------------------------------------------------

/**
 * Exact counts per text up to a limit; then a HyperLogLog for the distinct count and a
 * space-saving summary for the most frequent texts. The summary is fed only while the column
 * is not numeric (numeric columns report no top values); should a column turn out not to be
 * numeric after the switch, its top values count only the texts from that point on.
 */
export class ValueCounter {
  private counts: Map<string, number> | null = new Map();
  private hll: HyperLogLog | null = null;
  private frequent: SpaceSaving | null = null;

  constructor(
    private readonly limit: number,
    private readonly summarySize = 1_000,
  ) {}

  /** Whether texts are still counted exactly. */
  get exact(): boolean {
    return this.counts !== null;
  }

  /**
   * Counts `text` while counting exactly; true when the text was seen before. False for a new
   * text, and always once the limit was passed (then call `addApproximate`).
   */
  addExact(text: string): boolean {
    const counts = this.counts;
    if (counts === null) return false;
    const count = counts.get(text);
    if (count !== undefined) {
      counts.set(text, count + 1);
      return true;
    }
    if (counts.size < this.limit) counts.set(ownedText(text), 1);
    else this.overflow(counts);
    return false;
  }

  /** Counts `text` once the exact limit was passed; `frequent` feeds the top-values summary too. */
  addApproximate(text: string, frequent: boolean): void {
    this.hll!.add(text);
    if (frequent) this.frequent!.add(text);
  }

  distinct(count: number): { value: number; exact: boolean } {
    if (this.counts !== null) return { value: this.counts.size, exact: true };
    // At least one more than the exact limit was seen; never more than the values counted.
    return { value: clamp(Math.round(this.hll!.estimate()), this.limit + 1, count), exact: false };
  }

  top(n: number): { topValues: { value: string; count: number }[]; exact: boolean } {
    const entries = this.counts !== null ? [...this.counts] : this.frequent!.entries();
    return { topValues: largest(entries, n).map(([value, count]) => ({ value, count })), exact: this.counts !== null };
  }

  private overflow(counts: Map<string, number>): void {
    const hll = new HyperLogLog();
    for (const text of counts.keys()) hll.add(text);
    this.hll = hll;
    this.frequent = new SpaceSaving(this.summarySize, counts);
    this.counts = null;
  }
}

/** The n entries with the largest counts, largest first, ties by text. */
function largest(entries: [string, number][], n: number): [string, number][] {
  return entries.sort(byCountThenText).slice(0, n);
}

function byCountThenText(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/**
 * Space-saving (Metwally et al.) with batched eviction: up to 2m counters; when they are full,
 * the m largest are kept, and a new text starts at the largest count evicted so far + 1 (its
 * possible undercount, remembered as its error). Every text whose true count exceeds that floor
 * stays in the summary. `entries` reports count − error: what was counted since the text
 * entered the summary, a lower bound of its true count that is exact for texts never evicted.
 */
export class SpaceSaving {
  private readonly counts = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private floor = 0;

  constructor(
    private readonly size: number,
    seed?: Map<string, number>,
  ) {
    if (seed) {
      for (const [text, count] of seed) this.counts.set(text, count);
      if (this.counts.size > 2 * size) this.prune();
    }
  }

  add(text: string): void {
    const count = this.counts.get(text);
    if (count !== undefined) {
      this.counts.set(text, count + 1);
      return;
    }
    const owned = ownedText(text);
    this.counts.set(owned, this.floor + 1);
    if (this.floor > 0) this.errors.set(owned, this.floor);
    if (this.counts.size > 2 * this.size) this.prune();
  }

  /** Texts with their guaranteed counts (see the class comment). */
  entries(): [string, number][] {
    return [...this.counts].map(([text, count]) => [text, count - (this.errors.get(text) ?? 0)]);
  }

  /** Keeps the m largest counts (selected by sorting the counts only, not the entries). */
  private prune(): void {
    const counts = Float64Array.from(this.counts.values()).sort();
    const threshold = counts[counts.length - this.size];
    let ties = 0;
    for (let i = counts.length - this.size; i < counts.length && counts[i] === threshold; i++) ties++;
    this.floor = Math.max(this.floor, threshold);
    for (const [text, count] of this.counts) {
      if (count > threshold) continue;
      if (count === threshold && ties > 0) ties--;
      else {
        this.counts.delete(text);
        this.errors.delete(text);
      }
    }
  }
}

/** HyperLogLog with 2^14 one-byte registers over a 32-bit hash (Flajolet et al., with the small-range correction). */
export class HyperLogLog {
  private static readonly P = 14;
  private readonly registers = new Uint8Array(1 << HyperLogLog.P);

  add(text: string): void {
    const hash = hash32(text, 0x5bd1e995);
    const index = hash >>> (32 - HyperLogLog.P);
    const rest = (hash << HyperLogLog.P) >>> 0;
    const rank = rest === 0 ? 32 - HyperLogLog.P + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[index]) this.registers[index] = rank;
  }

  estimate(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) {
      sum += 2 ** -this.registers[i];
      if (this.registers[i] === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
    const two32 = 2 ** 32;
    if (raw > two32 / 30) return -two32 * Math.log(1 - raw / two32);
    return raw;
  }
}

// ---------------------------------------------------------------------------------------------
// Numeric summaries
// ---------------------------------------------------------------------------------------------

type NumericSummary = NonNullable<ColumnProfile['numeric']>;

export class NumericAccumulator {
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;
  private values: Float64Array | null = new Float64Array(1024);
  private sketch: Kll | null = null;
  private histogram: AdaptiveHistogram | null = null;

  constructor(
    private readonly exactLimit: number,
    private readonly seed: number,
  ) {}

  add(value: number): void {
    const n = ++this.n;
    const delta = value - this.mean;
    this.mean += delta / n;
    this.m2 += delta * (value - this.mean);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.values !== null) {
      if (n <= this.exactLimit) {
        if (n > this.values.length) {
          const grown = new Float64Array(Math.min(this.values.length * 2, this.exactLimit));
          grown.set(this.values);
          this.values = grown;
        }
        this.values[n - 1] = value;
        return;
      }
      this.startSketches(this.values.subarray(0, n - 1));
    }
    this.sketch!.add(value);
    this.histogram!.add(value);
  }

  result(): NumericSummary {
    const { n, min, max } = this;
    const stddev = n > 1 ? Math.sqrt(this.m2 / (n - 1)) : 0;
    const mean = Math.min(max, Math.max(min, this.mean));
    const summary = { min, max, mean, stddev: Number.isFinite(stddev) ? stddev : Number.MAX_VALUE };
    if (this.values !== null) {
      const sorted = this.values.slice(0, n).sort();
      return { ...summary, quantiles: QUANTILES.map((q) => ({ q, value: exactQuantile(sorted, q) })), histogram: exactHistogram(sorted, min, max) };
    }
    return {
      ...summary,
      quantiles: QUANTILES.map((q) => ({ q, value: Math.min(max, Math.max(min, this.sketch!.quantile(q))) })),
      histogram: this.histogram!.bins(min, max, HISTOGRAM_BINS),
    };
  }

  private startSketches(values: Float64Array): void {
    this.sketch = new Kll(256, mulberry32(this.seed));
    let low = Infinity;
    let high = -Infinity;
    for (const value of values) {
      if (value < low) low = value;
      if (value > high) high = value;
    }
    this.histogram = new AdaptiveHistogram(low, high);
    for (const value of values) {
      this.sketch.add(value);
      this.histogram.add(value);
    }
    this.values = null;
  }
}

/** Quantile of sorted values, interpolating linearly between the two nearest ranks (NumPy's default). */
export function exactQuantile(sorted: ArrayLike<number>, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** Equal-width bins over [min, max]; the last bin includes max. */
function equalBins(min: number, max: number, bins: number): { lower: number; upper: number; count: number }[] {
  if (min === max) return [{ lower: min, upper: max, count: 0 }];
  const width = (max - min) / bins;
  return Array.from({ length: bins }, (_unused, i) => ({ lower: min + i * width, upper: i === bins - 1 ? max : min + (i + 1) * width, count: 0 }));
}

function binOf(value: number, min: number, max: number, bins: number): number {
  if (min === max) return 0;
  const bin = Math.floor(((value - min) / (max - min)) * bins);
  return bin < 0 ? 0 : bin >= bins ? bins - 1 : bin;
}

function exactHistogram(values: ArrayLike<number>, min: number, max: number): { lower: number; upper: number; count: number }[] {
  const bins = equalBins(min, max, HISTOGRAM_BINS);
  for (let i = 0; i < values.length; i++) bins[binOf(values[i], min, max, bins.length)].count++;
  return bins;
}

/**
 * Exact counts in 4,096 fine equal-width bins whose range starts at the first values' [min, max]
 * and doubles (merging neighbouring bins in pairs) whenever a value falls outside it.
 */
export class AdaptiveHistogram {
  private static readonly BINS = 4096;
  private counts = new Float64Array(AdaptiveHistogram.BINS);
  private low: number;
  private width: number;

  constructor(min: number, max: number) {
    this.low = min;
    const span = max - min;
    this.width = span > 0 ? span / (AdaptiveHistogram.BINS - 1) : Math.max(Math.abs(min), 1) * 2 ** -30;
  }

  add(value: number): void {
    const bins = AdaptiveHistogram.BINS;
    let bin = Math.floor((value - this.low) / this.width);
    while (!(bin >= 0 && bin < bins)) {
      if (!Number.isFinite(this.width)) {
        bin = value < this.low ? 0 : bins - 1;
        break;
      }
      this.grow(value < this.low);
      bin = Math.floor((value - this.low) / this.width);
    }
    this.counts[bin]++;
  }

  /** Re-bins into `bins` equal-width bins over [min, max], each fine bin by its midpoint. */
  bins(min: number, max: number, bins: number): { lower: number; upper: number; count: number }[] {
    const out = equalBins(min, max, bins);
    for (let i = 0; i < this.counts.length; i++) {
      const count = this.counts[i];
      if (count === 0) continue;
      const middle = this.low + (i + 0.5) * this.width;
      out[binOf(Math.min(max, Math.max(min, middle)), min, max, out.length)].count += count;
    }
    return out;
  }

  private grow(downwards: boolean): void {
    const bins = AdaptiveHistogram.BINS;
    const merged = new Float64Array(bins);
    const shift = downwards ? bins / 2 : 0;
    for (let i = 0; i < bins; i++) merged[shift + (i >> 1)] += this.counts[i];
    if (downwards) this.low -= bins * this.width;
    this.width *= 2;
    this.counts = merged;
  }
}

/**
 * KLL quantile sketch (Karnin, Lang, Liberty 2016), after the reference implementation: levels
 * of compactors whose capacities shrink geometrically (factor 2/3) below the top; a full level
 * is sorted and every other item (random offset) moves up with twice the weight.
 */
export class Kll {
  /** Items per level, level h weighing 2^h; `lengths[h]` of `levels[h]` are in use. */
  private levels: Float64Array[] = [];
  private lengths: number[] = [];
  private capacities: number[] = [];
  private size = 0;
  private maxSize = 0;

  constructor(
    private readonly k: number,
    private readonly random: () => number,
  ) {
    this.grow();
  }

  add(value: number): void {
    const level = this.levels[0];
    if (this.lengths[0] === level.length) {
      const bigger = new Float64Array(level.length * 2);
      bigger.set(level);
      this.levels[0] = bigger;
    }
    this.levels[0][this.lengths[0]++] = value;
    if (++this.size >= this.maxSize) this.compress();
  }

  quantile(q: number): number {
    const items: [number, number][] = [];
    let total = 0;
    this.levels.forEach((level, height) => {
      const weight = 2 ** height;
      for (let i = 0; i < this.lengths[height]; i++) items.push([level[i], weight]);
      total += weight * this.lengths[height];
    });
    items.sort((a, b) => a[0] - b[0]);
    const target = q * total;
    let seen = 0;
    for (const [value, weight] of items) {
      seen += weight;
      if (seen >= target) return value;
    }
    return items[items.length - 1][0];
  }

  /**
   * Adds a level on top and re-plans capacities: k at the top, shrinking by 2/3 per level below,
   * but never under 64 (the reference goes down to 2): lower levels keep more items, which only
   * lowers the error, and level 0 is compacted every 32 values instead of every few.
   */
  private grow(): void {
    this.levels.push(new Float64Array(0));
    this.lengths.push(0);
    const top = this.levels.length - 1;
    this.capacities = this.levels.map((_level, height) => Math.max(64, Math.ceil((2 / 3) ** (top - height) * this.k) + 1));
    this.maxSize = this.capacities.reduce((sum, capacity) => sum + capacity, 0);
    // A level holds at most its capacity plus what the level below pushes up in one compaction.
    this.levels = this.levels.map((level, height) => {
      const room = this.capacities[height] + (height > 0 ? this.capacities[height - 1] : 0) + 2;
      if (level.length >= room) return level;
      const bigger = new Float64Array(room);
      bigger.set(level.subarray(0, this.lengths[height]));
      return bigger;
    });
  }

  private compress(): void {
    for (let height = 0; height < this.levels.length; height++) {
      const length = this.lengths[height];
      if (length < this.capacities[height]) continue;
      if (height + 1 >= this.levels.length) this.grow();
      const level = this.levels[height];
      level.subarray(0, length).sort();
      // With an odd count the smallest item stays at this level.
      const start = length % 2;
      let up = this.levels[height + 1];
      let top = this.lengths[height + 1];
      if (top + (length >> 1) + 1 > up.length) {
        // A level may run over its capacity until the next compaction reaches it.
        const bigger = new Float64Array(2 * (top + (length >> 1) + 1));
        bigger.set(up.subarray(0, top));
        up = this.levels[height + 1] = bigger;
      }
      let moved = 0;
      for (let i = start + (this.random() < 0.5 ? 0 : 1); i < length; i += 2, moved++) up[top++] = level[i];
      this.lengths[height + 1] = top;
      this.lengths[height] = start;
      this.size -= length - start - moved;
      if (this.size < this.maxSize) break;
    }
  }
}

