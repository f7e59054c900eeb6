import { ValidationError } from '@modeltrail/contracts';
import type { CurrentColumns, FeatureSpec } from './types';

/** A cell as read from CSV, JSONL or Parquet, or sent inline. */
export type Cell = string | number | boolean | null | undefined;

export interface ColumnCollectorOptions {
  /** Let the batch carry columns that are not features (ids, timestamps, predictions); by default they are an error. */
  ignoreExtraColumns?: boolean;
}

/** A decimal number as CSV writes it: sign, digits with an optional point, optional exponent. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const INITIAL_CAPACITY = 1024;

interface Slot {
  feature: FeatureSpec;
  /** Index of the feature in the batch's header. */
  at: number;
  missing: number;
  numbers: Float64Array;
  size: number;
  strings: string[];
}

/**
 * Turns rows of cells into CurrentColumns for the reference's features: header() names the
 * batch's columns, add() takes one row in that order, finish() hands the columns over.
 *
 * Missing values are null, undefined, an empty (or blank) string and NaN: counted per feature,
 * left out of the values. In a numeric feature a number or a decimal string ("3.5", "-1e3") is
 * a value; anything else (a word, a boolean, an infinity) is an error naming the feature, the row
 * and the value. In a categorical feature a string is kept as it is, a number becomes its
 * shortest text (3 → "3") and a boolean "true" or "false". All errors are ValidationErrors.
 */
export class ColumnCollector {
  private slots: Slot[] | null = null;
  private width = 0;
  private rows = 0;

  constructor(
    private readonly features: ReadonlyArray<FeatureSpec>,
    private readonly options: ColumnCollectorOptions = {},
  ) {
    const names = new Set<string>();
    for (const f of features) {
      if (names.has(f.name)) throw new ValidationError(`feature ${f.name} is listed twice`);
      names.add(f.name);
    }
  }

  /** The batch's column names, once, before the rows. */
  header(columns: ReadonlyArray<string>): void {
    if (this.slots) throw new Error('ColumnCollector.header() was already called');
    const index = new Map<string, number>();
    const repeated = new Set<string>();
    columns.forEach((name, i) => (index.has(name) ? repeated.add(name) : index.set(name, i)));
    if (repeated.size) throw new ValidationError(`the batch repeats the column(s) ${[...repeated].join(', ')}`, { repeatedColumns: [...repeated] });
    const missing = this.features.filter((f) => !index.has(f.name)).map((f) => f.name);
    const featureNames = new Set(this.features.map((f) => f.name));
    const extra = this.options.ignoreExtraColumns ? [] : columns.filter((c) => !featureNames.has(c));
    if (missing.length || extra.length) {
      const parts = [
        ...(missing.length ? [`columns missing from the batch: ${missing.join(', ')}`] : []),
        ...(extra.length ? [`columns not in the reference: ${extra.join(', ')}`] : []),
      ];
      throw new ValidationError(`the batch does not match the reference's features (${parts.join('; ')})`, { missingColumns: missing, extraColumns: extra });
    }
    this.width = columns.length;
    this.slots = this.features.map((feature) => ({
      feature,
      at: index.get(feature.name)!,
      missing: 0,
      numbers: new Float64Array(feature.kind === 'NUMERIC' ? INITIAL_CAPACITY : 0),
      size: 0,
      strings: [],
    }));
  }

  /** One row, its cells in the header's order. */
  add(row: ReadonlyArray<Cell>): void {
    const slots = this.slots;
    if (!slots) throw new Error('ColumnCollector.header() must come before the rows');
    this.rows += 1;
    if (row.length !== this.width) throw new ValidationError(`row ${this.rows} has ${row.length} cells where the header names ${this.width} columns`, { row: this.rows });
    for (const slot of slots) {
      const cell = row[slot.at];
      if (slot.feature.kind === 'NUMERIC') this.addNumber(slot, cell);
      else this.addCategory(slot, cell);
    }
  }

  /** The collected columns; throws when the batch has no rows. */
  finish(): CurrentColumns {
    const slots = this.slots;
    if (!slots || this.rows === 0) throw new ValidationError('the batch is empty: it has no rows');
    const columns = new Map<string, Float64Array | string[]>();
    const missing = new Map<string, number>();
    for (const slot of slots) {
      columns.set(slot.feature.name, slot.feature.kind === 'NUMERIC' ? slot.numbers.slice(0, slot.size) : slot.strings);
      missing.set(slot.feature.name, slot.missing);
    }
    this.slots = null;
    return { rows: this.rows, columns, missing };
  }

  private addNumber(slot: Slot, cell: Cell): void {
    let value: number;
    if (cell === null || cell === undefined) {
      slot.missing += 1;
      return;
    } else if (typeof cell === 'number') {
      if (Number.isNaN(cell)) {
        slot.missing += 1;
        return;
      }
      value = cell;
    } else if (typeof cell === 'string') {
      const text = cell.trim();
      if (text === '') {
        slot.missing += 1;
        return;
      }
      value = DECIMAL.test(text) ? Number(text) : Number.NaN;
    } else {
      value = Number.NaN;
    }
    if (!Number.isFinite(value)) {
      throw new ValidationError(`numeric feature ${slot.feature.name} has the non-numeric value ${typeof cell === 'string' ? JSON.stringify(cell) : String(cell)} in row ${this.rows}`, {
        feature: slot.feature.name,
        row: this.rows,
        value: String(cell),
      });
    }
    if (slot.size === slot.numbers.length) {
      const grown = new Float64Array(slot.numbers.length * 2);
      grown.set(slot.numbers);
      slot.numbers = grown;
    }
    slot.numbers[slot.size++] = value;
  }

  private addCategory(slot: Slot, cell: Cell): void {
    if (cell === null || cell === undefined || (typeof cell === 'number' && Number.isNaN(cell)) || (typeof cell === 'string' && cell.trim() === '')) {
      slot.missing += 1;
      return;
    }
    slot.strings.push(typeof cell === 'string' ? cell : String(cell));
  }
}
