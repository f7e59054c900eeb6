import type { AppConfig } from '@modeltrail/config';
import { eventStoreMigrations } from '@modeltrail/eventstore';
import { MESSAGING_SCHEMA, relayMigrations } from '@modeltrail/messaging';
import { createPool, ensureDatabase, migrate } from '@modeltrail/postgres';

/**
 * Creates the database when missing and applies the platform-wide migrations (event store,
 * relay checkpoints). Each service migrates its own read-model schema when it starts (under an
 * advisory lock, so concurrent starts are safe).
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
    return applied;
  } finally {
    await pool.end();
  }
}
