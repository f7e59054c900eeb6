import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { experimentsRpc, type MetricPoint, type Params, parseWith, platformEventCatalog, ValidationError, type z } from '@modeltrail/contracts';
import { CommandHandler } from '@modeltrail/decider';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { migrateReadModel, openReadModelOrm, ProjectionRunner, type RecordedOf } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { experimentDecider, experimentStream } from '../experiment/experiment.decider';
import { experimentsMigrations } from '../experiments.migrations';
import { MetricStore } from '../metrics/metric.store';
import { projectDecider, projectStream } from '../project/project.decider';
import { runDecider, runStream } from '../run/run.decider';
import { experimentsEntities, type RunRow } from './experiments.entities';
import { evolveRun, experimentsProjection } from './experiments.projection';
import { RunReader } from './run.reader';

type ListRunsInput = z.input<typeof experimentsRpc.listRuns.request>;

/** The experiments read models and run queries over the real PostgreSQL event store and metric tables. */
describe('experiments projection and run queries', () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  let orm: MikroORM;
  let metrics: MetricStore;
  let reader: RunReader;
  let runner: ProjectionRunner;
  const ctx = { actor: 'ada@example.com', correlationId: 'corr-proj' };
  const projectId = randomUUID();
  const experimentId = randomUUID();
  const otherExperimentId = randomUUID();
  const runs: Record<string, string> = {};
  let clockTick = 0;
  const now = () => new Date(Date.UTC(2026, 10, 22, 12, 0, clockTick++)).toISOString();
  /** What the transport does: parse with the contract's schema, then answer. */
  const listRequest = async (input: ListRunsInput) => reader.list(parseWith(experimentsRpc.listRuns.request, input, 'listRuns'));

  async function startRun(name: string, experiment: string, params: Params, tags: string[] = []): Promise<string> {
    const runId = randomUUID();
    runs[name] = runId;
    await new CommandHandler(store, runDecider).handle(
      runStream(runId),
      { type: 'StartRun', runId, experimentId: experiment, experiment: { projectId }, params, codeRef: null, datasetVersions: [], tags, at: now() },
      ctx,
    );
    return runId;
  }

  async function log(runId: string, points: Array<Omit<MetricPoint, 'timestamp'> & { timestamp?: string }>): Promise<void> {
    await metrics.withRunLock(runId, (tx) => tx.insert(points.map((p) => ({ ...p, timestamp: p.timestamp ?? now() }))));
  }

  async function logParams(runId: string, params: Params): Promise<void> {
    await new CommandHandler(store, runDecider).handle(runStream(runId), { type: 'LogParams', runId, params, at: now() }, ctx);
  }

  async function end(runId: string, how: 'CompleteRun' | 'FailRun'): Promise<number> {
    const result = await metrics.withRunLock(runId, async (tx) => {
      const summary = await tx.summary();
      const command = how === 'CompleteRun' ? { type: how, runId, summary, at: now() } : { type: how, runId, reason: 'diverged', summary, at: now() };
      return new CommandHandler(store, runDecider).handle(runStream(runId), command, ctx);
    });
    return result.position!;
  }

  async function caughtUp(): Promise<void> {
    await runner.waitFor(await store.headPosition());
  }

  beforeAll(async () => {
    db = await createTestSchema('exproj');
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: platformEventCatalog() });
    await store.migrate();
    await migrateReadModel(db.pool, db.schema, 'experiments', experimentsMigrations);
    orm = await openReadModelOrm({ databaseUrl: db.url, schema: db.schema, entities: experimentsEntities });
    metrics = new MetricStore(db.pool, db.schema);
    reader = new RunReader(db.pool, db.schema, metrics);
    runner = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection: experimentsProjection, retryDelayMs: 200 });

    await new CommandHandler(store, projectDecider).handle(
      projectStream(projectId),
      { type: 'DefineProject', projectId, name: 'Churn', problem: 'Who leaves', taskType: 'BINARY_CLASSIFICATION', target: 'churned', successCriteria: [{ metric: 'accuracy', threshold: 0.9, direction: 'MAXIMIZE' }], at: now() },
      ctx,
    );
    const experiments = new CommandHandler(store, experimentDecider);
    for (const [id, name] of [
      [experimentId, 'gbm'],
      [otherExperimentId, 'mlp'],
    ]) {
      await experiments.handle(experimentStream(id), { type: 'CreateExperiment', experimentId: id, projectId, project: { projectId, name: 'Churn' }, name, description: '', at: now() }, ctx);
    }

    // Experiment "gbm": lr as numbers and as a numeric string; accuracy's latest value is the one
    // with the highest step, whatever the order of logging.
    await log(await startRun('a', experimentId, { lr: 0.01, depth: 6 }, ['baseline']), [{ key: 'accuracy', value: 0.95, step: 3 }]);
    await log(await startRun('b', experimentId, { lr: 0.01, depth: 8 }), [
      { key: 'accuracy', value: 0.92, step: 5 },
      { key: 'accuracy', value: 0.5, step: 0 },
    ]);
    await log(runs.b, [{ key: 'accuracy', value: 0.99, step: 4 }]); // older step: not the latest
    await log(await startRun('c', experimentId, { lr: 0.1, depth: 6 }), [{ key: 'accuracy', value: 0.97, step: 1 }]);
    await log(await startRun('d', experimentId, { lr: '0.01', depth: 6 }, ['baseline', 'tuned']), [{ key: 'accuracy', value: 0.91, step: 1 }]);
    await log(await startRun('e', experimentId, { lr: 0.01 }), [{ key: 'accuracy', value: 0.85, step: 1 }]);
    await startRun('f', experimentId, { lr: 0.01 }); // no accuracy at all
    await log(await startRun('g', otherExperimentId, { lr: 0.01 }), [{ key: 'accuracy', value: 0.93, step: 1 }]);
    await log(await startRun('h', experimentId, { lr: 0.01, depth: 6 }), [{ key: 'accuracy', value: 0.95, step: 2 }]); // ties with a
    await log(await startRun('i', experimentId, { lr: 'auto' }), [{ key: 'accuracy', value: 0.6, step: 1 }]);
    // Experiment "mlp": a run whose script reports depth after the start (lr again, unchanged).
    await logParams(await startRun('j', otherExperimentId, { lr: 0.01 }), { depth: 12, lr: 0.01 });
    await end(runs.c, 'CompleteRun');
    await end(runs.e, 'FailRun');
    await runner.start();
    await caughtUp();
  });

  afterAll(async () => {
    await runner?.stop();
    await orm?.close();
    await store?.close();
    await db?.drop();
  });

  const ids = (items: Array<{ runId: string }>) => items.map((r) => r.runId);
  const byIdAsc = (a: string, b: string) => (a < b ? -1 : 1);

  it('answers "runs of E where lr = 0.01 and accuracy > 0.9, by accuracy desc", page by page', async () => {
    const request: ListRunsInput = {
      filter: { experimentId, params: [{ key: 'lr', op: 'EQ', value: 0.01 }], metrics: [{ key: 'accuracy', op: 'GT', value: 0.9 }] },
      orderBy: { field: 'METRIC', key: 'accuracy', direction: 'DESC' },
      first: 2,
    };
    // a and h tie at 0.95 (run id breaks the tie), then b (latest 0.92, not its 0.99 of step 4), then d (lr "0.01" reads as 0.01).
    const expected = [...[runs.a, runs.h].sort(byIdAsc), runs.b, runs.d];
    const first = await listRequest(request);
    expect(ids(first.items)).toEqual(expected.slice(0, 2));
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await listRequest({ ...request, after: first.pageInfo.endCursor! });
    expect(ids(second.items)).toEqual(expected.slice(2));
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect(second.items.find((r) => r.runId === runs.b)?.latestMetrics).toEqual([
      { key: 'accuracy', value: 0.92, step: 5, timestamp: expect.any(String), min: 0.5, max: 0.99, count: 3 },
    ]);
  });

  it('puts runs without the metric last in either direction, and pages through them stably', async () => {
    for (const direction of ['ASC', 'DESC'] as const) {
      const all = await listRequest({ filter: { experimentId }, orderBy: { field: 'METRIC', key: 'accuracy', direction }, first: 100 });
      expect(all.items[all.items.length - 1].runId).toBe(runs.f);
      const values = all.items.slice(0, -1).map((r) => r.latestMetrics.find((m) => m.key === 'accuracy')!.value);
      expect(values).toEqual([...values].sort((x, y) => (direction === 'ASC' ? x - y : y - x)));
      const paged: string[] = [];
      let after: string | undefined;
      do {
        const page = await listRequest({ filter: { experimentId }, orderBy: { field: 'METRIC', key: 'accuracy', direction }, first: 1, after });
        paged.push(...ids(page.items));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor! : undefined;
      } while (after);
      expect(paged).toEqual(ids(all.items));
    }
  });

  it('compares parameters as numbers when both sides are numeric, else as strings', async () => {
    // "auto" is not numeric, so it is compared with "0.05" as a string (and sorts after it).
    const gt = await listRequest({ filter: { experimentId, params: [{ key: 'lr', op: 'GT', value: '0.05' }] }, first: 100 });
    expect(ids(gt.items).sort()).toEqual([runs.c, runs.i].sort());
    const ne = await listRequest({ filter: { experimentId, params: [{ key: 'lr', op: 'NE', value: 0.01 }] }, first: 100 });
    expect(ids(ne.items).sort()).toEqual([runs.c, runs.i].sort());
    const text = await listRequest({ filter: { experimentId, params: [{ key: 'lr', op: 'EQ', value: 'auto' }] }, first: 100 });
    expect(ids(text.items)).toEqual([runs.i]);
    const depth = await listRequest({ filter: { experimentId, params: [{ key: 'depth', op: 'LTE', value: 6 }] }, first: 100 });
    expect(ids(depth.items).sort()).toEqual([runs.a, runs.c, runs.d, runs.h].sort());
  });

  it('orders by a parameter: numbers in numeric order, then other values, then runs without it', async () => {
    const byDepth = await listRequest({ filter: { experimentId }, orderBy: { field: 'PARAM', key: 'depth', direction: 'DESC' }, first: 100 });
    expect(byDepth.items.map((r) => r.params.depth ?? null)).toEqual([8, 6, 6, 6, 6, null, null, null]);
    const byLr = await listRequest({ filter: { experimentId }, orderBy: { field: 'PARAM', key: 'lr', direction: 'ASC' }, first: 3 });
    const rest = await listRequest({ filter: { experimentId }, orderBy: { field: 'PARAM', key: 'lr', direction: 'ASC' }, first: 100, after: byLr.pageInfo.endCursor! });
    const numeric = (v: unknown) => (typeof v === 'string' && Number.isFinite(Number(v)) ? Number(v) : v);
    expect([...byLr.items, ...rest.items].map((r) => numeric(r.params.lr))).toEqual([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.1, 'auto']);
  });

  it('filters by status, tags and project, and orders by end time with running runs last', async () => {
    const completed = await listRequest({ filter: { projectId, status: 'Completed' }, first: 100 });
    expect(completed.items.map((r) => [r.runId, r.status, r.summary])).toEqual([[runs.c, 'Completed', [{ key: 'accuracy', last: 0.97, min: 0.97, max: 0.97, count: 1, lastStep: 1 }]]]);
    const failed = await listRequest({ filter: { status: 'Failed', experimentId }, first: 100 });
    expect(failed.items.map((r) => [r.runId, r.failureReason])).toEqual([[runs.e, 'diverged']]);
    const tagged = await listRequest({ filter: { tags: ['baseline'], projectId }, first: 100 });
    expect(ids(tagged.items).sort()).toEqual([runs.a, runs.d].sort());
    expect(ids((await listRequest({ filter: { tags: ['baseline', 'tuned'] }, first: 100 })).items)).toEqual([runs.d]);
    const byEnd = await listRequest({ filter: { experimentId }, orderBy: { field: 'ENDED_AT', direction: 'DESC' }, first: 2 });
    expect(ids(byEnd.items)).toEqual([runs.e, runs.c]);
    const running = await listRequest({ filter: { experimentId }, orderBy: { field: 'ENDED_AT', direction: 'DESC' }, first: 100, after: byEnd.pageInfo.endCursor! });
    expect(running.items.every((r) => r.status === 'Running')).toBe(true);
    expect(running.items).toHaveLength(6);
  });

  it('lists newest runs first by default and refuses a cursor of another ordering', async () => {
    const page = await listRequest({ filter: { experimentId }, first: 3 });
    expect(page.items.map((r) => r.startedAt)).toEqual([...page.items.map((r) => r.startedAt)].sort().reverse());
    await expect(listRequest({ filter: { experimentId }, orderBy: { field: 'METRIC', key: 'accuracy', direction: 'DESC' }, after: page.pageInfo.endCursor! })).rejects.toThrow(
      /belongs to another ordering/,
    );
    await expect(listRequest({ after: 'garbage' })).rejects.toThrow(ValidationError);
    await expect(listRequest({ orderBy: { field: 'METRIC', direction: 'ASC' } })).rejects.toThrow(/field "orderBy.key": a METRIC or PARAM ordering needs the key/);
  });

  it('keeps run rows in step with the streams: params, tags, who started them, revision', async () => {
    const views = await reader.views([runs.d, runs.c, randomUUID()]);
    expect(views.size).toBe(2);
    expect(views.get(runs.d)).toMatchObject({ experimentId, projectId, status: 'Running', params: { lr: '0.01', depth: 6 }, tags: ['baseline', 'tuned'], startedBy: 'ada@example.com', revision: 0, endedAt: null });
    expect(views.get(runs.c)).toMatchObject({ status: 'Completed', revision: 2, endedAt: expect.any(String) });
  });

  it('adds logged params to the run row, so listRuns filters and orders on them', async () => {
    const [view] = (await reader.views([runs.j])).values();
    expect(view).toMatchObject({ params: { lr: 0.01, depth: 12 }, revision: 1 });
    const deep = await listRequest({ filter: { experimentId: otherExperimentId, params: [{ key: 'depth', op: 'GTE', value: 10 }, { key: 'lr', op: 'EQ', value: 0.01 }] }, first: 100 });
    expect(ids(deep.items)).toEqual([runs.j]);
    const byDepth = await listRequest({ filter: { experimentId: otherExperimentId }, orderBy: { field: 'PARAM', key: 'depth', direction: 'DESC' }, first: 100 });
    expect(ids(byDepth.items)).toEqual([runs.j, runs.g]);
  });

  it('applies RunParamsLogged to the run row it has (pure), and refuses one for a run without a row', () => {
    const row = { runId: runs.j, params: { lr: 0.01 }, revision: 0, position: 10 } as unknown as RunRow;
    const event = { type: 'experiments.RunParamsLogged.v1', data: { runId: runs.j, params: { depth: 12 }, loggedAt: now() }, revision: 1, position: 42 } as unknown as RecordedOf<'experiments.RunParamsLogged.v1'>;
    expect(evolveRun(row, event)).toEqual({ ...row, params: { lr: 0.01, depth: 12 }, revision: 1, position: 42 });
    expect(row.params).toEqual({ lr: 0.01 });
    expect(() => evolveRun(undefined, event)).toThrow(/has no row/);
  });

  it('rebuilds to exactly the same rows', async () => {
    const snapshot = async () => {
      const em = orm.em.fork();
      return Promise.all(['projects', 'experiments', 'runs', 'run_artifacts'].map((t) => em.execute(`SELECT * FROM "${db.schema}".${t} ORDER BY 1`)));
    };
    const before = await snapshot();
    await runner.rebuild();
    await caughtUp();
    expect(await snapshot()).toEqual(before);
    expect(before[0]).toHaveLength(1);
    expect(before[1]).toHaveLength(2);
  });
});

