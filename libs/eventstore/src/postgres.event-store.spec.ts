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

describe('PostgreSQL hash chain and a cut-off history', () => {
  it('reports deleted newest events, which leave the remaining chain intact', async () => {
    const db = await createTestSchema('estail');
    const store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema });
    try {
      await store.migrate();
      await store.append('ledger-1', [0, 1, 2].map((i) => ({ type: 'test.Entry.v1', data: { i } })));
      await db.pool.query(`DELETE FROM ${ident(db.schema)}.events WHERE stream_id = 'ledger-1' AND revision = 2`);
      const result = await store.verifyStream('ledger-1');
      expect(result.ok).toBe(false);
      expect(result.breaks).toEqual([expect.objectContaining({ stream: 'ledger-1', revision: 2, reason: 'tail_mismatch' })]);

      await db.pool.query(`DELETE FROM ${ident(db.schema)}.events WHERE stream_id = 'ledger-1'`);
      expect((await store.verifyStream('ledger-1')).breaks).toEqual([expect.objectContaining({ reason: 'tail_mismatch', actual: 'no events' })]);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
