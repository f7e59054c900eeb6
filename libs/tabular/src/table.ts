import type { ColumnType, DataFormat } from '@modeltrail/contracts';

/**
 * The tabular model every data operation works on: a header of column names and rows of cells
 * aligned with it, streamed, never held whole in memory.
 *
 * A cell is `null` when the value is missing (an empty CSV field, a JSON `null` or absent key,
 * a Parquet null). CSV cells are the raw strings; JSONL and Parquet keep their numbers and
 * booleans; anything nested is its JSON text.
 */
export type Cell = string | number | boolean | null;
export type Row = Cell[];

export interface Table {
  readonly format: DataFormat;
  readonly columns: readonly string[];
  /** The rows, in file order. Iterable once. */
  readonly rows: AsyncIterable<Row>;
}

/** Row numbers in reports are 1-based data rows: the CSV header is not a row. */
export type RowNumber = number;

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BOOLEAN = /^(true|false)$/i;
const DATETIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** The narrowest type a present cell fits, most specific first. */
export function cellType(cell: Exclude<Cell, null>): ColumnType {
  if (typeof cell === 'number') return Number.isInteger(cell) ? 'INTEGER' : 'NUMBER';
  if (typeof cell === 'boolean') return 'BOOLEAN';
  const text = cell.trim();
  if (INTEGER.test(text) && Number.isSafeInteger(Number(text))) return 'INTEGER';
  if (NUMBER.test(text) && Number.isFinite(Number(text))) return 'NUMBER';
  if (BOOLEAN.test(text)) return 'BOOLEAN';
  if (DATETIME.test(text) && !Number.isNaN(Date.parse(text.replace(' ', 'T')))) return 'DATETIME';
  return 'STRING';
}

/** The type a column of cells of types `a` and `b` has: INTEGER widens to NUMBER, anything else mixed is STRING. */
export function widenType(a: ColumnType | null, b: ColumnType): ColumnType {
  if (a === null || a === b) return b;
  if ((a === 'INTEGER' && b === 'NUMBER') || (a === 'NUMBER' && b === 'INTEGER')) return 'NUMBER';
  return 'STRING';
}

/** A present cell as a number, or null when it is not numeric. */
export function numericValue(cell: Cell): number | null {
  if (cell === null) return null;
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : null;
  if (typeof cell === 'boolean') return null;
  const text = cell.trim();
  if (!NUMBER.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** A cell as text, the way validation rules (allowed values, regex, uniqueness) compare it. */
export function cellText(cell: Exclude<Cell, null>): string {
  return typeof cell === 'string' ? cell : String(cell);
}

export class CastError extends Error {
  constructor(
    readonly value: Cell,
    readonly to: ColumnType,
  ) {
    super(`"${String(value)}" is not a valid ${to.toLowerCase()}`);
  }
}

/** Converts a present cell to `to`, or throws CastError naming the value. Missing stays missing. */
export function castCell(cell: Cell, to: ColumnType): Cell {
  if (cell === null) return null;
  switch (to) {
    case 'STRING':
      return cellText(cell);
    case 'INTEGER': {
      const value = numericValue(cell);
      if (value === null || !Number.isInteger(value) || !Number.isSafeInteger(value)) throw new CastError(cell, to);
      return value;
    }
    case 'NUMBER': {
      const value = numericValue(cell);
      if (value === null) throw new CastError(cell, to);
      return value;
    }
    case 'BOOLEAN': {
      if (typeof cell === 'boolean') return cell;
      const text = cellText(cell).trim().toLowerCase();
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw new CastError(cell, to);
    }
    case 'DATETIME': {
      if (typeof cell === 'boolean') throw new CastError(cell, to);
      const text = cellText(cell).trim();
      if (!DATETIME.test(text)) throw new CastError(cell, to);
      const time = Date.parse(text.replace(' ', 'T'));
      if (Number.isNaN(time)) throw new CastError(cell, to);
      return new Date(time).toISOString();
    }
    default: {
      const unknown: never = to;
      throw new Error(`unknown column type ${String(unknown)}`);
    }
  }
}
