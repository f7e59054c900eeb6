import type { AppConfig } from '@modeltrail/config';
import { eventStoreMigrations } from '@modeltrail/eventstore';
import { consumerMigrations, relayMigrations } from '@modeltrail/messaging';
import { createPool, ensureDatabase, migrate } from '@modeltrail/postgres';

/** PostgreSQL schema of the messaging tables (relay checkpoints, processed event ids). */
export const MESSAGING_SCHEMA = 'messaging';

/**
 * Creates the database when missing and applies every platform migration. Each process also
 * migrates what it uses when it starts (under an advisory lock, so concurrent starts are safe);
 * this runs them all up front for `npm start` and `npm run migrate`.
 */
export async function prepareDatabase(config: Pick<AppConfig, 'databaseUrl' | 'eventStoreUrl' | 'eventStoreSchema'>): Promise<string[]> {
  await ensureDatabase(config.databaseUrl);
  const pool = createPool(config.databaseUrl, { max: 2, applicationName: 'modeltrail-migrate' });
  try {
    const applied: string[] = [];
    if (!config.eventStoreUrl) {
      applied.push(...(await migrate(pool, { schema: config.eventStoreSchema, component: 'eventstore', migrations: eventStoreMigrations })));
    }
    applied.push(...(await migrate(pool, { schema: MESSAGING_SCHEMA, component: 'messaging-relay', migrations: relayMigrations })));
    applied.push(...(await migrate(pool, { schema: MESSAGING_SCHEMA, component: 'messaging-consumer', migrations: consumerMigrations })));
    return applied;
  } finally {
    await pool.end();
  }
}
