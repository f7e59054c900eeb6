import { Client } from 'pg';
import { advisoryKey } from './sql';

export interface Leadership {
  /** Rejects if the session holding the lock is lost: leadership can no longer be trusted. */
  readonly lost: Promise<never>;
  release(): Promise<void>;
}

/**
 * Waits until this process holds the session-level advisory lock `name`, so that of several
 * replicas exactly one does singleton work (the event relay). The lock lives as long as the
 * dedicated connection; losing that connection rejects `lost`.
 */
export async function acquireLeadership(connectionString: string, name: string, options: { retryMs?: number; signal?: AbortSignal } = {}): Promise<Leadership> {
  const key = advisoryKey(`leader:${name}`);
  const client = new Client({ connectionString, application_name: `modeltrail-leader-${name}`.slice(0, 63) });
  let rejectLost!: (error: Error) => void;
  const lost = new Promise<never>((_, reject) => {
    rejectLost = reject;
  });
  lost.catch(() => undefined);
  client.on('error', (error) => rejectLost(new Error(`lost the leadership connection for ${name}: ${error.message}`)));
  await client.connect();
  try {
    for (;;) {
      if (options.signal?.aborted) throw new Error(`stopped waiting for leadership of ${name}`);
      const result = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
      if (result.rows[0].ok) break;
      await new Promise((r) => setTimeout(r, options.retryMs ?? 2_000));
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  client.on('end', () => rejectLost(new Error(`leadership connection for ${name} ended`)));
  return {
    lost,
    async release() {
      client.removeAllListeners('end');
      await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}
