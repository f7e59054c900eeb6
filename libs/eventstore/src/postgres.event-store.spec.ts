import { EventCatalog } from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';
import { createTestSchema } from '@modeltrail/testing';
import { describeEventStoreContract } from '../test/event-store.contract';
import { PostgresEventStore } from './postgres.event-store';

describeEventStoreContract('PostgreSQL', {
  async create(options) {
    const db = await createTestSchema('es');
    const store = new PostgresEventStore({
      pool: db.pool,
      connectionString: db.url,
      schema: db.schema,
      catalog: options?.catalog ?? new EventCatalog({}, { strict: false }),
    });
    await store.migrate();
    return {
      store,
      // What an operator with table access could do: edit the stored data in place.
      tamper: async (stream, revision, data) => {
        const result = await db.pool.query(`UPDATE ${ident(db.schema)}.events SET data = $1 WHERE stream_id = $2 AND revision = $3`, [JSON.stringify(data), stream, revision]);
        if (result.rowCount !== 1) throw new Error(`no event ${stream}@${revision} to tamper with`);
      },
      cleanup: async () => {
        await store.close();
        await db.drop();
      },
    };
  },
});
