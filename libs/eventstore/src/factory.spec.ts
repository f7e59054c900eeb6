import { EventCatalog } from '@modeltrail/contracts';
import { createTestSchema } from '@modeltrail/testing';
import { openEventStore } from './factory';

describe('openEventStore', () => {
  const catalog = new EventCatalog({}, { strict: false });

  it('opens PostgreSQL by default, migrating its schema', async () => {
    const db = await createTestSchema('factory');
    try {
      const store = await openEventStore({ databaseUrl: db.url, eventStoreSchema: db.schema, eventStoreUrl: undefined }, db.pool, catalog);
      expect(store.kind).toBe('postgres');
      await store.append('factory-1', [{ type: 'test.A.v1', data: {} }]);
      expect(await store.streamRevision('factory-1')).toBe(0);
      await store.close();
    } finally {
      await db.drop();
    }
  });

  it('opens EventStoreDB when EVENTSTORE_URL is set', async () => {
    const db = await createTestSchema('factory');
    try {
      const store = await openEventStore({ databaseUrl: db.url, eventStoreSchema: db.schema, eventStoreUrl: 'esdb://127.0.0.1:1?tls=false' }, db.pool, catalog);
      expect(store.kind).toBe('eventstoredb');
      await store.close();
      // Nothing was created in PostgreSQL for it.
      const tables = await db.pool.query('SELECT 1 FROM information_schema.tables WHERE table_schema = $1', [db.schema]);
      expect(tables.rowCount).toBe(0);
    } finally {
      await db.drop();
    }
  });
});
