import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { platformEventCatalog } from '@modeltrail/contracts';
import { CommandHandler } from '@modeltrail/decider';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { migrateReadModel, openReadModelOrm, type Projection, ProjectionRunner, type TableProjection } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { datasetsMigrations } from '../datasets.migrations';
import { type DatasetCommand, datasetDecider, datasetStream } from './dataset.decider';
import { DatasetRowSchema } from './dataset.entity';
import { type DatasetEvent, datasetProjection } from './dataset.projection';

/** The datasets read model, kept by a ProjectionRunner over the real PostgreSQL event store. */
describe('datasets projection', () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  let orm: MikroORM;
  const at = '2026-11-22T10:00:00.000Z';
  const ctx = { actor: 'ada@example.com', correlationId: 'corr-p' };
  const runners: ProjectionRunner[] = [];

  const runner = (projection: Projection<DatasetEvent> = datasetProjection, batchSize = 500, onError?: (error: unknown) => void) => {
    const r = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection, batchSize, retryDelayMs: 200, onError });
    runners.push(r);
    return r;
  };
  /** The projection with `before` called ahead of every evolve of a row. */
  const observed = (before: (event: DatasetEvent) => void): Projection<DatasetEvent> => ({
    ...datasetProjection,
    tables: datasetProjection.tables.map(
      (table): TableProjection<DatasetEvent, any, any> => ({
        ...table,
        evolve: (row, event, key) => {
          before(event);
          return table.evolve(row, event, key);
        },
      }),
    ),
  });
  const rows = async () =>
    (await orm.em.fork().find(DatasetRowSchema, {}, { orderBy: { datasetId: 'asc' } })).map(({ datasetId, name, description, status, archiveReason, revision, registeredBy }) => ({
      datasetId,
      name,
      description,
      status,
      archiveReason,
      revision,
      registeredBy,
    }));

  async function history(count: number): Promise<number> {
    const handler = new CommandHandler(store, datasetDecider);
    let position = 0;
    for (let i = 0; i < count; i++) {
      const datasetId = randomUUID();
      const commands: DatasetCommand[] = [
        { type: 'RegisterDataset', datasetId, name: `set-${i}`, description: '', projectId: null, at },
        { type: 'ChangeDatasetDescription', datasetId, description: `about ${i}`, at },
      ];
      if (i % 3 === 0) commands.push({ type: 'ArchiveDataset', datasetId, reason: 'old', at });
      for (const command of commands) position = (await handler.handle(datasetStream(datasetId), command, ctx)).position ?? position;
    }
    return position;
  }

  beforeAll(async () => {
    db = await createTestSchema('dsproj');
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: platformEventCatalog() });
    await store.migrate();
    await migrateReadModel(db.pool, db.schema, 'datasets', datasetsMigrations);
    orm = await openReadModelOrm({ databaseUrl: db.url, schema: db.schema, entities: [DatasetRowSchema] });
    await history(6);
  });

  /** What the rows must say, derived from the store itself. */
  async function expected(): Promise<{ datasets: number; archived: number }> {
    const events = await store.readAll({ limit: 100_000 });
    return {
      datasets: events.filter((e) => e.type === 'datasets.DatasetRegistered.v1').length,
      archived: events.filter((e) => e.type === 'datasets.DatasetArchived.v1').length,
    };
  }
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    await orm.em.fork().execute(`DELETE FROM "${db.schema}".datasets`);
    await orm.em.fork().execute(`DELETE FROM "${db.schema}".projection_checkpoints`);
  });
  afterAll(async () => {
    await orm?.close();
    await store.close();
    await db.drop();
  });

  it('folds dataset streams into rows, then follows live appends', async () => {
    const head = await store.headPosition();
    const r = runner();
    await r.start();
    await r.waitFor(head);
    const before = await rows();
    const want = await expected();
    expect(before).toHaveLength(want.datasets);
    expect(before.filter((row) => row.status === 'Archived')).toHaveLength(want.archived);
    expect(before.every((row) => row.description.startsWith('about ') && row.registeredBy === 'ada@example.com')).toBe(true);

    const live = await history(1);
    await r.waitFor(live);
    expect(await rows()).toHaveLength(want.datasets + 1);
    expect(await r.readCheckpoint()).toBe(live);
  });

  it('rebuilds to exactly the same rows', async () => {
    const head = await store.headPosition();
    const r = runner(datasetProjection, 7);
    await r.start();
    await r.waitFor(head);
    const built = await rows();
    await r.rebuild();
    await r.waitFor(head);
    expect(await rows()).toEqual(built);
  });

  it('applies nothing of a batch that fails, and every event exactly once after the retry', async () => {
    const head = await store.headPosition();
    let failuresLeft = 1;
    let applied = 0;
    // Fail half-way through the first batch, after rows of it were already folded.
    const flaky = observed((event) => {
      applied += 1;
      if (event.type === 'datasets.DatasetArchived.v1' && failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error('disk full');
      }
    });
    let atFailure: Promise<{ rows: unknown[]; checkpoint: number }> | undefined;
    const r = runner(flaky, 1000, () => {
      atFailure ??= Promise.all([rows(), r.readCheckpoint()]).then(([rowsNow, checkpoint]) => ({ rows: rowsNow, checkpoint }));
    });
    await r.start();
    await r.waitFor(head);
    // Right after the failure (before the retry) the batch had left nothing behind.
    expect(await atFailure).toEqual({ rows: [], checkpoint: 0 });
    const eventsOfDatasets = (await store.readAll({ limit: 10_000 })).filter((e) => datasetProjection.handles.has(e.type)).length;
    // The failed batch was re-applied whole: more evolve calls than events, yet the same rows.
    expect(applied).toBeGreaterThan(eventsOfDatasets);
    const r2 = runner();
    await r2.rebuild();
    const reference = (await r2.start(), await r2.waitFor(head), await rows());
    const want = await expected();
    expect(reference).toHaveLength(want.datasets);
    expect(reference.filter((row) => row.status === 'Archived')).toHaveLength(want.archived);
  });

  it('resumes after its checkpoint when restarted, without applying anything twice', async () => {
    const head = await store.headPosition();
    const first = runner();
    await first.start();
    await first.waitFor(head);
    await first.stop();
    const snapshot = await rows();

    const more = await history(2);
    let applied = 0;
    const counting = observed(() => {
      applied += 1;
    });
    const second = runner(counting);
    await second.start();
    await second.waitFor(more);
    expect(applied).toBe(5); // dataset 0: register, describe, archive; dataset 1: register, describe — nothing from before
    expect(await rows()).toHaveLength(snapshot.length + 2);
  });

  it('lets two replicas run the same projection on one schema without conflicts', async () => {
    const errors: unknown[] = [];
    const a = runner(datasetProjection, 3, (e) => errors.push(e));
    const b = runner(datasetProjection, 5, (e) => errors.push(e));
    await Promise.all([a.start(), b.start()]);
    const head = await history(4);
    await Promise.all([a.waitFor(head), b.waitFor(head)]);
    expect(errors).toEqual([]);
    const want = await expected();
    expect(await rows()).toHaveLength(want.datasets);
    expect(await a.readCheckpoint()).toBe(head);
  });
});
