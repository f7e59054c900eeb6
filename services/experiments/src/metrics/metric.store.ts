import type { Pool, PoolClient } from 'pg';
import { ConflictError, type LatestMetric, type MetricPoint, type MetricSummary, type SeriesPoint, ValidationError } from '@modeltrail/contracts';
import { advisoryKey, ident, withTransaction } from '@modeltrail/postgres';

/**
 * Injection token of the experiments service's own PostgreSQL pool. The metrics lock is held on
 * one of its connections while the event store (on the process pool) is read and appended to,
 * so the two must not share a pool: a full pool of lock holders would wait for ever.
 */
export const EXPERIMENTS_POOL = Symbol('EXPERIMENTS_POOL');

interface LatestRow {
  run_id: string;
  key: string;
  value: number;
  step: string;
  ts: Date;
  min: number;
  max: number;
  count: string;
}

/** A page of one series. */
export interface SeriesPage {
  points: SeriesPoint[];
  endCursor: string | null;
  hasNextPage: boolean;
}

/** A series thinned for a comparison chart. */
export interface SampledSeries {
  count: number;
  points: SeriesPoint[];
}

/**
 * The metric time series of runs: every point in `run_metrics`, the latest value and running
 * min / max / count per run and key in `run_metric_latest`, and the command ids of stored batches.
 */
export class MetricStore {
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {
    this.s = ident(schema);
  }

  /**
   * Runs `work` in one transaction that holds the run's metrics lock. LogMetrics and the end of a
   * run (complete / fail) both take it, so a point is either in the summary or refused.
   */
  async withRunLock<T>(runId: string, work: (tx: MetricTransaction) => Promise<T>): Promise<T> {
    const key = advisoryKey(`${this.schema}.run-metrics:${runId}`);
    if (!/^-?\d{1,20}$/.test(key)) throw new Error(`advisory lock key ${key} is not a 64-bit integer`);
    // One round trip: the key is a number computed here, so the two statements go as one text.
    return withTransaction(this.pool, (client) => work(new MetricTransaction(client, this.s, runId)), { begin: `BEGIN; SELECT pg_advisory_xact_lock(${key})` });
  }

  /** Latest value of each metric of each run, sorted by key. */
  async latest(runIds: ReadonlyArray<string>): Promise<Map<string, LatestMetric[]>> {
    const out = new Map<string, LatestMetric[]>(runIds.map((id) => [id, []]));
    if (runIds.length === 0) return out;
    const { rows } = await this.pool.query<LatestRow>(
      `SELECT run_id, key, value, step, ts, min, max, count FROM ${this.s}.run_metric_latest WHERE run_id = ANY($1::uuid[]) ORDER BY run_id, key COLLATE "C"`,
      [runIds],
    );
    for (const row of rows) out.get(row.run_id)?.push(latestOf(row));
    return out;
  }

  /** The metric keys of a run, sorted. */
  async keys(runId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ key: string }>(`SELECT key FROM ${this.s}.run_metric_latest WHERE run_id = $1 ORDER BY key COLLATE "C"`, [runId]);
    return rows.map((r) => r.key);
  }

  /** One page of a series, ordered by step, then timestamp, then the order of logging. */
  async series(runId: string, key: string, first: number, after?: string): Promise<SeriesPage> {
    const params: unknown[] = [runId, key, first + 1];
    let where = '';
    if (after) {
      const cursor = decodeSeriesCursor(after);
      params.push(cursor.step, cursor.ts, cursor.seq);
      where = 'AND (step, ts, seq) > ($4::bigint, $5::timestamptz, $6::bigint)';
    }
    const { rows } = await this.pool.query<{ step: string; ts: Date; value: number; seq: string }>(
      `SELECT step, ts, value, seq FROM ${this.s}.run_metrics WHERE run_id = $1 AND key = $2 ${where} ORDER BY step, ts, seq LIMIT $3`,
      params,
    );
    const page = rows.slice(0, first);
    const last = page[page.length - 1];
    return {
      points: page.map((r) => ({ step: Number(r.step), value: r.value, timestamp: r.ts.toISOString() })),
      endCursor: last ? encodeSeriesCursor(Number(last.step), last.ts.toISOString(), last.seq) : null,
      hasNextPage: rows.length > first,
    };
  }

  /**
   * Series of several runs and keys, each thinned to at most `maxPoints` points taken at even
   * intervals (the first and the last point always kept). Keyed `${runId}\u0000${key}`.
   */
  async sampled(runIds: ReadonlyArray<string>, keys: ReadonlyArray<string>, maxPoints: number): Promise<Map<string, SampledSeries>> {
    const out = new Map<string, SampledSeries>();
    if (runIds.length === 0 || keys.length === 0) return out;
    // Of n points (0-based rank rn), keep the first rank of each of the maxPoints buckets
    // floor(rn * (maxPoints - 1) / (n - 1)): exactly maxPoints points, the first and the last among them.
    const { rows } = await this.pool.query<{ run_id: string; key: string; step: string; ts: Date; value: number; n: string }>(
      `SELECT run_id, key, step, ts, value, n FROM (
         SELECT run_id, key, step, ts, value, seq,
                row_number() OVER w - 1 AS rn,
                count(*) OVER (PARTITION BY run_id, key) AS n
           FROM ${this.s}.run_metrics
          WHERE run_id = ANY($1::uuid[]) AND key = ANY($2::text[])
         WINDOW w AS (PARTITION BY run_id, key ORDER BY step, ts, seq)
       ) ranked
       WHERE n <= $3
          OR rn = 0
          OR (rn * ($3 - 1)) / NULLIF(n - 1, 0) > ((rn - 1) * ($3 - 1)) / NULLIF(n - 1, 0)
       ORDER BY run_id, key, step, ts, seq`,
      [runIds, keys, maxPoints],
    );
    for (const row of rows) {
      const id = `${row.run_id}\u0000${row.key}`;
      let series = out.get(id);
      if (!series) out.set(id, (series = { count: Number(row.n), points: [] }));
      series.points.push({ step: Number(row.step), value: row.value, timestamp: row.ts.toISOString() });
    }
    return out;
  }
}

/** Work on one run's metrics inside the transaction that holds its lock. */
export class MetricTransaction {
  constructor(
    private readonly client: PoolClient,
    private readonly s: string,
    readonly runId: string,
  ) {}

  /**
   * Stores the points in `run_metrics` and folds them into `run_metric_latest`, in one statement
   * that first records the batch's command id. `recorded`: a batch with that id was stored before
   * (a retry), so nothing is stored again. A command id reused for another run is a conflict.
   */
  async store(commandId: string | undefined, points: ReadonlyArray<MetricPoint>): Promise<'stored' | 'recorded'> {
    const keys: string[] = new Array(points.length);
    const steps: number[] = new Array(points.length);
    const times: string[] = new Array(points.length);
    const values: number[] = new Array(points.length);
    // Per key: the latest point (highest step, then latest timestamp, then last logged), min, max, count.
    const latest = new Map<string, { value: number; step: number; ts: string; min: number; max: number; count: number }>();
    for (let i = 0; i < points.length; i++) {
      const { key, step, timestamp, value } = points[i];
      keys[i] = key;
      steps[i] = step;
      times[i] = timestamp;
      values[i] = value;
      const folded = latest.get(key);
      if (!folded) {
        latest.set(key, { value, step, ts: timestamp, min: value, max: value, count: 1 });
        continue;
      }
      // Timestamps are ISO-8601 in UTC with milliseconds (as validated), so they sort as text.
      if (step > folded.step || (step === folded.step && timestamp >= folded.ts)) {
        folded.value = value;
        folded.step = step;
        folded.ts = timestamp;
      }
      if (value < folded.min) folded.min = value;
      if (value > folded.max) folded.max = value;
      folded.count += 1;
    }
    const folded = [...latest.values()];
    const { rows } = await this.client.query<{ stored: boolean; recorded_for: string | null }>(
      `WITH batch AS (
         INSERT INTO ${this.s}.metric_batches (command_id, run_id, points)
         SELECT $2, $1, $3 WHERE $2::text IS NOT NULL
         ON CONFLICT (command_id) DO NOTHING
         RETURNING command_id
       ), go AS (
         SELECT 1 WHERE $2::text IS NULL OR EXISTS (SELECT 1 FROM batch)
       ), stored AS (
         INSERT INTO ${this.s}.run_metrics (run_id, key, step, ts, value)
         SELECT $1::uuid, p.* FROM unnest($4::text[], $5::bigint[], $6::timestamptz[], $7::float8[]) AS p WHERE EXISTS (SELECT 1 FROM go)
       ), latest AS (
         INSERT INTO ${this.s}.run_metric_latest AS l (run_id, key, value, step, ts, min, max, count)
         SELECT $1::uuid, f.* FROM unnest($8::text[], $9::float8[], $10::bigint[], $11::timestamptz[], $12::float8[], $13::float8[], $14::bigint[]) AS f WHERE EXISTS (SELECT 1 FROM go)
         ON CONFLICT (run_id, key) DO UPDATE SET
           value = CASE WHEN (excluded.step, excluded.ts) >= (l.step, l.ts) THEN excluded.value ELSE l.value END,
           step  = CASE WHEN (excluded.step, excluded.ts) >= (l.step, l.ts) THEN excluded.step  ELSE l.step  END,
           ts    = CASE WHEN (excluded.step, excluded.ts) >= (l.step, l.ts) THEN excluded.ts    ELSE l.ts    END,
           min   = LEAST(l.min, excluded.min),
           max   = GREATEST(l.max, excluded.max),
           count = l.count + excluded.count
       )
       SELECT EXISTS (SELECT 1 FROM go) AS stored,
              (SELECT run_id::text FROM ${this.s}.metric_batches WHERE command_id = $2) AS recorded_for`,
      [
        this.runId,
        commandId ?? null,
        points.length,
        textArray(keys),
        numberArray(steps),
        textArray(times),
        numberArray(values),
        [...latest.keys()],
        folded.map((f) => f.value),
        folded.map((f) => f.step),
        folded.map((f) => f.ts),
        folded.map((f) => f.min),
        folded.map((f) => f.max),
        folded.map((f) => f.count),
      ],
    );
    if (rows[0].stored) return 'stored';
    // The statement's snapshot may predate the batch that won the race for the id: look again.
    const recordedFor = rows[0].recorded_for ?? (await this.client.query<{ run_id: string }>(`SELECT run_id FROM ${this.s}.metric_batches WHERE command_id = $1`, [commandId])).rows[0]?.run_id;
    if (recordedFor !== this.runId) {
      throw new ConflictError(`command id ${commandId} was already used to log metrics of run ${recordedFor}: give each batch its own Mt-Command-Id`, { commandId });
    }
    return 'recorded';
  }

  /** Stores the points and folds them into the latest values, in one statement. */
  async insert(points: ReadonlyArray<MetricPoint>): Promise<void> {
    await this.store(undefined, points);
  }

  /** The run's metrics summary: per key the last value (highest step, then latest timestamp), min, max, count and last step. */
  async summary(): Promise<MetricSummary[]> {
    const { rows } = await this.client.query<LatestRow>(`SELECT run_id, key, value, step, ts, min, max, count FROM ${this.s}.run_metric_latest WHERE run_id = $1 ORDER BY key COLLATE "C"`, [
      this.runId,
    ]);
    return rows.map((row) => ({ key: row.key, last: row.value, min: row.min, max: row.max, count: Number(row.count), lastStep: Number(row.step) }));
  }
}

/**
 * A PostgreSQL array literal of texts, built with one join when no element has a quote or a
 * backslash (metric keys and ISO timestamps never do), instead of escaping each element.
 */
function textArray(values: ReadonlyArray<string>): string {
  if (!values.some((v) => NEEDS_ESCAPE.test(v))) return values.length ? `{"${values.join('","')}"}` : '{}';
  return `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}
const NEEDS_ESCAPE = /["\\]/;

/** A PostgreSQL array literal of finite numbers (JavaScript's shortest round-trip form). */
function numberArray(values: ReadonlyArray<number>): string {
  return `{${values.join(',')}}`;
}

function latestOf(row: LatestRow): LatestMetric {
  return { key: row.key, value: row.value, step: Number(row.step), timestamp: row.ts.toISOString(), min: row.min, max: row.max, count: Number(row.count) };
}

function encodeSeriesCursor(step: number, ts: string, seq: string): string {
  return Buffer.from(JSON.stringify([step, ts, seq]), 'utf8').toString('base64url');
}

function decodeSeriesCursor(cursor: string): { step: number; ts: string; seq: string } {
  try {
    const [step, ts, seq] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (Number.isSafeInteger(step) && typeof ts === 'string' && !Number.isNaN(Date.parse(ts)) && typeof seq === 'string' && /^\d{1,19}$/.test(seq)) {
      return { step: step as number, ts, seq };
    }
  } catch {
    // reported below
  }
  throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
}
