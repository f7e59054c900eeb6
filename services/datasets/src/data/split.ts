import { createHash } from 'node:crypto';
import { type ColumnType, ConflictError, ValidationError } from '@modeltrail/contracts';
import { cellText, type Cell, type Row, type Table } from '@modeltrail/tabular';
import { checkColumns } from './validate';
import type { RowSink } from './writer';

/**
 * Splitting a table into train, validation and test parts, deterministically: the same rows and
 * the same seed always give the same rows in each part, and each part's size is exact.
 *
 * Sizes: the rows are divided by largest-remainder rounding of `fraction × rows` (the parts
 * with the largest fractional remainders get the rows left over, ties going to train, then
 * validation, then test; a part with fraction 0 never gets a row). With `stratifyBy`, each
 * stratum (each distinct value of that column by its text, the missing value being a stratum
 * of its own) is divided that way on its own, so every stratum is split in the given
 * proportions as nearly as its size allows. A part whose fraction is above 0 but which gets
 * no rows at all is refused, saying how many rows there are.
 *
 * Method: pass 1 counts the rows of each stratum. For each stratum, an array of part labels
 * with the exact sizes (k_train train labels, then validation, then test) is shuffled by
 * Fisher–Yates with xoshiro128** seeded from SHA-256 of (seed, stratum); the i-th row of the
 * stratum, in file order, goes to the i-th label. Pass 2 re-reads the table and streams each row
 * to its part's sink, in file order, the three sinks writing at the same time.
 *
 * Memory: one byte per row (the labels), plus one entry per distinct stratum value, plus up to
 * 1,024 rows waiting for each sink. Time: two linear passes.
 */

export const SPLIT_PARTS = ['train', 'validation', 'test'] as const;
export type SplitPartName = (typeof SPLIT_PARTS)[number];

export interface SplitOptions {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
  /** Any safe integer. */
  readonly seed: number;
  /** Column whose values are the strata; none when null or absent. */
  readonly stratifyBy?: string | null;
  /** Types of the table's columns, passed on to the sinks (needed to write Parquet). */
  readonly types?: readonly ColumnType[];
}

export type SplitSinks<T> = Readonly<Record<SplitPartName, RowSink<T>>>;

export interface SplitPartResult<T> {
  readonly rows: number;
  /** What the part's sink returned. */
  readonly result: T;
}

export type SplitResult<T> = {
  readonly rows: number;
  readonly columns: string[];
  /** Number of strata (1 without `stratifyBy`). */
  readonly strata: number;
} & Readonly<Record<SplitPartName, SplitPartResult<T>>>;

type Sizes = [number, number, number];

/** Rows that may wait for a sink before the reader pauses. */
const HIGH_WATER = 1024;

/** Checks the fractions, the seed and `stratifyBy` against the table's columns, without reading data. */
export function checkSplitOptions(columns: readonly string[], options: SplitOptions): void {
  const fractions = SPLIT_PARTS.map((part) => options[part]);
  SPLIT_PARTS.forEach((part, i) => {
    const f = fractions[i];
    if (typeof f !== 'number' || !Number.isFinite(f) || f < 0 || f > 1) {
      throw new ValidationError(`the ${part} fraction must be a number between 0 and 1, not ${String(f)}`, { field: part });
    }
  });
  const sum = fractions.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-9) {
    throw new ValidationError(`train, validation and test fractions must sum to 1; ${fractions.join(' + ')} = ${sum}`, { field: 'train' });
  }
  if (!Number.isSafeInteger(options.seed)) throw new ValidationError(`the seed must be an integer, not ${String(options.seed)}`, { field: 'seed' });
  if (options.stratifyBy != null) checkColumns(columns, [options.stratifyBy], 'stratifyBy');
  if (options.types && options.types.length !== columns.length) throw new Error(`${columns.length} columns but ${options.types.length} column types`);
}

/**
 * Sizes of the parts of `rows` rows by largest-remainder rounding of the fractions: they sum to
 * `rows`, and a part of fraction 0 gets 0.
 */
export function splitSizes(rows: number, fractions: readonly [number, number, number]): Sizes {
  const exact = fractions.map((f) => f * rows);
  const sizes = exact.map((x) => Math.floor(x + 1e-9)) as Sizes;
  let left = rows - sizes[0] - sizes[1] - sizes[2];
  const order = [0, 1, 2]
    .filter((i) => fractions[i] > 0)
    .sort((a, b) => exact[b] - sizes[b] - (exact[a] - sizes[a]) || a - b);
  for (let k = 0; left > 0 && order.length > 0; k = (k + 1) % order.length, left--) sizes[order[k]]++;
  // Rounding noise could leave a part one row above its share; take it back from the largest part.
  while (left < 0) {
    const largest = sizes.indexOf(Math.max(...sizes));
    sizes[largest]--;
    left++;
  }
  return sizes;
}

/**
 * Splits the table `open` gives (called twice: one pass to count, one to write) into the three
 * sinks. Throws a ValidationError for bad options (before reading) or a part that would be empty
 * against its fraction (after the first pass, before any sink is called). A failing sink or read
 * (e.g. a cell that does not fit its Parquet column) fails the other sinks' inputs too, before
 * any of them has seen the end of its rows, so that a sink writing to the artifact store stores
 * nothing for a split that fails.
 */
export async function splitTable<T>(open: () => Promise<Table>, options: SplitOptions, sinks: SplitSinks<T>): Promise<SplitResult<T>> {
  const first = await open();
  const columns = [...first.columns];
  checkSplitOptions(columns, options);
  const fractions: [number, number, number] = [options.train, options.validation, options.test];
  const at = options.stratifyBy != null ? columns.indexOf(options.stratifyBy) : -1;

  // Pass 1: rows per stratum.
  const counts = new Map<string, number>();
  let rows = 0;
  for await (const row of first.rows) {
    rows++;
    const key = at < 0 ? '' : stratumKey(row[at]);
    const count = counts.get(key);
    if (count === undefined) counts.set(copyText(key), 1);
    else counts.set(key, count + 1);
  }
  if (rows === 0) throw new ValidationError('the table has no rows to split');

  const strata = new Map<string, { labels: Uint8Array; next: number }>();
  const totals: Sizes = [0, 0, 0];
  for (const [key, count] of counts) {
    const sizes = splitSizes(count, fractions);
    sizes.forEach((size, i) => (totals[i] += size));
    strata.set(key, { labels: shuffledLabels(sizes, options.seed, key), next: 0 });
  }
  SPLIT_PARTS.forEach((part, i) => {
    if (fractions[i] > 0 && totals[i] === 0) {
      const where = at < 0 ? '' : ` in any of the ${counts.size} strata of "${options.stratifyBy}"`;
      throw new ValidationError(
        `the ${part} fraction ${fractions[i]} rounds to no rows${where}: the table has only ${rows} ${rows === 1 ? 'row' : 'rows'}; give ${part} a larger fraction, or 0 to leave it empty`,
        { field: part, rows },
      );
    }
  });

  // Pass 2: every row to its part.
  const second = await open();
  if (second.columns.length !== columns.length || second.columns.some((name, i) => name !== columns[i])) {
    throw new ConflictError(`the table changed while it was being split: its columns were ${columns.join(', ')} and are now ${second.columns.join(', ')}`);
  }
  const changed = () => new ConflictError('the table changed while it was being split: its rows are not the ones counted in the first pass');
  const results = await fanOut(second.rows, columns, options.types, sinks, (row) => {
    const stratum = strata.get(at < 0 ? '' : stratumKey(row[at]));
    if (stratum === undefined || stratum.next >= stratum.labels.length) throw changed();
    return stratum.labels[stratum.next++];
  }, () => {
    for (const stratum of strata.values()) if (stratum.next !== stratum.labels.length) throw changed();
  });
  return {
    rows,
    columns,
    strata: counts.size,
    train: { rows: totals[0], result: results[0] },
    validation: { rows: totals[1], result: results[1] },
    test: { rows: totals[2], result: results[2] },
  };
}

/** A stratum's key: the cell's text, apart from the missing value. */
function stratumKey(cell: Cell): string {
  return cell === null ? 'N' : 'V' + cellText(cell);
}

/** Part labels (0 train, 1 validation, 2 test) in the given sizes, shuffled by the seeded generator of the stratum. */
function shuffledLabels(sizes: Sizes, seed: number, key: string): Uint8Array {
  const labels = new Uint8Array(sizes[0] + sizes[1] + sizes[2]);
  labels.fill(1, sizes[0], sizes[0] + sizes[1]);
  labels.fill(2, sizes[0] + sizes[1]);
  const random = Xoshiro128.seeded(`modeltrail-split\u0000${seed}\u0000${key}`);
  for (let i = labels.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    const swap = labels[i];
    labels[i] = labels[j];
    labels[j] = swap;
  }
  return labels;
}

/** xoshiro128** (Blackman and Vigna), a small fast generator of 32-bit words. */
export class Xoshiro128 {
  private constructor(
    private a: number,
    private b: number,
    private c: number,
    private d: number,
  ) {}

  /** A generator whose state is the first 128 bits of SHA-256 of `text`. */
  static seeded(text: string): Xoshiro128 {
    const bytes = createHash('sha256').update(text, 'utf8').digest();
    const words = [0, 4, 8, 12].map((at) => bytes.readUInt32LE(at));
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
    return new Xoshiro128(words[0], words[1], words[2], words[3]);
  }

  /** The next 32-bit word, as an unsigned integer. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform integer in [0, n), for 0 < n ≤ 2^32 (rejection sampling: no modulo bias). */
  below(n: number): number {
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.next();
      if (x < limit) return x % n;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function copyText(text: string): string {
  return text.length < 13 ? text : (' ' + text).slice(1);
}

// ---------------------------------------------------------------------------------------------
// Fan-out: one stream of rows to three sinks at once, with backpressure
// ---------------------------------------------------------------------------------------------

/**
 * Reads `rows` once and hands each row to the sink `partOf` names, all three sinks running at
 * the same time. The reader waits while the receiving sink has HIGH_WATER rows waiting. The first
 * failure (of the reader, `partOf`, `atEnd` or any sink) fails every sink's input and is thrown
 * once every sink has settled. No sink sees the end of its rows before every sink has read all
 * of its own, so a failure on any row reaches all three sinks while they are still writing.
 */
async function fanOut<T>(
  rows: AsyncIterable<Row>,
  columns: readonly string[],
  types: readonly ColumnType[] | undefined,
  sinks: SplitSinks<T>,
  partOf: (row: Row) => number,
  atEnd: () => void,
): Promise<[T, T, T]> {
  // The end of every part is held back until all three sinks have read their last row, so that
  // a part failing on one of its rows fails the other parts too, before they can finish.
  let openGate: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  let drained = 0;
  const channels = SPLIT_PARTS.map(
    () =>
      new RowChannel(HIGH_WATER, gate, () => {
        if (++drained === SPLIT_PARTS.length) openGate();
      }),
  );
  let failure: { error: unknown } | null = null;
  const fail = (error: unknown) => {
    if (failure !== null) return;
    failure = { error };
    for (const channel of channels) channel.fail(error);
    openGate();
  };
  const runs = SPLIT_PARTS.map((part, i) =>
    Promise.resolve()
      .then(() => sinks[part](columns, channels[i], types))
      .then(
        (result) => {
          if (!channels[i].finished) fail(new Error(`the ${part} sink returned before it had read every row of its part`));
          channels[i].abandon();
          return result;
        },
        (error: unknown) => {
          fail(error);
          throw error;
        },
      ),
  );
  // Observed at once so that a sink failing while the reader waits is not an unhandled rejection.
  for (const run of runs) run.catch(() => undefined);

  try {
    for await (const row of rows) {
      if (failure !== null) break;
      const channel = channels[partOf(row)];
      channel.push(row);
      if (channel.full) await channel.space();
      if (failure !== null) break;
    }
    if (failure === null) atEnd();
  } catch (error) {
    fail(error);
  }
  if (failure === null) for (const channel of channels) channel.end();
  const settled = await Promise.allSettled(runs);
  if (failure !== null) throw (failure as { error: unknown }).error;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value) as [T, T, T];
}

/**
 * A bounded queue of rows read once by one consumer, as an async iterable. Once the queue is
 * ended and empty, the consumer's last read reports `drained` and waits for `gate` before it
 * returns the end of the rows (or the failure that came meanwhile).
 */
class RowChannel implements AsyncIterable<Row> {
  private queue: Row[] = [];
  private head = 0;
  private ended = false;
  private drained = false;
  private failure: { error: unknown } | null = null;
  private abandoned = false;
  private iterated = false;
  private consumerWaiting: (() => void) | null = null;
  private producerWaiting: (() => void) | null = null;

  constructor(
    private readonly highWater: number,
    private readonly gate: Promise<void>,
    private readonly onDrained: () => void,
  ) {}

  /** Whether the consumer read to the end. */
  finished = false;

  get full(): boolean {
    return !this.abandoned && this.failure === null && this.queue.length - this.head >= this.highWater;
  }

  push(row: Row): void {
    if (this.abandoned || this.ended || this.failure !== null) return;
    this.queue.push(row);
    this.wakeConsumer();
  }

  /** Resolves when the queue has room again (or the consumer is gone, or the channel failed). */
  space(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise<void>((resolve) => (this.producerWaiting = resolve));
  }

  end(): void {
    this.ended = true;
    this.wakeConsumer();
  }

  fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = { error };
    this.queue = [];
    this.head = 0;
    this.wakeConsumer();
    this.wakeProducer();
  }

  /** The consumer stopped reading: rows pushed from now on are dropped. */
  abandon(): void {
    this.abandoned = true;
    this.queue = [];
    this.head = 0;
    this.wakeProducer();
  }

  [Symbol.asyncIterator](): AsyncIterator<Row> {
    if (this.iterated) throw new Error('the rows of a split part can be read only once');
    this.iterated = true;
    return {
      next: async (): Promise<IteratorResult<Row>> => {
        for (;;) {
          if (this.failure !== null) throw this.failure.error;
          if (this.head < this.queue.length) {
            const row = this.queue[this.head];
            this.queue[this.head++] = undefined as unknown as Row;
            if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
              this.queue = this.queue.slice(this.head);
              this.head = 0;
            }
            if (this.queue.length - this.head <= this.highWater / 2) this.wakeProducer();
            return { value: row, done: false };
          }
          if (this.ended) {
            if (!this.drained) {
              this.drained = true;
              this.onDrained();
            }
            await this.gate;
            // A failure may have come while waiting.
            const failure = this.failure as { error: unknown } | null;
            if (failure !== null) throw failure.error;
            this.finished = true;
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (this.consumerWaiting = resolve));
        }
      },
      return: async (): Promise<IteratorResult<Row>> => {
        this.abandon();
        return { value: undefined, done: true };
      },
    };
  }

  private wakeConsumer(): void {
    const wake = this.consumerWaiting;
    this.consumerWaiting = null;
    wake?.();
  }

  private wakeProducer(): void {
    const wake = this.producerWaiting;
    this.producerWaiting = null;
    wake?.();
  }
}
