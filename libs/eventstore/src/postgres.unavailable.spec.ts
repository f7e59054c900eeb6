import { UnavailableError } from '@modeltrail/contracts';
import { createPool } from '@modeltrail/postgres';
import { PostgresEventStore } from './postgres.event-store';

/** A database that cannot be reached is UNAVAILABLE to callers, not an opaque socket error. */
describe('PostgreSQL event store without a database', () => {
  const url = 'postgres://postgres@127.0.0.1:1/modeltrail';
  const pool = createPool(url, { max: 1 });
  const store = new PostgresEventStore({ pool, connectionString: url, schema: 'eventstore' });
  afterAll(async () => {
    await store.close();
    await pool.end();
  });

  it('reports appends and reads as unavailable, naming what failed', async () => {
    const append = await store.append('dataset-x', [{ type: 'test.A.v1', data: {} }]).catch((e: unknown) => e);
    expect(append).toBeInstanceOf(UnavailableError);
    expect((append as Error).message).toMatch(/event store \(PostgreSQL\) is unavailable for append to "dataset-x": .*ECONNREFUSED/);
    await expect(store.readStream('dataset-x')).rejects.toBeInstanceOf(UnavailableError);
    await expect(store.readAll()).rejects.toBeInstanceOf(UnavailableError);
  });
});
