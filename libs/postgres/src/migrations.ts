import type { Pool, PoolClient } from 'pg';
import { advisoryKey, ident } from './sql';

export interface Migration {
  /** Sortable, never renamed: `0001_event_store`. */
  id: string;
  /** Runs inside the migration transaction; `schema` is already quoted-safe. */
  up: (client: PoolClient, schema: string) => Promise<void>;
}

export interface MigrateOptions {
  schema: string;
  /** Which component's migrations these are; several components may share a schema. */
  component: string;
  migrations: ReadonlyArray<Migration>;
}

/**
 * Applies pending migrations in one transaction, under an advisory lock so that services
 * starting together do not race. Returns the ids it applied.
 */
export async function migrate(pool: Pool, options: MigrateOptions): Promise<string[]> {
  const schema = ident(options.schema);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [advisoryKey(`migrate:${options.schema}`)]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
         component text NOT NULL,
         id text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (component, id)
       )`,
    );
    const done = await client.query<{ id: string }>(`SELECT id FROM ${schema}.schema_migrations WHERE component = $1`, [options.component]);
    const applied = new Set(done.rows.map((r) => r.id));
    const pending = [...options.migrations].sort((a, b) => a.id.localeCompare(b.id)).filter((m) => !applied.has(m.id));
    for (const migration of pending) {
      await migration.up(client, schema);
      await client.query(`INSERT INTO ${schema}.schema_migrations (component, id) VALUES ($1, $2)`, [options.component, migration.id]);
    }
    await client.query('COMMIT');
    return pending.map((m) => m.id);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
