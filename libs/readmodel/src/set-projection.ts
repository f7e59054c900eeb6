import type { EventMap } from '@modeltrail/contracts';
import type { RecordedEvent } from '@modeltrail/eventstore';
import type { TableSpec } from './table';

/** The recorded events of the given types, each with its typed data. */
export type RecordedOf<K extends keyof EventMap> = { [T in K]: RecordedEvent<T, EventMap[T]> }[K];

/**
 * How one table follows the events: which rows an event touches, and what a row becomes.
 * Both functions are pure, so a batch can be folded in memory and a rebuild gives the same rows.
 */
export interface TableProjection<E extends RecordedEvent, Row, K extends keyof Row> {
  table: TableSpec<Row, K>;
  /** The key(s) of the row(s) the event touches in this table; `undefined` or `[]`: none. */
  keyOf(event: E): Pick<Row, K> | ReadonlyArray<Pick<Row, K>> | undefined;
  /**
   * The row after the event: a new object for a changed row, the same object for an unchanged
   * one (it is then not written), `undefined` for no row (it is deleted if it was stored).
   * Throw for an event the row cannot take: the batch fails and nothing of it is committed.
   */
  evolve(row: Row | undefined, event: E, key: Pick<Row, K>): Row | undefined;
  /**
   * Numbers rows within a group in the order they first appear (global position order): a new
   * row gets `column` = the group's highest number + 1. `evolve` leaves `column` at any value
   * (0) on a new row; the runner sets it. A rebuild gives every row the same number again.
   */
  sequence?: { column: keyof Row; per: keyof Row };
  /**
   * Rows are written once and never change (an event log per entity, keyed by position): the
   * runner does not read the touched rows first, `evolve` gets `undefined` for every key, and
   * rows already stored (a batch applied again) are left as they are. No deletes, no sequence.
   */
  appendOnly?: boolean;
}

/**
 * A read model kept set-based: per batch of events, ONE read of the rows the batch touches per
 * table, the events folded over them in memory, ONE write per table, and the checkpoint, all
 * in one transaction (see README.md).
 */
export interface Projection<E extends RecordedEvent = RecordedEvent> {
  /** Checkpoint name; change it (or rebuild) when the projection's logic changes. */
  readonly name: string;
  /** Event types it reads (current, upcast names); other events only move the checkpoint. */
  readonly handles: ReadonlySet<string>;
  /** Its tables, parents before children: written in this order, emptied in the reverse order. */
  readonly tables: ReadonlyArray<TableProjection<E, any, any>>;
}

/**
 * Several projections kept as one: one subscription and one transaction per batch for all
 * their tables, instead of one each (every runner reads every event of the store, and a
 * batch costs a few round trips whatever it holds). Each table still sees only the events of
 * the projection it came from. Give the combination a name of its own: it has its own
 * checkpoint, and builds from the start of the store unless its tables are emptied first.
 */
export function combineProjections(name: string, projections: ReadonlyArray<Projection<any>>): Projection {
  const handles = new Set<string>();
  for (const projection of projections) for (const type of projection.handles) handles.add(type);
  const tables = projections.flatMap((projection) =>
    projection.tables.map((table): TableProjection<RecordedEvent, any, any> => ({
      ...table,
      keyOf: (event) => (projection.handles.has(event.type) ? table.keyOf(event) : undefined),
    })),
  );
  const names = tables.map((table) => table.table.name);
  const twice = names.find((table, i) => names.indexOf(table) !== i);
  if (twice) throw new Error(`projection ${name}: table ${twice} is kept by two of the combined projections`);
  return { name, handles, tables };
}

/** Identity of a row within a table (see TableSql.keyOf). */
export type KeyOf<Row> = (values: Partial<Row>) => string;

/** What the fold of a batch leaves for one table. */
export interface TableOutcome<Row> {
  /** Rows to insert or replace, in the order they were last changed. */
  upserts: Row[];
  /** Keys of stored rows that no longer exist. */
  deletes: Array<Partial<Row>>;
  /** New rows, in order of first appearance, to be numbered when the table has a sequence. */
  appeared: Row[];
}

/** The distinct keys each table's rows are touched with by `events` (tables in projection order). */
export function touchedKeys<E extends RecordedEvent>(tables: ReadonlyArray<TableProjection<E, any, any>>, events: ReadonlyArray<E>, keyOfs: ReadonlyArray<KeyOf<any>>): Array<Map<string, object>> {
  return tables.map((table, i) => {
    const keys = new Map<string, object>();
    for (const event of events) {
      for (const key of keysOf(table, event)) {
        const id = keyOfs[i](key);
        if (!keys.has(id)) keys.set(id, key);
      }
    }
    return keys;
  });
}

/**
 * Folds a batch over the stored rows of one table, in memory: every event, in order, through
 * `evolve` of every row it touches. Pure: `stored` is not modified.
 */
export function foldTable<E extends RecordedEvent, Row, K extends keyof Row>(
  table: TableProjection<E, Row, K>,
  events: ReadonlyArray<E>,
  stored: ReadonlyMap<string, Row>,
  keyOf: KeyOf<Row>,
): TableOutcome<Row> {
  const current = new Map<string, Row | undefined>();
  const appeared: Row[] = [];
  const appearedAt = new Map<string, number>();
  for (const event of events) {
    for (const key of keysOf(table, event)) {
      const id = keyOf(key as Partial<Row>);
      const before = current.has(id) ? current.get(id) : stored.get(id);
      const after = table.evolve(before, event, key);
      if (after === before) continue;
      if (after !== undefined && keyOf(after as Partial<Row>) !== id) throw new Error(`${table.table.name}: evolve moved row ${id} to another key`);
      // Re-inserting keeps the map in order of last change.
      current.delete(id);
      current.set(id, after);
      if (before === undefined && after !== undefined) {
        appearedAt.set(id, appeared.length);
        appeared.push(after);
      } else if (after !== undefined && appearedAt.has(id)) {
        appeared[appearedAt.get(id)!] = after;
      }
    }
  }
  const upserts: Row[] = [];
  const deletes: Array<Partial<Row>> = [];
  for (const [id, row] of current) {
    if (row !== undefined) upserts.push(row);
    else if (stored.has(id)) deletes.push(stored.get(id)!);
  }
  return { upserts, deletes, appeared: appeared.filter((row) => current.get(keyOf(row as Partial<Row>)) === row) };
}

/**
 * Numbers new rows within their group, in order of appearance, after the highest number
 * already stored per group. Returns the rows with their numbers set (new objects).
 */
export function numberRows<Row>(appeared: ReadonlyArray<Row>, column: keyof Row, groupOf: (row: Row) => string, highest: ReadonlyMap<string, number>): Map<Row, Row> {
  const next = new Map(highest);
  const numbered = new Map<Row, Row>();
  for (const row of appeared) {
    const group = groupOf(row);
    const number = (next.get(group) ?? 0) + 1;
    next.set(group, number);
    numbered.set(row, { ...row, [column]: number });
  }
  return numbered;
}

function keysOf<E extends RecordedEvent, Row, K extends keyof Row>(table: TableProjection<E, Row, K>, event: E): ReadonlyArray<Pick<Row, K>> {
  const keys = table.keyOf(event);
  if (keys === undefined) return [];
  return Array.isArray(keys) ? keys : [keys as Pick<Row, K>];
}
