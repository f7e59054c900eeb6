import * as crypto from 'node:crypto';
import { type CleaningStep, type ColumnType, ConflictError, ValidationError } from '@modeltrail/contracts';
import { castCell, CastError, cellText, cellType, numericValue, widenType, type Cell, type Row, type Table } from '@modeltrail/tabular';
import { checkColumns } from './validate';
import type { RowSink } from './writer';

/**
 * Cleaning: steps applied in order to a streamed table, each seeing the output of the one
 * before. Nothing is read before every step has been checked against the columns it will see
 * (a DROP_COLUMNS removes columns for the steps after it) and the column types when known.
 *
 * - DROP_MISSING drops a row with a missing cell in any of the listed columns (any column when
 *   none are listed).
 * - FILL_MISSING fills the missing cells of one column: with a CONSTANT (converted to the
 *   column's type when the type is known, and refused when it does not fit), or with the MEAN,
 *   MEDIAN or MODE of the column's present values *as the preceding steps leave them*. The mean
 *   and median need numbers; the mode is the most frequent value by text, ties going to the
 *   smallest text (in code-unit order), and is filled in as the first such cell seen.
 * - DROP_DUPLICATES keeps the first row of each group of rows equal on the listed columns (all
 *   columns when none are listed). Cells compare by text (`cellText`), a missing cell equal only
 *   to a missing cell.
 * - CAST converts every present cell of a column with `castCell`; the first cell that cannot be
 *   converted fails the whole operation, naming the column, the row and the value.
 * - DROP_COLUMNS removes columns; at least one column must remain.
 *
 * Row numbers in messages are 1-based data rows of the input (the CSV header is not a row).
 * The steps change the row arrays the table yields in place (each pass owns the rows it reads).
 *
 * Passes: a FILL_MISSING with MEAN, MEDIAN or MODE needs its statistic before the rows can be
 * written, so a statistics pass re-opens the table, runs the steps before it and collects the
 * column's values; then the output pass runs every step and streams the result to the sink.
 * Statistic fills share one statistics pass unless one depends on another (the later one reads
 * the earlier one's column, or a step between them does); in the worst case each takes a pass.
 *
 * Memory, beyond one row at a time: MEDIAN keeps the column's present values as 64-bit floats
 * (8 bytes per present value; exact median, sorted at the end of the pass). MODE keeps one
 * entry per distinct value (its text and a count). MEAN keeps a compensated sum. DROP_DUPLICATES
 * keeps a 128-bit hash (the first 128 bits of SHA-256 of the row's canonical text) per distinct
 * row in an open-addressing table: 16 bytes per slot at a load between 3/8 and 3/4, so about
 * 21–43 bytes per distinct row. Two different rows are taken for the same one with a
 * probability of about n² / 2^128 over n rows.
 * Time: every pass is linear in the rows, except MEDIAN's sort (n log n over the present values).
 */

/** What a step did, for the record of the cleaning. */
export interface StepCounts {
  /** 1-based position of the step. */
  readonly step: number;
  readonly type: CleaningStep['type'];
  readonly rowsDropped: number;
  readonly cellsFilled: number;
  readonly cellsCast: number;
  readonly columnsDropped: number;
  /** For FILL_MISSING: the value filled in (the constant, or the computed mean, median or mode); otherwise null. */
  readonly fillValue: Cell;
}

export interface CleaningResult<T> {
  /** What the sink returned. */
  readonly result: T;
  readonly rowsIn: number;
  readonly rowsOut: number;
  /** Columns of the output, in order. */
  readonly columns: string[];
  /** Types of the output columns, when the input types were given; otherwise null. */
  readonly types: ColumnType[] | null;
  readonly steps: StepCounts[];
  /** Times the table was read: statistics passes plus the output pass. */
  readonly passes: number;
}

export interface CleanOptions {
  /** Types of the input columns (aligned with the table's columns), e.g. from the version's schema. Needed to write Parquet. */
  readonly types?: readonly ColumnType[];
}

/** The checked steps, with the column positions each one works on. */
export interface CleaningPlan {
  readonly inputColumns: readonly string[];
  /** Columns after every step. */
  readonly columns: readonly string[];
  /** Types after every step, when the input types are known; a MEAN or MEDIAN fill of an INTEGER column counts as NUMBER here. */
  readonly types: readonly ColumnType[] | null;
  /** @internal */
  readonly planned: readonly PlannedStep[];
}

type PlannedStep = { readonly number: number; readonly label: string; readonly typesBefore: readonly ColumnType[] | null } & (
  | { readonly type: 'DROP_MISSING'; readonly at: readonly number[]; readonly names: readonly string[] | null }
  | { readonly type: 'FILL_MISSING'; readonly at: number; readonly column: string; readonly strategy: FillStrategy; readonly constant: Cell }
  | { readonly type: 'DROP_DUPLICATES'; readonly at: readonly number[]; readonly names: readonly string[] | null }
  | { readonly type: 'CAST'; readonly at: number; readonly column: string; readonly to: ColumnType }
  | { readonly type: 'DROP_COLUMNS'; readonly keep: readonly number[]; readonly names: readonly string[] }
);

type FillStrategy = Extract<CleaningStep, { type: 'FILL_MISSING' }>['strategy'];
const NUMERIC: readonly ColumnType[] = ['INTEGER', 'NUMBER'];

/**
 * Checks `steps` against the input `columns` (and `types`, when known) without reading any data,
 * and resolves the columns each step works on. Throws a ValidationError naming the step and
 * the problem.
 */
export function planCleaning(columns: readonly string[], steps: readonly CleaningStep[], types?: readonly ColumnType[]): CleaningPlan {
  if (types && types.length !== columns.length) throw new Error(`${columns.length} columns but ${types.length} column types`);
  let current = [...columns];
  let currentTypes: ColumnType[] | null = types ? [...types] : null;
  const droppedBy = new Map<string, number>();
  const planned: PlannedStep[] = [];

  steps.forEach((step, index) => {
    const number = index + 1;
    const label = `step ${number} (${step.type}${step.type === 'FILL_MISSING' ? ` ${step.strategy}` : ''})`;
    const names = step.type === 'FILL_MISSING' || step.type === 'CAST' ? [step.column] : step.columns;
    for (const name of names) {
      const by = droppedBy.get(name);
      if (by !== undefined && !current.includes(name)) {
        throw new ValidationError(`${label} names column "${name}", which step ${by} (DROP_COLUMNS) removed; put this step before it or keep the column`, {
          step: number,
          column: name,
        });
      }
    }
    checkColumns(current, [...names], label);
    const base = { number, label, typesBefore: currentTypes ? [...currentTypes] : null };
    switch (step.type) {
      case 'DROP_MISSING':
      case 'DROP_DUPLICATES': {
        const listed = unique(step.columns);
        const at = listed.length === 0 ? current.map((_, c) => c) : listed.map((name) => current.indexOf(name));
        planned.push({ ...base, type: step.type, at, names: listed.length === 0 ? null : listed });
        break;
      }
      case 'FILL_MISSING': {
        const at = current.indexOf(step.column);
        const type = currentTypes?.[at] ?? null;
        let constant: Cell = null;
        if (step.strategy === 'CONSTANT') {
          constant = constantFill(step.value ?? null, type, step.column, label, number);
        } else if ((step.strategy === 'MEAN' || step.strategy === 'MEDIAN') && type !== null && !NUMERIC.includes(type)) {
          throw new ValidationError(
            `${label}: column "${step.column}" holds ${type.toLowerCase()} values, not numbers; ${step.strategy} needs a numeric column (fill it with MODE or a CONSTANT, or CAST it to a number in an earlier step)`,
            { step: number, column: step.column },
          );
        }
        if (currentTypes && (step.strategy === 'MEAN' || step.strategy === 'MEDIAN')) currentTypes[at] = widenType(currentTypes[at], 'NUMBER');
        planned.push({ ...base, type: 'FILL_MISSING', at, column: step.column, strategy: step.strategy, constant });
        break;
      }
      case 'CAST': {
        const at = current.indexOf(step.column);
        if (currentTypes) currentTypes[at] = step.to;
        planned.push({ ...base, type: 'CAST', at, column: step.column, to: step.to });
        break;
      }
      case 'DROP_COLUMNS': {
        const drop = new Set(step.columns);
        if (drop.size >= current.length) {
          throw new ValidationError(`${label} would remove every column (${current.join(', ')}); at least one column must remain`, { step: number });
        }
        const keep = current.map((_, c) => c).filter((c) => !drop.has(current[c]));
        for (const name of drop) droppedBy.set(name, number);
        planned.push({ ...base, type: 'DROP_COLUMNS', keep, names: [...drop] });
        current = keep.map((c) => current[c]);
        if (currentTypes) currentTypes = keep.map((c) => (currentTypes as ColumnType[])[c]);
        break;
      }
      default: {
        const unknown: never = step;
        throw new ValidationError(`unknown cleaning step ${JSON.stringify(unknown)}`);
      }
    }
  });
  return { inputColumns: [...columns], columns: current, types: currentTypes, planned };
}

/**
 * Applies `steps` to the table `open` gives and streams the result to `sink`. `open` is called
 * once per pass (see the top of this file). Throws a ValidationError for a step that does not fit
 * the table (before reading any row) or a cell that cannot be cast or averaged (during a pass);
 * a failure during the output pass fails the sink's input, so a sink writing a file can remove it.
 */
export async function cleanTable<T>(open: () => Promise<Table>, steps: readonly CleaningStep[], sink: RowSink<T>, options: CleanOptions = {}): Promise<CleaningResult<T>> {
  let table: Table | null = await open();
  const plan = planCleaning(table.columns, steps, options.types);
  const reopen = async (): Promise<Table> => {
    if (table !== null) {
      const first = table;
      table = null;
      return first;
    }
    const next = await open();
    if (!sameColumns(next.columns, plan.inputColumns)) {
      throw new ConflictError(`the table changed while it was being cleaned: its columns were ${plan.inputColumns.join(', ')} and are now ${next.columns.join(', ')}`);
    }
    return next;
  };

  const fills = new Map<number, Cell>();
  for (const p of plan.planned) if (p.type === 'FILL_MISSING' && p.strategy === 'CONSTANT') fills.set(p.number, p.constant);
  let passes = 0;
  for (const batch of statisticBatches(plan.planned)) {
    passes++;
    await statisticsPass(await reopen(), plan, fills, batch);
  }

  const types = outputTypes(plan, fills);
  const stages = buildStages(plan.planned, fills, plan.planned.length, new Map());
  const source = await reopen();
  passes++;
  const totals = { rowsIn: 0, rowsOut: 0, done: false };
  const rows = cleanedRows(source, stages, totals);
  let result: T;
  try {
    result = await sink([...plan.columns], rows, types ?? undefined);
  } finally {
    await rows.return(undefined);
  }
  if (!totals.done) throw new Error('the sink returned before it had read every cleaned row');
  return { result, rowsIn: totals.rowsIn, rowsOut: totals.rowsOut, columns: [...plan.columns], types, steps: stages.map((s) => ({ ...s.counts })), passes };
}

// ---------------------------------------------------------------------------------------------
// Stages: one per step, run on each row in turn
// ---------------------------------------------------------------------------------------------

interface MutableCounts {
  step: number;
  type: CleaningStep['type'];
  rowsDropped: number;
  cellsFilled: number;
  cellsCast: number;
  columnsDropped: number;
  fillValue: Cell;
}

interface Stage {
  readonly counts: MutableCounts;
  /** The row after the step (possibly the same array, changed), or null when the step drops it. */
  run(row: Row, rowNumber: number): Row | null;
}

/** Statistic collectors, keyed by step number: they see the values of their column as the step receives them. */
type Taps = Map<number, Collector>;

/**
 * Stages for steps 1..`upTo`. A statistic fill whose value is not in `fills` yet passes rows
 * through unchanged (statistics passes only); a tap collects its input.
 */
function buildStages(planned: readonly PlannedStep[], fills: ReadonlyMap<number, Cell>, upTo: number, taps: Taps): Stage[] {
  return planned.slice(0, upTo).map((p) => {
    const counts: MutableCounts = { step: p.number, type: p.type, rowsDropped: 0, cellsFilled: 0, cellsCast: 0, columnsDropped: 0, fillValue: null };
    switch (p.type) {
      case 'DROP_MISSING': {
        const at = p.at;
        return {
          counts,
          run(row) {
            for (let i = 0; i < at.length; i++) {
              if (row[at[i]] === null) {
                counts.rowsDropped++;
                return null;
              }
            }
            return row;
          },
        };
      }
      case 'FILL_MISSING': {
        const at = p.at;
        const tap = taps.get(p.number);
        const known = fills.has(p.number);
        const value = known ? (fills.get(p.number) as Cell) : null;
        counts.fillValue = value;
        return {
          counts,
          run(row, rowNumber) {
            if (tap) tap.add(row[at], rowNumber);
            if (known && row[at] === null) {
              row[at] = value;
              counts.cellsFilled++;
            }
            return row;
          },
        };
      }
      case 'DROP_DUPLICATES': {
        const at = p.at;
        const seen = new Hash128Set();
        return {
          counts,
          run(row) {
            if (seen.add(rowKey(row, at))) return row;
            counts.rowsDropped++;
            return null;
          },
        };
      }
      case 'CAST': {
        const { at, to, column, label, number } = p;
        return {
          counts,
          run(row, rowNumber) {
            const cell = row[at];
            if (cell === null) return row;
            try {
              row[at] = castCell(cell, to);
            } catch (error) {
              if (!(error instanceof CastError)) throw error;
              throw new ValidationError(
                `${label}: column "${column}" cannot be cast to ${to}: row ${rowNumber} holds ${JSON.stringify(cell)}, which ${error.message.replace(/^"[^]*" is/, 'is')}`,
                { step: number, column, row: rowNumber, value: cell },
              );
            }
            counts.cellsCast++;
            return row;
          },
        };
      }
      case 'DROP_COLUMNS': {
        const keep = p.keep;
        counts.columnsDropped = p.names.length;
        return {
          counts,
          run(row) {
            const out: Row = new Array<Cell>(keep.length);
            for (let i = 0; i < keep.length; i++) out[i] = row[keep[i]];
            return out;
          },
        };
      }
      default: {
        const unknown: never = p;
        throw new Error(`unknown planned step ${JSON.stringify(unknown)}`);
      }
    }
  });
}

function runStages(stages: readonly Stage[], row: Row, rowNumber: number): Row | null {
  let current: Row | null = row;
  for (let s = 0; s < stages.length && current !== null; s++) current = stages[s].run(current, rowNumber);
  return current;
}

async function* cleanedRows(table: Table, stages: readonly Stage[], totals: { rowsIn: number; rowsOut: number; done: boolean }): AsyncGenerator<Row> {
  for await (const row of table.rows) {
    totals.rowsIn++;
    const out = runStages(stages, row, totals.rowsIn);
    if (out !== null) {
      totals.rowsOut++;
      yield out;
    }
  }
  totals.done = true;
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

/**
 * Groups the statistic fills into passes: a fill joins the pass of the fills before it when
 * none of them works on its column and no step between one of them and it reads that one's
 * column (so the unfilled cells cannot change what it sees).
 */
function statisticBatches(planned: readonly PlannedStep[]): PlannedStep[][] {
  const statistic = planned.filter((p) => p.type === 'FILL_MISSING' && p.strategy !== 'CONSTANT');
  const batches: PlannedStep[][] = [];
  let batch: PlannedStep[] = [];
  for (const next of statistic) {
    const independent = batch.every((earlier) => {
      const column = fillColumn(earlier);
      if (fillColumn(next) === column) return false;
      return planned.slice(earlier.number, next.number - 1).every((between) => !reads(between, column));
    });
    if (!independent) {
      batches.push(batch);
      batch = [];
    }
    batch.push(next);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function fillColumn(p: PlannedStep): string {
  if (p.type !== 'FILL_MISSING') throw new Error(`step ${p.number} is not a fill`);
  return p.column;
}

/** Whether what `p` does (or lets through) can depend on the cells of `column`. */
function reads(p: PlannedStep, column: string): boolean {
  switch (p.type) {
    case 'DROP_MISSING':
    case 'DROP_DUPLICATES':
      return p.names === null || p.names.includes(column);
    case 'FILL_MISSING':
    case 'CAST':
      return p.column === column;
    case 'DROP_COLUMNS':
      return false;
    default: {
      const unknown: never = p;
      throw new Error(`unknown planned step ${JSON.stringify(unknown)}`);
    }
  }
}

async function statisticsPass(table: Table, plan: CleaningPlan, fills: Map<number, Cell>, batch: readonly PlannedStep[]): Promise<void> {
  const taps: Taps = new Map();
  for (const p of batch) {
    if (p.type !== 'FILL_MISSING') continue;
    taps.set(p.number, collectorFor(p));
  }
  const last = batch[batch.length - 1].number;
  const stages = buildStages(plan.planned, fills, last, taps);
  let rowNumber = 0;
  for await (const row of table.rows) runStages(stages, row, ++rowNumber);
  for (const p of batch) fills.set(p.number, (taps.get(p.number) as Collector).result());
}

interface Collector {
  add(cell: Cell, rowNumber: number): void;
  /** The fill value; throws a ValidationError when there is none but cells to fill. */
  result(): Cell;
}

function collectorFor(p: Extract<PlannedStep, { type: 'FILL_MISSING' }>): Collector {
  const { column, label, number, strategy } = p;
  let missing = 0;
  const nothingToFillWith = (what: string) =>
    new ValidationError(
      `${label}: column "${column}" has no values left${number > 1 ? ' after the steps before it' : ''}, so there is no ${what} to fill its ${missing} missing ${missing === 1 ? 'cell' : 'cells'} with; use a CONSTANT fill`,
      { step: number, column },
    );
  const numeric = (cell: Exclude<Cell, null>, rowNumber: number): number => {
    const value = numericValue(cell);
    if (value === null) {
      throw new ValidationError(
        `${label}: column "${column}" is not numeric: row ${rowNumber} holds ${JSON.stringify(cell)}; ${strategy} needs numbers (fill with MODE or a CONSTANT, or drop or cast the other values first)`,
        { step: number, column, row: rowNumber, value: cell },
      );
    }
    return value;
  };
  switch (strategy) {
    case 'MEAN': {
      // Neumaier's compensated sum.
      let count = 0;
      let sum = 0;
      let compensation = 0;
      return {
        add(cell, rowNumber) {
          if (cell === null) {
            missing++;
            return;
          }
          const value = numeric(cell, rowNumber);
          count++;
          const t = sum + value;
          compensation += Math.abs(sum) >= Math.abs(value) ? sum - t + value : value - t + sum;
          sum = t;
        },
        result() {
          if (count === 0) {
            if (missing > 0) throw nothingToFillWith('mean');
            return null;
          }
          return (sum + compensation) / count;
        },
      };
    }
    case 'MEDIAN': {
      let values = new Float64Array(1024);
      let count = 0;
      return {
        add(cell, rowNumber) {
          if (cell === null) {
            missing++;
            return;
          }
          const value = numeric(cell, rowNumber);
          if (count === values.length) {
            const grown = new Float64Array(values.length * 2);
            grown.set(values);
            values = grown;
          }
          values[count++] = value;
        },
        result() {
          if (count === 0) {
            if (missing > 0) throw nothingToFillWith('median');
            return null;
          }
          const sorted = values.subarray(0, count).sort();
          const middle = count >> 1;
          return count % 2 === 1 ? sorted[middle] : sorted[middle - 1] / 2 + sorted[middle] / 2;
        },
      };
    }
    case 'MODE': {
      const counts = new Map<string, { count: number; cell: Cell }>();
      return {
        add(cell) {
          if (cell === null) {
            missing++;
            return;
          }
          const text = cellText(cell);
          const entry = counts.get(text);
          if (entry) entry.count++;
          else counts.set(copyText(text), { count: 1, cell: typeof cell === 'string' ? copyText(cell) : cell });
        },
        result() {
          let best: { text: string; count: number; cell: Cell } | null = null;
          for (const [text, entry] of counts) {
            if (best === null || entry.count > best.count || (entry.count === best.count && text < best.text)) best = { text, ...entry };
          }
          if (best === null) {
            if (missing > 0) throw nothingToFillWith('most frequent value');
            return null;
          }
          return best.cell;
        },
      };
    }
    case 'CONSTANT':
      throw new Error(`${label} is a constant fill: it needs no statistics`);
    default: {
      const unknown: never = strategy;
      throw new Error(`unknown fill strategy ${String(unknown)}`);
    }
  }
}

/** A copy of a string that does not keep alive the (possibly large) text it was cut from. */
function copyText(text: string): string {
  return text.length < 13 ? text : (' ' + text).slice(1);
}

/** Output column types once every fill value is known: a fill widens its column to the value's type. */
function outputTypes(plan: CleaningPlan, fills: ReadonlyMap<number, Cell>): ColumnType[] | null {
  const first = plan.planned[0]?.typesBefore ?? plan.types;
  if (first === null) return null;
  let types = [...first];
  for (const p of plan.planned) {
    switch (p.type) {
      case 'FILL_MISSING': {
        const value = fills.get(p.number) ?? null;
        if (value !== null) types[p.at] = widenType(types[p.at], cellType(value));
        break;
      }
      case 'CAST':
        types[p.at] = p.to;
        break;
      case 'DROP_COLUMNS':
        types = p.keep.map((c) => types[c]);
        break;
      case 'DROP_MISSING':
      case 'DROP_DUPLICATES':
        break;
      default: {
        const unknown: never = p;
        throw new Error(`unknown planned step ${JSON.stringify(unknown)}`);
      }
    }
  }
  return types;
}

/** A CONSTANT fill value, converted to the column's type when it is known. */
function constantFill(value: Cell, type: ColumnType | null, column: string, label: string, number: number): Cell {
  if (value === null) throw new ValidationError(`${label}: a CONSTANT fill needs a value`, { step: number, column });
  if (type === null) return value;
  try {
    return castCell(value, type);
  } catch (error) {
    if (!(error instanceof CastError)) throw error;
    throw new ValidationError(
      `${label}: the value ${JSON.stringify(value)} does not fit column "${column}", whose type is ${type} (${error.message}); fill it with a value of that type, or CAST the column in an earlier step`,
      { step: number, column, value },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Duplicate detection
// ---------------------------------------------------------------------------------------------

/**
 * A row's cells at `at` as one unambiguous text (each cell length-prefixed, a missing cell
 * marked apart from any text), hashed to 128 bits.
 */
function rowKey(row: Row, at: readonly number[]): Buffer {
  let text = '';
  for (let i = 0; i < at.length; i++) {
    const cell = row[at[i]];
    if (cell === null) {
      text += '~,';
    } else {
      const value = cellText(cell);
      text += value.length + ':' + value + ',';
    }
  }
  return sha256(text);
}

/** One-shot SHA-256 (`crypto.hash`, Node 20.12 and later, is about twice as fast as a Hash object per row). */
const sha256: (text: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'buffer')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest();

/** A set of 128-bit keys (the first 16 bytes of each buffer) in an open-addressing table with linear probing. */
export class Hash128Set {
  private slots: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(capacity = 1 << 10) {
    let size = 16;
    while (size < capacity) size *= 2;
    this.slots = new Uint32Array(size * 4);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Adds the key; returns false when it was there already. */
  add(key: Buffer): boolean {
    // The all-zero key marks an empty slot: the lowest bit of the last word is always set.
    const a = key.readUInt32LE(0);
    const b = key.readUInt32LE(4);
    const c = key.readUInt32LE(8);
    const d = (key.readUInt32LE(12) | 1) >>> 0;
    if (this.insert(a, b, c, d)) {
      this.count++;
      if (this.count * 4 > (this.mask + 1) * 3) this.grow();
      return true;
    }
    return false;
  }

  private insert(a: number, b: number, c: number, d: number): boolean {
    const slots = this.slots;
    let i = a & this.mask;
    for (;;) {
      const at = i * 4;
      if (slots[at + 3] === 0) {
        slots[at] = a;
        slots[at + 1] = b;
        slots[at + 2] = c;
        slots[at + 3] = d;
        return true;
      }
      if (slots[at] === a && slots[at + 1] === b && slots[at + 2] === c && slots[at + 3] === d) return false;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = this.mask * 2 + 1;
    for (let at = 0; at < old.length; at += 4) {
      if (old[at + 3] !== 0) this.insert(old[at], old[at + 1], old[at + 2], old[at + 3]);
    }
  }
}

// ---------------------------------------------------------------------------------------------

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}
