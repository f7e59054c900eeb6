import type { Pool } from 'pg';
import type { AppConfig } from '@modeltrail/config';
import type { EventCatalog } from '@modeltrail/contracts';
import { EventStoreDbEventStore } from './eventstoredb.event-store';
import { PostgresEventStore } from './postgres.event-store';
import type { EventStore } from './types';

/**
 * The event store the configuration asks for: EventStoreDB when EVENTSTORE_URL is set,
 * otherwise PostgreSQL (migrated on open, so a fresh database works at once).
 */
export async function openEventStore(
  config: Pick<AppConfig, 'eventStoreUrl' | 'eventStoreSchema' | 'databaseUrl'>,
  pool: Pool,
  catalog: EventCatalog,
): Promise<EventStore> {
  if (config.eventStoreUrl) return new EventStoreDbEventStore({ connectionString: config.eventStoreUrl, catalog });
  const store = new PostgresEventStore({ pool, connectionString: config.databaseUrl, schema: config.eventStoreSchema, catalog });
  await store.migrate();
  return store;
}
