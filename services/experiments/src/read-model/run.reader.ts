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
  [sortColumn: `sort_${number}`]: unknown;
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
    const { rows } = await this.pool.query<RunSqlRow>(`SELECT r.* FROM ${this.s}.runs r WHERE r.run_id = ANY($1::uuid[])`, [runIds]);
    const views = await this.toViews(rows);
    return new Map(views.map((v) => [v.runId, v]));
  }

  /**
   * Keyset pagination over (sort columns..., run id): runs without a value for the sort field
   * come last in either direction, and the cursor carries the sort values of the last run seen,
   * so pages neither skip nor repeat runs while others are added.
   */
  async list(req: ListRunsRequest): Promise<{ items: RunView[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } }> {
    const params: unknown[] = [];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const { filter, orderBy } = req;
    const where: string[] = [];
    const joins: string[] = [];
    if (filter.experimentId) where.push(`r.experiment_id = ${p(filter.experimentId)}::uuid`);
    if (filter.projectId) where.push(`r.project_id = ${p(filter.projectId)}::uuid`);
    if (filter.status) where.push(`r.status = ${p(filter.status)}`);
    if (filter.tags?.length) where.push(`r.tags @> ${p(JSON.stringify(filter.tags))}::jsonb`);
    for (const condition of filter.params) where.push(paramCondition(p(condition.key), condition.op, condition.value, p));
    for (const condition of filter.metrics) {
      where.push(
        `EXISTS (SELECT 1 FROM ${this.s}.run_metric_latest f WHERE f.run_id = r.run_id AND f.key = ${p(condition.key)} AND f.value ${OPERATORS[condition.op]} ${p(condition.value)}::float8)`,
      );
    }

    let columns: SortColumn[];
    switch (orderBy.field) {
      case 'STARTED_AT':
        columns = [{ expr: 'r.started_at', cast: 'timestamptz', nullable: false }];
        break;
      case 'ENDED_AT':
        columns = [{ expr: 'r.ended_at', cast: 'timestamptz', nullable: true }];
        break;
      case 'METRIC':
        joins.push(`LEFT JOIN ${this.s}.run_metric_latest o ON o.run_id = r.run_id AND o.key = ${p(orderBy.key)}`);
        columns = [{ expr: 'o.value', cast: 'float8', nullable: true }];
        break;
      case 'PARAM': {
        // Numeric values first, in numeric order; then the others as strings; then runs without it.
        const key = p(orderBy.key);
        columns = [
          { expr: numericParam(key), cast: 'numeric', nullable: true },
          { expr: `(r.params->>${key}) COLLATE "C"`, cast: 'text', nullable: true },
        ];
        break;
      }
      default: {
        const unknown: never = orderBy.field;
        throw new Error(`unknown run ordering ${String(unknown)}`);
      }
    }
    const signature = `${orderBy.field}|${orderBy.key ?? ''}|${orderBy.direction}`;
    if (req.after) {
      const cursor = decodeRunCursor(req.after, signature, columns);
      where.push(afterCursor(columns, orderBy.direction, cursor, p));
    }
    const direction = orderBy.direction === 'ASC' ? 'ASC' : 'DESC';
    const sql = `SELECT r.*, ${columns.map((c, i) => `${c.expr} AS sort_${i}`).join(', ')}
                   FROM ${this.s}.runs r ${joins.join(' ')}
                  ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                  ORDER BY ${columns.map((_, i) => `sort_${i} ${direction} NULLS LAST`).join(', ')}, r.run_id ASC
                  LIMIT ${p(req.first + 1)}`;
    const { rows } = await this.pool.query<RunSqlRow>(sql, params);
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return {
      items: await this.toViews(page),
      pageInfo: { endCursor: last ? encodeRunCursor(signature, columns.map((c, i) => cursorValue(last[`sort_${i}`], c.cast)), last.run_id) : null, hasNextPage: rows.length > req.first },
    };
  }

  private async toViews(rows: RunSqlRow[]): Promise<RunView[]> {
    const latest = await this.metrics.latest(rows.map((r) => r.run_id));
    return rows.map((row) => ({
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
      latestMetrics: latest.get(row.run_id) ?? [],
    }));
  }
}

/** The run's value of parameter `$key` as a number, when it reads as one; else NULL. */
function numericParam(key: string): string {
  return `(CASE WHEN (r.params->>${key}) ~ ${NUMERIC_SQL} THEN (r.params->>${key})::numeric END)`;
}

/** Numbers when both sides are numeric, else strings. A run without the parameter never matches. */
function paramCondition(key: string, op: ComparisonOp, value: ParamValue, p: (value: unknown) => string): string {
  const operator = OPERATORS[op];
  const text = String(value);
  const asText = `((r.params->>${key}) COLLATE "C" ${operator} ${p(text)}::text)`;
  if (typeof value === 'boolean' || !NUMERIC.test(text)) return asText;
  const number = numericParam(key);
  return `(CASE WHEN ${number} IS NOT NULL THEN ${number} ${operator} ${p(text.trim())}::numeric ELSE ${asText} END)`;
}

/** Rows strictly after the cursor in the order (columns..., run_id), NULLs last in each column. */
function afterCursor(columns: SortColumn[], direction: 'ASC' | 'DESC', cursor: { values: Array<string | number | null>; runId: string }, p: (value: unknown) => string): string {
  const beyond = direction === 'ASC' ? '>' : '<';
  let condition = `r.run_id > ${p(cursor.runId)}::uuid`;
  for (let i = columns.length - 1; i >= 0; i--) {
    const { expr, cast, nullable } = columns[i];
    const value = cursor.values[i];
    if (value === null) {
      // Only NULLs follow a NULL (nulls last), and they tie with it.
      condition = `(${expr} IS NULL AND ${condition})`;
    } else {
      const v = `${p(value)}::${cast}`;
      const strictly = nullable ? `(${expr} ${beyond} ${v} OR ${expr} IS NULL)` : `${expr} ${beyond} ${v}`;
      condition = `(${strictly} OR (${expr} = ${v} AND ${condition}))`;
    }
  }
  return condition;
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

function decodeRunCursor(cursor: string, signature: string, columns: SortColumn[]): { values: Array<string | number | null>; runId: string } {
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
