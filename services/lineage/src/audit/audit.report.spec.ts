import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MONITOR_CONFIG, platformEventCatalog } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { checkpointSigner, generateSigningKey, openCheckpoint } from '@modeltrail/merkle';
import { ident } from '@modeltrail/postgres';
import { combineProjections, migrateReadModel, ProjectionRunner } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { LineageReader } from '../graph/lineage.reader';
import { LineageViews } from '../graph/lineage.views';
import { lineageMigrations } from '../lineage.migrations';
import { lineageGraphProjection } from '../graph/lineage.projection';
import { MerkleLogBuilder } from '../log/log.builder';
import { MerkleLogTables } from '../log/log.store';
import { MerkleLogViews } from '../log/log.views';
import { ANNEX_IV_POINTS } from './audit.frameworks';
import { renderHtml, renderMarkdown } from './audit.render';
import { type AuditReport, AuditReports, reportDigest } from './audit.report';
import { verifyReport } from './audit.verify';

/**
 * Audit reports against a real PostgreSQL store, the real event catalog, the lineage graph
 * projection and the Merkle log in one test schema: a full lifecycle (problem, data, cleaning,
 * split, validations, training job on a GPU agent, model version, gates, approval, alias,
 * deployment, monitor, drift, alert, retraining) and a second, careless one (no validation, no
 * code reference, no job, incomplete card, a failed gate, never deployed).
 */

const HOSTILE = '<script>alert(1)</script>';
const ORIGIN = 'test.modeltrail.local/log';
const hex = (c: string) => c.repeat(64);

interface Append {
  stream: string;
  type: string;
  data: Record<string, unknown>;
  actor?: string;
  cause?: string;
  id?: string;
}

describe('audit reports of model versions', () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  let builder: MerkleLogBuilder;
  let log: MerkleLogViews;
  let reports: AuditReports;
  const key = generateSigningKey();
  const signer = checkpointSigner('test.modeltrail.local/log', key.seed);
  const other = checkpointSigner('someone-else', generateSigningKey().seed);
  let head = 0;
  let clock = Date.parse('2026-11-01T09:00:00.000Z');
  const at = () => new Date((clock += 60_000)).toISOString();
  const correlationId = randomUUID();

  /** Appends one event with the id given (or a new one) and returns that id. */
  async function emit(e: Append): Promise<string> {
    const id = e.id ?? randomUUID();
    const result = await store.append(e.stream, [{ id, type: e.type, data: e.data, metadata: { actor: e.actor ?? 'ada', correlationId, causationId: e.cause ?? null, occurredAt: at() } }]);
    head = result.position;
    return id;
  }

  const ids = {
    project: randomUUID(),
    dataset: randomUUID(),
    raw: randomUUID(),
    clean: randomUUID(),
    split: randomUUID(),
    train: randomUUID(),
    val: randomUUID(),
    test: randomUUID(),
    experiment: randomUUID(),
    agent: randomUUID(),
    job: randomUUID(),
    run: randomUUID(),
    model: randomUUID(),
    version: randomUUID(),
    request: randomUUID(),
    deployment: randomUUID(),
    monitor: randomUUID(),
    alert: randomUUID(),
    retrain: randomUUID(),
    retrainJob: randomUUID(),
    // the second, careless lifecycle
    raw2: randomUUID(),
    run2: randomUUID(),
    version2: randomUUID(),
    request2: randomUUID(),
  };
  const validations: Record<string, string> = {};
  const metrics = [{ key: 'auc', last: 0.86, min: 0.5, max: 0.87, count: 10, lastStep: 9 }];
  const used = () => [
    { datasetVersionId: ids.train, datasetId: ids.dataset, role: 'TRAIN' },
    { datasetVersionId: ids.val, datasetId: ids.dataset, role: 'VALIDATION' },
  ];
  const codeRef = { repository: 'https://git.example.com/churn.git', commit: '9fceb02d0ae598e95dc970b74767f19372d61af8', path: 'train.py' };
  const resources = { gpus: 1, gpuMemoryMb: 0, cpus: 4, memoryMb: 8192, labels: {} };
  const jobSpec = { command: ['python', 'train.py'], env: {}, workingDir: null, resources, priority: 0, maxRetries: 2, timeoutSeconds: null, cancelGraceSeconds: 10 };
  const card = {
    intendedUse: 'Rank customers for retention offers',
    limitations: 'Trained on 2025 customers only',
    evaluationData: 'The held-out 10% validation part',
    ethicalConsiderations: 'No protected attributes are features',
    caveats: 'Recalibrate every quarter',
  };

  async function registerVersion(datasetVersionId: string, rows: number, profiled = true): Promise<string> {
    return emit({
      stream: `dataset-version-${datasetVersionId}`,
      type: 'datasets.DatasetVersionRegistered.v1',
      data: {
        datasetVersionId,
        datasetId: ids.dataset,
        uri: `file:///data/${datasetVersionId}.csv`,
        format: 'CSV',
        digest: hex('a'),
        size: rows * 10,
        rows: profiled ? rows : null,
        schema: profiled ? [{ name: 'age', type: 'INTEGER', nullable: false }, { name: 'churned', type: 'BOOLEAN', nullable: false }] : null,
        profile: profiled
          ? {
              rows,
              columns: [
                { name: 'age', type: 'INTEGER', count: rows, missing: 0, distinct: 40, distinctExact: true, numeric: { min: 18, max: 90, mean: 41, stddev: 12, quantiles: [{ q: 0.5, value: 40 }], histogram: [{ lower: 18, upper: 90, count: rows }] }, categorical: null },
                { name: 'churned', type: 'BOOLEAN', count: rows, missing: 0, distinct: 2, distinctExact: true, numeric: null, categorical: { topValues: [{ value: 'false', count: rows - 1 }, { value: 'true', count: 1 }], exact: true } },
              ],
            }
          : null,
        profiled,
        registeredAt: at(),
      },
    });
  }

  async function validate(datasetVersionId: string, passed = true): Promise<void> {
    const validationId = randomUUID();
    validations[datasetVersionId] = validationId;
    const rule = { type: 'NOT_NULL', column: 'age' };
    await emit({
      stream: `dataset-version-${datasetVersionId}`,
      type: 'datasets.DatasetValidated.v1',
      data: { datasetVersionId, validationId, rules: [rule], report: { passed, rowsChecked: 80, results: [{ rule, passed, failingRows: passed ? 0 : 3, exampleRows: passed ? [] : [1, 2, 3], observed: passed ? 'no missing values' : '3 missing values' }] }, validatedAt: at() },
    });
  }

  const gate = (g: string, passed: boolean, detail: string, extra: Record<string, unknown> = {}) => ({ gate: g, passed, detail, criteria: [], datasets: [], ...extra });

  async function fullLifecycle(): Promise<void> {
    await emit({
      stream: `project-${ids.project}`,
      type: 'experiments.ProjectDefined.v1',
      data: { projectId: ids.project, name: 'churn', problem: 'Predict which customers cancel within 30 days', taskType: 'BINARY_CLASSIFICATION', target: 'churned', successCriteria: [{ metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE' }], definedAt: at() },
    });
    await emit({ stream: `dataset-${ids.dataset}`, type: 'datasets.DatasetRegistered.v1', data: { datasetId: ids.dataset, name: 'customers', description: 'CRM export', projectId: ids.project, registeredAt: at() } });
    await registerVersion(ids.raw, 120);
    await validate(ids.raw);
    // cleaning
    const cleanId = await registerVersion(ids.clean, 100);
    await emit({
      stream: `dataset-version-${ids.clean}`,
      type: 'datasets.DatasetVersionDerived.v1',
      cause: cleanId,
      data: { datasetVersionId: ids.clean, parentVersionIds: [ids.raw], transform: { kind: 'CLEAN', description: 'drop duplicates', steps: [{ type: 'DROP_DUPLICATES', columns: [] }] }, derivedAt: at() },
    });
    // split into parts
    const fractions = { train: 0.8, validation: 0.1, test: 0.1 };
    for (const [part, id, rows] of [['TRAIN', ids.train, 80], ['VALIDATION', ids.val, 10], ['TEST', ids.test, 10]] as const) {
      await registerVersion(id, rows);
      await emit({
        stream: `dataset-version-${id}`,
        type: 'datasets.DatasetVersionDerived.v1',
        data: { datasetVersionId: id, parentVersionIds: [ids.clean], transform: { kind: 'SPLIT', description: `${part} part`, splitId: ids.split, part, seed: 7, fractions, stratifyBy: null }, derivedAt: at() },
      });
    }
    await emit({
      stream: `dataset-version-${ids.clean}`,
      type: 'datasets.DatasetSplitCreated.v1',
      data: { datasetVersionId: ids.clean, splitId: ids.split, seed: 7, fractions, stratifyBy: null, parts: { train: { datasetVersionId: ids.train, rows: 80 }, validation: { datasetVersionId: ids.val, rows: 10 }, test: { datasetVersionId: ids.test, rows: 10 } }, createdAt: at() },
    });
    await validate(ids.train);
    await validate(ids.val);
    // training: experiment, GPU agent, job, run
    await emit({ stream: `experiment-${ids.experiment}`, type: 'experiments.ExperimentCreated.v1', data: { experimentId: ids.experiment, projectId: ids.project, name: 'baseline', description: '', createdAt: at() } });
    await emit({
      stream: `agent-${ids.agent}`,
      type: 'scheduler.AgentRegistered.v1',
      actor: `agent:${ids.agent}`,
      data: { agentId: ids.agent, sessionId: randomUUID(), hostname: 'gpu-node-1', labels: {}, gpus: [{ index: 0, uuid: 'GPU-11112222', name: 'NVIDIA H100', memoryMb: 81_920, status: 'AVAILABLE' }], cpus: 16, memoryMb: 65_536, gpuProbe: { status: 'OK', message: '' }, agentVersion: '1.0.0', registeredAt: at() },
    });
    const queued = await emit({
      stream: `job-${ids.job}`,
      type: 'scheduler.JobQueued.v1',
      data: { jobId: ids.job, projectId: ids.project, experimentId: ids.experiment, runId: ids.run, newRun: { params: { lr: 0.01, epochs: 10 }, datasetVersions: used().map(({ datasetVersionId, role }) => ({ datasetVersionId, role })) }, ...jobSpec, sweep: null, queuedAt: at() },
    });
    await emit({
      stream: `run-${ids.run}`,
      type: 'experiments.RunStarted.v1',
      actor: 'scheduler',
      cause: queued,
      data: { runId: ids.run, experimentId: ids.experiment, projectId: ids.project, params: { lr: 0.01, epochs: 10 }, codeRef, datasetVersions: used(), tags: ['baseline'], startedAt: at() },
    });
    const assigned = await emit({
      stream: `job-${ids.job}`,
      type: 'scheduler.JobAssigned.v1',
      actor: 'scheduler',
      cause: queued,
      data: { jobId: ids.job, agentId: ids.agent, gpus: [{ index: 0, uuid: 'GPU-11112222' }], fencingToken: 1, leaseExpiresAt: at(), attempt: 1, assignedAt: at() },
    });
    await emit({ stream: `job-${ids.job}`, type: 'scheduler.JobStarted.v1', actor: `agent:${ids.agent}`, cause: assigned, data: { jobId: ids.job, agentId: ids.agent, fencingToken: 1, pid: 4242, startedAt: at() } });
    await emit({ stream: `run-${ids.run}`, type: 'experiments.RunArtifactLogged.v1', data: { runId: ids.run, name: 'model.pkl', uri: 'file:///artifacts/model.pkl', digest: hex('b'), size: 2048, loggedAt: at() } });
    await emit({ stream: `run-${ids.run}`, type: 'experiments.RunMetricsSummarized.v1', data: { runId: ids.run, metrics, summarizedAt: at() } });
    await emit({ stream: `run-${ids.run}`, type: 'experiments.RunCompleted.v1', data: { runId: ids.run, completedAt: at() } });
    await emit({ stream: `job-${ids.job}`, type: 'scheduler.JobSucceeded.v1', actor: `agent:${ids.agent}`, data: { jobId: ids.job, agentId: ids.agent, fencingToken: 1, exitCode: 0, signal: null, durationMs: 61_000, endedAt: at() } });
    // the registry
    await emit({ stream: `model-${ids.model}`, type: 'registry.ModelRegistered.v1', data: { modelId: ids.model, projectId: ids.project, name: HOSTILE, description: `Churn model ${HOSTILE}`, registeredAt: at() } });
    await emit({
      stream: `model-version-${ids.version}`,
      type: 'registry.ModelVersionCreated.v1',
      data: {
        modelVersionId: ids.version,
        modelId: ids.model,
        projectId: ids.project,
        experimentId: ids.experiment,
        runId: ids.run,
        version: 1,
        artifact: { name: 'model.pkl', uri: 'file:///artifacts/model.pkl', digest: hex('b'), size: 2048 },
        metrics,
        params: { lr: 0.01, epochs: 10 },
        codeRef,
        datasetVersions: used(),
        signature: { inputs: [{ name: 'age', type: 'long' }], outputs: [{ name: 'churned', type: 'double' }] },
        modelCard: card,
        createdAt: at(),
      },
    });
    const requested = await emit({
      stream: `model-${ids.model}`,
      type: 'registry.PromotionRequested.v1',
      data: {
        requestId: ids.request,
        modelId: ids.model,
        modelVersionId: ids.version,
        version: 1,
        alias: 'champion',
        justification: 'Beats the rules-based baseline',
        requestedBy: 'ada',
        gates: [
          gate('RUN_COMPLETED', true, 'the run completed'),
          gate('SUCCESS_CRITERIA', true, '1 of 1 criteria met', { criteria: [{ metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE', value: 0.86, passed: true }] }),
          gate('DATASET_VALIDATION', true, 'every dataset version passed its latest validation', {
            datasets: used().map((u) => ({ ...u, validationId: validations[u.datasetVersionId], validatedAt: at(), passed: true })),
          }),
          gate('MODEL_CARD_COMPLETE', true, 'every field of the model card is filled'),
        ],
        requestedAt: at(),
      },
    });
    await store.append(`model-${ids.model}`, [
      { type: 'registry.PromotionApproved.v1', data: { requestId: ids.request, modelId: ids.model, modelVersionId: ids.version, alias: 'champion', approvedBy: 'bob', comment: 'Reviewed the gates', approvedAt: at() }, metadata: { actor: 'bob', correlationId, causationId: requested, occurredAt: at() } },
      {
        type: 'registry.AliasAssigned.v1',
        data: { modelId: ids.model, alias: 'champion', modelVersionId: ids.version, previousModelVersionId: null, requestId: ids.request, requestedBy: 'ada', approvedBy: 'bob', reason: 'Beats the rules-based baseline; Reviewed the gates', assignedAt: at() },
        metadata: { actor: 'bob', correlationId, causationId: requested, occurredAt: at() },
      },
    ]);
    // deployment and monitoring
    const deployed = await emit({
      stream: `deployment-${ids.deployment}`,
      type: 'monitoring.ModelDeployed.v1',
      data: { deploymentId: ids.deployment, monitorId: ids.monitor, modelId: ids.model, modelVersionId: ids.version, version: 1, projectId: ids.project, experimentId: ids.experiment, runId: ids.run, environment: 'production', endpoint: 'https://api.example.com/churn', deployedAt: at() },
    });
    await emit({
      stream: `deployment-${ids.deployment}`,
      type: 'monitoring.ReferenceProfileSet.v1',
      cause: deployed,
      data: { deploymentId: ids.deployment, datasetVersionId: ids.train, datasetId: ids.dataset, dataUri: `file:///data/${ids.train}.csv`, format: 'CSV', digest: hex('c'), uri: 'file:///profiles/ref.json', size: 512, rows: 80, features: [{ name: 'age', kind: 'NUMERIC', columnType: 'INTEGER' }], skippedColumns: [{ name: 'churned', reason: 'TARGET' }], target: 'churned', setAt: at() },
    });
    const retrainJob = { ...jobSpec, params: { lr: 0.01, epochs: 10 }, datasetVersions: [{ datasetVersionId: ids.train, role: 'TRAIN' }] };
    await emit({
      stream: `monitor-${ids.monitor}`,
      type: 'monitoring.MonitorCreated.v1',
      cause: deployed,
      data: {
        monitorId: ids.monitor,
        deploymentId: ids.deployment,
        modelId: ids.model,
        modelVersionId: ids.version,
        projectId: ids.project,
        experimentId: ids.experiment,
        runId: ids.run,
        taskType: 'BINARY_CLASSIFICATION',
        baseline: metrics,
        datasetVersions: used(),
        config: { ...DEFAULT_MONITOR_CONFIG, raiseAfter: 1, retrainPolicy: 'AUTO', retrainJob: { source: 'TRAINING_JOB', sourceJobId: ids.job, experimentId: ids.experiment, ...jobSpec, params: { lr: 0.01, epochs: 10 } } },
        createdAt: at(),
      },
    });
    const drift = (window: number, drifted: boolean) => ({
      measurementId: randomUUID(),
      monitorId: ids.monitor,
      deploymentId: ids.deployment,
      window,
      source: { kind: 'INLINE', datasetVersionId: null, uri: null, format: null },
      rows: 50,
      referenceDigest: hex('c'),
      options: { numericMethod: 'AUTO', categoricalMethod: 'AUTO', ksPValue: 0.05, chiSquarePValue: 0.05, wassersteinThreshold: 0.1, jensenShannonThreshold: 0.1, psiThreshold: 0.1, driftShare: 0.5, bonferroni: false },
      features: [
        { feature: 'age', kind: 'NUMERIC', method: 'KS', score: drifted ? 0.001 : 0.6, threshold: 0.05, drifted, referenceCount: 80, currentCount: 50, currentMissing: 0, ks: { statistic: drifted ? 0.5 : 0.1, pValue: drifted ? 0.001 : 0.6 }, wasserstein: null, psi: drifted ? 0.3 : 0.01, psiBand: drifted ? 'MAJOR' : 'NONE', chiSquare: null, jensenShannon: null, unseenCategories: [], unseenCategoryCount: 0 },
      ],
      driftedFeatures: drifted ? 1 : 0,
      driftedShare: drifted ? 1 : 0,
      drifted,
      measuredAt: at(),
    });
    const first = drift(1, true);
    const measured = await emit({ stream: `monitor-${ids.monitor}`, type: 'monitoring.DriftMeasured.v1', data: first });
    const raised = await emit({
      stream: `monitor-${ids.monitor}`,
      type: 'monitoring.AlertRaised.v1',
      actor: 'monitoring',
      cause: measured,
      data: { alertId: ids.alert, monitorId: ids.monitor, deploymentId: ids.deployment, kind: 'DRIFT', windows: [1], measurementIds: [first.measurementId], summary: 'age drifted (KS p = 0.001)', raisedAt: at() },
    });
    const retrain = await emit({
      stream: `monitor-${ids.monitor}`,
      type: 'monitoring.RetrainRequested.v1',
      actor: 'monitoring',
      cause: raised,
      data: {
        retrainId: ids.retrain,
        monitorId: ids.monitor,
        deploymentId: ids.deployment,
        modelId: ids.model,
        modelVersionId: ids.version,
        alertId: ids.alert,
        policy: 'AUTO',
        job: { ...retrainJob, jobId: ids.retrainJob, experimentId: ids.experiment },
        datasetChanges: [{ datasetId: ids.dataset, fromDatasetVersionId: ids.train, toDatasetVersionId: ids.train }],
        requestedAt: at(),
      },
    });
    await emit({
      stream: `job-${ids.retrainJob}`,
      type: 'scheduler.JobQueued.v1',
      actor: 'scheduler',
      cause: retrain,
      data: { jobId: ids.retrainJob, projectId: ids.project, experimentId: ids.experiment, runId: randomUUID(), newRun: { params: { lr: 0.01, epochs: 10 }, datasetVersions: [{ datasetVersionId: ids.train, role: 'TRAIN' }] }, ...jobSpec, sweep: null, queuedAt: at() },
    });
    await emit({ stream: `monitor-${ids.monitor}`, type: 'monitoring.DriftMeasured.v1', data: drift(2, false) });
  }

  /** A second version of the same model: unvalidated data, no code reference, no job, a card without caveats, a failed gate, never deployed. */
  async function carelessLifecycle(): Promise<void> {
    await registerVersion(ids.raw2, 40, false);
    const used2 = [{ datasetVersionId: ids.raw2, datasetId: ids.dataset, role: 'TRAIN' }];
    await emit({ stream: `run-${ids.run2}`, type: 'experiments.RunStarted.v1', data: { runId: ids.run2, experimentId: ids.experiment, projectId: ids.project, params: {}, codeRef: null, datasetVersions: used2, tags: [], startedAt: at() } });
    await emit({ stream: `run-${ids.run2}`, type: 'experiments.RunMetricsSummarized.v1', data: { runId: ids.run2, metrics: [{ key: 'auc', last: 0.71, min: 0.5, max: 0.72, count: 3, lastStep: 2 }], summarizedAt: at() } });
    await emit({ stream: `run-${ids.run2}`, type: 'experiments.RunCompleted.v1', data: { runId: ids.run2, completedAt: at() } });
    await emit({
      stream: `model-version-${ids.version2}`,
      type: 'registry.ModelVersionCreated.v1',
      data: {
        modelVersionId: ids.version2,
        modelId: ids.model,
        projectId: ids.project,
        experimentId: ids.experiment,
        runId: ids.run2,
        version: 2,
        artifact: { name: 'model.pkl', uri: 'file:///artifacts/model2.pkl', digest: hex('d'), size: 1024 },
        metrics: [{ key: 'auc', last: 0.71, min: 0.5, max: 0.72, count: 3, lastStep: 2 }],
        params: {},
        codeRef: null,
        datasetVersions: used2,
        signature: { inputs: [{ name: 'age', type: 'long' }], outputs: [{ name: 'churned', type: 'double' }] },
        modelCard: { ...card, caveats: '' },
        createdAt: at(),
      },
    });
    await emit({
      stream: `model-${ids.model}`,
      type: 'registry.PromotionRequested.v1',
      actor: 'cyd',
      data: {
        requestId: ids.request2,
        modelId: ids.model,
        modelVersionId: ids.version2,
        version: 2,
        alias: 'challenger',
        justification: 'Try it',
        requestedBy: 'cyd',
        gates: [
          gate('RUN_COMPLETED', true, 'the run completed'),
          gate('DATASET_VALIDATION', false, `dataset version ${ids.raw2} was never validated`, { datasets: [{ ...used2[0], validationId: null, validatedAt: null, passed: false }] }),
        ],
        requestedAt: at(),
      },
    });
  }

  /**
   * The graph of the service's read model (lineage.read-model.ts) without the OpenLineage
   * outbox, whose tables this spec does not need (nor migrate).
   */
  const graphOnly = combineProjections('lineage.read-model.v1', [lineageGraphProjection]);

  beforeAll(async () => {
    db = await createTestSchema('audit');
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: platformEventCatalog(), pollIntervalMs: 20 });
    await store.migrate();
    await migrateReadModel(db.pool, db.schema, 'lineage', lineageMigrations);
    runner = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection: graphOnly, retryDelayMs: 50 });
    const tables = new MerkleLogTables(db.pool, db.schema);
    builder = new MerkleLogBuilder({ store, tables, batchSize: 50, retryDelayMs: 20 });
    log = new MerkleLogViews(tables, builder, store, signer, ORIGIN);
    const views = new LineageViews(new LineageReader(db.pool, db.schema), store, runner);
    reports = new AuditReports(views, store, log, tables, () => new Date('2026-12-02T06:00:00.000Z'));
    await fullLifecycle();
    await carelessLifecycle();
    await runner.start();
    await builder.start();
    await Promise.all([runner.waitFor(head, 30_000), builder.waitFor(head)]);
  });

  afterAll(async () => {
    await runner?.stop();
    await builder?.stop();
    await store?.close();
    await db?.drop();
  });

  const section = (report: AuditReport, id: string) => report.sections.find((s) => s.id === id)!;
  const texts = (report: AuditReport, id: string, kind: 'claims' | 'gaps') => section(report, id)[kind].map((c) => c.text).join('\n');

  let full: AuditReport;

  it('reports every stage of a full lifecycle, each claim citing its events, and verifies with the real key', async () => {
    full = await reports.report(ids.version);
    expect(full.sections.map((s) => s.id)).toEqual(['problem', 'data', 'training', 'model', 'evaluation', 'approvals', 'deployment']);
    expect(full.subject).toMatchObject({ modelVersionId: ids.version, modelId: ids.model, modelName: HOSTILE, version: 1, projectName: 'churn' });
    for (const s of full.sections) {
      expect(s.modelCard.length).toBeGreaterThan(0);
      for (const p of s.annexIV) expect(Object.keys(ANNEX_IV_POINTS)).toContain(p);
      for (const c of s.claims) expect(c.evidence.length).toBeGreaterThan(0);
    }
    expect(texts(full, 'problem', 'claims')).toMatch(/auc ≥ 0.8/);
    expect(texts(full, 'data', 'claims')).toMatch(/Validation .* passed/);
    expect(texts(full, 'data', 'claims')).toMatch(/cleaned \(DROP_DUPLICATES\)/);
    expect(texts(full, 'data', 'claims')).toMatch(new RegExp(`Split ${ids.split}`));
    expect(texts(full, 'training', 'claims')).toMatch(/gpu-node-1 with GPU\(s\) GPU-11112222 \(NVIDIA H100, 81920 MB\)/);
    expect(texts(full, 'training', 'claims')).toMatch(/commit 9fceb02d/);
    expect(texts(full, 'evaluation', 'claims')).toMatch(/auc ≥ 0.8: the run's last value is 0.86, met/);
    expect(texts(full, 'approvals', 'claims')).toMatch(/approved by bob/);
    expect(texts(full, 'approvals', 'claims')).toMatch(/Alias "champion" was moved to this version/);
    expect(texts(full, 'deployment', 'claims')).toMatch(/Deployed to production/);
    expect(texts(full, 'deployment', 'claims')).toMatch(/DRIFT alert .* raised after window\(s\) 1/);
    expect(texts(full, 'deployment', 'claims')).toMatch(/Retraining .* requested \(policy AUTO\)/);
    expect(texts(full, 'deployment', 'claims')).toMatch(/Drift window 2 .* no drift/);
    // The one gap of a careful lifecycle: the alert is still open.
    expect(full.sections.flatMap((s) => s.gaps.map((g) => g.text))).toEqual([expect.stringMatching(/DRIFT alert .* is still open/)]);

    // Every citation is in the appendix, and every appendix event is cited.
    const cited = new Set(full.sections.flatMap((s) => [...s.claims, ...s.gaps].flatMap((c) => c.evidence.map((e) => e.eventId))));
    expect(new Set(full.events.map((e) => e.id))).toEqual(cited);
    const positions = full.events.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(full.events.map((e) => e.type)).toEqual(expect.arrayContaining(['experiments.ProjectDefined.v1', 'datasets.DatasetValidated.v1', 'scheduler.AgentRegistered.v1', 'monitoring.DriftMeasured.v1', 'monitoring.RetrainRequested.v1']));

    // One signed checkpoint covers them all; the digest is over the rest.
    expect(openCheckpoint(full.checkpoint.note, signer.verifierKey)).toMatchObject({ origin: ORIGIN, size: full.checkpoint.treeSize });
    expect(full.checkpoint.treeSize).toBeGreaterThan(Math.max(...full.events.map((e) => e.leafIndex)));
    expect(full.digest.value).toBe(reportDigest(full));
    expect(full.log.verifierKey).toBe(signer.verifierKey);
    expect(full.notCovered.annexIV).toEqual(expect.arrayContaining(['5', '7', '8']));

    const result = verifyReport(JSON.parse(JSON.stringify(full)), { verifierKey: signer.verifierKey });
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([]);
    expect(verifyReport(JSON.parse(JSON.stringify(full)), { verifierKey: other.verifierKey }).ok).toBe(false);
  });

  it('flags what a careless lifecycle lacks, never leaving it out', async () => {
    const careless = await reports.report(ids.version2);
    expect(texts(careless, 'data', 'gaps')).toMatch(new RegExp(`Dataset version ${ids.raw2} \\(TRAIN data\\) was never validated`));
    expect(texts(careless, 'data', 'gaps')).toMatch(/was not profiled/);
    expect(texts(careless, 'training', 'gaps')).toMatch(/has no code reference/);
    expect(texts(careless, 'training', 'gaps')).toMatch(/not executed by a scheduler job/);
    expect(texts(careless, 'model', 'gaps')).toMatch(/The model card has no Caveats and Recommendations \(field "caveats" is empty\)/);
    expect(texts(careless, 'evaluation', 'gaps')).toMatch(/does not meet success criterion auc ≥ 0.8 \(value 0.71\)/);
    expect(texts(careless, 'evaluation', 'gaps')).toMatch(/no validation or test data/);
    expect(texts(careless, 'approvals', 'gaps')).toMatch(/Gate DATASET_VALIDATION of the "challenger" promotion request failed/);
    expect(texts(careless, 'approvals', 'gaps')).toMatch(/still pending/);
    expect(texts(careless, 'deployment', 'gaps')).toMatch(/was never deployed/);
    expect(section(careless, 'deployment').claims).toEqual([]);
    // The first version's deployment is not this version's story.
    expect(careless.events.some((e) => e.type === 'monitoring.ModelDeployed.v1')).toBe(false);
    expect(verifyReport(careless, { verifierKey: signer.verifierKey }).ok).toBe(true);
  });

  it('renders Markdown and self-contained HTML with every string escaped', () => {
    const md = renderMarkdown(full);
    const html = renderHtml(full);
    // AUDIT_REPORT_OUT=<dir> keeps the documents to look at.
    const out = process.env.AUDIT_REPORT_OUT;
    if (out) {
      writeFileSync(join(out, 'report.json'), JSON.stringify(full, null, 2));
      writeFileSync(join(out, 'report.md'), md);
      writeFileSync(join(out, 'report.html'), html);
    }
    for (const s of full.sections) {
      expect(html).toContain(`<h2>${s.title.replace(/&/g, '&amp;')}</h2>`);
      expect(md).toContain('## ');
    }
    expect(md).toMatch(/## Problem definition and success criteria/);
    expect(md).toMatch(/## Deployment and monitoring: drift, alerts, retraining/);
    expect(md).toContain(`npm run verify -- report.json --key '${signer.verifierKey}'`);
    expect(html).toContain(`npm run verify -- report.json --key &#39;${signer.verifierKey}&#39;`);
    // The hostile model name never becomes markup.
    expect(md).not.toContain(HOSTILE);
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(md).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<script|src=|href="http/i);
    // Citations: stream@revision and position.
    const anyEvent = full.events[0];
    expect(md).toContain(`${anyEvent.stream}@${anyEvent.revision}, position ${anyEvent.position}`);
    expect(html).toContain(`${anyEvent.stream}@${anyEvent.revision}, position ${anyEvent.position}`);
  });

  it('refuses a model version it does not know and an id that is not a model version', async () => {
    await expect(reports.report(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(reports.report(ids.run)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/is a run, not a model version/) });
  });

  it('fails with a clear error when a cited event is not in the log yet', async () => {
    await builder.stop();
    // A new card for version 1 that the stopped log has not seen.
    await emit({ stream: `model-version-${ids.version}`, type: 'registry.ModelCardUpdated.v1', data: { modelVersionId: ids.version, modelId: ids.model, modelCard: card, updatedAt: at() } });
    await runner.waitFor(head, 30_000);
    await expect(reports.report(ids.version)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/the Merkle log has not logged 1 cited event\(s\) yet .*position \d+.*Try again once the log has caught up/) });
    await builder.start();
    await builder.waitFor(head);
    expect(verifyReport(await reports.report(ids.version), { verifierKey: signer.verifierKey }).ok).toBe(true);
  });

  it('refuses to report an event edited in the store after it was logged', async () => {
    const s = ident(db.schema);
    await db.pool.query(`UPDATE ${s}.events SET data = jsonb_set(data, '{problem}', '"edited"') WHERE stream_id = $1`, [`project-${ids.project}`]);
    await expect(reports.report(ids.version)).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/^event .* \(project-.*@0\) does not hash to its stored hash/) });
  });
});
