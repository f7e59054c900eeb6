import type { PoolClient } from 'pg';
import { ident } from '@modeltrail/postgres';

/**
 * PostgreSQL column types a set-based projection reads and writes. Values in rows are the
 * JavaScript values MikroORM entities of the same tables hold: `bigint` as a number (safe
 * integers), `timestamptz` as a Date, `jsonb` as the parsed value, SQL NULL as `null`.
 */
export type ColumnType = 'uuid' | 'text' | 'integer' | 'bigint' | 'double precision' | 'boolean' | 'jsonb' | 'timestamptz';

/** A column's type, and its name when it is not the property in snake_case. */
export type ColumnSpec = ColumnType | { type: ColumnType; column: string };

/** A read-model table as a projection writes it: every property of the row, and the key. */
export interface TableSpec<Row, K extends keyof Row = keyof Row> {
  /** Unqualified; it lives in the runner's schema. */
  name: string;
  /** The primary key (or a unique key) of the table: what `ON CONFLICT` names. */
  key: ReadonlyArray<K>;
  /** Every property of the row (the compiler checks that none is missing). */
  columns: { readonly [P in keyof Row]-?: ColumnSpec };
}

interface Column {
  property: string;
  name: string;
  type: ColumnType;
  sql: string;
}

/** `datasetVersionId` → `dataset_version_id`, as MikroORM's default naming strategy does. */
export function snakeCase(property: string): string {
  return property.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();
}

/**
 * The SQL of one table: one read of the rows a batch touches, one multi-row upsert, one
 * delete, and the highest number of a sequence per group. Built once per table.
 */
export class TableSql<Row> {
  readonly table: string;
  private readonly columns: Column[];
  private readonly keyColumns: Column[];
  private readonly selectSql: string;
  private readonly upsertSql: string;
  private readonly insertNewSql: string;
  private readonly deleteSql: string;

  constructor(
    readonly spec: TableSpec<Row, keyof Row>,
    schema: string,
  ) {
    this.table = `${ident(schema)}.${ident(spec.name)}`;
    this.columns = columnsOf(spec);
    if (spec.key.length === 0) throw new Error(`table ${spec.name} names no key`);
    this.keyColumns = spec.key.map((key) => {
      const column = this.columns.find((c) => c.property === key);
      if (!column) throw new Error(`key ${String(key)} of table ${spec.name} is not one of its columns`);
      return column;
    });

    const list = this.columns.map((c) => `t.${c.sql}`).join(', ');
    const keyArrays = this.keyColumns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
    const keyNames = this.keyColumns.map((c) => c.sql).join(', ');
    const keyJoin = this.keyColumns.map((c) => `t.${c.sql} = k.${c.sql}`).join(' AND ');
    this.selectSql = `SELECT ${list} FROM ${this.table} t JOIN unnest(${keyArrays}) AS k(${keyNames}) ON ${keyJoin}`;
    this.deleteSql = `DELETE FROM ${this.table} t USING unnest(${keyArrays}) AS k(${keyNames}) WHERE ${keyJoin}`;

    const arrays = this.columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
    const others = this.columns.filter((c) => !this.keyColumns.includes(c));
    const onConflict = others.length ? `DO UPDATE SET ${others.map((c) => `${c.sql} = EXCLUDED.${c.sql}`).join(', ')}` : 'DO NOTHING';
    this.upsertSql = `INSERT INTO ${this.table} (${this.columns.map((c) => c.sql).join(', ')}) SELECT * FROM unnest(${arrays}) ON CONFLICT (${keyNames}) ${onConflict}`;
    this.insertNewSql = `INSERT INTO ${this.table} (${this.columns.map((c) => c.sql).join(', ')}) SELECT * FROM unnest(${arrays}) ON CONFLICT (${keyNames}) DO NOTHING`;
  }

  /**
   * Identity of a row within the batch. uuids are compared in lower case, as PostgreSQL gives
   * them back, so an event naming an id in capitals still finds its row.
   */
  keyOf(values: Partial<Row>): string {
    const parts = this.keyColumns.map((c) => {
      const value = (values as Record<string, unknown>)[c.property];
      if (value === undefined || value === null) throw new Error(`a key of table ${this.spec.name} has no ${c.property}`);
      const text = value instanceof Date ? value.toISOString() : String(value);
      return c.type === 'uuid' ? text.toLowerCase() : text;
    });
    return parts.length === 1 ? parts[0] : parts.join('\u0000');
  }

  /** The rows with these keys, decoded. */
  async read(client: PoolClient, keys: ReadonlyArray<Partial<Row>>): Promise<Row[]> {
    const result = await client.query(this.selectSql, this.keyColumns.map((c) => keys.map((k) => encode(c, (k as Record<string, unknown>)[c.property]))));
    return result.rows.map((raw: Record<string, unknown>) => this.decode(raw));
  }

  /** Inserts or replaces whole rows, all in one statement. */
  async upsert(client: PoolClient, rows: ReadonlyArray<Row>): Promise<void> {
    if (rows.length === 0) return;
    await client.query(this.upsertSql, this.columns.map((c) => rows.map((row) => encode(c, (row as Record<string, unknown>)[c.property]))));
  }

  /** Inserts rows whose keys are not stored yet, all in one statement; stored ones are left as they are. */
  async insertNew(client: PoolClient, rows: ReadonlyArray<Row>): Promise<void> {
    if (rows.length === 0) return;
    await client.query(this.insertNewSql, this.columns.map((c) => rows.map((row) => encode(c, (row as Record<string, unknown>)[c.property]))));
  }

  async delete(client: PoolClient, keys: ReadonlyArray<Partial<Row>>): Promise<void> {
    if (keys.length === 0) return;
    await client.query(this.deleteSql, this.keyColumns.map((c) => keys.map((k) => encode(c, (k as Record<string, unknown>)[c.property]))));
  }

  /** The highest `column` per value of `per` among the given groups (absent: none yet). */
  async maxPerGroup(client: PoolClient, column: keyof Row, per: keyof Row, groups: ReadonlyArray<unknown>): Promise<Map<string, number>> {
    const numbered = this.column(column);
    const group = this.column(per);
    const result = await client.query<{ g: string; n: string | number }>(
      `SELECT ${group.sql}::text AS g, max(${numbered.sql}) AS n FROM ${this.table} WHERE ${group.sql} = ANY($1::${group.type}[]) GROUP BY ${group.sql}`,
      [groups.map((g) => encode(group, g))],
    );
    return new Map(result.rows.map((r) => [this.groupOf(per, r.g), Number(r.n)]));
  }

  /** A group value as `maxPerGroup` keys it. */
  groupOf(per: keyof Row, value: unknown): string {
    const column = this.column(per);
    const text = value instanceof Date ? value.toISOString() : String(value);
    return column.type === 'uuid' ? text.toLowerCase() : text;
  }

  private column(property: keyof Row): Column {
    const column = this.columns.find((c) => c.property === property);
    if (!column) throw new Error(`${String(property)} is not a column of table ${this.spec.name}`);
    return column;
  }

  private decode(raw: Record<string, unknown>): Row {
    return decodeRow<Row>(this.columns, raw);
  }
}

function columnsOf(spec: TableSpec<any, any>): Column[] {
  return Object.entries(spec.columns as Record<string, ColumnSpec>).map(([property, column]) => {
    const type = typeof column === 'string' ? column : column.type;
    const name = typeof column === 'string' ? snakeCase(property) : column.column;
    return { property, name, type, sql: ident(name) };
  });
}

function decodeRow<Row>(columns: ReadonlyArray<Column>, raw: Record<string, unknown>): Row {
  const row: Record<string, unknown> = {};
  for (const c of columns) row[c.property] = decode(c, raw[c.name]);
  return row as Row;
}

/**
 * Reads the rows node-postgres returns for a table (`SELECT *`) as its projection writes them
 * (`bigint` as a number, NULL as null, properties by name): for the readers of a read model.
 */
export function rowDecoder<Row>(spec: TableSpec<Row, any>): (raw: Record<string, unknown>) => Row {
  const columns = columnsOf(spec);
  return (raw) => decodeRow<Row>(columns, raw);
}

/** A value as an element of the array parameter that `unnest` reads. */
function encode(column: Column, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  switch (column.type) {
    case 'jsonb':
      // Stringified here: node-postgres would turn a JavaScript array into a PostgreSQL array.
      return JSON.stringify(value);
    case 'timestamptz':
      return value instanceof Date ? value.toISOString() : value;
    default:
      return value;
  }
}

function decode(column: Column, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  // node-postgres gives int8 as a string; the entities map it to a number.
  if (column.type === 'bigint') return Number(value);
  return value;
}
