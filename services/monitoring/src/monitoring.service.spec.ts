import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamicModule, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ArtifactStore } from '@modeltrail/artifacts';
import { loadConfig } from '@modeltrail/config';
import {
  alertIdFor,
  ConflictError,
  datasetsRpc,
  deploymentStream,
  experimentsRpc,
  ForbiddenError,
  jobStream,
  type MessageHeaders,
  monitorIdFor,
  monitoringRpc,
  monitorStream,
  mulberry32,
  NotFoundError,
  registryRpc,
  retrainIdFor,
  retrainJobId,
  schedulerRpc,
  ValidationError,
} from '@modeltrail/contracts';
import { type EventStore, PostgresEventStore } from '@modeltrail/eventstore';
import { connectBus, type ManagedBus, NatsRpcTransport, RpcClient } from '@modeltrail/messaging';
import { createPool } from '@modeltrail/postgres';
import { describeOnTestBus, eventually, onTestBus, platformSandbox, TEST_ACTOR_SIGNING_KEY, TEST_BUS_URL, uniqueName } from '@modeltrail/testing';
import { DatasetsModule } from '../../datasets/src/datasets.module';
import { ExperimentsModule } from '../../experiments/src/experiments.module';
import { RegistryModule } from '../../registry/src/registry.module';
import { SchedulerLeadership } from '../../scheduler/src/leadership/scheduler.leadership';
import { SchedulerModule } from '../../scheduler/src/scheduler.module';
import { REFERENCE_EXTENSION } from './batch/reference.store';
import { MonitoringModule } from './monitoring.module';

/**
 * Monitoring as it runs: a Nest app on the NATS transport over the real PostgreSQL and the test
 * bus (NATS, or the in-process bus where no NATS server answers), in
 * a database of its own, next to the services it asks (registry, experiments, datasets) and the
 * scheduler that queues what it requests. A model is trained on a CSV file, registered and
 * deployed; batches are measured against the frozen reference, and every refusal leaves the
 * store as it was.
 */
describeOnTestBus('monitoring service over the bus', () => {
  // Its database, namespace and telemetry stream (on NATS, removed after; in process, gone with the bus).
  const sandbox = platformSandbox('monitoring');
  const dir = join(tmpdir(), uniqueName('mt-monitoring')); // made in beforeAll: a skipped suite leaves nothing behind
  const artifactRoot = join(dir, 'artifacts');
  const environment = { DATABASE_URL: sandbox.databaseUrl, NATS_NAMESPACE: sandbox.namespace, EVENTS_STREAM: sandbox.eventsStream, TELEMETRY_STREAM: sandbox.telemetryStream, ARTIFACT_ROOT: artifactRoot, DATA_ROOTS: dir, JOB_WORKING_DIR_ROOTS: dir, LOG_LEVEL: 'error' };
  const ada: MessageHeaders = { actor: 'ada@example.com', correlationId: 'corr-monitoring' };
  const bob: MessageHeaders = { actor: 'bob@example.com', correlationId: 'corr-monitoring-approval' };
  const services: INestMicroservice[] = [];
  let caller: ManagedBus;
  let rpc: RpcClient;
  let store: EventStore;
  const pool = createPool(sandbox.databaseUrl, { max: 2 });

  // Customers: age, plan and spend are features; signup (DATETIME) is skipped; churned is the target.
  const PLANS = ['basic', 'pro', 'team'];
  function customers(seed: number, rows: number, shift = false): string[][] {
    const random = mulberry32(seed);
    return Array.from({ length: rows }, (_, i) => [
      String(shift ? 60 + Math.floor(random() * 30) : 20 + Math.floor(random() * 40)),
      shift ? (random() < 0.8 ? 'enterprise' : 'basic') : PLANS[Math.floor(random() * 3)],
      (shift ? 200 + random() * 100 : random() * 100).toFixed(2),
      `2026-0${1 + (i % 9)}-1${i % 10}`,
      random() < 0.3 ? 'yes' : 'no',
    ]);
  }
  const HEADER = ['age', 'plan', 'spend', 'signup', 'churned'];
  const csvOf = (rows: string[][]) => `${[HEADER, ...rows].map((r) => r.join(',')).join('\n')}\n`;
  const trainCsv = join(dir, 'customers-2026-10.csv');
  const newerCsv = join(dir, 'customers-2026-11.csv');
  const emptyCsv = join(dir, 'empty.csv');
  const shiftedRows = customers(9, 300, true).map(([age, plan, spend]) => [Number(age), plan, Number(spend)]);

  async function boot(module: DynamicModule, name: string): Promise<INestMicroservice> {
    const app = await NestFactory.createMicroservice(module, { strategy: new NatsRpcTransport({ nats: { url: TEST_BUS_URL, name: `${name}-monitoring-test` }, namespace: sandbox.namespace, queue: name }), logger: false });
    await app.listen();
    services.push(app);
    return app;
  }

  let project: { projectId: string; experimentId: string; datasetId: string; trainVersionId: string; newerVersionId: string };
  let trained: { runId: string; jobId: string; modelId: string; modelVersionId: string };

  beforeAll(async () => {
    mkdirSync(dir);
    writeFileSync(trainCsv, csvOf(customers(7, 400)));
    writeFileSync(newerCsv, csvOf(customers(8, 400)));
    writeFileSync(emptyCsv, 'age,plan,spend\n');
    // One after another: the first creates the database the others then find.
    await boot(DatasetsModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'datasets' }))), 'datasets');
    await boot(ExperimentsModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'experiments' }))), 'experiments');
    await boot(RegistryModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'registry' }))), 'registry');
    const scheduler = await boot(SchedulerModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'scheduler' })), undefined, { reactorRetryMs: 100, leadershipRetryMs: 100 }), 'scheduler');
    await scheduler.get(SchedulerLeadership).whenLeader();
    await boot(MonitoringModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'monitoring' }))), 'monitoring');
    caller = await connectBus({ url: TEST_BUS_URL, name: 'monitoring-test-caller' });
    rpc = new RpcClient(caller.nc, { signingKey: TEST_ACTOR_SIGNING_KEY, timeoutMs: 30_000, namespace: sandbox.namespace });
    store = new PostgresEventStore({ pool, connectionString: sandbox.databaseUrl, schema: 'eventstore' });

    // The problem, its training data (version 1) and a newer version of it (version 2, registered later in the story).
    const defined = await rpc.request(
      experimentsRpc.defineProject,
      { name: `churn ${sandbox.namespace}`, problem: 'Predict churn', taskType: 'BINARY_CLASSIFICATION', target: 'churned', successCriteria: [] },
      { headers: ada },
    );
    const experiment = await rpc.request(experimentsRpc.createExperiment, { projectId: defined.projectId, name: 'baseline' }, { headers: ada });
    const dataset = await rpc.request(datasetsRpc.registerDataset, { name: 'customers', projectId: defined.projectId }, { headers: ada });
    const train = await rpc.request(datasetsRpc.registerDatasetVersion, { datasetId: dataset.datasetId, uri: trainCsv, format: 'CSV' }, { headers: ada });
    project = { projectId: defined.projectId, experimentId: experiment.experimentId, datasetId: dataset.datasetId, trainVersionId: train.datasetVersionId, newerVersionId: '' };

    // A run trained by a scheduler job (no agent takes it here: the job stays queued), completed, registered.
    trained = { ...(await trainedRun(true)), ...(await rpc.request(registryRpc.registerModel, { projectId: project.projectId, name: 'churn' }, { headers: ada }).then((m) => ({ modelId: m.modelId }))), modelVersionId: '' };
    trained.modelVersionId = (await createVersion(trained.runId)).modelVersionId;
  }, 120_000);

  afterAll(async () => {
    for (const service of services.reverse()) await service.close();
    await caller?.close();
    await pool.end();
    await sandbox.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  async function trainedRun(withJob: boolean): Promise<{ runId: string; jobId: string }> {
    const run = await rpc.request(
      experimentsRpc.startRun,
      { experimentId: project.experimentId, params: { lr: 0.05, depth: 4 }, datasetVersions: [{ datasetVersionId: project.trainVersionId, role: 'TRAIN' }] },
      { headers: ada },
    );
    let jobId = '';
    if (withJob) {
      const job = await rpc.request(
        schedulerRpc.submitJob,
        { runId: run.runId, command: ['python', 'train.py', '--data', trainCsv], env: { SEED: '7' }, resources: { gpus: 1, labels: { pool: 'nobody-here' } }, priority: 3, timeoutSeconds: 600 },
        { headers: ada },
      );
      jobId = job.jobId;
    }
    await rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: [{ key: 'accuracy', value: 0.9, step: 1 }] }, { headers: ada });
    await rpc.request(experimentsRpc.logArtifact, { runId: run.runId, name: 'model.pkl', uri: `s3://models/${run.runId}/model.pkl`, digest: createHash('sha256').update(run.runId).digest('hex'), size: 1_024 }, { headers: ada });
    await rpc.request(experimentsRpc.completeRun, { runId: run.runId }, { headers: ada });
    return { runId: run.runId, jobId };
  }

  const createVersion = (runId: string) =>
    rpc.request(registryRpc.createModelVersion, { modelId: trained.modelId, runId, artifactName: 'model.pkl', signature: { inputs: [{ name: 'age', type: 'long' }], outputs: [{ name: 'churned', type: 'string' }] } }, { headers: ada });

  const deploy = (modelVersionId: string, environment: string, headers = ada) => rpc.request(monitoringRpc.deployModel, { modelVersionId, environment, endpoint: `https://models.example.com/churn/${environment}` }, { headers });

  async function failure(promise: Promise<unknown>): Promise<Error> {
    const outcome = await promise.then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    if (!outcome) throw new Error('expected the request to fail');
    return outcome;
  }

  /** The request fails with `type` and a message matching `message`, and the store gains no event. */
  async function refused(request: () => Promise<unknown>, type: new (...args: never[]) => Error, message: RegExp | string): Promise<Error> {
    const before = await sandbox.storedEvents();
    const error = await failure(request());
    expect(error).toBeInstanceOf(type);
    expect(error.message).toMatch(message);
    expect(await sandbox.storedEvents()).toBe(before);
    return error;
  }

  const ingestRows = (deploymentId: string, rows: Array<Array<string | number | boolean | null>>, columns = ['age', 'plan', 'spend'], headers = ada) =>
    rpc.request(monitoringRpc.ingestFeatureBatch, { deploymentId, rows: { columns, rows } }, { headers });

  // -------------------------------------------------------------------------------------------

  let deploymentId: string;

  it('deploys a version: the reference is frozen from the training data into the artifact store, and the monitor starts with the defaults', async () => {
    const before = await sandbox.storedEvents();
    const deployment = await deploy(trained.modelVersionId, 'production');
    deploymentId = deployment.deploymentId;
    expect(deployment).toMatchObject({
      monitorId: monitorIdFor(deploymentId),
      modelId: trained.modelId,
      modelVersionId: trained.modelVersionId,
      version: 1,
      runId: trained.runId,
      environment: 'production',
      deployedBy: 'ada@example.com',
      reference: {
        datasetVersionId: project.trainVersionId,
        datasetId: project.datasetId,
        format: 'CSV',
        rows: 400,
        target: 'churned',
        features: [
          { name: 'age', kind: 'NUMERIC', columnType: 'INTEGER' },
          { name: 'plan', kind: 'CATEGORICAL', columnType: 'STRING' },
          { name: 'spend', kind: 'NUMERIC', columnType: 'NUMBER' },
        ],
        skippedColumns: [
          { name: 'signup', reason: 'DATETIME' },
          { name: 'churned', reason: 'TARGET' },
        ],
      },
    });
    const reference = deployment.reference!;
    const path = new ArtifactStore(artifactRoot).pathFor(reference.digest, REFERENCE_EXTENSION);
    expect(existsSync(path)).toBe(true);
    expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(reference.digest);
    expect(reference.uri).toBe(`file://${path}`);

    const events = await store.readStream(deploymentStream(deploymentId));
    expect(events.map((e) => e.type)).toEqual(['monitoring.ModelDeployed.v1', 'monitoring.ReferenceProfileSet.v1']);
    const [created] = await store.readStream(monitorStream(monitorIdFor(deploymentId)));
    expect(created.type).toBe('monitoring.MonitorCreated.v1');
    expect(created.metadata.causationId).toBe(events[0].id);
    expect(await sandbox.storedEvents()).toBe(before + 3);

    const { items: monitors } = await rpc.request(monitoringRpc.getMonitors, { deploymentIds: [deploymentId] }, { headers: ada });
    expect(monitors[0]).toMatchObject({ taskType: 'BINARY_CLASSIFICATION', config: { raiseAfter: 3, resolveAfter: 3, retrainPolicy: 'OFF', retrainJob: null }, drift: { windows: 0, openAlertId: null } });
  });

  it('the same batch as the training data does not drift', async () => {
    const { measurement, alertsRaised, retrains, monitor } = await rpc.request(monitoringRpc.ingestFeatureBatch, { deploymentId, datasetVersionId: project.trainVersionId }, { headers: ada });
    expect(measurement).toMatchObject({ window: 1, rows: 400, drifted: false, driftedFeatures: 0, source: { kind: 'DATASET_VERSION', datasetVersionId: project.trainVersionId, format: 'CSV' }, measuredBy: 'ada@example.com' });
    expect(measurement.features.map((f) => [f.feature, f.drifted])).toEqual([
      ['age', false],
      ['plan', false],
      ['spend', false],
    ]);
    const age = measurement.features[0];
    expect(age).toMatchObject({ kind: 'NUMERIC', referenceCount: 400, currentCount: 400, psiBand: 'NONE' });
    expect(age.ks?.statistic).toBe(0);
    expect(measurement.features[1]).toMatchObject({ kind: 'CATEGORICAL', unseenCategories: [] });
    expect(alertsRaised).toEqual([]);
    expect(retrains).toEqual([]);
    expect(monitor.drift).toMatchObject({ windows: 1, consecutiveBad: 0, consecutiveHealthy: 1 });
  });

  it('a shifted batch drifts, raises an alert at once (raiseAfter 1) and requests a retraining on the newest dataset version (AUTO)', async () => {
    // The retraining job is copied from the job that trained the version's run.
    const configured = await rpc.request(monitoringRpc.configureMonitor, { deploymentId, raiseAfter: 1, resolveAfter: 2, retrainPolicy: 'AUTO' }, { headers: ada });
    expect(configured.config).toMatchObject({
      raiseAfter: 1,
      resolveAfter: 2,
      retrainPolicy: 'AUTO',
      retrainJob: { source: 'TRAINING_JOB', sourceJobId: trained.jobId, experimentId: project.experimentId, command: ['python', 'train.py', '--data', trainCsv], env: { SEED: '7' }, priority: 3, timeoutSeconds: 600, params: { lr: 0.05, depth: 4 } },
    });
    expect(configured.configuredBy).toBe('ada@example.com');
    const newer = await rpc.request(datasetsRpc.registerDatasetVersion, { datasetId: project.datasetId, uri: newerCsv, format: 'CSV' }, { headers: ada });
    project.newerVersionId = newer.datasetVersionId;

    const once = { ...ada, commandId: 'shifted-batch-1' };
    const reply = await ingestRows(deploymentId, shiftedRows, undefined, once);
    const { measurement, alertsRaised, retrains, monitor } = reply;
    expect(measurement).toMatchObject({ window: 2, rows: 300, drifted: true, driftedFeatures: 3, source: { kind: 'INLINE', datasetVersionId: null, uri: null } });
    const plan = measurement.features.find((f) => f.feature === 'plan')!;
    expect(plan).toMatchObject({ drifted: true, unseenCategories: ['enterprise'], unseenCategoryCount: 1 });
    expect(plan.chiSquare).not.toBeNull();

    const alertId = alertIdFor(monitorIdFor(deploymentId), 'DRIFT', 2);
    expect(alertsRaised).toEqual([expect.objectContaining({ alertId, kind: 'DRIFT', status: 'OPEN', windows: [2], measurementIds: [measurement.measurementId], retrainId: retrainIdFor(alertId) })]);
    const retrainId = retrainIdFor(alertId);
    expect(retrains).toEqual([
      expect.objectContaining({
        retrainId,
        alertId,
        policy: 'AUTO',
        status: 'REQUESTED',
        datasetChanges: [{ datasetId: project.datasetId, fromDatasetVersionId: project.trainVersionId, toDatasetVersionId: newer.datasetVersionId }],
        job: expect.objectContaining({ jobId: retrainJobId(retrainId), experimentId: project.experimentId, datasetVersions: [{ datasetVersionId: newer.datasetVersionId, role: 'TRAIN' }], params: { lr: 0.05, depth: 4 } }),
      }),
    ]);
    expect(monitor.drift).toMatchObject({ windows: 2, consecutiveBad: 1, openAlertId: alertId });
    // The same call again (a client's retry with its command id) records nothing and says the same.
    const stored = await sandbox.storedEvents();
    expect(await ingestRows(deploymentId, shiftedRows, undefined, once)).toEqual(reply);
    expect(await sandbox.storedEvents()).toBe(stored);

    // One append: the window, the alert it raised, the request the alert led to, each caused by the one before.
    const events = (await store.readStream(monitorStream(monitorIdFor(deploymentId)))).slice(-3);
    expect(events.map((e) => e.type)).toEqual(['monitoring.DriftMeasured.v1', 'monitoring.AlertRaised.v1', 'monitoring.RetrainRequested.v1']);
    expect(events[1].metadata.causationId).toBe(events[0].id);
    expect(events[2].metadata.causationId).toBe(events[1].id);

    // The scheduler queues the job, caused by the request: alert -> retraining request -> job -> run.
    const job = await eventually(async () => {
      const { items } = await rpc.request(schedulerRpc.getJobs, { jobIds: [retrainJobId(retrainId)] }, { headers: ada });
      expect(items).toHaveLength(1);
      return items[0];
    });
    expect(job).toMatchObject({ status: 'QUEUED', experimentId: project.experimentId, startsRun: true, command: ['python', 'train.py', '--data', trainCsv] });
    const [queued] = await store.readStream(jobStream(job.jobId));
    expect(queued.metadata.causationId).toBe(events[2].id);
    const { items: runs } = await rpc.request(experimentsRpc.getRuns, { runIds: [job.runId] }, { headers: ada });
    expect(runs[0]).toMatchObject({ params: { lr: 0.05, depth: 4 }, datasetVersions: [{ datasetVersionId: newer.datasetVersionId, role: 'TRAIN' }] });
  });

  it('lists the measurements newest first, page by page, and the alerts and retrainings by deployment and status', async () => {
    const first = await rpc.request(monitoringRpc.listDriftMeasurements, { deploymentId, first: 1 }, { headers: ada });
    expect(first.items.map((m) => m.window)).toEqual([2]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await rpc.request(monitoringRpc.listDriftMeasurements, { deploymentId, first: 1, after: first.pageInfo.endCursor! }, { headers: ada });
    expect(second.items.map((m) => m.window)).toEqual([1]);
    expect(second.pageInfo.hasNextPage).toBe(false);

    const open = await rpc.request(monitoringRpc.listAlerts, { filter: { deploymentId, status: 'OPEN' } }, { headers: ada });
    expect(open.items.map((a) => a.kind)).toEqual(['DRIFT']);
    expect((await rpc.request(monitoringRpc.listAlerts, { filter: { deploymentId, status: 'RESOLVED' } }, { headers: ada })).items).toEqual([]);
    const retrains = await rpc.request(monitoringRpc.listRetrains, { filter: { deploymentId } }, { headers: ada });
    expect(retrains.items.map((r) => r.status)).toEqual(['REQUESTED']);
    const byVersion = await rpc.request(monitoringRpc.listDeployments, { modelVersionId: trained.modelVersionId }, { headers: ada });
    expect(byVersion.items.map((d) => d.deploymentId)).toContain(deploymentId);
  });

  it('resolves the alert after resolveAfter healthy windows', async () => {
    const healthy = customers(11, 300).map(([age, plan, spend]) => [Number(age), plan, Number(spend)]);
    const once = await ingestRows(deploymentId, healthy);
    expect(once.measurement.drifted).toBe(false);
    expect(once.alertsResolved).toEqual([]);
    const twice = await ingestRows(deploymentId, healthy);
    expect(twice.alertsResolved).toEqual([expect.objectContaining({ status: 'RESOLVED', resolvedWindows: [3, 4] })]);
    expect(twice.monitor.drift.openAlertId).toBeNull();
  });

  it('under APPROVAL, an alert proposes the retraining and an approval of the proposal requests it', async () => {
    const second = await deploy(trained.modelVersionId, 'staging');
    await rpc.request(
      monitoringRpc.configureMonitor,
      { deploymentId: second.deploymentId, raiseAfter: 1, retrainPolicy: 'APPROVAL', retrainJob: { command: ['python', 'retrain.py'], workingDir: dir, params: { lr: 0.01 } } },
      { headers: ada },
    );
    const { retrains } = await ingestRows(second.deploymentId, shiftedRows);
    expect(retrains).toEqual([expect.objectContaining({ policy: 'APPROVAL', status: 'PROPOSED', job: expect.objectContaining({ command: ['python', 'retrain.py'], workingDir: dir, params: { lr: 0.01 } }) })]);
    const [proposal] = retrains;
    const approved = await rpc.request(monitoringRpc.approveRetrain, { retrainId: proposal.retrainId, comment: 'data of November looks right' }, { headers: bob });
    expect(approved).toMatchObject({ status: 'REQUESTED', policy: 'APPROVAL', decidedBy: 'bob@example.com', decisionNote: 'data of November looks right' });
    const events = await store.readStream(monitorStream(monitorIdFor(second.deploymentId)));
    const proposed = events.find((e) => e.type === 'monitoring.RetrainProposed.v1')!;
    const approval = events.find((e) => e.type === 'monitoring.RetrainApproved.v1')!;
    const requested = events.find((e) => e.type === 'monitoring.RetrainRequested.v1')!;
    // proposal → approval → request: the approval answers the proposal, and requests the retraining.
    expect(approval.metadata).toMatchObject({ actor: 'bob@example.com', causationId: proposed.id });
    expect(requested.metadata).toMatchObject({ actor: 'bob@example.com', causationId: approval.id });
    // Approving again is nothing new; declining it now is a conflict.
    expect((await rpc.request(monitoringRpc.approveRetrain, { retrainId: proposal.retrainId, comment: '' }, { headers: bob })).status).toBe('REQUESTED');
    await refused(() => rpc.request(monitoringRpc.declineRetrain, { retrainId: proposal.retrainId, reason: 'too late' }, { headers: bob }), ConflictError, /already requested/);
  });

  it('labelled predictions make performance windows compared with the version metrics; a degraded one raises a PERFORMANCE alert', async () => {
    const third = await deploy(trained.modelVersionId, 'canary');
    await rpc.request(monitoringRpc.configureMonitor, { deploymentId: third.deploymentId, windowSize: 4, raiseAfter: 1 }, { headers: ada });
    const predictions = ['yes', 'no', 'no', 'yes', 'no', 'no'].map((prediction, i) => ({ predictionId: `req-${i + 1}`, prediction }));
    expect(await rpc.request(monitoringRpc.ingestPredictions, { deploymentId: third.deploymentId, predictions }, { headers: ada })).toEqual({ deploymentId: third.deploymentId, accepted: 6, alreadyStored: 0 });
    expect((await rpc.request(monitoringRpc.ingestPredictions, { deploymentId: third.deploymentId, predictions: predictions.slice(0, 2) }, { headers: ada })).alreadyStored).toBe(2);

    // Unknown prediction ids: named, and nothing of the call is stored.
    await refused(
      () => rpc.request(monitoringRpc.ingestGroundTruth, { deploymentId: third.deploymentId, labels: [{ predictionId: 'req-1', actual: 'yes' }, { predictionId: 'req-404', actual: 'no' }] }, { headers: ada }),
      NotFoundError,
      /req-404/,
    );
    const partial = await rpc.request(monitoringRpc.ingestGroundTruth, { deploymentId: third.deploymentId, labels: [{ predictionId: 'req-1', actual: 'yes' }] }, { headers: ada });
    expect(partial).toMatchObject({ accepted: 1, pending: 1, measurements: [] });

    // Two of the window's four are wrong: accuracy 0.5 against the run's 0.9.
    const labels = [
      { predictionId: 'req-2', actual: 'yes' },
      { predictionId: 'req-3', actual: 'no' },
      { predictionId: 'req-4', actual: 'no' },
      { predictionId: 'req-5', actual: 'no' },
    ];
    const once = { ...ada, commandId: 'labels-req-2-to-5' };
    const full = await rpc.request(monitoringRpc.ingestGroundTruth, { deploymentId: third.deploymentId, labels }, { headers: once });
    expect(full).toMatchObject({ accepted: 4, pending: 1 });
    expect(full.measurements).toEqual([
      expect.objectContaining({ window: 1, predictions: 4, firstLabel: 1, lastLabel: 4, taskType: 'BINARY_CLASSIFICATION', degraded: true, metrics: expect.objectContaining({ accuracy: 0.5, rmse: null }) }),
    ]);
    expect(full.measurements[0].comparisons.find((c) => c.metric === 'accuracy')).toMatchObject({ value: 0.5, baseline: 0.9, degraded: true });
    expect(full.alertsRaised).toEqual([expect.objectContaining({ kind: 'PERFORMANCE', windows: [1] })]);
    expect(full.monitor.performance).toMatchObject({ windows: 1, consecutiveBad: 1 });
    // The same call again (a client's retry): nothing stored or appended, and the same window and alert in the answer.
    const stored = await sandbox.storedEvents();
    const retried = await rpc.request(monitoringRpc.ingestGroundTruth, { deploymentId: third.deploymentId, labels }, { headers: once });
    expect(retried).toEqual({ ...full, accepted: 0 });
    expect(await sandbox.storedEvents()).toBe(stored);
    const listed = await rpc.request(monitoringRpc.listPerformanceMeasurements, { deploymentId: third.deploymentId }, { headers: ada });
    expect(listed.items.map((m) => m.window)).toEqual([1]);
  });

  // -------------------------------------------------------------------------------------------
  // Refusals: each names the problem, with its code, and appends nothing.
  // -------------------------------------------------------------------------------------------

  it('refuses unknown deployments and versions (NOT_FOUND)', async () => {
    const unknown = '0f000000-0000-4000-8000-0000000000ff';
    await refused(() => ingestRows(unknown, [[30, 'pro', 10]]), NotFoundError, `deployment ${unknown} does not exist`);
    await refused(() => deploy(unknown, 'production'), NotFoundError, `model version ${unknown} does not exist`);
    await refused(() => rpc.request(monitoringRpc.configureMonitor, { deploymentId: unknown, raiseAfter: 2 }, { headers: ada }), NotFoundError, /does not exist/);
    await refused(() => rpc.request(monitoringRpc.approveRetrain, { retrainId: unknown, comment: '' }, { headers: ada }), NotFoundError, `retraining ${unknown} does not exist`);
    await refused(() => rpc.request(monitoringRpc.ingestFeatureBatch, { deploymentId, datasetVersionId: unknown }, { headers: ada }), NotFoundError, `dataset version ${unknown} does not exist`);
  });

  it('refuses a batch whose columns do not match the reference, naming them', async () => {
    await refused(() => ingestRows(deploymentId, [[30, 'pro', 'x']], ['age', 'plan', 'segment']), ValidationError, /features missing from the batch: spend; columns the reference does not know: segment/);
    // The deployment's skipped columns (its target, DATETIME columns) may come along.
    expect((await ingestRows(deploymentId, [[30, 'pro', 10, 'no']], ['age', 'plan', 'spend', 'churned'])).measurement.rows).toBe(1);
  });

  it('refuses non-numeric values in a numeric feature, naming the row', async () => {
    await refused(() => ingestRows(deploymentId, [[30, 'pro', 10], ['old', 'pro', 12]]), ValidationError, /numeric feature age has the non-numeric value "old" in row 2/);
  });

  it('refuses an empty batch, inline or as a file', async () => {
    await refused(() => ingestRows(deploymentId, []), ValidationError, /at least one row: an empty batch/);
    await refused(() => rpc.request(monitoringRpc.ingestFeatureBatch, { deploymentId, uri: emptyCsv }, { headers: ada }), ValidationError, /the batch is empty/);
  });

  it('refuses more than 10,000 inline rows', async () => {
    const many = Array.from({ length: 10_001 }, () => [30, 'pro', 10]);
    await refused(() => ingestRows(deploymentId, many), ValidationError, /at most 10000 rows per call/);
  });

  it('refuses two sources, or none', async () => {
    await refused(() => rpc.request(monitoringRpc.ingestFeatureBatch, { deploymentId, datasetVersionId: project.trainVersionId, uri: trainCsv }, { headers: ada }), ValidationError, /exactly one source of the batch, not datasetVersionId and uri/);
    await refused(() => rpc.request(monitoringRpc.ingestFeatureBatch, { deploymentId }, { headers: ada }), ValidationError, /give the batch: datasetVersionId, uri or rows/);
  });

  it('reads a file under the allowed roots, and refuses one outside them (FORBIDDEN)', async () => {
    const inside = await rpc.request(monitoringRpc.ingestFeatureBatch, { deploymentId, uri: newerCsv }, { headers: ada });
    expect(inside.measurement.source).toEqual({ kind: 'URI', datasetVersionId: null, uri: `file://${newerCsv}`, format: 'CSV' });
    const outside = mkdtempSync(join(tmpdir(), 'mt-outside-'));
    try {
      const file = join(outside, 'batch.csv');
      writeFileSync(file, 'age,plan,spend\n30,pro,10\n');
      await refused(() => rpc.request(monitoringRpc.ingestFeatureBatch, { deploymentId, uri: file }, { headers: ada }), ForbiddenError, /may not read .*outside the directories it reads from/);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses to deploy an archived version (CONFLICT), and a retraining policy without a job to copy', async () => {
    const untracked = await trainedRun(false);
    const v2 = await createVersion(untracked.runId);
    const deployment = await deploy(v2.modelVersionId, 'shadow');
    await refused(
      () => rpc.request(monitoringRpc.configureMonitor, { deploymentId: deployment.deploymentId, retrainPolicy: 'AUTO' }, { headers: ada }),
      ValidationError,
      /retrainPolicy AUTO needs a retraining job: give retrainJob/,
    );
    await refused(
      () => rpc.request(monitoringRpc.configureMonitor, { deploymentId: deployment.deploymentId, retrainPolicy: 'AUTO', retrainJob: { command: ['python', 'train.py'], workingDir: '/etc' } }, { headers: ada }),
      ValidationError,
      /workingDir \/etc outside the allowed roots/,
    );
    await rpc.request(registryRpc.archiveModelVersion, { modelVersionId: v2.modelVersionId, reason: 'superseded' }, { headers: ada });
    await refused(() => deploy(v2.modelVersionId, 'production'), ConflictError, /is archived: an archived version cannot be deployed/);
  });

  it('a retried deploy (same Mt-Command-Id) is the same deployment', async () => {
    const headers = { ...ada, commandId: 'deploy-once' };
    const first = await deploy(trained.modelVersionId, 'edge', headers);
    const before = await sandbox.storedEvents();
    const again = await deploy(trained.modelVersionId, 'edge', headers);
    expect(again.deploymentId).toBe(first.deploymentId);
    expect(await sandbox.storedEvents()).toBe(before);
  });
});
