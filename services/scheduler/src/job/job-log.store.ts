import type { Pool } from 'pg';
import { type LogLine, type LogStream, ValidationError } from '@modeltrail/contracts';
import { ident, withTransaction } from '@modeltrail/postgres';

export interface IncomingLogLine {
  seq: number;
  stream: LogStream;
  time: string;
  line: string;
}

/** Once an attempt's lines pass the bound, the oldest are dropped until this share of it is left, so trimming is not paid on every append. */
const TRIM_TO = 0.9;

/**
 * Log lines of jobs, per job attempt, in the agent's numbering (`seq`). Lines are not events:
 * AppendJobLogs writes them here directly. A resent line (same job, attempt and seq) is stored
 * once; each attempt keeps at most `maxBytes` of line text, the oldest lines dropped first
 * (and not stored again if they are sent again).
 *
 * Appends to one attempt take turns on its row in `job_log_totals`, which holds the bytes kept,
 * the highest seq and the seq below which lines were dropped.
 */
export class JobLogStore {
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.s = ident(schema);
  }

  async append(jobId: string, attempt: number, lines: ReadonlyArray<IncomingLogLine>, maxBytes: number): Promise<{ accepted: number; lastSeq: number | null }> {
    return withTransaction(this.pool, async (client) => {
      const { rows: totals } = await client.query<{ bytes: string; last_seq: string | null; trimmed_below: string }>(
        `INSERT INTO ${this.s}.job_log_totals AS t (job_id, attempt, bytes, last_seq, trimmed_below) VALUES ($1, $2, 0, NULL, 0)
         ON CONFLICT (job_id, attempt) DO UPDATE SET bytes = t.bytes RETURNING bytes, last_seq, trimmed_below`,
        [jobId, attempt],
      );
      let bytes = Number(totals[0].bytes);
      let lastSeq = totals[0].last_seq === null ? null : Number(totals[0].last_seq);
      let trimmedBelow = Number(totals[0].trimmed_below);
      const fresh = lines.filter((l) => l.seq >= trimmedBelow);
      let accepted = 0;
      if (fresh.length > 0) {
        const { rows } = await client.query<{ n: string; bytes: string | null; max_seq: string | null }>(
          `WITH ins AS (
             INSERT INTO ${this.s}.job_logs (job_id, attempt, seq, stream, time, line, bytes)
             SELECT $1, $2, l.seq, l.stream, l.time, l.line, l.bytes FROM unnest($3::bigint[], $4::text[], $5::timestamptz[], $6::text[], $7::integer[]) AS l(seq, stream, time, line, bytes)
             ON CONFLICT (job_id, attempt, seq) DO NOTHING
             RETURNING seq, bytes)
           SELECT count(*) AS n, sum(bytes) AS bytes, max(seq) AS max_seq FROM ins`,
          [jobId, attempt, fresh.map((l) => l.seq), fresh.map((l) => l.stream), fresh.map((l) => l.time), fresh.map((l) => l.line), fresh.map((l) => Buffer.byteLength(l.line, 'utf8'))],
        );
        accepted = Number(rows[0].n);
        bytes += Number(rows[0].bytes ?? 0);
        if (rows[0].max_seq !== null) lastSeq = Math.max(lastSeq ?? -1, Number(rows[0].max_seq));
      }
      if (bytes > maxBytes) {
        // The newest lines that fit in TRIM_TO of the bound stay; every older one goes.
        const { rows } = await client.query<{ seq: string }>(
          `SELECT seq FROM (SELECT seq, sum(bytes) OVER (ORDER BY seq DESC) AS kept FROM ${this.s}.job_logs WHERE job_id = $1 AND attempt = $2) x
           WHERE kept > $3 ORDER BY seq DESC LIMIT 1`,
          [jobId, attempt, Math.floor(maxBytes * TRIM_TO)],
        );
        if (rows.length > 0) {
          const cut = Number(rows[0].seq);
          const { rows: dropped } = await client.query<{ bytes: string | null }>(
            `WITH d AS (DELETE FROM ${this.s}.job_logs WHERE job_id = $1 AND attempt = $2 AND seq <= $3 RETURNING bytes) SELECT sum(bytes) AS bytes FROM d`,
            [jobId, attempt, cut],
          );
          bytes -= Number(dropped[0].bytes ?? 0);
          trimmedBelow = Math.max(trimmedBelow, cut + 1);
        }
      }
      await client.query(`UPDATE ${this.s}.job_log_totals SET bytes = $3, last_seq = $4, trimmed_below = $5 WHERE job_id = $1 AND attempt = $2`, [jobId, attempt, bytes, lastSeq, trimmedBelow]);
      return { accepted, lastSeq };
    });
  }

  /** Lines of one attempt in seq order after `afterSeq`; one more than `first` tells whether a next page exists. */
  async page(jobId: string, attempt: number, afterSeq: number | null, first: number): Promise<{ items: LogLine[]; hasNextPage: boolean }> {
    const { rows } = await this.pool.query<{ seq: string; stream: LogStream; time: Date; line: string }>(
      `SELECT seq, stream, time, line FROM ${this.s}.job_logs WHERE job_id = $1 AND attempt = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
      [jobId, attempt, afterSeq ?? -1, first + 1],
    );
    return {
      items: rows.slice(0, first).map((r) => ({ jobId, attempt, seq: Number(r.seq), stream: r.stream, time: r.time.toISOString(), line: r.line })),
      hasNextPage: rows.length > first,
    };
  }

  /** Bytes kept for an attempt (0 when it has none). */
  async bytesKept(jobId: string, attempt: number): Promise<number> {
    const { rows } = await this.pool.query<{ bytes: string }>(`SELECT bytes FROM ${this.s}.job_log_totals WHERE job_id = $1 AND attempt = $2`, [jobId, attempt]);
    return rows.length ? Number(rows[0].bytes) : 0;
  }
}

/** Opaque to callers: the attempt and the last seq of the page. */
export function encodeLogCursor(attempt: number, seq: number): string {
  return Buffer.from(`log|${attempt}|${seq}`, 'utf8').toString('base64url');
}

export function decodeLogCursor(cursor: string): { attempt: number; seq: number } {
  const [tag, attempt, seq] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (tag !== 'log' || !/^\d+$/.test(attempt ?? '') || !/^\d+$/.test(seq ?? '')) throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
  return { attempt: Number(attempt), seq: Number(seq) };
}
