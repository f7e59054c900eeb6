import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventMap, platformEventCatalog } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { type RunEvent, validateRunEvent } from '@modeltrail/openlineage';
import { migrateReadModel, ProjectionRunner } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { OpenLineageDelivery, type OpenLineageDeliveryOptions } from './openlineage.delivery';
import { openLineageMigrations } from './openlineage.migrations';
import { openLineageProjection } from './openlineage.projection';
import { OpenLineageReader } from './openlineage.reader';

const ids = {
  project: '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00',
  experiment: '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43',
  dataset: '5a5a5a5a-1111-4222-8333-444444444444',
  datasetVersion: '6b6b6b6b-1111-4222-8333-444444444444',
  run: '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11',
  jobRun: '9b2d2f6e-3e8b-4b64-8b62-1d3c1c9f0e22',
  job: '1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b',
  cancelledJob: '3d4e5f60-7182-4394-a5b6-c7d8e9f0a1b2',
  agent: '2c2c2c2c-1111-4222-8333-444444444444',
  model: '6a000000-0000-4000-8000-000000000001',
  modelVersion: '7b000000-0000-4000-8000-000000000001',
};
const digest = 'ab'.repeat(32);
const t = (minute: number) => new Date(Date.UTC(2026, 10, 22, 12, minute, 0)).toISOString();

type Append = { stream: string; type: keyof EventMap; data: EventMap[keyof EventMap] };
const e = <K extends keyof EventMap>(stream: string, type: K, data: EventMap[K]): Append => ({ stream, type, data });

/** A run's whole life and a job's, as the services append them. */
const LIFECYCLE: Append[] = [
  e(`project-${ids.project}`, 'experiments.ProjectDefined.v1', {
    projectId: ids.project,
    name: 'Churn',
    problem: 'Who leaves',
    taskType: 'BINARY_CLASSIFICATION',
    target: 'churned',
    successCriteria: [],
    definedAt: t(0),
  }),
  e(`experiment-${ids.experiment}`, 'experiments.ExperimentCreated.v1', { experimentId: ids.experiment, projectId: ids.project, name: 'gbm', description: '', createdAt: t(1) }),
  e(`dataset-${ids.dataset}`, 'datasets.DatasetRegistered.v1', { datasetId: ids.dataset, name: 'customers', description: '', projectId: ids.project, registeredAt: t(2) }),
  e(`dataset-version-${ids.datasetVersion}`, 'datasets.DatasetVersionRegistered.v1', {
    datasetVersionId: ids.datasetVersion,
    datasetId: ids.dataset,
    uri: 'file:///data/churn/customers-v1.csv',
    format: 'CSV',
    digest,
    size: 2048,
    rows: 100,
    schema: [
      { name: 'age', type: 'INTEGER', nullable: false },
      { name: 'plan', type: 'STRING', nullable: true },
    ],
    profile: {
      rows: 100,
      columns: [
        { name: 'age', type: 'INTEGER', count: 100, missing: 0, distinct: 40, distinctExact: true, numeric: { min: 18, max: 90, mean: 41, stddev: 12, quantiles: [{ q: 0.5, value: 40 }], histogram: [] }, categorical: null },
        { name: 'plan', type: 'STRING', count: 95, missing: 5, distinct: 3, distinctExact: true, numeric: null, categorical: { topValues: [{ value: 'pro', count: 50 }], exact: true } },
      ],
    },
    profiled: true,
    registeredAt: t(3),
  }),
  e(`run-${ids.run}`, 'experiments.RunStarted.v1', {
    runId: ids.run,
    experimentId: ids.experiment,
    projectId: ids.project,
    params: { lr: 0.01, depth: 6 },
    codeRef: { repository: 'https://github.com/acme/churn', commit: 'abc123', path: 'train.py' },
    datasetVersions: [{ datasetVersionId: ids.datasetVersion, datasetId: ids.dataset, role: 'TRAIN' }],
    tags: ['baseline'],
    startedAt: t(10),
  }),
  e(`run-${ids.run}`, 'experiments.RunArtifactLogged.v1', { runId: ids.run, name: 'model.pkl', uri: `file:///var/modeltrail/artifacts/${ids.run}/model.pkl`, digest, size: 512, loggedAt: t(11) }),
  e(`run-${ids.run}`, 'experiments.RunMetricsSummarized.v1', { runId: ids.run, metrics: [{ key: 'accuracy', last: 0.93, min: 0.5, max: 0.95, count: 3, lastStep: 2 }], summarizedAt: t(12) }),
  e(`run-${ids.run}`, 'experiments.RunCompleted.v1', { runId: ids.run, completedAt: t(12) }),
  e(`model-${ids.model}`, 'registry.ModelRegistered.v1', { modelId: ids.model, projectId: ids.project, name: 'churn-model', description: '', registeredAt: t(13) }),
  e(`model-version-${ids.modelVersion}`, 'registry.ModelVersionCreated.v1', {
    modelVersionId: ids.modelVersion,
    modelId: ids.model,
    projectId: ids.project,
    experimentId: ids.experiment,
    runId: ids.run,
    version: 1,
    artifact: { name: 'model.pkl', uri: `file:///var/modeltrail/artifacts/${ids.run}/model.pkl`, digest, size: 512 },
    metrics: [],
    params: { lr: 0.01 },
    codeRef: null,
    datasetVersions: [],
    signature: { inputs: [{ name: 'age', type: 'double' }], outputs: [{ name: 'churned', type: 'long' }] },
    modelCard: { intendedUse: 'u', limitations: 'l', evaluationData: 'e', ethicalConsiderations: 'x', caveats: 'c' },
    createdAt: t(14),
  }),
  // A job that starts its own run (tagged job:<jobId>, as the scheduler does), runs on a GPU and fails.
  e(`run-${ids.jobRun}`, 'experiments.RunStarted.v1', {
    runId: ids.jobRun,
    experimentId: ids.experiment,
    projectId: ids.project,
    params: { lr: 0.1 },
    codeRef: null,
    datasetVersions: [{ datasetVersionId: ids.datasetVersion, datasetId: ids.dataset, role: 'TRAIN' }],
    tags: [`job:${ids.job}`],
    startedAt: t(20),
  }),
  e(`job-${ids.job}`, 'scheduler.JobQueued.v1', {
    jobId: ids.job,
    projectId: ids.project,
    experimentId: ids.experiment,
    runId: ids.jobRun,
    newRun: { params: { lr: 0.1 }, datasetVersions: [{ datasetVersionId: ids.datasetVersion, role: 'TRAIN' }] },
    command: ['python', 'train.py'],
    env: {},
    workingDir: null,
    resources: { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1024, labels: {} },
    priority: 0,
    maxRetries: 2,
    timeoutSeconds: null,
    cancelGraceSeconds: 10,
    sweep: null,
    queuedAt: t(20),
  }),
  e(`job-${ids.job}`, 'scheduler.JobAssigned.v1', { jobId: ids.job, agentId: ids.agent, gpus: [{ index: 0, uuid: 'GPU-5f2c' }], fencingToken: 1, leaseExpiresAt: t(22), attempt: 1, assignedAt: t(21) }),
  e(`job-${ids.job}`, 'scheduler.JobStarted.v1', { jobId: ids.job, agentId: ids.agent, fencingToken: 1, pid: 4242, startedAt: t(21) }),
  e(`job-${ids.job}`, 'scheduler.JobFailed.v1', { jobId: ids.job, agentId: ids.agent, fencingToken: 1, exitCode: 1, signal: null, durationMs: 60_000, reason: 'exit code 1: CUDA out of memory', endedAt: t(22) }),
  e(`run-${ids.jobRun}`, 'experiments.RunFailed.v1', { runId: ids.jobRun, reason: 'the job failed: exit code 1', failedAt: t(22) }),
  // A job of the first run (it trains into that run), cancelled before it started.
  e(`job-${ids.cancelledJob}`, 'scheduler.JobQueued.v1', {
    jobId: ids.cancelledJob,
    projectId: ids.project,
    experimentId: ids.experiment,
    runId: ids.run,
    newRun: null,
    command: ['python', 'evaluate.py'],
    env: {},
    workingDir: null,
    resources: { gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1024, labels: {} },
    priority: 0,
    maxRetries: 0,
    timeoutSeconds: null,
    cancelGraceSeconds: 10,
    sweep: null,
    queuedAt: t(30),
  }),
  e(`job-${ids.cancelledJob}`, 'scheduler.JobCancelled.v1', {
    jobId: ids.cancelledJob,
    agentId: null,
    fencingToken: null,
    exitCode: null,
    signal: null,
    durationMs: null,
    reason: 'not needed any more',
    neverStarted: true,
    endedAt: t(31),
  }),
];
const ALL_RUNS = [ids.run, ids.jobRun, ids.job, ids.cancelledJob];
const EVENT_COUNT = 9;

/** A schema with the store, the read model and a caught-up projection over LIFECYCLE. */
interface World {
  db: TestSchema;
  store: PostgresEventStore;
  runner: ProjectionRunner;
  reader: OpenLineageReader;
  delivery(options: Partial<OpenLineageDeliveryOptions> & Pick<OpenLineageDeliveryOptions, 'sink'>): OpenLineageDelivery;
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

async function world(prefix: string): Promise<World> {
  const db = await createTestSchema(prefix);
  const store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: platformEventCatalog() });
  await store.migrate();
  await migrateReadModel(db.pool, db.schema, 'lineage', openLineageMigrations);
  for (const { stream, type, data } of LIFECYCLE) await store.append(stream, [{ type, data, metadata: { actor: 'ada@example.com', correlationId: 'corr-ol' } }]);
  const runner = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection: openLineageProjection, retryDelayMs: 100 });
  await runner.start();
  const caughtUp = async () => runner.waitFor(await store.headPosition());
  await caughtUp();
  return {
    db,
    store,
    runner,
    reader: new OpenLineageReader(db.pool, db.schema),
    delivery: (options) => new OpenLineageDelivery({ pool: db.pool, schema: db.schema, baseDelayMs: 100, ...options }),
    caughtUp,
    async close() {
      await runner.stop();
      await store.close();
      await db.drop();
    },
  };
}

interface Received {
  at: number;
  request: string;
  body: RunEvent;
  status: number;
}

/** An OpenLineage endpoint on loopback: `respond` decides each request's status. */
async function endpoint(respond: (n: number, body: RunEvent) => number | Promise<number>): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const at = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunEvent;
      const status = await respond(received.length, body);
      received.push({ at, body, status, request: `${req.method} ${req.headers['content-type']}` });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'backend unavailable' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v1/lineage`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const label = (event: RunEvent) => `${event.run.runId}:${event.eventType}`;

/** Passes until a pass neither delivers nor fails and nothing is pending (waiting out backoffs). */
async function deliverAll(delivery: OpenLineageDelivery, db: TestSchema, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await delivery.deliverOnce();
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM "${db.schema}".openlineage_outbox WHERE delivered_at IS NULL AND parked_at IS NULL`);
    if (rows[0].n === 0) return;
    if (Date.now() > deadline) throw new Error(`${rows[0].n} events still pending`);
    await sleep(20);
  }
}

describe('OpenLineage export over the real store', () => {
  describe('projection and reader', () => {
    let w: World;
    beforeAll(async () => {
      w = await world('olread');
    });
    afterAll(async () => w?.close());

    it('emits START, COMPLETE and (for the model version registered after the end) OTHER for the run, with inputs and outputs', async () => {
      const events = (await w.reader.runEvents(ids.run))!;
      expect(events.map((x) => x.eventType)).toEqual(['START', 'COMPLETE', 'OTHER']);
      for (const event of events) expect(validateRunEvent(event, { customPrefix: 'modeltrail' })).toEqual([]);
      const [start, complete, other] = events;
      const input = {
        namespace: 'file',
        name: '/data/churn/customers-v1.csv',
        facets: expect.objectContaining({
          schema: expect.objectContaining({ fields: [{ name: 'age', type: 'INTEGER' }, { name: 'plan', type: 'STRING' }] }),
          dataSource: expect.objectContaining({ name: 'file', uri: 'file:///' }),
          version: expect.objectContaining({ datasetVersion: ids.datasetVersion }),
        }),
        inputFacets: {
          modeltrail_datasetVersion: expect.objectContaining({ datasetVersionId: ids.datasetVersion, datasetId: ids.dataset, datasetName: 'customers', role: 'TRAIN', digest, size: 2048, rows: 100, format: 'CSV' }),
          dataQualityMetrics: expect.objectContaining({
            rowCount: 100,
            bytes: 2048,
            columnMetrics: { age: { nullCount: 0, count: 100, distinctCount: 40, min: 18, max: 90, quantiles: { '0.5': 40 } }, plan: { nullCount: 5, count: 95, distinctCount: 3 } },
          }),
        },
      };
      expect(start).toMatchObject({
        eventTime: t(10),
        run: { runId: ids.run, facets: { modeltrail_training: { params: { lr: 0.01, depth: 6 }, tags: ['baseline'] } } },
        job: { namespace: 'modeltrail', name: 'Churn.gbm', facets: { jobType: { jobType: 'TRAINING' }, sourceCodeLocation: { url: 'https://github.com/acme/churn', version: 'abc123' } } },
        inputs: [input],
        outputs: [],
      });
      expect(start.run.facets!.parent).toBeUndefined();
      expect(complete).toMatchObject({
        eventTime: t(12),
        run: { facets: { modeltrail_training: { metrics: [{ key: 'accuracy', last: 0.93 }] } } },
        inputs: [input],
        outputs: [{ namespace: 'file', name: `/var/modeltrail/artifacts/${ids.run}/model.pkl`, outputFacets: { modeltrail_artifact: expect.objectContaining({ name: 'model.pkl', digest, size: 512 }) } }],
      });
      expect(other).toMatchObject({
        eventTime: t(14),
        job: { name: 'Churn.gbm' },
        outputs: [{ namespace: 'modeltrail', name: `models/${ids.model}/versions/1`, facets: { modeltrail_modelVersion: expect.objectContaining({ modelName: 'churn-model', version: 1, modelVersionId: ids.modelVersion }) } }],
      });
    });

    it('emits START then FAIL with errorMessage and placement for the job, and makes the job the parent of the run it started', async () => {
      const job = (await w.reader.runEvents(ids.job))!;
      expect(job.map((x) => x.eventType)).toEqual(['START', 'FAIL']);
      for (const event of job) expect(validateRunEvent(event, { customPrefix: 'modeltrail' })).toEqual([]);
      expect(job[1]).toMatchObject({
        eventTime: t(22),
        run: {
          runId: ids.job,
          facets: {
            errorMessage: { message: 'exit code 1: CUDA out of memory', programmingLanguage: 'UNKNOWN' },
            modeltrail_placement: { agentId: ids.agent, gpus: [{ index: 0, uuid: 'GPU-5f2c' }], attempt: 1, fencingToken: 1 },
            modeltrail_job: expect.objectContaining({ runId: ids.jobRun, outcome: expect.objectContaining({ status: 'FAILED', exitCode: 1 }) }),
          },
        },
        job: { namespace: 'modeltrail', name: `job/${ids.job}`, facets: { jobType: { jobType: 'JOB', integration: 'MODELTRAIL', processingType: 'BATCH' } } },
        inputs: [expect.objectContaining({ namespace: 'file', name: '/data/churn/customers-v1.csv' })],
      });
      const run = (await w.reader.runEvents(ids.jobRun))!;
      expect(run.map((x) => x.eventType)).toEqual(['START', 'FAIL']);
      expect(run[0].run.facets!.parent).toMatchObject({ run: { runId: ids.job }, job: { namespace: 'modeltrail', name: `job/${ids.job}` } });
      expect(run[1].run.facets!.errorMessage).toMatchObject({ message: 'the job failed: exit code 1' });
    });

    it('gives a job that trains into an existing run that run as parent; a job cancelled while queued gets START and ABORT', async () => {
      const events = (await w.reader.runEvents(ids.cancelledJob))!;
      expect(events.map((x) => [x.eventType, x.eventTime])).toEqual([
        ['START', t(31)],
        ['ABORT', t(31)],
      ]);
      for (const event of events) expect(validateRunEvent(event)).toEqual([]);
      expect(events[1].run.facets).toMatchObject({ parent: { run: { runId: ids.run }, job: { namespace: 'modeltrail', name: 'Churn.gbm' } }, modeltrail_job: { outcome: { status: 'CANCELLED', reason: 'not needed any more' } } });
      expect(events[1].run.facets!.errorMessage).toBeUndefined();
      expect(events[1].inputs).toEqual([]);
    });

    it('answers null for an unknown run', async () => {
      expect(await w.reader.runEvents('00000000-0000-4000-8000-000000000000')).toBeNull();
      expect(await w.reader.runEvents('not-a-uuid')).toBeNull();
    });

    it('rebuilds identical rows (ids and times come from the events)', async () => {
      const snapshot = async () =>
        (await w.db.pool.query(`SELECT run_id, subject, state, emissions, position FROM "${w.db.schema}".openlineage_runs ORDER BY run_id`)).rows.concat(
          (await w.db.pool.query(`SELECT * FROM "${w.db.schema}".openlineage_names ORDER BY id`)).rows,
          (await w.db.pool.query(`SELECT * FROM "${w.db.schema}".openlineage_dataset_versions ORDER BY dataset_version_id`)).rows,
        );
      const before = await snapshot();
      await w.runner.rebuild();
      await w.caughtUp();
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('HTTP delivery', () => {
    let w: World;
    let server: Awaited<ReturnType<typeof endpoint>>;
    beforeAll(async () => {
      w = await world('olhttp');
      // The first two requests fail (500), then every one is accepted.
      server = await endpoint((n) => (n < 2 ? 500 : 200));
    });
    afterAll(async () => {
      await server?.close();
      await w?.close();
    });

    it('delivers every RunEvent once accepted, in order per run, retrying failures after their backoff', async () => {
      const delivery = w.delivery({ sink: { kind: 'http', url: server.url }, baseDelayMs: 300, concurrency: 1 });
      const first = await delivery.deliverOnce();
      expect(first).toEqual({ delivered: 2, failed: 2 }); // the heads of the four runs: two refused, two accepted
      // Not due yet: the refused ones are not tried again at once.
      const before = server.received.length;
      await delivery.deliverOnce();
      expect(server.received.slice(before).map((r) => r.body.eventType)).not.toContain('START');
      await deliverAll(delivery, w.db);

      expect(new Set(server.received.map((r) => r.request))).toEqual(new Set(['POST application/json']));
      const accepted = server.received.filter((r) => r.status === 200).map((r) => r.body);
      const expected = (await Promise.all(ALL_RUNS.map((id) => w.reader.runEvents(id)))).flatMap((events) => events!);
      expect(expected).toHaveLength(EVENT_COUNT);
      expect(accepted.map(label).sort()).toEqual(expected.map(label).sort());
      expect(new Set(accepted.map(label)).size).toBe(accepted.length); // each once
      for (const runId of ALL_RUNS) {
        expect(accepted.filter((b) => b.run.runId === runId)).toEqual(expected.filter((b) => b.run.runId === runId));
      }
      // The two refused requests were retried no sooner than the backoff.
      for (const refused of server.received.filter((r) => r.status === 500)) {
        const retry = server.received.find((r) => r.status === 200 && label(r.body) === label(refused.body))!;
        expect(retry.at - refused.at).toBeGreaterThanOrEqual(300 - 5);
      }
      const { rows } = await w.db.pool.query(`SELECT event_type, attempts, last_error, delivered_at FROM "${w.db.schema}".openlineage_outbox ORDER BY position, event_type`);
      expect(rows).toHaveLength(EVENT_COUNT);
      expect(rows.every((r) => r.delivered_at instanceof Date)).toBe(true);
      expect(rows.filter((r) => r.attempts === 2).map((r) => r.last_error)).toEqual([expect.stringMatching(/^HTTP 500: backend unavailable/), expect.stringMatching(/^HTTP 500/)]);
      expect(rows.filter((r) => r.attempts === 1)).toHaveLength(EVENT_COUNT - 2);
    });

    it('sends nothing again after a projection rebuild', async () => {
      const delivery = w.delivery({ sink: { kind: 'http', url: server.url } });
      const sent = server.received.length;
      await w.runner.rebuild();
      await w.caughtUp();
      expect(await delivery.deliverOnce()).toEqual({ delivered: 0, failed: 0 });
      expect(server.received).toHaveLength(sent);
      const { rows } = await w.db.pool.query(`SELECT count(*)::int AS n FROM "${w.db.schema}".openlineage_outbox`);
      expect(rows[0].n).toBe(EVENT_COUNT);
    });

    it('delivers what happens after, in the background', async () => {
      const delivery = w.delivery({ sink: { kind: 'http', url: server.url }, pollIntervalMs: 20 });
      delivery.start();
      try {
        const modelVersionId = '7b000000-0000-4000-8000-000000000002';
        const created = LIFECYCLE.find((x) => x.type === 'registry.ModelVersionCreated.v1')!;
        await w.store.append(`model-version-${modelVersionId}`, [
          { type: 'registry.ModelVersionCreated.v1', data: { ...(created.data as EventMap['registry.ModelVersionCreated.v1']), modelVersionId, version: 2, createdAt: t(30) } },
        ]);
        await w.caughtUp();
        const deadline = Date.now() + 5_000;
        while (!server.received.some((r) => r.body.outputs?.some((o) => o.name === `models/${ids.model}/versions/2`))) {
          if (Date.now() > deadline) throw new Error('the new OTHER event was not delivered');
          await sleep(20);
        }
      } finally {
        await delivery.stop();
      }
    });
  });

  describe('backoff and parking', () => {
    let w: World;
    let server: Awaited<ReturnType<typeof endpoint>>;
    beforeAll(async () => {
      w = await world('olback');
      server = await endpoint(() => 503);
    });
    afterAll(async () => {
      await server?.close();
      await w?.close();
    });

    it('doubles the delay after each failure, parks after maxAttempts, and keeps the run\'s later events behind the parked one', async () => {
      const delivery = w.delivery({ sink: { kind: 'http', url: server.url }, baseDelayMs: 400, maxAttempts: 3, batchSize: 1 });
      const head = async () =>
        (
          await w.db.pool.query(
            `SELECT attempts, parked_at, extract(epoch FROM next_attempt_at - last_attempt_at) * 1000 AS delay FROM "${w.db.schema}".openlineage_outbox WHERE run_id = $1 AND event_type = 'START'`,
            [ids.run],
          )
        ).rows[0];
      const attemptsOfRun = () => server.received.filter((r) => r.body.run.runId === ids.run);
      /** Passes until the run's START has been tried `n` times. */
      const untilAttempt = async (n: number) => {
        const deadline = Date.now() + 5_000;
        while (attemptsOfRun().length < n) {
          if (Date.now() > deadline) throw new Error(`attempt ${n} did not come`);
          await delivery.deliverOnce();
          await sleep(10);
        }
      };
      expect(await delivery.deliverOnce()).toEqual({ delivered: 0, failed: 1 });
      expect(await head()).toMatchObject({ attempts: 1, parked_at: null });
      expect(Number((await head()).delay)).toBeCloseTo(400, -1);
      // batchSize 1: the next pass takes the next due head (another run), not the one backing off.
      await delivery.deliverOnce();
      expect(server.received.map((r) => r.body.run.runId)).toEqual([ids.run, ids.jobRun]);

      await untilAttempt(2);
      expect(await head()).toMatchObject({ attempts: 2, parked_at: null });
      expect(Number((await head()).delay)).toBeCloseTo(800, -1);
      await untilAttempt(3);
      expect((await head()).attempts).toBe(3);
      expect((await head()).parked_at).toBeInstanceOf(Date);
      const [first, second, third] = attemptsOfRun().map((r) => r.at);
      expect(second - first).toBeGreaterThanOrEqual(400 - 5);
      expect(third - second).toBeGreaterThanOrEqual(800 - 5);

      // Parked: never tried again, and the run's COMPLETE is never sent before it.
      for (let i = 0; i < 10; i++) await delivery.deliverOnce();
      expect(attemptsOfRun().map((r) => r.body.eventType)).toEqual(['START', 'START', 'START']);
    });
  });

  describe('JSONL file delivery', () => {
    let w: World;
    let dir: string;
    beforeAll(async () => {
      w = await world('olfile');
      dir = await mkdtemp(join(tmpdir(), 'openlineage-'));
    });
    afterAll(async () => {
      await w?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('appends one valid RunEvent per line, ending a torn last line first, and nothing again after a rebuild', async () => {
      const path = join(dir, 'nested', 'lineage.jsonl');
      await writeFile(join(dir, 'torn.jsonl'), '{"eventType":"STA');
      const delivery = w.delivery({ sink: { kind: 'file', path } });
      await deliverAll(delivery, w.db);
      const lines = (await readFile(path, 'utf8')).split('\n');
      expect(lines.pop()).toBe('');
      const events = lines.map((line) => JSON.parse(line) as RunEvent);
      expect(events).toHaveLength(EVENT_COUNT);
      for (const event of events) expect(validateRunEvent(event)).toEqual([]);
      expect(events.filter((x) => x.run.runId === ids.run).map((x) => x.eventType)).toEqual(['START', 'COMPLETE', 'OTHER']);
      expect(events.filter((x) => x.run.runId === ids.job).map((x) => x.eventType)).toEqual(['START', 'FAIL']);

      await w.runner.rebuild();
      await w.caughtUp();
      expect(await delivery.deliverOnce()).toEqual({ delivered: 0, failed: 0 });
      expect((await readFile(path, 'utf8')).split('\n')).toHaveLength(EVENT_COUNT + 1);

      const torn = w.delivery({ sink: { kind: 'file', path: join(dir, 'torn.jsonl') } });
      await w.db.pool.query(`UPDATE "${w.db.schema}".openlineage_outbox SET delivered_at = NULL WHERE run_id = $1`, [ids.job]);
      await deliverAll(torn, w.db);
      const tornLines = (await readFile(join(dir, 'torn.jsonl'), 'utf8')).split('\n');
      expect(tornLines[0]).toBe('{"eventType":"STA');
      expect(tornLines.slice(1, -1).map((line) => (JSON.parse(line) as RunEvent).eventType)).toEqual(['START', 'FAIL']);
    });
  });

  describe('two replicas', () => {
    let w: World;
    let server: Awaited<ReturnType<typeof endpoint>>;
    beforeAll(async () => {
      w = await world('olrepl');
      server = await endpoint(async () => {
        await sleep(30);
        return 200;
      });
    });
    afterAll(async () => {
      await server?.close();
      await w?.close();
    });

    it('never send the same RunEvent twice at once (SKIP LOCKED), and keep each run in order', async () => {
      // Small copy pages, so that the two take turns copying as well as sending.
      const a = w.delivery({ sink: { kind: 'http', url: server.url }, copyBatchSize: 1 });
      const b = w.delivery({ sink: { kind: 'http', url: server.url }, copyBatchSize: 2 });
      await Promise.all([deliverAll(a, w.db), deliverAll(b, w.db)]);
      const labels = server.received.map((r) => label(r.body));
      expect(labels).toHaveLength(EVENT_COUNT);
      expect(new Set(labels).size).toBe(EVENT_COUNT);
      expect(server.received.filter((r) => r.body.run.runId === ids.run).map((r) => r.body.eventType)).toEqual(['START', 'COMPLETE', 'OTHER']);
      expect(server.received.filter((r) => r.body.run.runId === ids.cancelledJob).map((r) => r.body.eventType)).toEqual(['START', 'ABORT']);
    });
  });
});
