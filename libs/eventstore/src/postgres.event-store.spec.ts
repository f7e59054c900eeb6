import { EventCatalog } from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { describeEventStoreContract } from '../test/event-store.contract';
import { PostgresEventStore } from './postgres.event-store';
import { POSITIONS_PER_TRANSACTION } from './postgres.migrations';

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

describe('PostgreSQL appends in one statement, positions from transaction ids', () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  const ev = (i: number) => ({ type: 'test.N.v1', data: { i } });

  beforeAll(async () => {
    db = await createTestSchema('esxid');
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('chains from the head the caller passes, and re-chains (never forks) when that head is stale or forged', async () => {
    const first = await store.append('chain-1', [ev(0), ev(1)], { expectedRevision: 'no_stream' });
    const [, second] = first.recorded!;
    const head = { revision: second.revision, hash: second.metadata.hash };
    await store.append('chain-1', [ev(2)], { expectedRevision: 1, head });
    // The same (now stale) head again, with 'any': the store learns the real head and chains after it.
    await store.append('chain-1', [ev(3)], { expectedRevision: 'any', head });
    // A head with the right revision and a wrong hash cannot make a forked chain either.
    await store.append('chain-1', [ev(4)], { expectedRevision: 3, head: { revision: 3, hash: 'f'.repeat(64) } });
    // A stale exact expectation still fails, whatever head comes with it.
    await expect(store.append('chain-1', [ev(5)], { expectedRevision: 1, head })).rejects.toMatchObject({ expected: 1, actual: 4 });
    expect((await store.readStream('chain-1')).map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
    expect(await store.verifyStream('chain-1')).toMatchObject({ ok: true, eventsChecked: 5 });
  });

  it('returns the events exactly as stored, positions included', async () => {
    const result = await store.append('stored-1', [ev(0), ev(1), ev(2)]);
    const stored = await store.readStream('stored-1');
    expect(result.recorded).toEqual(stored);
    expect(result.position).toBe(stored[2].position);
  });

  it('numbers the appends of one transaction after each other, and readers see them only after commit', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const a = await store.appendInTransaction(client, 'tx-a', [ev(0), ev(1)]);
      const b = await store.appendInTransaction(client, 'tx-b', [ev(2)]);
      expect(b.position).toBe(a.position + 1);
      const { rows } = await client.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
      expect(Math.floor(a.position / POSITIONS_PER_TRANSACTION)).toBe(Number(rows[0].xid));
      expect((await store.readAll({ fromPosition: a.position - 1, limit: 10, toPosition: b.position })).length).toBe(0);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const after = await store.readAll({ fromPosition: 0, limit: 10_000 });
    expect(after.filter((e) => e.stream.startsWith('tx-')).map((e) => e.stream)).toEqual(['tx-a', 'tx-a', 'tx-b']);
  });

  it('readAll returns an event committed before the call even while an older transaction still holds it back', async () => {
    // An open transaction that took its id before the append: readers must not read past it.
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_current_xact_id()');
      const appended = await store.append('held-1', [ev(0)]);
      const reading = store.readAll({ fromPosition: appended.position, limit: 10 });
      let settled = false;
      void reading.then(() => (settled = true));
      // The read cannot finish while the holder is open: the event is committed but not yet readable.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(settled).toBe(false);
      await holder.query('COMMIT');
      expect((await reading).map((e) => e.stream)).toEqual(['held-1']);
    } finally {
      holder.release();
    }
  });

  it('wakes a subscriber of another store instance (another process) through NOTIFY, not by polling', async () => {
    const other = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, pollIntervalMs: 600_000 });
    const subscription = other.subscribeToAll({ fromPosition: await store.headPosition() });
    try {
      const next = subscription[Symbol.asyncIterator]().next();
      await subscription.caughtUp;
      await store.append('notified-1', [ev(0)]);
      expect((await next).value).toMatchObject({ stream: 'notified-1' });
    } finally {
      await subscription.close();
      await other.close();
    }
  });

  it('keeps new positions above restored ones: migrate() moves the clock past every stored position', async () => {
    const restored = await createTestSchema('esrestore');
    const copy = new PostgresEventStore({ pool: restored.pool, connectionString: restored.url, schema: restored.schema });
    try {
      await copy.migrate();
      // As if restored from a cluster whose transaction ids ran far ahead of this one's.
      const far = (Number((await restored.pool.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0].x) + 1_000_000) * POSITIONS_PER_TRANSACTION;
      await copy.append('restored-1', [ev(0)]);
      await restored.pool.query(`UPDATE ${ident(restored.schema)}.events SET position = $1 WHERE stream_id = 'restored-1'`, [far]);
      await copy.migrate();
      const next = await copy.append('restored-2', [ev(1)]);
      expect(next.position).toBeGreaterThan(far);
      expect((await copy.readAll({ limit: 10 })).map((e) => e.stream)).toEqual(['restored-1', 'restored-2']);
    } finally {
      await copy.close();
      await restored.drop();
    }
  });

  it('appends one event after a known head in one plain statement, and lets append_events answer whatever that statement cannot', async () => {
    const statements: string[] = [];
    const query = db.pool.query.bind(db.pool);
    const spy = jest.spyOn(db.pool, 'query').mockImplementation(((config: unknown, values?: unknown) => {
      statements.push(typeof config === 'string' ? config : ((config as { name?: string }).name ?? 'unnamed'));
      return query(config as never, values as never);
    }) as never);
    const other = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema });
    try {
      const first = await store.append('fast-1', [ev(0)], { expectedRevision: 'no_stream' });
      const second = await store.append('fast-1', [ev(1)], { expectedRevision: 0, head: { revision: 0, hash: first.recorded![0].metadata.hash } });
      expect(statements.filter((s) => s.startsWith('mt_eventstore_'))).toEqual([expect.stringMatching(/^mt_eventstore_append_first_/), expect.stringMatching(/^mt_eventstore_append_one_/)]);
      expect(second).toMatchObject({ nextExpectedRevision: 1, recorded: [{ revision: 1, metadata: { prevHash: first.recorded![0].metadata.hash } }] });
      expect(second.recorded).toEqual(await store.readStream('fast-1', { fromRevision: 1 }));

      // Another instance does not know the stream: its 'any' append finds the stream row taken,
      // writes nothing in the fast statement, and is chained after the real head by append_events.
      statements.length = 0;
      await other.append('fast-1', [ev(2)]);
      expect(statements.filter((s) => s.startsWith('mt_eventstore_'))).toEqual([expect.stringMatching(/^mt_eventstore_append_first_/), expect.stringMatching(/^mt_eventstore_append_/), expect.stringMatching(/^mt_eventstore_append_/)]);
      // A wrong expectation from a stale head writes nothing either.
      await expect(store.append('fast-1', [ev(9)], { expectedRevision: 1 })).rejects.toMatchObject({ expected: 1, actual: 2 });
      expect((await store.readStream('fast-1')).map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2]);
      expect(await store.verifyStream('fast-1')).toMatchObject({ ok: true, eventsChecked: 3 });
    } finally {
      spy.mockRestore();
      await other.close();
    }
  });

  it('refuses an append once positions would pass 2^53, on the one-statement path too, and writes nothing', async () => {
    const exhausted = await createTestSchema('esfull');
    const full = new PostgresEventStore({ pool: exhausted.pool, connectionString: exhausted.url, schema: exhausted.schema });
    try {
      await full.migrate();
      const head = await full.append('full-1', [ev(0)], { expectedRevision: 'no_stream' });
      await exhausted.pool.query(`UPDATE ${ident(exhausted.schema)}.position_clock SET xid_offset = $1`, [2 ** 37]);
      await expect(full.append('full-1', [ev(1)], { expectedRevision: 0, head: { revision: 0, hash: head.recorded![0].metadata.hash } })).rejects.toThrow(/global positions exhausted/);
      await expect(full.append('full-2', [ev(2)], { expectedRevision: 'no_stream' })).rejects.toThrow(/global positions exhausted/);
      const { rows } = await exhausted.pool.query(`SELECT stream_id, revision FROM ${ident(exhausted.schema)}.streams ORDER BY stream_id`);
      expect(rows).toEqual([{ stream_id: 'full-1', revision: '0' }]);
      expect((await exhausted.pool.query(`SELECT count(*)::int AS n FROM ${ident(exhausted.schema)}.events`)).rows[0].n).toBe(1);
    } finally {
      await full.close();
      await exhausted.drop();
    }
  });
});
