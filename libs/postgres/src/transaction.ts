import type { Pool, PoolClient, QueryResult } from 'pg';

/**
 * Runs `work` in a transaction on one pooled connection; rolls back if it throws. `begin` may
 * carry more statements with the BEGIN (a lock taken in the same round trip; `work` gets their
 * results), and `commit` statements to run before the COMMIT in the same round trip (a
 * checkpoint moved). Both are sent as plain text, so they must hold no values from outside:
 * quote with `escapeLiteral` from pg, or use only numbers the code computed.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient, begun: ReadonlyArray<QueryResult>) => Promise<T>,
  options: { begin?: string; commit?: (result: T) => string | undefined } = {},
): Promise<T> {
  const client = await pool.connect();
  try {
    const begun = await client.query(options.begin ?? 'BEGIN');
    const result = await work(client, Array.isArray(begun) ? begun : [begun]);
    const before = options.commit?.(result);
    await client.query(before ? `${before}; COMMIT` : 'COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** PostgreSQL SQLSTATE of an error thrown by `pg`, if any. */
export function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE']);

/**
 * Whether an error means "the database cannot be reached" rather than "the statement failed":
 * socket errors, SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, cannot connect now).
 */
export function isConnectionError(error: unknown): boolean {
  const code = sqlState(error);
  if (code && (CONNECTION_ERRNOS.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}
