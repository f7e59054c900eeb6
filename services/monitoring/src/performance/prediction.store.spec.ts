import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { ConflictError, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { ident, migrate, withTransaction } from '@modeltrail/postgres';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { PredictionStore, predictionStoreMigration } from './prediction.store';

/** The store against the real PostgreSQL, in a schema of its own migrated as the monitoring service would. */
describe('PredictionStore', () => {
  let db: TestSchema;
  let store: PredictionStore;

  beforeAll(async () => {
    db = await createTestSchema('predictions');
    await migrate(db.pool, { schema: db.schema, component: 'monitoring', migrations: [predictionStoreMigration('0002_predictions')] });
    store = new PredictionStore(db.schema);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const tx = <T>(work: (client: PoolClient) => Promise<T>) => withTransaction(db.pool, work);
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  async function refusal(promise: Promise<unknown>): Promise<Error> {
    const outcome = await promise.then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    if (!outcome) throw new Error('expected a refusal');
    return outcome;
  }
  const rowCount = async (deploymentId: string) => Number((await db.pool.query(`SELECT count(*) AS n FROM ${ident(db.schema)}.predictions WHERE deployment_id = $1`, [deploymentId])).rows[0].n);

  it('records predictions once per id and value, and refuses the same id with another value, naming it', async () => {
    const deployment = randomUUID();
    await expect(tx((c) => store.record(c, deployment, [{ predictionId: 'r1', prediction: 0.7, predictedAt: '2026-12-01T10:00:00.000Z' }, { predictionId: 'r2', prediction: 'cat' }]))).resolves.toEqual({ recorded: 2, alreadyStored: 0 });
    // A retry, and the same id twice in one call: nothing new.
    await expect(tx((c) => store.record(c, deployment, [{ predictionId: 'r1', prediction: 0.7 }, { predictionId: 'r3', prediction: true }, { predictionId: 'r3', prediction: true }]))).resolves.toEqual({ recorded: 1, alreadyStored: 1 });
    const conflict = await refusal(tx((c) => store.record(c, deployment, [{ predictionId: 'r4', prediction: 2 }, { predictionId: 'r2', prediction: 'dog' }])));
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict.message).toBe(`prediction r2 (recorded "cat", now "dog") of deployment ${deployment} was recorded with another value`);
    expect(await rowCount(deployment)).toBe(3); // r4 rolled back with the refused call
    // The same id in another deployment is another prediction.
    await expect(tx((c) => store.record(c, randomUUID(), [{ predictionId: 'r2', prediction: 'dog' }]))).resolves.toEqual({ recorded: 1, alreadyStored: 0 });
    // true is not the string "true".
    await expect(refusal(tx((c) => store.record(c, deployment, [{ predictionId: 'r3', prediction: 'true' }])))).resolves.toBeInstanceOf(ConflictError);
    await expect(refusal(tx((c) => store.record(c, deployment, [{ predictionId: 'x', prediction: Number.NaN }])))).resolves.toBeInstanceOf(ValidationError);
    await expect(refusal(tx((c) => store.record(c, deployment, [{ predictionId: 'y', prediction: 1 }, { predictionId: 'y', prediction: 2 }])))).resolves.toBeInstanceOf(ValidationError);
  });

  it('labels in arrival order, refuses unknown ids (naming 20 of them) and relabels with another value, and passes over a repeated label', async () => {
    const deployment = randomUUID();
    await tx((c) => store.record(c, deployment, ids('p', 6).map((predictionId, i) => ({ predictionId, prediction: i % 2 }))));
    await expect(tx((c) => store.label(c, deployment, [{ predictionId: 'p-3', actual: 1 }, { predictionId: 'p-0', actual: 0 }]))).resolves.toEqual({ labelled: 2 });
    await expect(tx((c) => store.label(c, deployment, [{ predictionId: 'p-0', actual: 0 }, { predictionId: 'p-5', actual: 0 }]))).resolves.toEqual({ labelled: 1 });

    const unknown = await refusal(tx((c) => store.label(c, deployment, [{ predictionId: 'p-1', actual: 1 }, ...ids('missing', 25).map((predictionId) => ({ predictionId, actual: 1 }))])));
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(unknown.message).toBe(`25 predictions ${ids('missing', 20).join(', ')} and 5 more of deployment ${deployment} were never recorded: record predictions before their ground truth`);
    const relabel = await refusal(tx((c) => store.label(c, deployment, [{ predictionId: 'p-3', actual: 0 }])));
    expect(relabel).toBeInstanceOf(ConflictError);
    expect(relabel.message).toContain('p-3 (labelled 1, now 0)');

    // p-1 was not labelled by the refused call; the windows hold the labels in arrival order.
    await tx((c) => store.label(c, deployment, [{ predictionId: 'p-1', actual: 1 }]));
    const windows = await tx((c) => store.takeWindows(c, deployment, 2, 1));
    expect(windows.map((w) => ({ window: w.window, pairs: w.pairs }))).toEqual([
      { window: 1, pairs: [{ predictionId: 'p-3', prediction: 1, actual: 1 }, { predictionId: 'p-0', prediction: 0, actual: 0 }] },
      { window: 2, pairs: [{ predictionId: 'p-5', prediction: 1, actual: 0 }, { predictionId: 'p-1', prediction: 1, actual: 1 }] },
    ]);
    expect(await tx((c) => store.labelled(c, deployment))).toBe(4);
  });

  it('gives the complete windows from the next one on, none that is not full', async () => {
    const deployment = randomUUID();
    const labelledAt = '2026-12-01T12:00:00.000Z';
    const recordedAt = '2026-12-01T11:00:00.000Z';
    // q-1 was predicted at 10:00, the others came without a time: they count from when they were recorded.
    await tx((c) => store.record(c, deployment, ids('q', 10).map((predictionId, i) => ({ predictionId, prediction: i, ...(i === 1 ? { predictedAt: '2026-12-01T10:00:00+00:00' } : {}) })), recordedAt));
    await tx((c) => store.label(c, deployment, ids('q', 7).map((predictionId, i) => ({ predictionId, actual: i + 1 })), labelledAt));
    const all = await tx((c) => store.takeWindows(c, deployment, 3, 1));
    expect(all.map((w) => [w.window, w.pairs.map((p) => p.predictionId)])).toEqual([
      [1, ['q-0', 'q-1', 'q-2']],
      [2, ['q-3', 'q-4', 'q-5']],
    ]);
    expect(all[1]).toMatchObject({ firstLabel: 4, lastLabel: 6 });
    expect(all[0]).toMatchObject({ firstPredictedAt: '2026-12-01T10:00:00.000Z', lastPredictedAt: recordedAt, firstLabelledAt: labelledAt, lastLabelledAt: labelledAt });
    expect(all[1]).toMatchObject({ firstPredictedAt: recordedAt, lastPredictedAt: recordedAt });
    expect(await tx((c) => store.takeWindows(c, deployment, 3, 3))).toEqual([]);
    await tx((c) => store.label(c, deployment, ids('q', 10).slice(7).map((predictionId) => ({ predictionId, actual: 0 }))));
    expect((await tx((c) => store.takeWindows(c, deployment, 3, 3))).map((w) => [w.window, w.pairs.map((p) => p.predictionId)])).toEqual([[3, ['q-6', 'q-7', 'q-8']]]);
    expect((await tx((c) => store.takeWindows(c, deployment, 3, 1, { maxWindows: 1 }))).map((w) => w.window)).toEqual([1]);
    expect(await tx((c) => store.takeWindows(c, randomUUID(), 3, 1))).toEqual([]);
    await expect(refusal(tx((c) => store.takeWindows(c, deployment, 0, 1)))).resolves.toBeInstanceOf(ValidationError);
    await expect(refusal(tx((c) => store.takeWindows(c, deployment, 3, 0)))).resolves.toBeInstanceOf(ValidationError);
  });

  it('numbers the labels of concurrent calls one after the other, with no gap and no label twice', async () => {
    const deployment = randomUUID();
    const all = ids('c', 200);
    await tx((c) => store.record(c, deployment, all.map((predictionId) => ({ predictionId, prediction: 'a' }))));
    // Two calls at once over overlapping ids (the same ground truth delivered twice, partly).
    const first = all.slice(0, 120).map((predictionId) => ({ predictionId, actual: 'a' }));
    const second = all.slice(80).map((predictionId) => ({ predictionId, actual: 'a' }));
    const counts = await Promise.all([tx((c) => store.label(c, deployment, first)), tx((c) => store.label(c, deployment, second))]);
    expect(counts[0].labelled + counts[1].labelled).toBe(200);
    const { rows } = await db.pool.query<{ label_seq: string }>(`SELECT label_seq FROM ${ident(db.schema)}.predictions WHERE deployment_id = $1 ORDER BY label_seq`, [deployment]);
    expect(rows.map((r) => Number(r.label_seq))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const windows = await tx((c) => store.takeWindows(c, deployment, 50, 1));
    expect(windows.map((w) => w.pairs.length)).toEqual([50, 50, 50, 50]);
    expect(new Set(windows.flatMap((w) => w.pairs.map((p) => p.predictionId))).size).toBe(200);
  });

  it('leaves no gap when a labelling transaction rolls back', async () => {
    const deployment = randomUUID();
    await tx((c) => store.record(c, deployment, ids('g', 4).map((predictionId) => ({ predictionId, prediction: 1 }))));
    await refusal(
      tx(async (c) => {
        await store.label(c, deployment, [{ predictionId: 'g-0', actual: 1 }]);
        throw new Error('the caller failed after labelling');
      }),
    );
    await tx((c) => store.label(c, deployment, ids('g', 4).map((predictionId) => ({ predictionId, actual: 1 }))));
    expect((await tx((c) => store.takeWindows(c, deployment, 4, 1)))[0].pairs.map((p) => p.predictionId)).toEqual(ids('g', 4));
  });
});
