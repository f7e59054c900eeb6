import { randomUUID } from 'node:crypto';
import { ConflictError, ValidationError, platformEventCatalog } from '@modeltrail/contracts';
import { CommandHandler, deterministicEventId } from '@modeltrail/decider';
import { PostgresEventStore, WrongExpectedRevisionError } from '@modeltrail/eventstore';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { type DatasetCommand, datasetDecider, datasetStream } from './dataset.decider';

/** The command loop with the real Dataset decider, on the real PostgreSQL event store. */
describe('Dataset command handling on PostgreSQL', () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  const at = '2026-11-22T10:00:00.000Z';
  const ctx = { actor: 'ada@example.com', correlationId: 'corr-42' };

  beforeAll(async () => {
    db = await createTestSchema('dsh', 12);
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: platformEventCatalog() });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  const register = (datasetId: string, name = 'churn'): DatasetCommand => ({ type: 'RegisterDataset', datasetId, name, description: '', projectId: null, at });

  it('appends the decided events with the actor and correlation of the command', async () => {
    const handler = new CommandHandler(store, datasetDecider);
    const datasetId = randomUUID();
    const result = await handler.handle(datasetStream(datasetId), register(datasetId), ctx);
    expect(result.state).toMatchObject({ status: 'Active', name: 'churn' });
    expect(result.events).toHaveLength(1);
    expect(result.events[0]).toMatchObject({ type: 'datasets.DatasetRegistered.v1', revision: 0, metadata: { actor: 'ada@example.com', correlationId: 'corr-42' } });
  });

  it('appends nothing for a command whose outcome is already in the stream', async () => {
    const handler = new CommandHandler(store, datasetDecider);
    const datasetId = randomUUID();
    await handler.handle(datasetStream(datasetId), register(datasetId), ctx);
    const unchanged = { type: 'ChangeDatasetDescription' as const, datasetId, description: '', at };
    const again = await handler.handle(datasetStream(datasetId), unchanged, ctx);
    expect(again.events).toEqual([]);
    expect(await store.readStream(datasetStream(datasetId))).toHaveLength(1);
  });

  it('surfaces a domain error and writes nothing', async () => {
    const handler = new CommandHandler(store, datasetDecider);
    const datasetId = randomUUID();
    await handler.handle(datasetStream(datasetId), register(datasetId), ctx);
    await expect(handler.handle(datasetStream(datasetId), register(datasetId, 'other-name'), ctx)).rejects.toBeInstanceOf(ConflictError);
    expect(await store.streamRevision(datasetStream(datasetId))).toBe(0);
  });

  it('rejects an event that fails its schema before anything is written', async () => {
    const handler = new CommandHandler(store, datasetDecider);
    const datasetId = randomUUID();
    const error = await handler.handle(datasetStream(datasetId), register(datasetId, 'x'.repeat(300)), ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/field "name": must be at most 128 characters/);
    expect(await store.streamRevision(datasetStream(datasetId))).toBe('no_stream');
  });

  // One handler runs a stream's commands one after another; replicas (a handler each) race.
  const replicas = (count: number, maxAttempts: number) => Array.from({ length: count }, () => new CommandHandler(store, datasetDecider, { maxAttempts }));

  it('re-decides on a concurrency conflict, so 8 commands racing from 8 replicas all land in order', async () => {
    const handlers = replicas(8, 10);
    const datasetId = randomUUID();
    await handlers[0].handle(datasetStream(datasetId), register(datasetId), ctx);
    await Promise.all(handlers.map((handler, i) => handler.handle(datasetStream(datasetId), { type: 'ChangeDatasetDescription', datasetId, description: `v${i}`, at }, ctx)));
    const events = await store.readStream(datasetStream(datasetId));
    expect(events).toHaveLength(9);
    expect(new Set(events.slice(1).map((e) => (e.data as { description: string }).description)).size).toBe(8);
    expect((await store.verifyStream(datasetStream(datasetId))).ok).toBe(true);
  });

  it('lets the conflict reach the caller once its attempts are spent', async () => {
    const handlers = replicas(8, 1);
    const datasetId = randomUUID();
    await new CommandHandler(store, datasetDecider).handle(datasetStream(datasetId), register(datasetId), ctx);
    const outcomes = await Promise.allSettled(
      handlers.map((handler, i) => handler.handle(datasetStream(datasetId), { type: 'ChangeDatasetDescription', datasetId, description: `v${i}`, at }, ctx)),
    );
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expect(f.reason).toBeInstanceOf(WrongExpectedRevisionError);
    expect(await store.readStream(datasetStream(datasetId))).toHaveLength(1 + outcomes.length - failures.length);
  });

  it('makes a retried command with the same command id idempotent at the store', async () => {
    const handler = new CommandHandler(store, datasetDecider);
    const datasetId = randomUUID();
    const commandId = randomUUID();
    const first = await handler.handle(datasetStream(datasetId), register(datasetId), { ...ctx, commandId });
    expect(first.events[0].id).toBe(deterministicEventId(commandId, datasetStream(datasetId), 0));
    expect(first.events[0].id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // A redelivery racing the first: append the same decided events again, as a retry would.
    const replay = await store.append(datasetStream(datasetId), first.events.map((e) => ({ id: e.id, type: e.type, data: e.data })), { expectedRevision: 'no_stream' });
    expect(replay.nextExpectedRevision).toBe(0);
    expect(await store.readStream(datasetStream(datasetId))).toHaveLength(1);
  });

  it('recognises a retried command by its command id even after others wrote, and does not undo their work', async () => {
    const handler = new CommandHandler(store, datasetDecider);
    const datasetId = randomUUID();
    const stream = datasetStream(datasetId);
    await handler.handle(stream, register(datasetId), ctx);
    const toA = { type: 'ChangeDatasetDescription' as const, datasetId, description: 'A', at };
    const commandId = randomUUID();
    await handler.handle(stream, toA, { ...ctx, commandId });
    await handler.handle(stream, { ...toA, description: 'B' }, ctx);
    const first = await store.readStream(stream, { fromRevision: 1, maxCount: 1 });
    const retry = await handler.handle(stream, toA, { ...ctx, commandId });
    expect(retry.events).toEqual([]);
    expect(retry.position).toBe(first[0].position);
    expect(retry.state).toMatchObject({ description: 'B' });
    expect(await store.readStream(stream)).toHaveLength(3);
  });
});
