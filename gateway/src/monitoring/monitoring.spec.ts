import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import {
  type AlertView,
  commandScopedId,
  ConflictError,
  DEFAULT_MONITOR_CONFIG,
  type DeploymentView,
  type DriftMeasurementView,
  experimentsRpc,
  type FeatureDriftRecord,
  jobRefusalStream,
  type MessageHeaders,
  monitorIdFor,
  monitoringRpc,
  monitorStream,
  type MonitorView,
  type ModelVersionView,
  NotFoundError,
  type PerformanceMeasurementView,
  registryRpc,
  retrainJobId,
  type RetrainView,
  type RpcDefinition,
  type RunView,
  schedulerRpc,
} from '@modeltrail/contracts';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { connectBus, type ManagedBus, type MessageBus, type RpcHandler, type RpcServer, serveRpc } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { describeOnTestBus, eventually, jobViewOf, onTestBus, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { GraphQLHttpClient, SubscriptionQueue, webSocketClient } from '../../test/graphql-client';
import { GatewayModule, GRAPHQL_PATH } from '../gateway.module';
import { AlertResolver } from './alert.resolver';

const AT = '2026-12-01T12:00:00.000Z';
const LATER = '2026-12-01T12:05:00.000Z';

interface Seen {
  request: any;
  headers: MessageHeaders;
}

/**
 * The monitoring service as the gateway sees it over the bus: a responder on the real
 * `monitoringRpc` subjects (requests validated by the contracts, typed errors as the service
 * answers them) with canned, contract-valid deployments, monitors, measurements, alerts and
 * retrainings, plus the lookups of the other services a deployment's fields make. Every
 * request it answers is recorded.
 */
class MonitoringResponder {
  readonly projectId = randomUUID();
  readonly experimentId = randomUUID();
  readonly modelId = randomUUID();
  readonly modelVersionId = randomUUID();
  readonly deployments = new Map<string, DeploymentView>();
  readonly monitors = new Map<string, MonitorView>();
  readonly drift = new Map<string, DriftMeasurementView[]>();
  readonly performance = new Map<string, PerformanceMeasurementView[]>();
  readonly alerts = new Map<string, AlertView>();
  readonly retrains = new Map<string, RetrainView>();
  readonly runs = new Map<string, RunView>();
  private readonly seen = new Map<string, Seen[]>();
  private readonly servers: RpcServer[] = [];

  constructor(
    private readonly nc: MessageBus,
    private readonly namespace: string,
  ) {}

  requests(def: RpcDefinition): Seen[] {
    return this.seen.get(def.subject) ?? [];
  }

  start(): void {
    this.serve(monitoringRpc.deployModel, (request, headers) => {
      if (request.modelVersionId !== this.modelVersionId) throw new NotFoundError(`model version ${request.modelVersionId} does not exist`, { id: request.modelVersionId });
      const deploymentId = request.deploymentId ?? commandScopedId(headers.commandId ?? randomUUID(), 'deployment');
      return this.deployments.get(deploymentId) ?? this.deploy(deploymentId, { environment: request.environment, endpoint: request.endpoint, deployedBy: headers.actor });
    });
    this.serve(monitoringRpc.configureMonitor, (request, headers) => {
      const monitor = this.monitors.get(request.deploymentId);
      if (!monitor) throw new NotFoundError(`deployment ${request.deploymentId} does not exist`, { id: request.deploymentId });
      const { deploymentId: _deploymentId, retrainJob, ...settings } = request;
      if (settings.retrainPolicy && settings.retrainPolicy !== 'OFF' && retrainJob === null) throw new ConflictError('no job trained the deployed version: configure a retraining job');
      const template =
        retrainJob === undefined
          ? monitor.config.retrainJob
          : retrainJob === null
            ? null
            : { source: 'CONFIGURED' as const, sourceJobId: null, ...retrainJob, experimentId: retrainJob.experimentId ?? this.experimentId, params: retrainJob.params ?? {} };
      const updated: MonitorView = { ...monitor, config: { ...monitor.config, ...settings, retrainJob: template }, configuredAt: LATER, configuredBy: headers.actor, revision: monitor.revision + 1 };
      this.monitors.set(request.deploymentId, updated);
      return updated;
    });
    this.serve(monitoringRpc.ingestFeatureBatch, (request, headers) => {
      const deployment = this.deployments.get(request.deploymentId);
      if (!deployment) throw new NotFoundError(`deployment ${request.deploymentId} does not exist`, { id: request.deploymentId });
      const measurement = this.driftMeasurement(deployment, { measuredBy: headers.actor, source: { kind: request.rows ? 'INLINE' : 'URI', datasetVersionId: null, uri: request.uri ?? null, format: request.format ?? null }, rows: request.rows?.rows.length ?? 100 });
      const alert = this.alert(deployment, { windows: [measurement.window], measurementIds: [measurement.measurementId] });
      const retrain = this.retrain(deployment, alert, 'APPROVAL');
      this.alerts.set(alert.alertId, { ...alert, retrainId: retrain.retrainId });
      return { measurement, monitor: this.monitors.get(deployment.deploymentId)!, alertsRaised: [this.alerts.get(alert.alertId)!], alertsResolved: [], retrains: [retrain] };
    });
    this.serve(monitoringRpc.ingestPredictions, (request) => ({ deploymentId: request.deploymentId, accepted: request.predictions.length - 1, alreadyStored: 1 }));
    this.serve(monitoringRpc.ingestGroundTruth, (request, headers) => {
      const deployment = this.deployments.get(request.deploymentId)!;
      const measurement = this.performanceMeasurement(deployment, headers.actor);
      return { deploymentId: request.deploymentId, accepted: request.labels.length, pending: 1, measurements: [measurement], monitor: this.monitors.get(deployment.deploymentId)!, alertsRaised: [], alertsResolved: [], retrains: [] };
    });
    this.serve(monitoringRpc.approveRetrain, (request, headers) => this.decide(request.retrainId, 'REQUESTED', headers.actor, request.comment));
    this.serve(monitoringRpc.declineRetrain, (request, headers) => this.decide(request.retrainId, 'DECLINED', headers.actor, request.reason));
    this.serve(monitoringRpc.getDeployments, (request) => ({ items: request.deploymentIds.flatMap((id) => this.deployments.get(id) ?? []) }));
    this.serve(monitoringRpc.getMonitors, (request) => ({ items: request.deploymentIds.flatMap((id) => this.monitors.get(id) ?? []) }));
    this.serve(monitoringRpc.getAlerts, (request) => ({ items: request.alertIds.flatMap((id) => this.alerts.get(id) ?? []) }));
    this.serve(monitoringRpc.getRetrains, (request) => ({ items: request.retrainIds.flatMap((id) => this.retrains.get(id) ?? []) }));
    this.serve(monitoringRpc.listDeployments, (request) =>
      page(
        [...this.deployments.values()].filter((d) => (!request.environment || d.environment === request.environment) && (!request.modelId || d.modelId === request.modelId)).reverse(),
        request,
      ),
    );
    this.serve(monitoringRpc.listDriftMeasurements, (request) => page([...(this.drift.get(request.deploymentId) ?? [])].reverse(), request));
    this.serve(monitoringRpc.listPerformanceMeasurements, (request) => page([...(this.performance.get(request.deploymentId) ?? [])].reverse(), request));
    this.serve(monitoringRpc.listAlerts, (request) =>
      page(
        [...this.alerts.values()].filter((a) => (!request.filter.deploymentId || a.deploymentId === request.filter.deploymentId) && (!request.filter.status || a.status === request.filter.status) && (!request.filter.kind || a.kind === request.filter.kind)).reverse(),
        request,
      ),
    );
    this.serve(monitoringRpc.listRetrains, (request) =>
      page([...this.retrains.values()].filter((r) => (!request.filter.deploymentId || r.deploymentId === request.filter.deploymentId) && (!request.filter.status || r.status === request.filter.status)).reverse(), request),
    );
    this.serve(experimentsRpc.getRuns, (request) => ({ items: request.runIds.flatMap((id) => this.runs.get(id) ?? []) }));
    this.serve(schedulerRpc.getJobs, (request) =>
      ({ items: request.jobIds.flatMap((jobId) => ([...this.retrains.values()].some((r) => r.job.jobId === jobId && r.status === 'REQUESTED' && r.decisionNote !== 'refused') ? [jobViewOf({ jobId, projectId: this.projectId, experimentId: this.experimentId, queuedAt: LATER })] : [])) }),
    );
    this.serve(registryRpc.getModelVersions, (request) => ({ items: request.modelVersionIds.filter((id) => id === this.modelVersionId).map((id) => this.modelVersion(id)) }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }

  deploy(deploymentId: string, fields: Partial<DeploymentView> = {}): DeploymentView {
    const runId = randomUUID();
    const deployment: DeploymentView = {
      deploymentId,
      monitorId: monitorIdFor(deploymentId),
      modelId: this.modelId,
      modelVersionId: this.modelVersionId,
      version: 3,
      projectId: this.projectId,
      experimentId: this.experimentId,
      runId,
      environment: 'production',
      endpoint: 'https://models.example.com/churn',
      deployedAt: AT,
      deployedBy: 'ada@example.com',
      reference: {
        datasetVersionId: randomUUID(),
        datasetId: randomUUID(),
        dataUri: 'file:///data/churn/train.csv',
        format: 'CSV',
        digest: 'd'.repeat(64),
        uri: 'file:///var/modeltrail/references/dddd.mtdr',
        size: 4_096,
        rows: 5_000,
        features: [
          { name: 'age', kind: 'NUMERIC', columnType: 'INTEGER' },
          { name: 'plan', kind: 'CATEGORICAL', columnType: 'STRING' },
        ],
        skippedColumns: [{ name: 'churned', reason: 'TARGET' }],
        target: 'churned',
        setAt: AT,
      },
      revision: 1,
      ...fields,
    };
    this.deployments.set(deploymentId, deployment);
    this.runs.set(runId, this.run(runId));
    const state = { windows: 0, consecutiveBad: 0, consecutiveHealthy: 0, openAlertId: null, lastMeasuredAt: null };
    this.monitors.set(deploymentId, {
      monitorId: deployment.monitorId,
      deploymentId,
      modelId: this.modelId,
      modelVersionId: this.modelVersionId,
      projectId: this.projectId,
      taskType: 'BINARY_CLASSIFICATION',
      config: { ...DEFAULT_MONITOR_CONFIG },
      drift: state,
      performance: state,
      createdAt: AT,
      configuredAt: null,
      configuredBy: null,
      revision: 0,
    });
    return deployment;
  }

  driftMeasurement(deployment: DeploymentView, fields: Partial<DriftMeasurementView> = {}): DriftMeasurementView {
    const list = this.drift.get(deployment.deploymentId) ?? [];
    const feature = (name: string, drifted: boolean): FeatureDriftRecord => ({
      feature: name,
      kind: name === 'age' ? 'NUMERIC' : 'CATEGORICAL',
      method: name === 'age' ? 'WASSERSTEIN' : 'JENSEN_SHANNON',
      score: drifted ? 0.31 : 0.02,
      threshold: 0.1,
      drifted,
      referenceCount: 5_000,
      currentCount: 98,
      currentMissing: 2,
      ks: name === 'age' ? { statistic: 0.22, pValue: 0.0001 } : null,
      wasserstein: name === 'age' ? 0.31 : null,
      psi: drifted ? 0.27 : 0.01,
      psiBand: drifted ? 'MAJOR' : 'NONE',
      chiSquare: name === 'age' ? null : { statistic: 1.5, degreesOfFreedom: 3, pValue: 0.68 },
      jensenShannon: name === 'age' ? null : 0.02,
      unseenCategories: name === 'age' ? [] : ['enterprise'],
      unseenCategoryCount: name === 'age' ? 0 : 1,
    });
    const measurement: DriftMeasurementView = {
      measurementId: randomUUID(),
      monitorId: deployment.monitorId,
      deploymentId: deployment.deploymentId,
      window: list.length + 1,
      source: { kind: 'INLINE', datasetVersionId: null, uri: null, format: null },
      rows: 100,
      referenceDigest: deployment.reference!.digest,
      options: { numericMethod: 'AUTO', categoricalMethod: 'AUTO', ksPValue: 0.05, chiSquarePValue: 0.05, wassersteinThreshold: 0.1, jensenShannonThreshold: 0.1, psiThreshold: 0.1, driftShare: 0.5, bonferroni: false },
      features: [feature('age', true), feature('plan', false)],
      driftedFeatures: 1,
      driftedShare: 0.5,
      drifted: true,
      measuredAt: LATER,
      measuredBy: 'ada@example.com',
      ...fields,
    };
    this.drift.set(deployment.deploymentId, [...list, measurement]);
    return measurement;
  }

  performanceMeasurement(deployment: DeploymentView, measuredBy = 'ada@example.com'): PerformanceMeasurementView {
    const list = this.performance.get(deployment.deploymentId) ?? [];
    const measurement: PerformanceMeasurementView = {
      measurementId: randomUUID(),
      monitorId: deployment.monitorId,
      deploymentId: deployment.deploymentId,
      window: list.length + 1,
      taskType: 'BINARY_CLASSIFICATION',
      predictions: 500,
      firstLabel: list.length * 500 + 1,
      lastLabel: (list.length + 1) * 500,
      firstPredictedAt: AT,
      lastPredictedAt: LATER,
      firstLabelledAt: LATER,
      lastLabelledAt: LATER,
      metrics: { accuracy: 0.81, precision: 0.7, recall: 0.6, f1: 0.646, rmse: null, mae: null },
      comparisons: [
        { metric: 'accuracy', value: 0.81, baseline: 0.9, relativeChange: 0.1, degraded: true },
        { metric: 'f1', value: 0.646, baseline: null, relativeChange: null, degraded: false },
      ],
      tolerance: 0.05,
      degraded: true,
      measuredAt: LATER,
      measuredBy,
    };
    this.performance.set(deployment.deploymentId, [...list, measurement]);
    return measurement;
  }

  alert(deployment: DeploymentView, fields: Partial<AlertView> = {}): AlertView {
    const alert: AlertView = {
      alertId: randomUUID(),
      monitorId: deployment.monitorId,
      deploymentId: deployment.deploymentId,
      kind: 'DRIFT',
      status: 'OPEN',
      windows: [1],
      measurementIds: [randomUUID()],
      summary: '3 consecutive drifted batches: age',
      raisedAt: LATER,
      resolvedAt: null,
      resolvedWindows: [],
      retrainId: null,
      ...fields,
    };
    this.alerts.set(alert.alertId, alert);
    return alert;
  }

  retrain(deployment: DeploymentView, alert: AlertView | null, policy: 'AUTO' | 'APPROVAL'): RetrainView {
    const retrainId = randomUUID();
    const retrain: RetrainView = {
      retrainId,
      monitorId: deployment.monitorId,
      deploymentId: deployment.deploymentId,
      modelId: deployment.modelId,
      modelVersionId: deployment.modelVersionId,
      alertId: alert?.alertId ?? null,
      policy,
      status: policy === 'AUTO' ? 'REQUESTED' : 'PROPOSED',
      job: {
        jobId: retrainJobId(retrainId),
        experimentId: this.experimentId,
        command: ['python', 'train.py'],
        env: {},
        workingDir: null,
        resources: { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} },
        priority: 0,
        maxRetries: 2,
        timeoutSeconds: null,
        cancelGraceSeconds: 10,
        params: { lr: 0.01 },
        datasetVersions: [{ datasetVersionId: randomUUID(), role: 'TRAIN' }],
      },
      datasetChanges: [{ datasetId: randomUUID(), fromDatasetVersionId: randomUUID(), toDatasetVersionId: randomUUID() }],
      proposedAt: policy === 'APPROVAL' ? LATER : null,
      requestedAt: policy === 'AUTO' ? LATER : null,
      decidedBy: null,
      decidedAt: null,
      decisionNote: null,
    };
    this.retrains.set(retrainId, retrain);
    return retrain;
  }

  run(runId: string): RunView {
    return {
      runId,
      experimentId: this.experimentId,
      projectId: this.projectId,
      status: 'Completed',
      params: { lr: 0.01 },
      codeRef: null,
      datasetVersions: [],
      tags: [],
      startedAt: AT,
      endedAt: AT,
      failureReason: null,
      summary: null,
      revision: 2,
      startedBy: 'ada@example.com',
      latestMetrics: [],
    };
  }

  modelVersion(modelVersionId: string): ModelVersionView {
    return {
      modelVersionId,
      modelId: this.modelId,
      projectId: this.projectId,
      experimentId: this.experimentId,
      runId: randomUUID(),
      version: 3,
      status: 'ACTIVE',
      artifact: { name: 'model.pkl', uri: 'file:///artifacts/model.pkl', digest: 'a'.repeat(64), size: 1_024 },
      metrics: [],
      params: {},
      codeRef: null,
      datasetVersions: [],
      signature: { inputs: [{ name: 'age', type: 'long' }], outputs: [{ name: 'churn', type: 'double' }] },
      modelCard: { intendedUse: '', limitations: '', evaluationData: '', ethicalConsiderations: '', caveats: '' },
      aliases: ['champion'],
      createdAt: AT,
      createdBy: 'ada@example.com',
      archivedAt: null,
      archiveReason: null,
      revision: 0,
    };
  }

  private decide(retrainId: string, status: 'REQUESTED' | 'DECLINED', actor: string, note: string): RetrainView {
    const retrain = this.retrains.get(retrainId);
    if (!retrain) throw new NotFoundError(`retraining ${retrainId} does not exist`, { id: retrainId });
    if (retrain.status !== 'PROPOSED') throw new ConflictError(`retraining ${retrainId} is ${retrain.status}: only a proposed one can be decided`, { status: retrain.status });
    const decided: RetrainView = { ...retrain, status, decidedBy: actor, decidedAt: LATER, decisionNote: note, requestedAt: status === 'REQUESTED' ? LATER : null };
    this.retrains.set(retrainId, decided);
    return decided;
  }

  private serve<D extends RpcDefinition>(def: D, handler: RpcHandler<D>): void {
    this.servers.push(
      serveRpc(
        this.nc,
        def,
        (request, headers) => {
          const list = this.seen.get(def.subject) ?? [];
          list.push({ request, headers });
          this.seen.set(def.subject, list);
          return handler(request, headers);
        },
        { namespace: this.namespace, queue: `fake-${def.subject}`, logger: { log: () => undefined, warn: () => undefined, error: () => undefined } },
      ),
    );
  }
}

/** A page of `items` after the cursor (the index of the next item). */
function page<T>(items: T[], request: { first: number; after?: string }): { items: T[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } {
  const start = request.after ? Number(request.after) : 0;
  const slice = items.slice(start, start + request.first);
  return { items: slice, pageInfo: { endCursor: slice.length ? String(start + slice.length) : null, hasNextPage: start + slice.length < items.length } };
}

describeOnTestBus('GraphQL gateway: deployments, monitors, drift, performance, alerts and retrainings (monitoring responder on the bus)', () => {
  const namespace = uniqueName('gwmon');
  let gateway: INestApplication;
  let http: GraphQLHttpClient;
  let nats: ManagedBus;
  let monitoring: MonitoringResponder;
  let store: EventStore;
  const pool = createPool(TEST_DATABASE_URL, { max: 1 });

  beforeAll(async () => {
    nats = await connectBus({ url: TEST_BUS_URL, name: 'gateway-monitoring-test' });
    monitoring = new MonitoringResponder(nats.nc, namespace);
    monitoring.start();
    const config = onTestBus(
      loadConfig({
        SERVICE_NAME: 'gateway',
        DATABASE_URL: TEST_DATABASE_URL,
        NATS_NAMESPACE: namespace,
        EVENTSTORE_SCHEMA: namespace,
        READ_MODEL_SCHEMA: namespace,
        API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com',
      }),
    );
    gateway = await NestFactory.create(GatewayModule.forRoot(config), { logger: false });
    await gateway.listen(0, '127.0.0.1');
    store = gateway.get<EventStore>(EVENT_STORE);
    http = new GraphQLHttpClient(`http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}${GRAPHQL_PATH}`, 'ada-token');
  });
  afterAll(async () => {
    await gateway?.close();
    await monitoring?.stop();
    await nats?.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(namespace)} CASCADE`);
    await pool.end();
  });

  const DEPLOY = `mutation ($input: DeployModelInput!) { deployModel(input: $input) {
    id monitorId modelVersionId version environment endpoint deployedBy
    reference { digest format rows target features { name kind columnType } skippedColumns { name reason } }
    monitor { id taskType config { numericMethod categoricalMethod ksPValue driftShare bonferroni retrainPolicy windowSize performanceTolerance retrainJob { command } } drift { windows openAlertId } }
    modelVersion { id version aliases } run { id status } } }`;

  it('deploys a model version: the input as the contract has it, the user and correlation id in the headers, the monitor with its default settings', async () => {
    const correlationId = randomUUID();
    const { deployModel } = await http.data(
      DEPLOY,
      { input: { modelVersionId: monitoring.modelVersionId, environment: 'production', endpoint: 'https://models.example.com/churn', features: ['age', 'plan'], referenceDatasetVersionId: null } },
      { headers: { 'x-correlation-id': correlationId } },
    );
    const [seen] = monitoring.requests(monitoringRpc.deployModel).slice(-1);
    expect(seen.request).toEqual({ modelVersionId: monitoring.modelVersionId, environment: 'production', endpoint: 'https://models.example.com/churn', features: ['age', 'plan'] });
    expect(seen.headers).toMatchObject({ actor: 'ada@example.com', correlationId, commandId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(deployModel).toEqual({
      id: commandScopedId(seen.headers.commandId!, 'deployment'),
      monitorId: monitorIdFor(deployModel.id),
      modelVersionId: monitoring.modelVersionId,
      version: 3,
      environment: 'production',
      endpoint: 'https://models.example.com/churn',
      deployedBy: 'ada@example.com',
      reference: {
        digest: 'd'.repeat(64),
        format: 'CSV',
        rows: 5_000,
        target: 'churned',
        features: [
          { name: 'age', kind: 'NUMERIC', columnType: 'INTEGER' },
          { name: 'plan', kind: 'CATEGORICAL', columnType: 'STRING' },
        ],
        skippedColumns: [{ name: 'churned', reason: 'TARGET' }],
      },
      monitor: {
        id: monitorIdFor(deployModel.id),
        taskType: 'BINARY_CLASSIFICATION',
        config: { numericMethod: 'AUTO', categoricalMethod: 'AUTO', ksPValue: 0.05, driftShare: 0.5, bonferroni: false, retrainPolicy: 'OFF', windowSize: 500, performanceTolerance: 0.05, retrainJob: null },
        drift: { windows: 0, openAlertId: null },
      },
      modelVersion: { id: monitoring.modelVersionId, version: 3, aliases: ['champion'] },
      run: { id: expect.any(String), status: 'COMPLETED' },
    });
  });

  it('refuses input the contract refuses (BAD_USER_INPUT naming the field) and an unknown model version (NOT_FOUND)', async () => {
    const bad = await http.request(DEPLOY, { input: { modelVersionId: monitoring.modelVersionId, environment: 'prod uction', endpoint: 'x' } });
    expect(bad.errors?.[0]).toMatchObject({ path: ['deployModel'], extensions: { code: 'BAD_USER_INPUT' } });
    expect(bad.errors?.[0].extensions?.details.issues).toEqual([expect.objectContaining({ field: 'environment', message: expect.stringMatching(/letters, digits/) })]);
    const unknown = await http.request(DEPLOY, { input: { modelVersionId: randomUUID(), environment: 'production', endpoint: 'x' } });
    expect(unknown.errors?.[0]).toMatchObject({ path: ['deployModel'], extensions: { code: 'NOT_FOUND' } });
    const missing = await http.request('query ($id: ID!) { deployment(id: $id) { id } }', { id: randomUUID() });
    expect(missing.errors?.[0]).toMatchObject({ path: ['deployment'], extensions: { code: 'NOT_FOUND' } });
    const malformed = await http.request('{ deployment(id: "nope") { id } }');
    expect(malformed.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('configures a monitor: only the settings given are sent, an explicit null retrainJob goes back to the training job', async () => {
    const deployment = monitoring.deploy(randomUUID());
    const CONFIGURE = `mutation ($input: ConfigureMonitorInput!) { configureMonitor(input: $input) { id revision configuredBy config { numericMethod psiThreshold bonferroni retrainPolicy raiseAfter retrainJob { source experimentId command params resources } } } }`;
    const { configureMonitor } = await http.data(CONFIGURE, {
      input: { deploymentId: deployment.deploymentId, numericMethod: 'PSI', psiThreshold: 0.2, bonferroni: true, raiseAfter: null, retrainPolicy: 'APPROVAL', retrainJob: { command: ['python', 'retrain.py'], resources: { gpus: 1 }, params: { lr: 0.02 } } },
    });
    expect(monitoring.requests(monitoringRpc.configureMonitor).at(-1)!.request).toEqual({
      deploymentId: deployment.deploymentId,
      numericMethod: 'PSI',
      psiThreshold: 0.2,
      bonferroni: true,
      retrainPolicy: 'APPROVAL',
      retrainJob: {
        command: ['python', 'retrain.py'],
        env: {},
        workingDir: null,
        resources: { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} },
        priority: 0,
        maxRetries: 2,
        timeoutSeconds: null,
        cancelGraceSeconds: 10,
        params: { lr: 0.02 },
      },
    });
    expect(configureMonitor).toEqual({
      id: deployment.monitorId,
      revision: 1,
      configuredBy: 'ada@example.com',
      config: {
        numericMethod: 'PSI',
        psiThreshold: 0.2,
        bonferroni: true,
        retrainPolicy: 'APPROVAL',
        raiseAfter: 3,
        retrainJob: { source: 'CONFIGURED', experimentId: monitoring.experimentId, command: ['python', 'retrain.py'], params: { lr: 0.02 }, resources: { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} } },
      },
    });

    await http.data(CONFIGURE, { input: { deploymentId: deployment.deploymentId, retrainJob: null } });
    expect(monitoring.requests(monitoringRpc.configureMonitor).at(-1)!.request).toEqual({ deploymentId: deployment.deploymentId, retrainJob: null });
    const nothing = await http.request(CONFIGURE, { input: { deploymentId: deployment.deploymentId } });
    expect(nothing.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    const bad = await http.request(CONFIGURE, { input: { deploymentId: deployment.deploymentId, driftShare: 1.5 } });
    expect(bad.errors?.[0].extensions?.details.issues).toEqual([expect.objectContaining({ field: 'driftShare' })]);
  });

  it('ingests a feature batch inline and shows the measurement with every statistic, the alert it raised and the retraining it proposed', async () => {
    const deployment = monitoring.deploy(randomUUID());
    const INGEST = `mutation ($input: IngestFeatureBatchInput!) { ingestFeatureBatch(input: $input) {
      measurement { id window rows drifted driftedShare driftedFeatures source { kind } options { numericMethod driftShare }
        features { feature kind method score threshold drifted ks { statistic pValue } wasserstein psi psiBand chiSquare { statistic degreesOfFreedom pValue } jensenShannon unseenCategories unseenCategoryCount currentMissing } }
      monitor { id }
      alertsRaised { id kind status windows retrainRequest { id status } deployment { id } }
      alertsResolved { id }
      retrainRequests { id status policy job { jobId command datasetVersions { role } } datasetChanges { datasetId } alert { id } queuedJob { id } } } }`;
    const rows = [
      [31, 'pro'],
      [45, null],
      [52.5, 'enterprise'],
    ];
    const { ingestFeatureBatch } = await http.data(INGEST, { input: { deploymentId: deployment.deploymentId, rows: { columns: ['age', 'plan'], rows } } });
    expect(monitoring.requests(monitoringRpc.ingestFeatureBatch).at(-1)!.request).toEqual({ deploymentId: deployment.deploymentId, rows: { columns: ['age', 'plan'], rows } });
    expect(ingestFeatureBatch.measurement).toMatchObject({
      window: 1,
      rows: 3,
      drifted: true,
      driftedShare: 0.5,
      source: { kind: 'INLINE' },
      options: { numericMethod: 'AUTO', driftShare: 0.5 },
      features: [
        { feature: 'age', kind: 'NUMERIC', method: 'WASSERSTEIN', drifted: true, ks: { statistic: 0.22, pValue: 0.0001 }, wasserstein: 0.31, psiBand: 'MAJOR', chiSquare: null, jensenShannon: null, currentMissing: 2 },
        { feature: 'plan', kind: 'CATEGORICAL', method: 'JENSEN_SHANNON', drifted: false, ks: null, chiSquare: { degreesOfFreedom: 3 }, jensenShannon: 0.02, unseenCategories: ['enterprise'], unseenCategoryCount: 1 },
      ],
    });
    const [raised] = ingestFeatureBatch.alertsRaised;
    const [retrain] = ingestFeatureBatch.retrainRequests;
    expect(raised).toEqual({ id: expect.any(String), kind: 'DRIFT', status: 'OPEN', windows: [1], retrainRequest: { id: retrain.id, status: 'PROPOSED' }, deployment: { id: deployment.deploymentId } });
    expect(retrain).toMatchObject({ status: 'PROPOSED', policy: 'APPROVAL', job: { jobId: retrainJobId(retrain.id), command: ['python', 'train.py'], datasetVersions: [{ role: 'TRAIN' }] }, alert: { id: raised.id }, queuedJob: null });

    // Exactly one source.
    const two = await http.request(INGEST, { input: { deploymentId: deployment.deploymentId, uri: '/data/batch.csv', rows: { columns: ['age'], rows: [[1]] } } });
    expect(two.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(two.errors?.[0].message).toMatch(/exactly one source/);
    const ragged = await http.request(INGEST, { input: { deploymentId: deployment.deploymentId, rows: { columns: ['age', 'plan'], rows: [[1]] } } });
    expect(ragged.errors?.[0].extensions?.details.issues).toEqual([expect.objectContaining({ field: 'rows.rows[0]', message: 'row 1 has 1 cells for 2 columns' })]);
  });

  it('ingests predictions and ground truth as given (strings, numbers, booleans), showing the windows measured with their comparisons', async () => {
    const deployment = monitoring.deploy(randomUUID());
    const { ingestPredictions } = await http.data(`mutation ($input: IngestPredictionsInput!) { ingestPredictions(input: $input) { deploymentId accepted alreadyStored } }`, {
      input: {
        deploymentId: deployment.deploymentId,
        predictions: [
          { predictionId: 'r-1', prediction: 'churn', predictedAt: '2026-12-01T13:00:00+01:00' },
          { predictionId: 'r-2', prediction: 0.73 },
          { predictionId: 'r-3', prediction: true },
        ],
      },
    });
    expect(monitoring.requests(monitoringRpc.ingestPredictions).at(-1)!.request.predictions).toEqual([
      { predictionId: 'r-1', prediction: 'churn', predictedAt: '2026-12-01T12:00:00.000Z' },
      { predictionId: 'r-2', prediction: 0.73 },
      { predictionId: 'r-3', prediction: true },
    ]);
    expect(ingestPredictions).toEqual({ deploymentId: deployment.deploymentId, accepted: 2, alreadyStored: 1 });
    const object = await http.request(`mutation ($input: IngestPredictionsInput!) { ingestPredictions(input: $input) { accepted } }`, { input: { deploymentId: deployment.deploymentId, predictions: [{ predictionId: 'r-9', prediction: { label: 1 } }] } });
    expect(object.errors?.[0].extensions?.details.issues).toEqual([expect.objectContaining({ field: 'predictions[0].prediction' })]);

    const { ingestGroundTruth } = await http.data(
      `mutation ($input: IngestGroundTruthInput!) { ingestGroundTruth(input: $input) { accepted pending
        measurements { window taskType predictions firstLabel lastLabel firstPredictedAt lastLabelledAt metrics { accuracy f1 rmse } comparisons { metric value baseline relativeChange degraded } tolerance degraded }
        monitor { id } alertsRaised { id } retrainRequests { id } } }`,
      { input: { deploymentId: deployment.deploymentId, labels: [{ predictionId: 'r-1', actual: 'stay' }, { predictionId: 'r-3', actual: false }] } },
    );
    expect(monitoring.requests(monitoringRpc.ingestGroundTruth).at(-1)!.request.labels).toEqual([
      { predictionId: 'r-1', actual: 'stay' },
      { predictionId: 'r-3', actual: false },
    ]);
    expect(ingestGroundTruth).toEqual({
      accepted: 2,
      pending: 1,
      measurements: [
        {
          window: 1,
          taskType: 'BINARY_CLASSIFICATION',
          predictions: 500,
          firstLabel: 1,
          lastLabel: 500,
          firstPredictedAt: AT,
          lastLabelledAt: LATER,
          metrics: { accuracy: 0.81, f1: 0.646, rmse: null },
          comparisons: [
            { metric: 'ACCURACY', value: 0.81, baseline: 0.9, relativeChange: 0.1, degraded: true },
            { metric: 'F1', value: 0.646, baseline: null, relativeChange: null, degraded: false },
          ],
          tolerance: 0.05,
          degraded: true,
        },
      ],
      monitor: { id: deployment.monitorId },
      alertsRaised: [],
      retrainRequests: [],
    });
  });

  it('lists deployments with their monitor, measurements, alerts and retrainings, one batch request per kind for the whole page', async () => {
    const environment = `env-${randomUUID().slice(0, 8)}`;
    const deployments = [monitoring.deploy(randomUUID(), { environment }), monitoring.deploy(randomUUID(), { environment }), monitoring.deploy(randomUUID(), { environment })];
    for (const d of deployments) {
      monitoring.driftMeasurement(d);
      monitoring.driftMeasurement(d, { drifted: false });
      monitoring.performanceMeasurement(d);
      const alert = monitoring.alert(d, { kind: 'PERFORMANCE' });
      const retrain = monitoring.retrain(d, alert, 'AUTO');
      monitoring.alerts.set(alert.alertId, { ...alert, retrainId: retrain.retrainId });
    }
    const before = monitoring.requests(monitoringRpc.getMonitors).length;
    const QUERY = `query ($filter: DeploymentFilter, $after: String) { deployments(filter: $filter, first: 2, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id environment monitor { id deployment { id } }
        driftMeasurements(first: 1) { nodes { window drifted } pageInfo { hasNextPage } }
        performance { nodes { window degraded comparisons { metric } } }
        alerts(status: OPEN, kind: PERFORMANCE) { nodes { id kind retrainRequest { id status policy } } }
        retrainRequests(status: REQUESTED) { nodes { status queuedJob { id status } queueRefusal { code } } } } } }`;
    const first = (await http.data(QUERY, { filter: { environment } })).deployments;
    expect(first.nodes.map((n: { id: string }) => n.id)).toEqual([deployments[2].deploymentId, deployments[1].deploymentId]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(monitoring.requests(monitoringRpc.listDeployments).at(-1)!.request).toEqual({ environment, first: 2 });
    const node = first.nodes[0];
    expect(node).toMatchObject({
      environment,
      monitor: { id: deployments[2].monitorId, deployment: { id: deployments[2].deploymentId } },
      driftMeasurements: { nodes: [{ window: 2, drifted: false }], pageInfo: { hasNextPage: true } },
      performance: { nodes: [{ window: 1, degraded: true, comparisons: [{ metric: 'ACCURACY' }, { metric: 'F1' }] }] },
      alerts: { nodes: [{ kind: 'PERFORMANCE', retrainRequest: { status: 'REQUESTED', policy: 'AUTO' } }] },
      retrainRequests: { nodes: [{ status: 'REQUESTED', queuedJob: { status: 'QUEUED' }, queueRefusal: null }] },
    });
    // The two monitors of the page in one request; the listed deployments primed for their monitors' `deployment`.
    const monitorRequests = monitoring.requests(monitoringRpc.getMonitors).slice(before);
    expect(monitorRequests.map((r) => r.request.deploymentIds.length)).toEqual([2]);
    expect(monitoring.requests(monitoringRpc.listAlerts).at(-1)!.request.filter).toEqual({ deploymentId: deployments[1].deploymentId, status: 'OPEN', kind: 'PERFORMANCE' });

    const second = (await http.data(QUERY, { filter: { environment }, after: first.pageInfo.endCursor })).deployments;
    expect(second.nodes.map((n: { id: string }) => n.id)).toEqual([deployments[0].deploymentId]);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  it('approves a proposed retraining as the caller, shows the queued job, or why the scheduler refused it; a decided one cannot be decided again', async () => {
    const deployment = monitoring.deploy(randomUUID());
    const proposed = monitoring.retrain(deployment, null, 'APPROVAL');
    const APPROVE = `mutation ($input: ApproveRetrainInput!) { approveRetrain(input: $input) { id status decidedBy decisionNote requestedAt queuedJob { id } queueRefusal { code reason } deployment { id } } }`;
    const { approveRetrain } = await http.data(APPROVE, { input: { retrainId: proposed.retrainId, comment: 'drift confirmed' } }, { token: 'bob-token' });
    expect(monitoring.requests(monitoringRpc.approveRetrain).at(-1)!.headers.actor).toBe('bob@example.com');
    expect(approveRetrain).toEqual({
      id: proposed.retrainId,
      status: 'REQUESTED',
      decidedBy: 'bob@example.com',
      decisionNote: 'drift confirmed',
      requestedAt: LATER,
      queuedJob: { id: proposed.job.jobId },
      queueRefusal: null,
      deployment: { id: deployment.deploymentId },
    });
    const again = await http.request(APPROVE, { input: { retrainId: proposed.retrainId } });
    expect(again.errors?.[0]).toMatchObject({ path: ['approveRetrain'], extensions: { code: 'CONFLICT' } });

    // The scheduler refused the job of another one: its refusal is read from the event store.
    const refused = monitoring.retrain(deployment, null, 'AUTO');
    monitoring.retrains.set(refused.retrainId, { ...refused, decisionNote: 'refused' });
    await store.append(
      jobRefusalStream(refused.job.jobId),
      [
        {
          type: 'scheduler.RetrainJobRefused.v1',
          data: { jobId: refused.job.jobId, retrainId: refused.retrainId, experimentId: refused.job.experimentId, code: 'VALIDATION', reason: 'workingDir /etc outside the allowed roots /srv/jobs', refusedAt: LATER },
          metadata: { actor: 'system:scheduler', correlationId: randomUUID() },
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    const { retrainRequest } = await http.data(`query ($id: ID!) { retrainRequest(id: $id) { status queuedJob { id } queueRefusal { code reason refusedAt } } }`, { id: refused.retrainId });
    expect(retrainRequest).toEqual({ status: 'REQUESTED', queuedJob: null, queueRefusal: { code: 'VALIDATION', reason: 'workingDir /etc outside the allowed roots /srv/jobs', refusedAt: LATER } });

    const declinable = monitoring.retrain(deployment, null, 'APPROVAL');
    const { declineRetrain } = await http.data(`mutation ($input: DeclineRetrainInput!) { declineRetrain(input: $input) { status decisionNote queuedJob { id } } }`, { input: { retrainId: declinable.retrainId, reason: 'seasonal, expected' } });
    expect(declineRetrain).toEqual({ status: 'DECLINED', decisionNote: 'seasonal, expected', queuedJob: null });
    const { retrainRequests } = await http.data(`query ($filter: RetrainRequestFilter) { retrainRequests(filter: $filter) { nodes { id } } }`, { filter: { deploymentId: deployment.deploymentId, status: 'DECLINED' } });
    expect(retrainRequests.nodes).toEqual([{ id: declinable.retrainId }]);
  });

  it("delivers a deployment's alerts as the monitor records them, live, with the alert looked up; NOT_FOUND for an unknown deployment", async () => {
    const deployment = monitoring.deploy(randomUUID());
    const other = monitoring.deploy(randomUUID());
    const client = webSocketClient(http.url, { authorization: 'Bearer ada-token' });
    const ALERTS = `subscription ($deploymentId: ID) { alerts(deploymentId: $deploymentId) { status alertId deploymentId kind windows at alert { id summary } } }`;
    try {
      const mine = new SubscriptionQueue<{ alerts: Record<string, unknown> }>(client, ALERTS, { deploymentId: deployment.deploymentId });
      const everyone = new SubscriptionQueue<{ alerts: Record<string, unknown> }>(client, ALERTS, {});
      const alertOf = (d: DeploymentView) => monitoring.alert(d, { windows: [1, 2, 3] });
      const raise = async (d: DeploymentView, alert: AlertView) =>
        store.append(
          monitorStream(d.monitorId),
          [
            {
              type: 'monitoring.AlertRaised.v1',
              data: { alertId: alert.alertId, monitorId: d.monitorId, deploymentId: d.deploymentId, kind: 'DRIFT', windows: [1, 2, 3], measurementIds: [randomUUID()], summary: alert.summary, raisedAt: LATER },
              metadata: { actor: 'system:monitoring', correlationId: randomUUID() },
            },
          ],
          { expectedRevision: 'any' },
        );
      /** Reads until the alert `alertId` arrives (earlier ones are passed over). */
      const until = async (queue: SubscriptionQueue<{ alerts: Record<string, unknown> }>, alertId: string, timeoutMs = 10_000) => {
        for (;;) if ((await queue.next(timeoutMs)).data?.alerts.alertId === alertId) return;
      };
      /** A subscription is live once an alert recorded after it arrives: alerts recorded before it are not delivered. */
      const warmUp = async (queue: SubscriptionQueue<{ alerts: Record<string, unknown> }>, d: DeploymentView): Promise<string> => {
        for (;;) {
          const alert = alertOf(d);
          await raise(d, alert);
          try {
            await until(queue, alert.alertId, 300);
            return alert.alertId;
          } catch {
            // not subscribed yet
          }
        }
      };
      await warmUp(everyone, other);
      await until(everyone, await warmUp(mine, deployment));
      const theirs = alertOf(other);
      const ours = alertOf(deployment);
      await raise(other, theirs);
      await raise(deployment, ours);
      await store.append(
        monitorStream(deployment.monitorId),
        [
          {
            type: 'monitoring.AlertResolved.v1',
            data: { alertId: ours.alertId, monitorId: deployment.monitorId, deploymentId: deployment.deploymentId, kind: 'DRIFT', windows: [4, 5, 6], measurementIds: [randomUUID()], resolvedAt: '2026-12-01T13:00:00.000Z' },
            metadata: { actor: 'system:monitoring', correlationId: randomUUID() },
          },
        ],
        { expectedRevision: 'any' },
      );
      const first = await mine.next();
      expect(first.errors).toBeUndefined();
      expect(first.data?.alerts).toEqual({ status: 'OPEN', alertId: ours.alertId, deploymentId: deployment.deploymentId, kind: 'DRIFT', windows: [1, 2, 3], at: LATER, alert: { id: ours.alertId, summary: ours.summary } });
      expect((await mine.next()).data?.alerts).toMatchObject({ status: 'RESOLVED', alertId: ours.alertId, windows: [4, 5, 6], at: '2026-12-01T13:00:00.000Z' });
      expect((await everyone.next()).data?.alerts).toMatchObject({ alertId: theirs.alertId, deploymentId: other.deploymentId });
      expect((await everyone.next()).data?.alerts).toMatchObject({ alertId: ours.alertId, status: 'OPEN' });
      expect(mine.pending).toBe(0);
      mine.dispose();
      everyone.dispose();

      const unknown = new SubscriptionQueue(client, ALERTS, { deploymentId: randomUUID() });
      const refusal = await unknown.next();
      expect(refusal.errors?.[0]).toMatchObject({ extensions: { code: 'NOT_FOUND' } });
      // The store subscription the subscribers shared is closed with the last of them.
      await eventually(() => expect(gateway.get(AlertResolver).subscribers).toBe(0));
    } finally {
      await client.dispose();
    }
  });
});
