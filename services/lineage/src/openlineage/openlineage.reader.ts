import type { Pool } from 'pg';
import type { BuildOptions, Emission, RunEvent } from '@modeltrail/openlineage';
import { ident } from '@modeltrail/postgres';
import { buildRunEvents } from './openlineage.documents';

/**
 * The RunEvents of one OpenLineage run, as the outbox sends them (query `openLineage(runId)`).
 * `runId` is an experiment run's id or a scheduler job's id.
 */
export class OpenLineageReader {
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly options: BuildOptions = {},
  ) {
    this.s = ident(schema);
  }

  /** The run's RunEvents in order; `[]` for a queued job that has not started; null for an unknown run. */
  async runEvents(runId: string): Promise<RunEvent[] | null> {
    if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(runId)) return null;
    const { rows } = await this.pool.query<{ emissions: Emission[] }>(`SELECT emissions FROM ${this.s}.openlineage_runs WHERE run_id = $1`, [runId]);
    if (rows.length === 0) return null;
    return buildRunEvents(this.pool, this.schema, rows[0].emissions, this.options);
  }
}
