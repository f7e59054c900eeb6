import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, eventually, freePort, platformSandbox, type StartedPlatform, startPlatform } from '@modeltrail/testing';
import { GraphQLHttpClient } from '../gateway/test/graphql-client';

/**
 * A model's life after training, through the public API only, on the platform as `npm start`
 * starts it (every service, the gateway and the local agent as separate processes):
 *   a training job on the local agent → its completed run → a model version → a promotion whose
 *   gates are recorded → approval by a second person → the alias moves;
 *   a deployment with a frozen reference → a drifting batch → an alert → a retraining job on the
 *   newest version of the training data → it runs on the local agent → a new completed run;
 *   then predictions whose labels arrive later fill a performance window, compared with the run's
 * held-out accuracy, and raise a performance alert; with every step in `history`, each caused
 * step naming its cause.
 */
describe('models through GraphQL: registry, deployment, drift and retraining', () => {
  const root = join(__dirname, '..');
  const csv = join(root, 'examples/datasets/customer-churn.csv');
  const sandbox = platformSandbox('models');
  const work = mkdtempSync(join(tmpdir(), 'mt-models-'));
  // The local agent runs jobs as `nobody` when started as root: it must reach its data dir.
  chmodSync(work, 0o755);
  let platform: StartedPlatform;
  let ada: GraphQLHttpClient;
  let bob: GraphQLHttpClient;

  beforeAll(async () => {
    ensureBuilt(root);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/graphql`;
    const env = {
      ...process.env,
      ...sandbox.env,
      PORT: String(port),
      ARTIFACT_ROOT: join(work, 'artifacts'),
      AGENT_DATA_DIR: join(work, 'agent'),
      DATA_ROOTS: `${root},${work}`,
      API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com',
      NODE_ENV: 'development',
    };
    platform = startPlatform(root, env);
    await platform.waitFor(['gateway: GraphQL on', 'datasets: serving', 'experiments: serving', 'scheduler: serving', 'registry: serving', 'monitoring: serving'].map((line) => new RegExp(line)));
    ada = new GraphQLHttpClient(url, 'ada-token');
    bob = new GraphQLHttpClient(url, 'bob-token');
    // The local agent registers on its own schedule: wait, so its event cannot land inside a check that counts events.
    await eventually(async () => expect((await ada.data(`{ agents { nodes { id status } } }`)).agents.nodes).toHaveLength(1), { timeoutMs: 30_000, intervalMs: 200 });
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    await sandbox.remove();
    rmSync(work, { recursive: true, force: true });
  });

  async function expectError(client: GraphQLHttpClient, query: string, variables: Record<string, unknown>, code: string, message: RegExp): Promise<void> {
    const before = await sandbox.storedEvents();
    const response = await client.request(query, variables);
    expect(response.errors?.[0]).toMatchObject({ extensions: { code } });
    expect(response.errors![0].message).toMatch(message);
    expect(response.text).not.toMatch(/stacktrace|\.ts:\d+/);
    expect(await sandbox.storedEvents()).toBe(before);
  }

  const job = async (id: string) => (await ada.data(`query($id: ID!) { job(id: $id) { id status reason run { id status datasetVersions { role datasetVersion { id version } } } } }`, { id })).job;
  async function waitForJob(id: string): Promise<any> {
    let last: any;
    await eventually(
      async () => {
        last = await job(id);
        if (last?.status !== 'SUCCEEDED' || last.run?.status !== 'COMPLETED') throw new Error(`job ${id} is ${JSON.stringify(last)}; waiting for SUCCEEDED and a completed run\n${platform.output().slice(-3_000)}`);
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    return last;
  }
  const history = async (id: string) =>
    (await ada.data(`query($id: ID!) { history(entityId: $id) { stream events { id type actor causationId correlationId data } verification { valid } } }`, { id })).history;

  const state: Record<string, any> = {};

  it('trains a model on the local agent from a validated dataset version', async () => {
    const { registerDataset } = await ada.data(`mutation { registerDataset(input: { name: "churn-models-e2e", description: "Monthly churn" }) { id } }`);
    state.datasetId = registerDataset.id;
    const register = `mutation($input: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $input) { id version } }`;
    state.v1 = (await ada.data(register, { input: { datasetId: state.datasetId, uri: csv, format: 'CSV' } })).registerDatasetVersion;
    const { validateDatasetVersion } = await ada.data(
      `mutation($id: ID!) { validateDatasetVersion(input: { datasetVersionId: $id, rules: [
          { type: RANGE, column: "monthly_charges", min: 0, max: 500 },
          { type: ALLOWED_VALUES, column: "contract", values: ["month-to-month", "one-year", "two-year"] },
          { type: MAX_MISSING_FRACTION, column: "age", fraction: 0.2 }
        ] }) { passed } }`,
      { id: state.v1.id },
    );
    expect(validateDatasetVersion.passed).toBe(true);

    const { defineProject } = await ada.data(`mutation { defineProject(input: { name: "churn-models-e2e", problem: "Predict which customers cancel next month",
      taskType: BINARY_CLASSIFICATION, target: "churned", successCriteria: [{ metric: "val/accuracy", threshold: 0.6, direction: MAXIMIZE }] }) { id } }`);
    state.projectId = defineProject.id;
    const { createExperiment } = await ada.data(`mutation($p: ID!) { createExperiment(input: { projectId: $p, name: "logistic" }) { id } }`, { p: state.projectId });
    state.experimentId = createExperiment.id;

    const { submitJob } = await ada.data(`mutation($input: SubmitJobInput!) { submitJob(input: $input) { id status } }`, {
      input: {
        experimentId: state.experimentId,
        params: { lr: 0.1 },
        datasetVersions: [{ datasetVersionId: state.v1.id, role: 'TRAIN' }],
        command: ['python3', 'examples/training/train.py', '--epochs', '2', '--steps-per-epoch', '20', '--step-delay', '0'],
        workingDir: root,
        resources: { gpus: 0, cpus: 1, memoryMb: 512 },
      },
    });
    state.trainingJob = submitJob.id;
    const done = await waitForJob(submitJob.id);
    expect(done.run.datasetVersions).toEqual([{ role: 'TRAIN', datasetVersion: { id: state.v1.id, version: 1 } }]);
    state.runId = done.run.id;
  }, 120_000);

  it('registers the run as a model version and promotes it through its gates, approved by a second person', async () => {
    const { registerModel } = await ada.data(`mutation($p: ID!) { registerModel(input: { projectId: $p, name: "churn-classifier", description: "Who cancels next month" }) { id name } }`, {
      p: state.projectId,
    });
    state.modelId = registerModel.id;
    const card = {
      intendedUse: 'Rank customers for retention offers',
      limitations: 'Trained on one market',
      evaluationData: 'A held-out fifth of the training data',
      ethicalConsiderations: 'No protected attributes are used',
      caveats: 'Retrain when the contract mix changes',
    };
    const signature = { inputs: [{ name: 'age', type: 'NUMBER' }, { name: 'contract', type: 'STRING' }], outputs: [{ name: 'churned', type: 'STRING' }] };
    const create = `mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { id version status artifact { name digest } metrics { key last } datasetVersions { role datasetVersion { id } } run { id } } }`;

    await expectError(ada, create, { input: { modelId: state.modelId, runId: state.runId, artifactName: 'weights', signature, modelCard: card } }, 'BAD_USER_INPUT', /weights[\s\S]*model/);
    const { startRun } = await ada.data(`mutation($e: ID!) { startRun(input: { experimentId: $e }) { id } }`, { e: state.experimentId });
    await expectError(ada, create, { input: { modelId: state.modelId, runId: startRun.id, artifactName: 'model', signature, modelCard: card } }, 'CONFLICT', /not completed|RUNNING|Running/i);

    const { createModelVersion: version } = await ada.data(create, { input: { modelId: state.modelId, runId: state.runId, artifactName: 'model', signature, modelCard: card } });
    expect(version).toMatchObject({ version: 1, status: 'ACTIVE', artifact: { name: 'model' }, run: { id: state.runId } });
    expect(version.artifact.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(version.metrics.map((m: any) => m.key)).toContain('val/accuracy');
    expect(version.datasetVersions).toEqual([{ role: 'TRAIN', datasetVersion: { id: state.v1.id } }]);
    state.versionId = version.id;

    const { requestPromotion: request } = await ada.data(
      `mutation($v: ID!) { requestPromotion(input: { modelVersionId: $v, alias: "champion", justification: "Beats the success criterion" }) { id status requestedBy gates { gate passed detail } } }`,
      { v: state.versionId },
    );
    expect(request.status).toBe('PENDING');
    expect(request.gates.map((g: any) => [g.gate, g.passed])).toEqual(
      expect.arrayContaining([
        ['RUN_COMPLETED', true],
        ['SUCCESS_CRITERIA', true],
        ['DATASET_VALIDATION', true],
        ['MODEL_CARD_COMPLETE', true],
      ]),
    );
    const approve = `mutation($r: ID!) { approvePromotion(input: { requestId: $r, comment: "Reviewed the card and the gates" }) { id status decidedBy } }`;
    await expectError(ada, approve, { r: request.id }, 'FORBIDDEN', /ada@example\.com made promotion request .* and cannot approve it: another person must/);
    state.beforeAlias = new Date().toISOString();
    const { approvePromotion } = await bob.data(approve, { r: request.id });
    expect(approvePromotion).toMatchObject({ status: 'APPROVED', decidedBy: 'bob@example.com' });
    await expectError(bob, approve, { r: request.id }, 'CONFLICT', /APPROVED|already/i);

    const alias = `query($m: ID!, $asOf: DateTime) { model(id: $m) { alias(name: "champion", asOf: $asOf) { version modelVersion { id } approvedBy } } }`;
    await eventually(
      async () => expect((await ada.data(alias, { m: state.modelId })).model.alias).toEqual({ version: 1, modelVersion: { id: state.versionId }, approvedBy: 'bob@example.com' }),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect((await ada.data(alias, { m: state.modelId, asOf: state.beforeAlias })).model.alias).toBeNull();

    const { modelHistory } = await ada.data(`query($m: ID!) { modelHistory: aliasHistory(modelId: $m, alias: "champion") { modelVersion { id } previousModelVersion { id } requestedBy approvedBy reason } }`, {
      m: state.modelId,
    });
    expect(modelHistory).toEqual([
      expect.objectContaining({ modelVersion: { id: state.versionId }, previousModelVersion: null, requestedBy: 'ada@example.com', approvedBy: 'bob@example.com' }),
    ]);
  });

  it('deploys the version, measures drift against its frozen reference, and retrains on the newest data when a batch drifts', async () => {
    // A second version of the training data, registered after the model was trained: the retraining must use it.
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
    const newer = join(work, 'customer-churn-december.csv');
    writeFileSync(newer, `${lines.slice(0, lines.length - 20).join('\n')}\n`);
    const { registerDatasetVersion: v2 } = await ada.data(`mutation($input: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $input) { id version } }`, {
      input: { datasetId: state.datasetId, uri: newer, format: 'CSV' },
    });
    expect(v2.version).toBe(2);
    state.v2 = v2;

    const features = ['age', 'tenure_months', 'monthly_charges', 'contract', 'country'];
    const { deployModel: deployment } = await ada.data(
      `mutation($input: DeployModelInput!) { deployModel(input: $input) { id environment endpoint reference { datasetVersionId digest features { name kind } } } }`,
      { input: { modelVersionId: state.versionId, environment: 'production', endpoint: 'https://models.example.com/churn', features } },
    );
    expect(deployment.reference.datasetVersionId).toBe(state.v1.id);
    expect(deployment.reference.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(deployment.reference.features.map((f: any) => [f.name, f.kind])).toEqual([
      ['age', 'NUMERIC'],
      ['tenure_months', 'NUMERIC'],
      ['monthly_charges', 'NUMERIC'],
      ['contract', 'CATEGORICAL'],
      ['country', 'CATEGORICAL'],
    ]);
    state.deploymentId = deployment.id;
    await ada.data(`mutation($d: ID!) { configureMonitor(input: { deploymentId: $d, raiseAfter: 1, resolveAfter: 1, retrainPolicy: AUTO }) { config { retrainPolicy raiseAfter } } }`, {
      d: state.deploymentId,
    });

    const ingest = `mutation($input: IngestFeatureBatchInput!) { ingestFeatureBatch(input: $input) {
        measurement { drifted driftedShare rows features { feature method drifted score ks { statistic pValue } psi chiSquare { pValue } unseenCategories } }
        alertsRaised { id kind } retrainRequests { id status job { jobId } datasetChanges { fromDatasetVersionId toDatasetVersionId } } } }`;
    const same = (await ada.data(ingest, { input: { deploymentId: state.deploymentId, datasetVersionId: state.v1.id } })).ingestFeatureBatch;
    expect(same.measurement.drifted).toBe(false);
    expect(same.measurement.features.every((f: any) => !f.drifted)).toBe(true);
    expect(same.alertsRaised).toEqual([]);

    await expectError(ada, ingest, { input: { deploymentId: state.deploymentId, rows: { columns: ['age', 'tenure_months'], rows: [[30, 12]] } } }, 'BAD_USER_INPUT', /monthly_charges/);
    await expectError(
      ada,
      ingest,
      { input: { deploymentId: state.deploymentId, rows: { columns: features, rows: [['thirty', 12, 80, 'one-year', 'US']] } } },
      'BAD_USER_INPUT',
      /age[\s\S]*thirty|thirty[\s\S]*age/,
    );
    await expectError(ada, ingest, { input: { deploymentId: state.deploymentId, rows: { columns: features, rows: [] } } }, 'BAD_USER_INPUT', /empty|at least one row/);

    // Older, longer-tenured customers paying twice as much on two-year contracts in a new market.
    const drifting = Array.from({ length: 300 }, (_, i) => [60 + (i % 25), 60 + (i % 40), 150 + (i % 50), 'two-year', i % 3 === 0 ? 'JP' : 'US']);
    const drifted = (await ada.data(ingest, { input: { deploymentId: state.deploymentId, rows: { columns: features, rows: drifting } } })).ingestFeatureBatch;
    expect(drifted.measurement).toMatchObject({ drifted: true, rows: 300 });
    const age = drifted.measurement.features.find((f: any) => f.feature === 'age');
    expect(age).toMatchObject({ method: 'KS', drifted: true });
    expect(age.ks.pValue).toBeLessThan(0.05);
    expect(drifted.measurement.features.find((f: any) => f.feature === 'country').unseenCategories).toEqual(['JP']);
    expect(drifted.alertsRaised).toHaveLength(1);
    expect(drifted.retrainRequests).toHaveLength(1);
    const retrain = drifted.retrainRequests[0];
    expect(retrain.status).toBe('REQUESTED');
    expect(retrain.datasetChanges).toEqual([{ fromDatasetVersionId: state.v1.id, toDatasetVersionId: state.v2.id }]);

    // The scheduler queues the retraining job on the newest data; the local agent runs it into a new run.
    const retrained = await waitForJob(retrain.job.jobId);
    expect(retrained.run.id).not.toBe(state.runId);
    expect(retrained.run.datasetVersions).toEqual([{ role: 'TRAIN', datasetVersion: { id: state.v2.id, version: 2 } }]);

    // History explains it: the drift window raised the alert, the alert caused the request, the request queued the job.
    const monitor = await history(await monitorId(state.deploymentId));
    const types = monitor.events.map((e: any) => e.type);
    expect(types).toEqual(expect.arrayContaining(['monitoring.DriftMeasured.v1', 'monitoring.AlertRaised.v1', 'monitoring.RetrainRequested.v1']));
    const raised = monitor.events.find((e: any) => e.type === 'monitoring.AlertRaised.v1');
    const requested = monitor.events.find((e: any) => e.type === 'monitoring.RetrainRequested.v1');
    const window = monitor.events.filter((e: any) => e.type === 'monitoring.DriftMeasured.v1').at(-1);
    expect(raised.data.alertId).toBe(drifted.alertsRaised[0].id);
    expect(requested.data.alertId).toBe(raised.data.alertId);
    expect(raised.causationId).toBe(window.id);
    expect(requested.causationId).toBe(raised.id);
    expect(monitor.verification.valid).toBe(true);
    const jobHistory = await history(retrain.job.jobId);
    const queued = jobHistory.events.find((e: any) => e.type === 'scheduler.JobQueued.v1');
    expect(queued.causationId).toBe(requested.id);
    expect(queued.correlationId).toBe(requested.correlationId);
    const runHistory = await history(retrained.run.id);
    expect(runHistory.events[0].type).toBe('experiments.RunStarted.v1');
    expect(runHistory.events[0].data.datasetVersions).toEqual([expect.objectContaining({ datasetVersionId: state.v2.id, role: 'TRAIN' })]);

    // Predictions now, labels later: a window of 4 labels half wrong is far below the run's val/accuracy, a PERFORMANCE alert.
    await ada.data(`mutation($d: ID!) { configureMonitor(input: { deploymentId: $d, retrainPolicy: OFF, windowSize: 4 }) { config { windowSize } } }`, { d: state.deploymentId });
    const predictions = ['p1', 'p2', 'p3', 'p4'].map((predictionId, i) => ({ predictionId, prediction: i % 2 === 0 ? 'yes' : 'no' }));
    expect((await ada.data(`mutation($input: IngestPredictionsInput!) { ingestPredictions(input: $input) { accepted } }`, { input: { deploymentId: state.deploymentId, predictions } })).ingestPredictions.accepted).toBe(4);
    const label = `mutation($input: IngestGroundTruthInput!) { ingestGroundTruth(input: $input) {
        accepted pending measurements { window predictions degraded metrics { accuracy } comparisons { metric value baseline degraded } } alertsRaised { kind } } }`;
    await expectError(ada, label, { input: { deploymentId: state.deploymentId, labels: [{ predictionId: 'p9', actual: 'yes' }] } }, 'NOT_FOUND', /p9/);
    const labelled = (await ada.data(label, { input: { deploymentId: state.deploymentId, labels: ['yes', 'yes', 'no', 'no'].map((actual, i) => ({ predictionId: `p${i + 1}`, actual })) } })).ingestGroundTruth;
    expect(labelled).toMatchObject({ accepted: 4, pending: 0 });
    const [performance] = labelled.measurements;
    expect(performance).toMatchObject({ window: 1, predictions: 4, degraded: true, metrics: { accuracy: 0.5 } });
    const accuracy = performance.comparisons.find((c: any) => c.metric === 'ACCURACY');
    expect(accuracy.baseline).toBeGreaterThan(0.6);
    expect(accuracy.degraded).toBe(true);
    expect(labelled.alertsRaised).toEqual([{ kind: 'PERFORMANCE' }]);
  }, 150_000);

  async function monitorId(deploymentId: string): Promise<string> {
    return (await ada.data(`query($d: ID!) { deployment(id: $d) { monitor { id } } }`, { d: deploymentId })).deployment.monitor.id;
  }
});
