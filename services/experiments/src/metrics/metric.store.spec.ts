import { randomUUID } from 'node:crypto';
import { ConflictError, type MetricPoint, type RunMetricsTelemetry } from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';
import { migrateReadModel } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { experimentsMigrations } from '../experiments.migrations';
import { MetricStore } from './metric.store';
import { telemetryMessages } from './run-telemetry.publisher';

/** The metric tables as LogMetrics writes them, on the real PostgreSQL. */
describe('metric store', () => {
  let db: TestSchema;
  let metrics: MetricStore;
  const at = (second: number) => new Date(Date.UTC(2026, 10, 22, 12, 0, second)).toISOString();
  const count = async (table: string, runId: string) => Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(db.schema)}.${table} WHERE run_id = $1`, [runId])).rows[0].n);

  beforeAll(async () => {
    db = await createTestSchema('metricstore');
    await migrateReadModel(db.pool, db.schema, 'experiments', experimentsMigrations);
    metrics = new MetricStore(db.pool, db.schema);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('keeps per key the point with the highest step, then the latest time, then the last logged, across batches', async () => {
    const runId = randomUUID();
    await metrics.withRunLock(runId, (tx) =>
      tx.store(randomUUID(), [
        { key: 'loss', value: 0.9, step: 1, timestamp: at(1) },
        { key: 'loss', value: 0.7, step: 3, timestamp: at(2) },
        { key: 'loss', value: 0.8, step: 2, timestamp: at(9) },
        { key: 'acc', value: 0.5, step: 4, timestamp: at(5) },
        { key: 'acc', value: 0.6, step: 4, timestamp: at(5) },
        { key: 'acc', value: 0.4, step: 4, timestamp: at(4) },
      ]),
    );
    // An older step logged later changes min, max and count, not the latest value.
    await metrics.withRunLock(runId, (tx) =>
      tx.store(randomUUID(), [
        { key: 'loss', value: 0.95, step: 0, timestamp: at(20) },
        { key: 'acc', value: 0.65, step: 4, timestamp: at(5) },
      ]),
    );
    const latest = (await metrics.latest([runId])).get(runId)!;
    expect(latest.map(({ key, value, step, timestamp, min, max, count }) => ({ key, value, step, timestamp, min, max, count }))).toEqual([
      { key: 'acc', value: 0.65, step: 4, timestamp: at(5), min: 0.4, max: 0.65, count: 4 },
      { key: 'loss', value: 0.7, step: 3, timestamp: at(2), min: 0.7, max: 0.95, count: 4 },
    ]);
    expect(await count('run_metrics', runId)).toBe(8);
  });

  it('stores keys that need quoting in an array literal as they are', async () => {
    const runId = randomUUID();
    const keys = ['a"b', 'back\\slash', '{braces}', 'comma,key', 'NULL', ' spaced ', ''];
    await metrics.withRunLock(runId, (tx) => tx.insert(keys.map((key, i) => ({ key, value: i, step: i, timestamp: at(i) }))));
    expect(await metrics.keys(runId)).toEqual([...keys].sort((a, b) => (a < b ? -1 : 1)));
    const series = await metrics.series(runId, 'back\\slash', 10);
    expect(series.points).toEqual([{ step: 1, value: 1, timestamp: at(1) }]);
  });

  it('stores a batch once per command id, and refuses the id for another run', async () => {
    const runId = randomUUID();
    const commandId = randomUUID();
    const points: MetricPoint[] = [{ key: 'loss', value: 1, step: 0, timestamp: at(0) }];
    await expect(metrics.withRunLock(runId, (tx) => tx.store(commandId, points))).resolves.toBe('stored');
    await expect(metrics.withRunLock(runId, (tx) => tx.store(commandId, points))).resolves.toBe('recorded');
    expect(await count('run_metrics', runId)).toBe(1);
    const other = randomUUID();
    await expect(metrics.withRunLock(other, (tx) => tx.store(commandId, points))).rejects.toBeInstanceOf(ConflictError);
    expect(await count('run_metrics', other)).toBe(0);
    // Without a command id every call stores.
    await metrics.withRunLock(runId, (tx) => tx.store(undefined, points));
    expect(await count('run_metrics', runId)).toBe(2);
  });

  it('leaves nothing behind when the work under the lock fails after storing', async () => {
    const runId = randomUUID();
    const commandId = randomUUID();
    await expect(
      metrics.withRunLock(runId, async (tx) => {
        await tx.store(commandId, [{ key: 'loss', value: 1, step: 0, timestamp: at(0) }]);
        throw new ConflictError('the run has ended');
      }),
    ).rejects.toThrow('the run has ended');
    expect(await count('run_metrics', runId)).toBe(0);
    expect(await count('run_metric_latest', runId)).toBe(0);
    expect(await count('metric_batches', runId)).toBe(0);
  });
});

describe('run telemetry messages', () => {
  const runId = randomUUID();
  const points: MetricPoint[] = Array.from({ length: 1_000 }, (_, i) => ({ key: `metric/${i % 7}`, value: Math.sin(i), step: i, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }));
  const decode = (messages: Buffer[]) => messages.map((m) => JSON.parse(m.toString('utf8')) as RunMetricsTelemetry);

  it('sends a batch that fits as one message', () => {
    const messages = telemetryMessages(runId, points, 1_048_576);
    expect(decode(messages)).toEqual([{ runId, points }]);
  });

  it('cuts a larger batch into messages under the limit, every point once and in order', () => {
    const limit = 10_000;
    const messages = telemetryMessages(runId, points, limit);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) expect(message.length).toBeLessThanOrEqual(limit);
    const decoded = decode(messages);
    expect(decoded.every((m) => m.runId === runId)).toBe(true);
    expect(decoded.flatMap((m) => m.points)).toEqual(points);
  });
});
