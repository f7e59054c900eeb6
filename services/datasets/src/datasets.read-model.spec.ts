import { randomUUID } from 'node:crypto';
import { platformEventCatalog } from '@modeltrail/contracts';
import { CommandHandler } from '@modeltrail/decider';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { ident } from '@modeltrail/postgres';
import { migrateReadModel, type Projection, ProjectionRunner } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { datasetVersionDecider, datasetVersionStream } from './dataset-version/dataset-version.decider';
import { datasetVersionProjection } from './dataset-version/dataset-version.projection';
import { datasetDecider, datasetStream } from './dataset/dataset.decider';
import { datasetProjection } from './dataset/dataset.projection';
import { datasetsMigrations } from './datasets.migrations';
import { datasetsReadModel } from './datasets.read-model';

/**
 * The service's four tables kept by one combined projection: after the upgrade (migration 0003
 * empties what the two earlier projections kept), the combined one builds tables identical to
 * theirs from the same store.
 */
describe('datasets read model: one projection for the four tables', () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  const at = '2026-11-24T10:00:00.000Z';
  const ctx = { actor: 'ada@example.com', correlationId: 'corr-rm' };

  beforeAll(async () => {
    db = await createTestSchema('dsrm');
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: platformEventCatalog() });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  /** Datasets with versions, validations, splits and archives, through the deciders. */
  async function history(): Promise<void> {
    const datasets = new CommandHandler(store, datasetDecider);
    const versions = new CommandHandler(store, datasetVersionDecider);
    for (let i = 0; i < 4; i++) {
      const datasetId = randomUUID();
      await datasets.handle(datasetStream(datasetId), { type: 'RegisterDataset', datasetId, name: `set-${i}`, description: '', projectId: null, at }, ctx);
      await datasets.handle(datasetStream(datasetId), { type: 'ChangeDatasetDescription', datasetId, description: `about ${i}`, at }, ctx);
      const datasetVersionId = randomUUID();
      const version = { datasetVersionId, datasetId, uri: `file:///data/set-${i}.csv`, format: 'CSV' as const, digest: String(i).repeat(64), size: 100 + i, rows: 10, schema: [{ name: 'age', type: 'INTEGER' as const, nullable: true }], profile: null, profiled: true };
      await versions.handle(datasetVersionStream(datasetVersionId), { type: 'RegisterDatasetVersion', version, derivation: null, dataset: { status: 'Active', name: `set-${i}` }, at }, ctx);
      const rules = [{ type: 'NOT_NULL' as const, column: 'age' }];
      const report = { passed: i % 2 === 0, rowsChecked: 10, results: [{ rule: rules[0], passed: i % 2 === 0, failingRows: i % 2, exampleRows: [], observed: `${i % 2} missing` }] };
      await versions.handle(datasetVersionStream(datasetVersionId), { type: 'RecordValidation', datasetVersionId, validationId: randomUUID(), rules, report, at }, ctx);
      const parts = { train: { datasetVersionId: randomUUID(), rows: 7 }, validation: { datasetVersionId: randomUUID(), rows: 2 }, test: { datasetVersionId: randomUUID(), rows: 1 } };
      await versions.handle(datasetVersionStream(datasetVersionId), { type: 'RecordSplit', datasetVersionId, splitId: randomUUID(), seed: i, fractions: { train: 0.7, validation: 0.2, test: 0.1 }, stratifyBy: null, parts, at }, ctx);
      if (i % 2 === 1) await datasets.handle(datasetStream(datasetId), { type: 'ArchiveDataset', datasetId, reason: 'old', at }, ctx);
    }
  }

  async function caughtUp(projections: ReadonlyArray<Projection<any>>): Promise<void> {
    const runners = projections.map((projection) => new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection, retryDelayMs: 100 }));
    for (const runner of runners) await runner.start();
    const head = await store.headPosition();
    await Promise.all(runners.map((runner) => runner.waitFor(head)));
    await Promise.all(runners.map((runner) => runner.stop()));
  }

  const s = () => ident(db.schema);
  async function tables(): Promise<Record<string, unknown[]>> {
    const out: Record<string, unknown[]> = {};
    for (const [table, key] of [
      ['datasets', 'dataset_id'],
      ['dataset_versions', 'dataset_version_id'],
      ['dataset_validations', 'validation_id'],
      ['dataset_splits', 'split_id'],
    ]) {
      out[table] = (await db.pool.query(`SELECT * FROM ${s()}.${table} ORDER BY ${key}`)).rows;
    }
    return out;
  }

  it('rebuilds, after the upgrade, exactly the rows the two projections it replaced kept', async () => {
    await migrateReadModel(db.pool, db.schema, 'datasets', datasetsMigrations.slice(0, 2));
    await history();
    await caughtUp([datasetProjection, datasetVersionProjection]);
    const before = await tables();
    expect(before.datasets).toHaveLength(4);
    expect(before.dataset_splits).toHaveLength(4);

    expect(await migrateReadModel(db.pool, db.schema, 'datasets', datasetsMigrations)).toEqual(['0003_one_read_model_projection']);
    expect(Object.values(await tables()).every((rows) => rows.length === 0)).toBe(true);
    const { rows: checkpoints } = await db.pool.query(`SELECT name FROM ${s()}.projection_checkpoints`);
    expect(checkpoints).toEqual([]);

    await caughtUp([datasetsReadModel]);
    expect(await tables()).toEqual(before);
  });
});
