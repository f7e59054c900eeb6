import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Subscription } from 'nats';
import { loadConfig } from '@modeltrail/config';
import {
  agentPrincipal,
  ConflictError,
  datasetsRpc,
  type DatasetVersionReply,
  experimentIdFor,
  experimentsRpc,
  ForbiddenError,
  type MetricPointInput,
  NotFoundError,
  projectIdFor,
  type RunMetricsTelemetry,
  subjects,
  UnauthenticatedError,
  ValidationError,
  withNamespace,
} from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { ActorSigner, connectBus, decodeJson, HEADER_SIGNATURE, type ManagedBus, NatsRpcTransport, type RpcReplyEnvelope, RpcClient, type RpcServer, serveRpc, toNatsHeaders } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner } from '@modeltrail/readmodel';
import { describeOnTestBus, eventually, onTestBus, signedRpcClient, TEST_ACTOR_SIGNING_KEY, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { ExperimentsModule } from './experiments.module';

/** The experiments service as it runs: a Nest app on the NATS transport, over the real PostgreSQL, on the test bus (NATS, else the in-process bus). */
describeOnTestBus('experiments service over the message bus', () => {
  const schema = uniqueName('exsvc');
  const config = onTestBus(
    loadConfig({
      SERVICE_NAME: 'experiments',
      DATABASE_URL: TEST_DATABASE_URL,
      NATS_NAMESPACE: schema,
      EVENTSTORE_SCHEMA: schema,
      READ_MODEL_SCHEMA: schema,
    }),
  );
  let tick = 0;
  const clock = { now: () => new Date(Date.UTC(2026, 10, 22, 12, 0, 0, 0) + 1000 * tick++).toISOString() };
  let app: INestMicroservice;
  let caller: ManagedBus;
  let rpc: RpcClient;
  let datasets: RpcServer;
  const headers = { actor: 'ada@example.com', correlationId: 'corr-experiments' };
  const pool = createPool(TEST_DATABASE_URL, { max: 2 });
  const store = new PostgresEventStore({ pool, connectionString: TEST_DATABASE_URL, schema });
  const s = ident(schema);

  /** Dataset versions the datasets context knows (version id -> dataset id), as its GetDatasetVersions answers. */
  const knownVersions = new Map<string, string>();
  const datasetRequests: string[][] = [];

  const caughtUp = async () => {
    const head = await store.headPosition();
    await Promise.all(app.get<ProjectionRunner[]>(PROJECTION_RUNNERS).map((r) => r.waitFor(head)));
  };
  const count = async (sql: string, params: unknown[] = []) => Number((await pool.query<{ n: string }>(sql, params)).rows[0].n);

  /** Everything a failed command must leave as it was: events, metric tables and read models. */
  async function snapshot() {
    await caughtUp();
    const rows = await pool.query(
      `SELECT (SELECT count(*) FROM ${s}.run_metrics) AS points,
              (SELECT coalesce(sum(count), 0) || '/' || count(*) FROM ${s}.run_metric_latest) AS latest,
              (SELECT count(*) FROM ${s}.metric_batches) AS batches,
              (SELECT count(*) || '/' || coalesce(sum(revision), 0) FROM ${s}.projects) AS projects,
              (SELECT count(*) || '/' || coalesce(sum(revision), 0) FROM ${s}.experiments) AS experiments,
              (SELECT count(*) || '/' || coalesce(sum(revision), 0) || '/' || coalesce(string_agg(status, ',' ORDER BY run_id), '') FROM ${s}.runs) AS runs,
              (SELECT count(*) FROM ${s}.run_artifacts) AS artifacts`,
    );
    return { head: await store.headPosition(), ...rows.rows[0] };
  }

  /** A request whose body is sent as written: values JSON.stringify cannot produce (1e309). */
  async function raw(subject: string, body: string): Promise<RpcReplyEnvelope> {
    // Signed as the RpcClient signs (the body as sent), so only the body is under test.
    const data = new TextEncoder().encode(body);
    const natsHeaders = toNatsHeaders(headers);
    natsHeaders.set(HEADER_SIGNATURE, new ActorSigner(TEST_ACTOR_SIGNING_KEY).sign(withNamespace(schema, subject), headers, data));
    const reply = await caller.nc.request(withNamespace(schema, subject), data, { timeout: 5_000, headers: natsHeaders });
    return decodeJson(reply.data) as RpcReplyEnvelope;
  }

  async function failure(promise: Promise<unknown>): Promise<Error> {
    const outcome = await promise.then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    if (!outcome) throw new Error('expected the request to fail');
    return outcome;
  }

  function versionReply(datasetVersionId: string, datasetId: string): DatasetVersionReply {
    return {
      datasetVersionId,
      datasetId,
      version: 1,
      uri: 'file:///data/churn.csv',
      format: 'CSV',
      digest: 'c'.repeat(64),
      size: 10,
      rows: 1,
      schema: null,
      profile: null,
      profiled: false,
      parentVersionIds: [],
      transform: null,
      registeredAt: '2026-11-01T00:00:00.000Z',
      registeredBy: 'ada@example.com',
    };
  }

  /** The jobs each agent holds (`agentId/jobId`), as the scheduler would answer; and the agent keys the access service would accept. */
  const held = new Set<string>();
  const agentAssignments = { holdsAny: async (agentId: string, jobIds: ReadonlyArray<string>) => jobIds.some((jobId) => held.has(`${agentId}/${jobId}`)) };
  const agentKeys = new Map<string, string>();
  const credentials = {
    async verify(credential: string) {
      const principal = agentKeys.get(credential);
      if (!principal) throw new UnauthenticatedError('unknown API key');
      return { principal };
    },
  };

  let projectCounter = 0;
  async function newExperiment(): Promise<{ projectId: string; experimentId: string }> {
    const project = await rpc.request(experimentsRpc.defineProject, { name: `project ${++projectCounter}`, problem: 'p', taskType: 'REGRESSION', target: 'y' }, { headers });
    const experiment = await rpc.request(experimentsRpc.createExperiment, { projectId: project.projectId, name: 'e' }, { headers });
    return { projectId: project.projectId, experimentId: experiment.experimentId };
  }

  beforeAll(async () => {
    app = await NestFactory.createMicroservice(ExperimentsModule.forRoot(config, clock, { agentAssignments }), {
      strategy: new NatsRpcTransport({ nats: { url: config.natsUrl, name: 'experiments-test' }, namespace: schema, actors: { signingKey: TEST_ACTOR_SIGNING_KEY, credentials } }),
      logger: false,
    });
    await app.listen();
    caller = await connectBus({ url: TEST_BUS_URL, name: 'experiments-test-caller' });
    rpc = signedRpcClient(caller.nc, { timeoutMs: 10_000, namespace: schema });
    datasets = serveRpc(
      caller.nc,
      datasetsRpc.getDatasetVersions,
      (req) => {
        datasetRequests.push(req.datasetVersionIds);
        return { items: req.datasetVersionIds.filter((id) => knownVersions.has(id)).map((id) => versionReply(id, knownVersions.get(id)!)) };
      },
      { namespace: schema },
    );
  });
  afterAll(async () => {
    await datasets?.stop();
    await app?.close();
    await caller?.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await pool.end();
  });

  it('defines a project, creates an experiment, runs it on known dataset versions, logs metrics and an artifact, and completes it', async () => {
    const datasetId = randomUUID();
    const train = randomUUID();
    const test = randomUUID();
    knownVersions.set(train, datasetId).set(test, datasetId);

    const project = await rpc.request(
      experimentsRpc.defineProject,
      { name: 'Customer Churn', problem: 'Predict cancellations within 30 days', taskType: 'BINARY_CLASSIFICATION', target: 'churned', successCriteria: [{ metric: 'accuracy', threshold: 0.9, direction: 'MAXIMIZE' }] },
      { headers },
    );
    expect(project).toMatchObject({ projectId: projectIdFor('customer churn'), name: 'Customer Churn', taskType: 'BINARY_CLASSIFICATION', target: 'churned', revision: 0 });
    const experiment = await rpc.request(experimentsRpc.createExperiment, { projectId: project.projectId, name: 'gbm', description: 'boosted trees' }, { headers });
    expect(experiment).toMatchObject({ experimentId: experimentIdFor(project.projectId, 'GBM'), projectId: project.projectId, name: 'gbm', revision: 0 });

    const run = await rpc.request(
      experimentsRpc.startRun,
      {
        experimentId: experiment.experimentId,
        params: { lr: 0.01, optimizer: 'adam', shuffle: true },
        datasetVersions: [
          { datasetVersionId: train, role: 'TRAIN' },
          { datasetVersionId: test, role: 'TEST' },
        ],
        codeRef: { repository: 'git@example.com:ml/churn.git', commit: '4f2a9c1' },
        tags: ['baseline', 'baseline', 'gpu'],
      },
      { headers },
    );
    expect(run).toMatchObject({
      experimentId: experiment.experimentId,
      projectId: project.projectId,
      status: 'Running',
      params: { lr: 0.01, optimizer: 'adam', shuffle: true },
      datasetVersions: [
        { datasetVersionId: train, datasetId, role: 'TRAIN' },
        { datasetVersionId: test, datasetId, role: 'TEST' },
      ],
      codeRef: { repository: 'git@example.com:ml/churn.git', commit: '4f2a9c1', path: null },
      tags: ['baseline', 'gpu'],
      endedAt: null,
      summary: null,
      revision: 0,
    });
    expect(datasetRequests).toContainEqual([train, test]);

    const live: RunMetricsTelemetry[] = [];
    const subscription: Subscription = caller.nc.subscribe(withNamespace(schema, subjects.runTelemetry(run.runId)), {
      callback: (_error, msg) => live.push(decodeJson(msg.data) as RunMetricsTelemetry),
    });
    await caller.nc.flush();
    try {
      const logged = await rpc.request(
        experimentsRpc.logMetrics,
        {
          runId: run.runId,
          points: [
            { key: 'loss', value: 0.9, step: 0, timestamp: '2026-11-22T13:00:00+01:00' },
            { key: 'loss', value: 0.4, step: 1 },
            { key: 'accuracy', value: 0.93, step: 1 },
            { key: 'accuracy', value: 0.7 },
          ],
        },
        { headers },
      );
      expect(logged).toEqual({ runId: run.runId, accepted: 4, alreadyRecorded: false });
      await eventually(() => expect(live.flatMap((m) => m.points)).toHaveLength(4));
      expect(live[0].runId).toBe(run.runId);
      expect(live[0].points[0]).toEqual({ key: 'loss', value: 0.9, step: 0, timestamp: '2026-11-22T12:00:00.000Z' });
      expect(live[0].points[3]).toMatchObject({ key: 'accuracy', value: 0.7, step: 0, timestamp: expect.stringMatching(/Z$/) });
    } finally {
      subscription.unsubscribe();
    }

    const artifact = await rpc.request(experimentsRpc.logArtifact, { runId: run.runId, name: 'model.pt', uri: 's3://models/churn/model.pt', digest: `sha256:${'AB'.repeat(32)}`, size: 2048 }, { headers });
    expect(artifact).toMatchObject({ runId: run.runId, name: 'model.pt', digest: 'ab'.repeat(32), size: 2048 });

    const completed = await rpc.request(experimentsRpc.completeRun, { runId: run.runId }, { headers });
    const summary = [
      { key: 'accuracy', last: 0.93, min: 0.7, max: 0.93, count: 2, lastStep: 1 },
      { key: 'loss', last: 0.4, min: 0.4, max: 0.9, count: 2, lastStep: 1 },
    ];
    expect(completed).toMatchObject({ status: 'Completed', endedAt: expect.any(String), summary, revision: 3 });
    const events = await store.readStream(`run-${run.runId}`);
    expect(events.map((e) => e.type)).toEqual(['experiments.RunStarted.v1', 'experiments.RunArtifactLogged.v1', 'experiments.RunMetricsSummarized.v1', 'experiments.RunCompleted.v1']);
    expect(events[2].data).toMatchObject({ metrics: summary });
    expect(events[0].metadata).toMatchObject({ actor: 'ada@example.com', correlationId: 'corr-experiments' });
    // Completing again is the same completion.
    await expect(rpc.request(experimentsRpc.completeRun, { runId: run.runId }, { headers })).resolves.toMatchObject({ status: 'Completed', revision: 3 });

    await caughtUp();
    const [view] = (await rpc.request(experimentsRpc.getRuns, { runIds: [run.runId, randomUUID()] }, { headers })).items;
    expect(view).toMatchObject({ runId: run.runId, status: 'Completed', startedBy: 'ada@example.com', summary, tags: ['baseline', 'gpu'] });
    expect(view.latestMetrics.map((m) => [m.key, m.value, m.step])).toEqual([
      ['accuracy', 0.93, 1],
      ['loss', 0.4, 1],
    ]);
    expect((await rpc.request(experimentsRpc.getProjects, { projectIds: [project.projectId] }, { headers })).items).toEqual([{ ...project, definedBy: 'ada@example.com' }]);
    expect((await rpc.request(experimentsRpc.getExperiments, { experimentIds: [experiment.experimentId, randomUUID()] }, { headers })).items).toEqual([
      { ...experiment, createdBy: 'ada@example.com' },
    ]);
    expect((await rpc.request(experimentsRpc.listExperiments, { projectId: project.projectId }, { headers })).items.map((e) => e.name)).toEqual(['gbm']);
    expect((await rpc.request(experimentsRpc.listProjects, { taskType: 'BINARY_CLASSIFICATION' }, { headers })).items.map((p) => p.name)).toContain('Customer Churn');
    expect((await rpc.request(experimentsRpc.listRunArtifacts, { runIds: [run.runId] }, { headers })).items).toEqual([{ ...artifact, loggedBy: 'ada@example.com' }]);

    const series = await rpc.request(experimentsRpc.getRunMetrics, { runId: run.runId, key: 'accuracy' }, { headers });
    expect(series.points.map((p) => [p.step, p.value])).toEqual([
      [0, 0.7],
      [1, 0.93],
    ]);
    expect(series.keys).toEqual(['accuracy', 'loss']);
    const firstPage = await rpc.request(experimentsRpc.getRunMetrics, { runId: run.runId, key: 'loss', first: 1 }, { headers });
    const secondPage = await rpc.request(experimentsRpc.getRunMetrics, { runId: run.runId, key: 'loss', first: 1, after: firstPage.pageInfo.endCursor! }, { headers });
    expect([firstPage.pageInfo.hasNextPage, secondPage.pageInfo.hasNextPage]).toEqual([true, false]);
    expect([...firstPage.points, ...secondPage.points].map((p) => p.value)).toEqual([0.9, 0.4]);
  });

  it('lets an agent log only into the run of a job it holds now; platform callers as before', async () => {
    const { experimentId } = await newExperiment();
    const jobId = randomUUID();
    const run = await rpc.request(experimentsRpc.startRun, { experimentId, tags: [`job:${jobId}`] }, { headers });
    const untagged = await rpc.request(experimentsRpc.startRun, { experimentId }, { headers });
    const ownId = randomUUID();
    const key = `mtk_${randomUUID().replace(/-/g, '')}_${'e'.repeat(43)}`;
    agentKeys.set(key, agentPrincipal(ownId));
    const keyed = new RpcClient(caller.nc, { credential: key, namespace: schema, timeoutMs: 10_000 });
    const agentHeaders = { actor: 'whoever', correlationId: jobId };
    const points = [{ key: 'agent/loss', value: 0.5, step: 1 }];

    // Not yet assigned: refused, nothing stored.
    await expect(keyed.request(experimentsRpc.logMetrics, { runId: run.runId, points }, { headers: { ...agentHeaders, commandId: randomUUID() } })).rejects.toBeInstanceOf(ForbiddenError);
    held.add(`${ownId}/${jobId}`);
    await expect(keyed.request(experimentsRpc.logMetrics, { runId: run.runId, points }, { headers: { ...agentHeaders, commandId: randomUUID() } })).resolves.toMatchObject({ accepted: 1 });
    await expect(keyed.request(experimentsRpc.logParams, { runId: run.runId, params: { epochs: 3 } }, { headers: agentHeaders })).resolves.toMatchObject({ runId: run.runId });
    const stored = await rpc.request(experimentsRpc.getRunMetrics, { runId: run.runId, key: 'agent/loss' }, { headers });
    expect(stored.points.map((p) => p.value)).toEqual([0.5]);
    const events = await store.readStream(`run-${run.runId}`);
    expect(events.at(-1)?.metadata.actor).toBe(agentPrincipal(ownId));

    // Another agent (signed as a platform process would sign an agent actor), a run of no job, and commands agents may not call.
    const impostor = { actor: agentPrincipal(randomUUID()), correlationId: jobId };
    await expect(rpc.request(experimentsRpc.logParams, { runId: run.runId, params: { epochs: 3, lr: 1 } }, { headers: impostor })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(keyed.request(experimentsRpc.logParams, { runId: untagged.runId, params: { epochs: 3 } }, { headers: agentHeaders })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(keyed.request(experimentsRpc.completeRun, { runId: run.runId }, { headers: agentHeaders })).rejects.toBeInstanceOf(UnauthenticatedError);

    // No longer held: refused again; a platform caller logs as before.
    held.delete(`${ownId}/${jobId}`);
    await expect(keyed.request(experimentsRpc.logParams, { runId: run.runId, params: { epochs: 3 } }, { headers: agentHeaders })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(rpc.request(experimentsRpc.logParams, { runId: run.runId, params: { lr: 0.1 } }, { headers })).resolves.toMatchObject({ runId: run.runId });
  });

  it('refuses a second project of the same name, naming the existing one, and recognises a retry by its command id', async () => {
    const retried = { headers: { ...headers, commandId: randomUUID() } };
    const request = { name: 'Fraud', problem: 'Flag fraudulent payments', taskType: 'BINARY_CLASSIFICATION', target: 'is_fraud' } as const;
    const first = await rpc.request(experimentsRpc.defineProject, request, retried);
    await expect(rpc.request(experimentsRpc.defineProject, request, retried)).resolves.toEqual(first);
    const before = await snapshot();
    const error = await failure(rpc.request(experimentsRpc.defineProject, { ...request, name: '  FRAUD ', problem: 'another' }, { headers }));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toBe(`a project named "Fraud" already exists: project ${first.projectId}`);
    expect(await snapshot()).toEqual(before);
    expect(await store.readStream(`project-${first.projectId}`)).toHaveLength(1);
  });

  it('refuses bad project definitions, naming the field', async () => {
    const before = await snapshot();
    const noTarget = await failure(rpc.request(experimentsRpc.defineProject, { name: 'Prices', problem: 'Predict prices', taskType: 'REGRESSION' }, { headers }));
    expect(noTarget).toBeInstanceOf(ValidationError);
    expect(noTarget.message).toBe('a REGRESSION project needs a target (the variable to predict)');
    const twice = await failure(
      rpc.request(
        experimentsRpc.defineProject,
        {
          name: 'Prices',
          problem: 'Predict prices',
          taskType: 'REGRESSION',
          target: 'price',
          successCriteria: [
            { metric: 'rmse', threshold: 3, direction: 'MINIMIZE' },
            { metric: 'rmse', threshold: 2, direction: 'MINIMIZE' },
          ],
        },
        { headers },
      ),
    );
    expect(twice.message).toMatch(/field "successCriteria\[1\].metric": metric "rmse" has more than one criterion/);
    const badType = await failure(rpc.request(experimentsRpc.defineProject, { name: 'Prices', problem: 'x', taskType: 'SEGMENTATION' as never, target: 'y' }, { headers }));
    expect(badType.message).toMatch(/field "taskType": must be one of BINARY_CLASSIFICATION, /);
    expect(await store.streamRevision(`project-${projectIdFor('Prices')}`)).toBe('no_stream');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an experiment of an unknown project, and a second experiment of a name in a project', async () => {
    const { projectId, experimentId } = await newExperiment();
    const before = await snapshot();
    const missingProject = randomUUID();
    const notFound = await failure(rpc.request(experimentsRpc.createExperiment, { projectId: missingProject, name: 'e' }, { headers }));
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound.message).toBe(`project ${missingProject} does not exist`);
    expect(await store.streamRevision(`experiment-${experimentIdFor(missingProject, 'e')}`)).toBe('no_stream');
    const duplicate = await failure(rpc.request(experimentsRpc.createExperiment, { projectId, name: ' E ' }, { headers }));
    expect(duplicate).toBeInstanceOf(ConflictError);
    expect(duplicate.message).toBe(`an experiment named "e" already exists in project "project ${projectCounter}": experiment ${experimentId}`);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a run of an unknown experiment, or on dataset versions the datasets context does not know, naming them', async () => {
    const { experimentId } = await newExperiment();
    const known = randomUUID();
    knownVersions.set(known, randomUUID());
    const before = await snapshot();
    const runId = randomUUID();
    const missingExperiment = randomUUID();
    const noExperiment = await failure(rpc.request(experimentsRpc.startRun, { runId, experimentId: missingExperiment }, { headers }));
    expect(noExperiment).toBeInstanceOf(NotFoundError);
    expect(noExperiment.message).toBe(`experiment ${missingExperiment} does not exist`);
    const unknownA = randomUUID();
    const unknownB = randomUUID();
    const noVersions = await failure(
      rpc.request(
        experimentsRpc.startRun,
        {
          runId,
          experimentId,
          datasetVersions: [
            { datasetVersionId: unknownA, role: 'TRAIN' },
            { datasetVersionId: known, role: 'VALIDATION' },
            { datasetVersionId: unknownB, role: 'TEST' },
          ],
        },
        { headers },
      ),
    );
    expect(noVersions).toBeInstanceOf(NotFoundError);
    expect(noVersions.message).toBe(`dataset versions ${unknownA}, ${unknownB} do not exist`);
    const badParams = await failure(rpc.request(experimentsRpc.startRun, { runId, experimentId, params: { lr: [0.1] as never, '': 1 } }, { headers }));
    expect(badParams).toBeInstanceOf(ValidationError);
    expect(badParams.message).toMatch(/field "params.lr": must be a string, a finite number or a boolean/);
    const tooMany = await failure(rpc.request(experimentsRpc.startRun, { runId, experimentId, params: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`p${i}`, i])) }, { headers }));
    expect(tooMany.message).toMatch(/field "params": must hold at most 200 parameters/);
    const badRole = await failure(rpc.request(experimentsRpc.startRun, { runId, experimentId, datasetVersions: [{ datasetVersionId: known, role: 'HOLDOUT' as never }] }, { headers }));
    expect(badRole.message).toMatch(/field "datasetVersions\[0\].role": must be one of TRAIN, VALIDATION, TEST/);
    expect(await store.streamRevision(`run-${runId}`)).toBe('no_stream');
    expect(await snapshot()).toEqual(before);

    // The same start with known versions only works, and a retry with the same command id is the same run.
    const retried = { headers: { ...headers, commandId: randomUUID() } };
    const started = await rpc.request(experimentsRpc.startRun, { experimentId, datasetVersions: [{ datasetVersionId: known, role: 'TRAIN' }] }, retried);
    await expect(rpc.request(experimentsRpc.startRun, { experimentId, datasetVersions: [{ datasetVersionId: known, role: 'TRAIN' }] }, retried)).resolves.toEqual(started);
    expect(await store.readStream(`run-${started.runId}`)).toHaveLength(1);
  });

  it('adds params a running run reports, visible in getRuns and filterable in listRuns; a retry changes nothing', async () => {
    const { experimentId } = await newExperiment();
    const run = await rpc.request(experimentsRpc.startRun, { experimentId, params: { lr: 0.01, optimizer: 'adam' } }, { headers });
    const other = await rpc.request(experimentsRpc.startRun, { experimentId, params: { lr: 0.01 } }, { headers });
    const request = { runId: run.runId, params: { lr: 0.01, epochs: 20, scheduler: 'cosine', amp: true } };
    const logged = await rpc.request(experimentsRpc.logParams, request, { headers });
    expect(logged).toMatchObject({ runId: run.runId, status: 'Running', params: { lr: 0.01, optimizer: 'adam', epochs: 20, scheduler: 'cosine', amp: true }, revision: 1 });
    // The same params again (a retried call): the same run, nothing appended.
    await expect(rpc.request(experimentsRpc.logParams, request, { headers })).resolves.toEqual(logged);
    const events = await store.readStream(`run-${run.runId}`);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['experiments.RunStarted.v1', expect.objectContaining({ params: { lr: 0.01, optimizer: 'adam' } })],
      ['experiments.RunParamsLogged.v1', { runId: run.runId, params: { epochs: 20, scheduler: 'cosine', amp: true }, loggedAt: expect.any(String) }],
    ]);
    expect(events[1].metadata).toMatchObject({ actor: 'ada@example.com', correlationId: 'corr-experiments' });

    await caughtUp();
    const views = (await rpc.request(experimentsRpc.getRuns, { runIds: [run.runId] }, { headers })).items;
    expect(views).toEqual([expect.objectContaining({ runId: run.runId, params: { lr: 0.01, optimizer: 'adam', epochs: 20, scheduler: 'cosine', amp: true }, revision: 1 })]);
    const listed = await rpc.request(experimentsRpc.listRuns, { filter: { experimentId, params: [{ key: 'epochs', op: 'GTE', value: 10 }, { key: 'lr', op: 'EQ', value: 0.01 }] } }, { headers });
    expect(listed.items.map((r) => r.runId)).toEqual([run.runId]);
    const byScheduler = await rpc.request(experimentsRpc.listRuns, { filter: { experimentId, params: [{ key: 'scheduler', op: 'EQ', value: 'cosine' }] } }, { headers });
    expect(byScheduler.items.map((r) => r.runId)).toEqual([run.runId]);
    const all = await rpc.request(experimentsRpc.listRuns, { filter: { experimentId }, orderBy: { field: 'PARAM', key: 'epochs', direction: 'ASC' } }, { headers });
    expect(all.items.map((r) => r.runId)).toEqual([run.runId, other.runId]);
  });

  it('refuses a changed param value with a clear message, params beyond 200 per run, and params of an unknown or ended run, appending nothing', async () => {
    const { experimentId } = await newExperiment();
    const run = await rpc.request(experimentsRpc.startRun, { experimentId, params: { lr: 0.01 } }, { headers });
    await rpc.request(experimentsRpc.logParams, { runId: run.runId, params: { epochs: 20 } }, { headers });
    const ended = await rpc.request(experimentsRpc.startRun, { experimentId }, { headers });
    await rpc.request(experimentsRpc.completeRun, { runId: ended.runId }, { headers });
    const before = await snapshot();

    const changed = await failure(rpc.request(experimentsRpc.logParams, { runId: run.runId, params: { warmup: 500, epochs: 30 } }, { headers }));
    expect(changed).toBeInstanceOf(ConflictError);
    expect(changed.message).toBe(`run ${run.runId} cannot change parameter "epochs" from 20 to 30: params are immutable once logged (log the new value under another name)`);
    const retyped = await failure(rpc.request(experimentsRpc.logParams, { runId: run.runId, params: { lr: '0.01' } }, { headers }));
    expect(retyped.message).toMatch(/cannot change parameter "lr" from 0.01 to "0.01"/);

    const tooMany = await failure(rpc.request(experimentsRpc.logParams, { runId: run.runId, params: Object.fromEntries(Array.from({ length: 199 }, (_, i) => [`p${i}`, i])) }, { headers }));
    expect(tooMany).toBeInstanceOf(ValidationError);
    expect(tooMany.message).toBe(`run ${run.runId} would hold 201 parameters (2 logged, 199 new): a run holds at most 200 parameters in all`);
    const empty = await failure(rpc.request(experimentsRpc.logParams, { runId: run.runId, params: {} }, { headers }));
    expect(empty.message).toMatch(/field "params": must hold at least one parameter/);
    const badValue = await failure(rpc.request(experimentsRpc.logParams, { runId: run.runId, params: { layers: [64, 32] as never } }, { headers }));
    expect(badValue.message).toMatch(/field "params.layers": must be a string, a finite number or a boolean/);

    const missing = randomUUID();
    const unknown = await failure(rpc.request(experimentsRpc.logParams, { runId: missing, params: { epochs: 1 } }, { headers }));
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(unknown.message).toBe(`run ${missing} does not exist`);
    const late = await failure(rpc.request(experimentsRpc.logParams, { runId: ended.runId, params: { epochs: 1 } }, { headers }));
    expect(late).toBeInstanceOf(ConflictError);
    expect(late.message).toBe(`run ${ended.runId} is completed: it takes no more params`);

    expect(await snapshot()).toEqual(before);
    expect((await store.readStream(`run-${run.runId}`)).map((e) => e.type)).toEqual(['experiments.RunStarted.v1', 'experiments.RunParamsLogged.v1']);
    expect(await store.streamRevision(`run-${missing}`)).toBe('no_stream');
    const [view] = (await rpc.request(experimentsRpc.getRuns, { runIds: [run.runId] }, { headers })).items;
    expect(view.params).toEqual({ lr: 0.01, epochs: 20 });
  });

  it('stores 10,000 points of one call in one statement and publishes them live', async () => {
    const { experimentId } = await newExperiment();
    const run = await rpc.request(experimentsRpc.startRun, { experimentId }, { headers });
    const keys = ['loss', 'val/loss', 'accuracy', 'lr'];
    const points: MetricPointInput[] = Array.from({ length: 10_000 }, (_, i) => ({ key: keys[i % 4], value: Math.sin(i) * 1e3, step: Math.floor(i / 4) }));
    let received = 0;
    const subscription = caller.nc.subscribe(withNamespace(schema, subjects.runTelemetry(run.runId)), {
      callback: (_error, msg) => {
        received += (decodeJson(msg.data) as RunMetricsTelemetry).points.length;
      },
    });
    await caller.nc.flush();
    try {
      const startedAt = Date.now();
      await expect(rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points }, { headers })).resolves.toMatchObject({ accepted: 10_000 });
      expect(Date.now() - startedAt).toBeLessThan(5_000);
      await eventually(() => expect(received).toBe(10_000));
    } finally {
      subscription.unsubscribe();
    }
    expect(await count(`SELECT count(*) AS n FROM ${s}.run_metrics WHERE run_id = $1`, [run.runId])).toBe(10_000);
    const latest = await pool.query(`SELECT key, value, step, count, min, max FROM ${s}.run_metric_latest WHERE run_id = $1 ORDER BY key COLLATE "C"`, [run.runId]);
    expect(latest.rows.map((r) => [r.key, r.value, Number(r.step), Number(r.count)])).toEqual(
      [...keys].sort().map((key) => {
        const last = 9_996 + keys.indexOf(key);
        return [key, Math.sin(last) * 1e3, 2_499, 2_500];
      }),
    );
    const series = await rpc.request(experimentsRpc.getRunMetrics, { runId: run.runId, key: 'val/loss' }, { headers });
    expect(series.points).toHaveLength(2_500);
    expect(series.points.map((p) => p.step)).toEqual(Array.from({ length: 2_500 }, (_, i) => i));
  });

  it('rejects points that are not finite numbers, naming the index and the key, and stores nothing', async () => {
    const { experimentId } = await newExperiment();
    const run = await rpc.request(experimentsRpc.startRun, { experimentId }, { headers });
    await rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: [{ key: 'loss', value: 1 }] }, { headers });
    const before = await snapshot();
    const subject = experimentsRpc.logMetrics.subject;
    const cases: Array<[string, RegExp]> = [
      [`{"key":"loss","value":1},{"key":"val/loss","value":"0.5"}`, /field "points\[1\].value": value of metric "val\/loss" must be a finite number, got the string "0.5"/],
      [`{"key":"loss","value":null}`, /field "points\[0\].value": value of metric "loss" must be a finite number, got null/],
      [`{"key":"loss","value":"Infinity"}`, /value of metric "loss" must be a finite number, got the string "Infinity"/],
      [`{"key":"loss","value":"NaN"}`, /value of metric "loss" must be a finite number, got the string "NaN"/],
      [`{"key":"loss","value":0.1},{"key":"loss","value":0.2},{"key":"acc","value":1e309}`, /field "points\[2\].value": value of metric "acc" must be a finite number, got Infinity \(too large for a 64-bit float\)/],
      [`{"key":"loss","value":-1e400}`, /got -Infinity/],
      [`{"value":1}`, /field "points\[0\].key": metric key must be 1 to 250 characters/],
      [`{"key":"loss!","value":1}`, /metric key must be 1 to 250 characters: letters, digits, spaces and _ - \. \/, got "loss!"/],
      [`{"key":"loss","value":1,"step":-1}`, /step of metric "loss" must be a non-negative whole number, got -1/],
      [`{"key":"loss","value":1,"step":1.5}`, /got 1.5/],
      [`{"key":"loss","value":1,"timestamp":"yesterday"}`, /timestamp of metric "loss" must be an ISO-8601 date-time/],
    ];
    for (const [points, message] of cases) {
      const reply = await raw(subject, `{"runId":"${run.runId}","points":[${points}]}`);
      expect(reply).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
      expect(reply.ok === false && reply.error.message).toMatch(message);
    }
    // Only the first problems of a bad batch are listed.
    const many = await raw(subject, JSON.stringify({ runId: run.runId, points: Array.from({ length: 500 }, () => ({ key: 'loss', value: 'x' })) }));
    expect(many.ok === false && many.error.message).toMatch(/points\[9\].value.*and 490 more bad points$/);
    const empty = await failure(rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: [] }, { headers }));
    expect(empty.message).toMatch(/field "points": must hold at least one point/);
    const tooMany = await failure(rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: Array.from({ length: 10_001 }, (_, i) => ({ key: 'loss', value: i })) }, { headers }));
    expect(tooMany).toBeInstanceOf(ValidationError);
    expect(tooMany.message).toMatch(/field "points": must hold at most 10000 points per call/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses metrics of an unknown run and of an ended run, and artifacts of an ended run, storing nothing', async () => {
    const { experimentId } = await newExperiment();
    const run = await rpc.request(experimentsRpc.startRun, { experimentId }, { headers });
    await rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: [{ key: 'loss', value: 0.5 }] }, { headers });
    await rpc.request(experimentsRpc.failRun, { runId: run.runId, reason: 'CUDA out of memory' }, { headers });
    const before = await snapshot();
    const missing = randomUUID();
    const unknown = await failure(rpc.request(experimentsRpc.logMetrics, { runId: missing, points: [{ key: 'loss', value: 1 }] }, { headers: { ...headers, commandId: randomUUID() } }));
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(unknown.message).toBe(`run ${missing} does not exist`);
    const ended = await failure(rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: [{ key: 'loss', value: 1 }] }, { headers: { ...headers, commandId: randomUUID() } }));
    expect(ended).toBeInstanceOf(ConflictError);
    expect(ended.message).toBe(`run ${run.runId} is failed: it takes no more metrics`);
    const artifact = await failure(rpc.request(experimentsRpc.logArtifact, { runId: run.runId, name: 'model.pt', uri: 's3://m', digest: 'a'.repeat(64), size: 1 }, { headers }));
    expect(artifact).toBeInstanceOf(ConflictError);
    const complete = await failure(rpc.request(experimentsRpc.completeRun, { runId: run.runId }, { headers }));
    expect(complete.message).toMatch(/already failed \(CUDA out of memory\): it cannot complete/);
    await expect(rpc.request(experimentsRpc.getRunMetrics, { runId: missing, key: 'loss' }, { headers })).rejects.toBeInstanceOf(NotFoundError);
    await expect(rpc.request(experimentsRpc.listRunArtifacts, { runIds: [missing] }, { headers })).resolves.toEqual({ items: [] });
    expect(await snapshot()).toEqual(before);
  });

  it('stores a retried batch once, and refuses a command id reused for another run', async () => {
    const { experimentId } = await newExperiment();
    const run = await rpc.request(experimentsRpc.startRun, { experimentId }, { headers });
    const other = await rpc.request(experimentsRpc.startRun, { experimentId }, { headers });
    const retried = { headers: { ...headers, commandId: randomUUID() } };
    const points = [
      { key: 'loss', value: 0.3, step: 1 },
      { key: 'loss', value: 0.2, step: 2 },
    ];
    await expect(rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points }, retried)).resolves.toEqual({ runId: run.runId, accepted: 2, alreadyRecorded: false });
    await expect(rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points }, retried)).resolves.toEqual({ runId: run.runId, accepted: 0, alreadyRecorded: true });
    expect(await count(`SELECT count(*) AS n FROM ${s}.run_metrics WHERE run_id = $1`, [run.runId])).toBe(2);
    expect(await count(`SELECT count AS n FROM ${s}.run_metric_latest WHERE run_id = $1`, [run.runId])).toBe(2);
    const reused = await failure(rpc.request(experimentsRpc.logMetrics, { runId: other.runId, points }, retried));
    expect(reused).toBeInstanceOf(ConflictError);
    expect(await count(`SELECT count(*) AS n FROM ${s}.run_metrics WHERE run_id = $1`, [other.runId])).toBe(0);
    // A batch stored before the run ended is still recognised after it.
    await rpc.request(experimentsRpc.completeRun, { runId: run.runId }, { headers });
    await expect(rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points }, retried)).resolves.toMatchObject({ alreadyRecorded: true });
  });

  it('lets no point land after the summary: every stored point is counted in it, the others are refused', async () => {
    const { experimentId } = await newExperiment();
    const run = await rpc.request(experimentsRpc.startRun, { experimentId }, { headers });
    const batch = (i: number) => rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: Array.from({ length: 50 }, (_, j) => ({ key: 'loss', value: j, step: i * 50 + j })) }, { headers });
    const calls = Array.from({ length: 16 }, (_, i) => batch(i).then(() => 'stored', (e: Error) => e));
    const completion = rpc.request(experimentsRpc.completeRun, { runId: run.runId }, { headers });
    calls.push(...Array.from({ length: 16 }, (_, i) => batch(16 + i).then(() => 'stored', (e: Error) => e)));
    const outcomes = await Promise.all(calls);
    const completed = await completion;
    const stored = outcomes.filter((o) => o === 'stored').length;
    expect(outcomes.filter((o) => o !== 'stored').every((o) => o instanceof ConflictError)).toBe(true);
    expect(await count(`SELECT count(*) AS n FROM ${s}.run_metrics WHERE run_id = $1`, [run.runId])).toBe(stored * 50);
    expect(completed.summary).toEqual(stored ? [expect.objectContaining({ key: 'loss', count: stored * 50 })] : []);
  });

  it('lists the runs of an experiment where lr = 0.01 and accuracy > 0.9, best first, page by page', async () => {
    const { experimentId } = await newExperiment();
    const start = async (lr: number | string, accuracy?: number) => {
      const run = await rpc.request(experimentsRpc.startRun, { experimentId, params: { lr, batch: 32 } }, { headers });
      if (accuracy !== undefined) await rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: [{ key: 'accuracy', value: accuracy, step: 10 }] }, { headers });
      return run.runId;
    };
    const best = await start(0.01, 0.97);
    await start(0.1, 0.99);
    const third = await start('0.010', 0.91);
    await start(0.01, 0.8);
    await start(0.01);
    const second = await start(0.01, 0.95);
    await caughtUp();
    const request = {
      filter: { experimentId, params: [{ key: 'lr', op: 'EQ' as const, value: 0.01 }], metrics: [{ key: 'accuracy', op: 'GT' as const, value: 0.9 }] },
      orderBy: { field: 'METRIC' as const, key: 'accuracy', direction: 'DESC' as const },
      first: 2,
    };
    const page1 = await rpc.request(experimentsRpc.listRuns, request, { headers });
    const page2 = await rpc.request(experimentsRpc.listRuns, { ...request, after: page1.pageInfo.endCursor! }, { headers });
    expect(page1.items.map((r) => r.runId)).toEqual([best, second]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect(page2.items.map((r) => r.runId)).toEqual([third]);
    expect(page2.pageInfo).toMatchObject({ hasNextPage: false });
    expect(page1.items[0].latestMetrics).toEqual([expect.objectContaining({ key: 'accuracy', value: 0.97, step: 10 })]);
    await expect(rpc.request(experimentsRpc.listRuns, { orderBy: { field: 'PARAM', direction: 'ASC' } }, { headers })).rejects.toThrow(/field "orderBy.key"/);
    await expect(rpc.request(experimentsRpc.listRuns, { filter: { metrics: [{ key: 'accuracy', op: 'ABOUT' as never, value: 1 }] } }, { headers })).rejects.toThrow(
      /field "filter.metrics\[0\].op": must be one of EQ, NE, GT, GTE, LT, LTE/,
    );
  });

  it('compares runs: the params that differ and those in common, and each metric series per run', async () => {
    const { experimentId } = await newExperiment();
    const a = await rpc.request(experimentsRpc.startRun, { experimentId, params: { lr: 0.01, batch: 32, optimizer: 'adam' } }, { headers });
    const b = await rpc.request(experimentsRpc.startRun, { experimentId, params: { lr: 0.1, batch: 32, dropout: 0.2 } }, { headers });
    await rpc.request(experimentsRpc.logMetrics, { runId: a.runId, points: Array.from({ length: 100 }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), step: i })) }, { headers });
    await rpc.request(experimentsRpc.logMetrics, { runId: b.runId, points: [{ key: 'loss', value: 0.5, step: 0 }, { key: 'accuracy', value: 0.8, step: 0 }] }, { headers });

    const comparison = await rpc.request(experimentsRpc.compareRuns, { runIds: [b.runId, a.runId], maxPointsPerSeries: 10 }, { headers });
    expect(comparison.runs.map((r) => r.runId)).toEqual([b.runId, a.runId]);
    expect(comparison.params.common).toEqual([{ key: 'batch', value: 32 }]);
    expect(comparison.params.differing).toEqual([
      { key: 'dropout', values: [{ runId: b.runId, value: 0.2 }, { runId: a.runId, value: null }] },
      { key: 'lr', values: [{ runId: b.runId, value: 0.1 }, { runId: a.runId, value: 0.01 }] },
      { key: 'optimizer', values: [{ runId: b.runId, value: null }, { runId: a.runId, value: 'adam' }] },
    ]);
    expect(comparison.metrics.map((m) => m.key)).toEqual(['accuracy', 'loss']);
    const [accuracy, loss] = comparison.metrics;
    expect(accuracy.series).toEqual([
      { runId: b.runId, count: 1, sampled: false, points: [{ step: 0, value: 0.8, timestamp: expect.any(String) }], latest: expect.objectContaining({ value: 0.8 }) },
      { runId: a.runId, count: 0, sampled: false, points: [], latest: null },
    ]);
    const aLoss = loss.series[1];
    expect(aLoss).toMatchObject({ runId: a.runId, count: 100, sampled: true });
    expect(aLoss.points.map((p) => p.step)).toEqual([0, 11, 22, 33, 44, 55, 66, 77, 88, 99]);
    expect(loss.series[0].points.map((p) => p.value)).toEqual([0.5]);

    const missing = randomUUID();
    const unknown = await failure(rpc.request(experimentsRpc.compareRuns, { runIds: [a.runId, missing] }, { headers }));
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(unknown.message).toBe(`run ${missing} does not exist`);
    await expect(rpc.request(experimentsRpc.compareRuns, { runIds: [a.runId] }, { headers })).rejects.toThrow(/must name at least 2 runs/);
  });
});
