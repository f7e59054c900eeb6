import type { Pool } from 'pg';
import { type ComparisonOp, type ParamValue, type RunView, ValidationError, type z, type experimentsRpc } from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';
import type { MetricStore } from '../metrics/metric.store';

type ListRunsRequest = z.output<typeof experimentsRpc.listRuns.request>;

interface RunSqlRow {
  run_id: string;
  experiment_id: string;
  project_id: string;
  status: RunView['status'];
  params: RunView['params'];
  code_ref: RunView['codeRef'];
  dataset_versions: RunView['datasetVersions'];
  tags: string[];
  started_at: Date;
  started_by: string;
  ended_at: Date | null;
  failure_reason: string | null;
  summary: RunView['summary'];
  revision: string;
}

/** How a sort column's value is cast back when it comes in a cursor. */
type SortCast = 'timestamptz' | 'float8' | 'numeric' | 'text';
interface SortColumn {
  expr: string;
  cast: SortCast;
  nullable: boolean;
}

const OPERATORS: Record<ComparisonOp, string> = { EQ: '=', NE: '<>', GT: '>', GTE: '>=', LT: '<', LTE: '<=' };

/** A number, or a string that reads as one (exponents up to 3 digits). The SQL twin is NUMERIC_SQL. */
const NUMERIC = /^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?\s*$/;
const NUMERIC_SQL = `'^\\s*[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]{1,3})?\\s*$'`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Reads runs from the read model: by id, and the filtered, ordered, paged run listing. */
export class RunReader {
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly metrics: MetricStore,
  ) {
    this.s = ident(schema);
  }

  /** Views of the runs that exist in the read model, by id. */
  async views(runIds: ReadonlyArray<string>): Promise<Map<string, RunView>> {
    if (runIds.length === 0) return new Map();
    const [{ rows }, latest] = await Promise.all([
      this.pool.query<RunSqlRow>(`SELECT r.* FROM ${this.s}.runs r WHERE r.run_id = ANY($1::uuid[])`, [runIds]),
      this.metrics.latest(runIds),
    ]);
    return new Map(rows.map((row) => [row.run_id, toView(row, latest.get(row.run_id) ?? [])]));
  }

  /**
   * Keyset pagination over (sort columns..., run id): runs without a value for the sort field
   * come last in either direction, and the cursor carries the sort values of the last run seen,
   * so pages neither skip nor repeat runs while others are added.
   *
   * The page is found first on narrow rows (run id and sort values, from indexes where the
   * filters allow), then only its runs are read in full, with their latest metrics. A page
   * whose reply would not fit in one NATS message is cut short (hasNextPage stays true).
   */
  async list(req: ListRunsRequest): Promise<{ items: RunView[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } }> {
    const { orderBy } = req;
    const signature = `${orderBy.field}|${orderBy.key ?? ''}|${orderBy.direction}`;
    const columns = sortColumns(orderBy);
    const cursor = req.after ? decodeRunCursor(req.after, signature, columns) : undefined;
    const found = orderBy.field === 'METRIC' ? await this.pageByMetric(req, orderBy.key!, cursor) : await this.page(req, columns, cursor);
    const views = await this.views(found.slice(0, req.first).map((row) => row.run_id));
    // A run gone between the two reads (a rebuild) is left out, its place in the order kept.
    const page = found.slice(0, req.first).filter((row) => views.has(row.run_id));
    const items = fitInReply(page.map((row) => views.get(row.run_id)!));
    const last = page[items.length - 1];
    return {
      items,
      pageInfo: {
        endCursor: last ? encodeRunCursor(signature, columns.map((c, i) => cursorValue(last[`sort_${i}`], c.cast)), last.run_id) : null,
        hasNextPage: found.length > req.first || items.length < page.length,
      },
    };
  }

  /** Ids and sort values of the next `first + 1` runs in an ordering by a run column or a parameter. */
  private async page(req: ListRunsRequest, columns: SortColumn[], cursor: RunCursor | undefined): Promise<PageRow[]> {
    const q = new SqlParams();
    if (req.orderBy.field === 'PARAM') q.bind(req.orderBy.key!); // the $1 of its sort expressions (see sortColumns)
    const where = this.filterConditions(req.filter, q);
    if (cursor) where.push(afterCursor(columns, req.orderBy.direction, cursor, q));
    const direction = req.orderBy.direction === 'ASC' ? 'ASC' : 'DESC';
    const { rows } = await this.pool.query<PageRow>(
      `SELECT r.run_id, ${columns.map((c, i) => `${c.expr} AS sort_${i}`).join(', ')}
         FROM ${this.s}.runs r
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY ${columns.map((c, i) => `sort_${i} ${direction}${c.nullable ? ' NULLS LAST' : ''}`).join(', ')}, r.run_id ASC
        LIMIT ${q.bind(req.first + 1)}`,
      q.values,
    );
    return rows;
  }

  /**
   * Ordered by a metric's latest value: first the runs that have the metric, read in index
   * order of (key, value, run id); then, when the page is not full, the runs without it by id.
   */
  private async pageByMetric(req: ListRunsRequest, key: string, cursor: RunCursor | undefined): Promise<PageRow[]> {
    const limit = req.first + 1;
    const rows: PageRow[] = [];
    if (!cursor || cursor.values[0] !== null) {
      const q = new SqlParams();
      const where = [`o.key = ${q.bind(key)}`, ...this.filterConditions(req.filter, q)];
      if (cursor) {
        const value = `${q.bind(cursor.values[0])}::float8`;
        const [beyond, bound] = req.orderBy.direction === 'ASC' ? ['>', '>='] : ['<', '<='];
        where.push(`o.value ${bound} ${value}`, `(o.value ${beyond} ${value} OR o.run_id > ${q.bind(cursor.runId)}::uuid)`);
      }
      const found = await this.pool.query<PageRow>(
        `SELECT o.run_id, o.value AS sort_0
           FROM ${this.s}.run_metric_latest o JOIN ${this.s}.runs r ON r.run_id = o.run_id
          WHERE ${where.join(' AND ')}
          ORDER BY o.value ${req.orderBy.direction === 'ASC' ? 'ASC' : 'DESC'}, o.run_id ASC
          LIMIT ${q.bind(limit)}`,
        q.values,
      );
      rows.push(...found.rows);
    }
    if (rows.length < limit) {
      const q = new SqlParams();
      const where = [`NOT EXISTS (SELECT 1 FROM ${this.s}.run_metric_latest m WHERE m.run_id = r.run_id AND m.key = ${q.bind(key)})`, ...this.filterConditions(req.filter, q)];
      if (cursor && cursor.values[0] === null) where.push(`r.run_id > ${q.bind(cursor.runId)}::uuid`);
      const without = await this.pool.query<PageRow>(
        `SELECT r.run_id, NULL::float8 AS sort_0 FROM ${this.s}.runs r WHERE ${where.join(' AND ')} ORDER BY r.run_id ASC LIMIT ${q.bind(limit - rows.length)}`,
        q.values,
      );
      rows.push(...without.rows);
    }
    return rows;
  }

  /** Conditions on `r` (the runs table) for a filter. */
  private filterConditions(filter: ListRunsRequest['filter'], q: SqlParams): string[] {
    const where: string[] = [];
    if (filter.experimentId) where.push(`r.experiment_id = ${q.bind(filter.experimentId)}::uuid`);
    if (filter.projectId) where.push(`r.project_id = ${q.bind(filter.projectId)}::uuid`);
    if (filter.status) where.push(`r.status = ${q.bind(filter.status)}`);
    if (filter.tags?.length) where.push(`r.tags @> ${q.bind(JSON.stringify(filter.tags))}::jsonb`);
    for (const condition of filter.params) where.push(this.paramCondition(condition.key, condition.op, condition.value, q));
    for (const condition of filter.metrics) {
      where.push(
        `EXISTS (SELECT 1 FROM ${this.s}.run_metric_latest f WHERE f.run_id = r.run_id AND f.key = ${q.bind(condition.key)} AND f.value ${OPERATORS[condition.op]} ${q.bind(condition.value)}::float8)`,
      );
    }
    return where;
  }

  /**
   * Numbers when both sides are numeric, else strings; a run without the parameter never
   * matches. Equality also names the terms (see run_param_term) a matching run holds, so that
   * runs_params_idx finds the candidates; the exact comparison then decides.
   */
  private paramCondition(key: string, op: ComparisonOp, value: ParamValue, q: SqlParams): string {
    const k = q.bind(key);
    const operator = OPERATORS[op];
    const text = String(value);
    const numeric = typeof value !== 'boolean' && NUMERIC.test(text);
    const asText = `((r.params->>${k}) COLLATE "C" ${operator} ${q.bind(text)}::text)`;
    const exact = numeric ? `(CASE WHEN ${numericParam(k)} IS NOT NULL THEN ${numericParam(k)} ${operator} ${q.bind(text.trim())}::numeric ELSE ${asText} END)` : asText;
    if (op !== 'EQ') return exact;
    // A run whose value has the text (a string, or the number or boolean that prints so), or,
    // for a numeric value, a number equal to it however spelled.
    const held = new Set([JSON.stringify(text)]);
    if (numeric) held.add(JSON.stringify(text.trim()));
    const terms = [...held].map((json) => `${this.s}.run_param_term(${k}::text, ${q.bind(json)}::jsonb)`);
    return `(${this.s}.run_param_terms(r.params) && ARRAY[${terms.join(', ')}] AND ${exact})`;
  }
}

/** A run of a page before it is read in full: its id and its sort values. */
interface PageRow {
  run_id: string;
  [sortColumn: `sort_${number}`]: unknown;
}

interface RunCursor {
  values: Array<string | number | null>;
  runId: string;
}

/** Values of a statement, bound in order as $1, $2, ... */
class SqlParams {
  readonly values: unknown[] = [];

  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * The sort columns of an ordering, before the run id. A PARAM ordering's expressions read the
 * parameter named by $1. Started_at never is NULL, so its ORDER BY can follow an index on
 * (started_at DESC, run_id) without a NULLS clause.
 */
function sortColumns(orderBy: ListRunsRequest['orderBy']): SortColumn[] {
  switch (orderBy.field) {
    case 'STARTED_AT':
      return [{ expr: 'r.started_at', cast: 'timestamptz', nullable: false }];
    case 'ENDED_AT':
      return [{ expr: 'r.ended_at', cast: 'timestamptz', nullable: true }];
    case 'METRIC':
      return [{ expr: 'o.value', cast: 'float8', nullable: true }];
    case 'PARAM':
      // Numeric values first, in numeric order; then the others as strings; then runs without it.
      return [
        { expr: numericParam('$1'), cast: 'numeric', nullable: true },
        { expr: `(r.params->>$1) COLLATE "C"`, cast: 'text', nullable: true },
      ];
    default: {
      const unknown: never = orderBy.field;
      throw new Error(`unknown run ordering ${String(unknown)}`);
    }
  }
}

/** The run's value of parameter `$key` as a number, when it reads as one; else NULL. */
function numericParam(key: string): string {
  return `(CASE WHEN (r.params->>${key}) ~ ${NUMERIC_SQL} THEN (r.params->>${key})::numeric END)`;
}

/**
 * Rows strictly after the cursor in the order (columns..., run_id), NULLs last in each column.
 * A first column that is never NULL also gets a plain bound, which an index scan can start from.
 */
function afterCursor(columns: SortColumn[], direction: 'ASC' | 'DESC', cursor: RunCursor, q: SqlParams): string {
  const beyond = direction === 'ASC' ? '>' : '<';
  let condition = `r.run_id > ${q.bind(cursor.runId)}::uuid`;
  for (let i = columns.length - 1; i >= 0; i--) {
    const { expr, cast, nullable } = columns[i];
    const value = cursor.values[i];
    if (value === null) {
      // Only NULLs follow a NULL (nulls last), and they tie with it.
      condition = `(${expr} IS NULL AND ${condition})`;
    } else {
      const v = `${q.bind(value)}::${cast}`;
      const strictly = nullable ? `(${expr} ${beyond} ${v} OR ${expr} IS NULL)` : `${expr} ${beyond} ${v}`;
      condition = `(${strictly} OR (${expr} = ${v} AND ${condition}))`;
      if (i === 0 && !nullable) condition = `${expr} ${beyond}= ${v} AND ${condition}`;
    }
  }
  return `(${condition})`;
}

/** NATS carries at most 1 MiB per message; this leaves room for the reply envelope and headers. */
export const RUN_PAGE_REPLY_BYTES = 900 * 1024;

/** The first views whose JSON stays within RUN_PAGE_REPLY_BYTES (at least one). */
function fitInReply(views: RunView[]): RunView[] {
  let bytes = 0;
  for (let i = 0; i < views.length; i++) {
    bytes += Buffer.byteLength(JSON.stringify(views[i])) + 1;
    if (bytes > RUN_PAGE_REPLY_BYTES && i > 0) return views.slice(0, i);
  }
  return views;
}

function toView(row: RunSqlRow, latestMetrics: RunView['latestMetrics']): RunView {
  return {
    runId: row.run_id,
    experimentId: row.experiment_id,
    projectId: row.project_id,
    status: row.status,
    params: row.params,
    codeRef: row.code_ref,
    datasetVersions: row.dataset_versions,
    tags: row.tags,
    startedAt: row.started_at.toISOString(),
    endedAt: row.ended_at ? row.ended_at.toISOString() : null,
    failureReason: row.failure_reason,
    summary: row.summary,
    revision: Number(row.revision),
    startedBy: row.started_by,
    latestMetrics,
  };
}

function cursorValue(value: unknown, cast: SortCast): string | number | null {
  if (value === null || value === undefined) return null;
  if (cast === 'timestamptz') return (value as Date).toISOString();
  if (cast === 'float8') return value as number;
  return String(value);
}

function encodeRunCursor(signature: string, values: Array<string | number | null>, runId: string): string {
  return Buffer.from(JSON.stringify({ o: signature, v: values, id: runId }), 'utf8').toString('base64url');
}

function decodeRunCursor(cursor: string, signature: string, columns: SortColumn[]): RunCursor {
  let decoded: { o?: unknown; v?: unknown; id?: unknown } | undefined;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof decoded;
  } catch {
    decoded = undefined;
  }
  const values = decoded?.v;
  const wellFormed = typeof decoded === 'object' && decoded !== null && typeof decoded.o === 'string' && typeof decoded.id === 'string' && UUID.test(decoded.id) && Array.isArray(values);
  if (!wellFormed) throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
  if (decoded!.o !== signature) throw new ValidationError(`cursor "${cursor}" belongs to another ordering of runs: pass the orderBy it was returned with`, { field: 'after' });
  const fits = values.length === columns.length && values.every((value, i) => value === null || isCursorValue(value, columns[i].cast));
  if (!fits) throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
  return { values: values as Array<string | number | null>, runId: decoded!.id as string };
}

function isCursorValue(value: unknown, cast: SortCast): boolean {
  switch (cast) {
    case 'timestamptz':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value));
    case 'float8':
      return typeof value === 'number' && Number.isFinite(value);
    case 'numeric':
      return typeof value === 'string' && NUMERIC.test(value);
    case 'text':
      return typeof value === 'string';
    default: {
      const unknown: never = cast;
      return unknown;
    }
  }
}
