import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import type { BuildOptions, Emission, RunEvent } from '@modeltrail/openlineage';
import { ident, withTransaction } from '@modeltrail/postgres';
import { buildRunEvents } from './openlineage.documents';

/**
 * Where RunEvents go: an OpenLineage HTTP endpoint (the HTTP transport: one RunEvent per POST,
 * `application/json`; give the full URL, e.g. `http://marquez:5000/api/v1/lineage`), or a file
 * that gets one JSON line per RunEvent.
 */
export type OpenLineageSink = { kind: 'http'; url: string; headers?: Record<string, string>; timeoutMs?: number } | { kind: 'file'; path: string };

export interface OpenLineageDeliveryLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, stack?: string): void;
}

export interface OpenLineageDeliveryOptions {
  pool: Pool;
  /** The lineage service's schema (where the openlineage_* tables are). */
  schema: string;
  sink: OpenLineageSink;
  /** RunEvents sent per pass at most (default 100); each pass sends at most one per run, in order. */
  batchSize?: number;
  /** Failed attempts after which a RunEvent is parked (default 20): no longer retried, and its run's later events wait behind it. */
  maxAttempts?: number;
  /** Delay before the 2nd attempt (default 1000 ms), doubled for each later one... */
  baseDelayMs?: number;
  /** ...up to this (default 300000 ms). */
  maxDelayMs?: number;
  /** Rows of openlineage_runs copied into the outbox per transaction (default 500). */
  copyBatchSize?: number;
  /** Pause after a pass with nothing to send (default 1000 ms). */
  pollIntervalMs?: number;
  /** HTTP requests in flight at once, for different runs (default 8). */
  concurrency?: number;
  /** Job namespace, models namespace and producer of the documents. */
  naming?: BuildOptions;
  logger?: OpenLineageDeliveryLogger;
}

interface Due {
  emission_id: string;
  run_id: string;
  position: string;
  document: RunEvent;
}

/** The single row of `openlineage_outbox_cursor`. */
const CURSOR = 'outbox';

const silentLogger: OpenLineageDeliveryLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Sends the RunEvents the projection emits, from an outbox in PostgreSQL:
 *
 * 1. **Copy** (`enqueue`): the emissions of `openlineage_runs` rows changed after the outbox
 *    cursor that the outbox does not hold yet are built into documents and inserted into
 *    `openlineage_outbox`, keyed by emission id; the cursor moves to the highest row position
 *    read. The cursor row is locked meanwhile, so replicas take turns. A projection rebuild refills the
 *    read model at positions at or below the cursor, and its emissions keep their ids: nothing
 *    delivered is copied or sent again.
 * 2. **Send**: in one transaction, the due heads (per run, the lowest `seq` not delivered,
 *    whose next attempt time has come) are locked `FOR UPDATE SKIP LOCKED`, so replicas never
 *    send the same event at once; a run's later events wait until its head is delivered, so
 *    each run's RunEvents arrive in order. A 2xx (or a synced append) marks the event
 *    delivered; anything else records the attempt, the error and the next attempt time
 *    (`baseDelayMs * 2^(attempts-1)`, capped at `maxDelayMs`). After `maxAttempts` failures
 *    the event is parked (`parked_at`); `UPDATE openlineage_outbox SET parked_at = NULL,
 *    attempts = 0 WHERE ...` puts it back.
 *
 * At least once: a crash after a send and before the commit sends that event again.
 * On its first start the cursor is at 0, so the whole history is sent (a backfill).
 */
export class OpenLineageDelivery {
  private readonly s: string;
  private readonly logger: OpenLineageDeliveryLogger;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(private readonly options: OpenLineageDeliveryOptions) {
    this.s = ident(options.schema);
    this.logger = options.logger ?? silentLogger;
    if (options.sink.kind === 'http' && !/^https?:\/\//i.test(options.sink.url)) throw new Error(`OpenLineage endpoint ${options.sink.url} must be an http(s) URL`);
  }

  /** Delivers in the background until `stop()`. */
  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  /** One pass: copy new emissions into the outbox, then send the due ones (tests, and the loop). */
  async deliverOnce(): Promise<{ delivered: number; failed: number }> {
    await this.enqueue();
    return this.sendDue();
  }

  /**
   * Copies into the outbox the emissions of the rows changed after the cursor, a page of rows
   * per transaction (the cursor row locked, so replicas take turns); returns how many were new.
   * Invariant: every emission of a row at or below the cursor is in the outbox. Rows only move
   * up, and a row above the cursor has all its emissions copied (those already there are
   * skipped by id), so no emission is missed whichever replica or crash interrupts a pass.
   */
  async enqueue(): Promise<number> {
    await this.options.pool.query(`INSERT INTO ${this.s}.openlineage_outbox_cursor (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING`, [CURSOR]);
    const pageSize = this.options.copyBatchSize ?? 500;
    let inserted = 0;
    for (;;) {
      const page = await withTransaction(this.options.pool, async (client) => {
        const { rows: locked } = await client.query<{ position: string }>(`SELECT position FROM ${this.s}.openlineage_outbox_cursor WHERE name = $1 FOR UPDATE`, [CURSOR]);
        const { rows } = await client.query<{ emissions: Emission[]; position: string }>(
          `SELECT emissions, position FROM ${this.s}.openlineage_runs WHERE position > $1 ORDER BY position LIMIT $2`,
          [locked[0].position, pageSize],
        );
        if (rows.length === 0) return { rows: 0, inserted: 0 };
        const all = rows.flatMap((r) => r.emissions.map((emission, seq) => ({ emission, seq })));
        const { rows: present } = await client.query<{ emission_id: string }>(`SELECT emission_id FROM ${this.s}.openlineage_outbox WHERE emission_id = ANY($1::uuid[])`, [all.map((x) => x.emission.id)]);
        const known = new Set(present.map((r) => r.emission_id));
        const count = await this.insert(client, all.filter((x) => !known.has(x.emission.id.toLowerCase())));
        await client.query(`UPDATE ${this.s}.openlineage_outbox_cursor SET position = $2, updated_at = now() WHERE name = $1`, [CURSOR, rows[rows.length - 1].position]);
        return { rows: rows.length, inserted: count };
      });
      inserted += page.inserted;
      if (page.rows < pageSize) return inserted;
    }
  }

  private async insert(client: PoolClient, fresh: ReadonlyArray<{ emission: Emission; seq: number }>): Promise<number> {
    if (fresh.length === 0) return 0;
    const emissions = fresh.map((f) => f.emission);
    const documents = await buildRunEvents(client, this.options.schema, emissions, this.options.naming);
    const result = await client.query(
      `INSERT INTO ${this.s}.openlineage_outbox (emission_id, run_id, seq, position, event_type, document)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::integer[], $4::bigint[], $5::text[], $6::json[])
       ON CONFLICT DO NOTHING`,
      [
        emissions.map((e) => e.id),
        emissions.map((e) => (e.subject === 'run' ? e.runId : e.jobId)),
        fresh.map((f) => f.seq),
        emissions.map((e) => e.position),
        emissions.map((e) => e.eventType),
        documents.map((d) => JSON.stringify(d)),
      ],
    );
    return result.rowCount ?? 0;
  }

  /** Sends the due heads of the runs' queues, in one transaction holding their row locks. */
  private async sendDue(): Promise<{ delivered: number; failed: number }> {
    return withTransaction(this.options.pool, async (client) => {
      const { rows } = await client.query<Due>(
        `SELECT o.emission_id, o.run_id, o.position, o.document
           FROM ${this.s}.openlineage_outbox o
          WHERE o.delivered_at IS NULL AND o.parked_at IS NULL AND o.next_attempt_at <= clock_timestamp()
            AND NOT EXISTS (SELECT 1 FROM ${this.s}.openlineage_outbox p WHERE p.run_id = o.run_id AND p.delivered_at IS NULL AND p.seq < o.seq)
          ORDER BY o.position, o.seq
          LIMIT $1
          FOR UPDATE OF o SKIP LOCKED`,
        [this.options.batchSize ?? 100],
      );
      if (rows.length === 0) return { delivered: 0, failed: 0 };
      const errors = this.options.sink.kind === 'file' ? await this.appendToFile(this.options.sink.path, rows) : await this.postAll(rows);
      const delivered = rows.filter((_, i) => errors[i] === null).map((r) => r.emission_id);
      const failed = rows.flatMap((r, i) => (errors[i] === null ? [] : [{ id: r.emission_id, error: errors[i]! }]));
      if (delivered.length > 0) {
        await client.query(
          `UPDATE ${this.s}.openlineage_outbox SET delivered_at = clock_timestamp(), last_attempt_at = clock_timestamp(), attempts = attempts + 1 WHERE emission_id = ANY($1::uuid[])`,
          [delivered],
        );
      }
      if (failed.length > 0) {
        const base = this.options.baseDelayMs ?? 1_000;
        const max = this.options.maxDelayMs ?? 300_000;
        const maxAttempts = this.options.maxAttempts ?? 20;
        const { rows: parked } = await client.query<{ emission_id: string; attempts: number; parked: boolean }>(
          `UPDATE ${this.s}.openlineage_outbox o
              SET attempts = o.attempts + 1,
                  last_attempt_at = clock_timestamp(),
                  last_error = f.error,
                  next_attempt_at = clock_timestamp() + make_interval(secs => least($3::float8 * power(2, o.attempts), $4::float8) / 1000.0),
                  parked_at = CASE WHEN o.attempts + 1 >= $5 THEN clock_timestamp() END
             FROM unnest($1::uuid[], $2::text[]) AS f(id, error)
            WHERE o.emission_id = f.id
        RETURNING o.emission_id, o.attempts, o.parked_at IS NOT NULL AS parked`,
          [failed.map((f) => f.id), failed.map((f) => f.error), base, max, maxAttempts],
        );
        for (const f of failed) this.logger.warn(`OpenLineage event ${f.id} not delivered: ${f.error}`);
        for (const p of parked.filter((r) => r.parked)) {
          this.logger.error(`OpenLineage event ${p.emission_id} parked after ${p.attempts} failed attempts; its run's later events wait behind it`);
        }
      }
      return { delivered: delivered.length, failed: failed.length };
    });
  }

  /** POSTs each document (at most `concurrency` at once; they belong to different runs). Null: delivered; else the error. */
  private async postAll(rows: ReadonlyArray<Due>): Promise<Array<string | null>> {
    const sink = this.options.sink as Extract<OpenLineageSink, { kind: 'http' }>;
    const results: Array<string | null> = new Array(rows.length).fill(null);
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const i = next++;
        results[i] = await post(sink, rows[i].document);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency ?? 8, rows.length) }, worker));
    return results;
  }

  /**
   * Appends one line per document and syncs the file before they count as delivered. A torn
   * last line (a crash in the middle of a write) is ended first, so the next line is whole.
   */
  private async appendToFile(path: string, rows: ReadonlyArray<Due>): Promise<Array<string | null>> {
    try {
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(path, 'a+');
      let created = false;
      try {
        const { size } = await handle.stat();
        created = size === 0;
        let prefix = '';
        if (size > 0) {
          const last = Buffer.alloc(1);
          await handle.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) prefix = '\n';
        }
        await handle.write(prefix + rows.map((r) => `${JSON.stringify(r.document)}\n`).join(''));
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (created) await syncDirectory(dirname(path));
      return rows.map(() => null);
    } catch (error) {
      const message = `cannot append to ${path}: ${error instanceof Error ? error.message : String(error)}`;
      return rows.map(() => message);
    }
  }

  private async loop(): Promise<void> {
    const poll = this.options.pollIntervalMs ?? 1_000;
    while (!this.stopping) {
      let idle = true;
      try {
        const { delivered, failed } = await this.deliverOnce();
        idle = delivered === 0 && failed === 0;
      } catch (error) {
        this.logger.error(`OpenLineage delivery failed: ${error instanceof Error ? error.message : String(error)}`, error instanceof Error ? error.stack : undefined);
      }
      if (this.stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, idle ? poll : 0);
        const self = this;
        function done() {
          clearTimeout(timer);
          self.wake = undefined;
          resolve();
        }
        this.wake = done;
      });
    }
  }
}

async function post(sink: Extract<OpenLineageSink, { kind: 'http' }>, document: RunEvent): Promise<string | null> {
  try {
    const response = await fetch(sink.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(sink.headers ?? {}) },
      body: JSON.stringify(document),
      signal: AbortSignal.timeout(sink.timeoutMs ?? 10_000),
    });
    const text = await response.text().catch(() => '');
    if (response.ok) return null;
    return `HTTP ${response.status}${text ? `: ${text.slice(0, 500)}` : ''}`;
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error instanceof Error ? error.message : String(error)}${cause}`;
  }
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r').catch(() => undefined);
  if (!dir) return;
  try {
    await dir.sync();
  } catch {
    // Some file systems refuse to sync a directory; the file itself is synced.
  } finally {
    await dir.close();
  }
}
