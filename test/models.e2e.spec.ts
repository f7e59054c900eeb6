import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { hashFromHex, openCheckpoint, verifyConsistency, verifyInclusion } from '@modeltrail/merkle';
import { validateRunEvent } from '@modeltrail/openlineage';
import { verifyReport } from '../services/lineage/src/audit/audit.verify';
import { describeWithNats, ensureBuilt, eventually, freePort, platformSandbox, type StartedPlatform, startPlatform, uniqueName } from '@modeltrail/testing';
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
describeWithNats('models through GraphQL: registry, deployment, drift and retraining', () => {
  const root = join(__dirname, '..');
  const csv = join(root, 'examples/datasets/customer-churn.csv');
  const sandbox = platformSandbox('models');
  const work = join(tmpdir(), uniqueName('mt-models')); // made in beforeAll: a skipped suite leaves nothing behind
  let platform: StartedPlatform;
  let ada: GraphQLHttpClient;
  let bob: GraphQLHttpClient;

  beforeAll(async () => {
    mkdirSync(work);
    // The local agent runs jobs as `nobody` when started as root: it must reach its data dir.
    chmodSync(work, 0o755);
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
    await platform.waitFor(['gateway: GraphQL on', 'datasets: serving', 'experiments: serving', 'scheduler: serving', 'registry: serving', 'monitoring: serving', 'lineage: serving'].map((line) => new RegExp(line)));
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

  it('answers why the model is in production: its lineage as of any moment, the causal chain, a signed log with proofs, and OpenLineage', async () => {
    const nodeFields = `id kind name depth direction createdPosition endedPosition`;
    const lineage = `query($id: ID!, $direction: LineageDirection, $depth: Int, $asOf: AsOfInput, $first: Int, $after: String) {
        lineage(id: $id, direction: $direction, depth: $depth, asOf: $asOf, first: $first, after: $after) {
          position totalNodes totalEdges root { id kind } nodes { ${nodeFields} } edges { from type to } pageInfo { endCursor hasNextPage } } }`;
    // Every page of a walk, three nodes at a time: each node once, each edge once, after both its ends.
    async function walk(variables: Record<string, unknown>): Promise<{ nodes: any[]; edges: any[]; position: number; totals: [number, number] }> {
      const nodes: any[] = [];
      const edges: any[] = [];
      let after: string | null = null;
      let position = 0;
      let totals: [number, number] = [0, 0];
      for (;;) {
        const page: any = (await ada.data(lineage, { ...variables, first: 3, after })).lineage;
        if (after !== null) expect(page.position).toBe(position); // later pages keep the snapshot
        position = page.position;
        totals = [page.totalNodes, page.totalEdges];
        nodes.push(...page.nodes);
        const delivered = new Set(nodes.map((n) => n.id));
        for (const e of page.edges) expect([delivered.has(e.from), delivered.has(e.to)]).toEqual([true, true]);
        edges.push(...page.edges);
        if (!page.pageInfo.hasNextPage) return { nodes, edges, position, totals };
        after = page.pageInfo.endCursor;
      }
    }

    const up = await walk({ id: state.versionId, direction: 'UPSTREAM' });
    expect(new Set(up.nodes.map((n) => n.id)).size).toBe(up.nodes.length);
    expect(up.totals).toEqual([up.nodes.length, up.edges.length]);
    const upIds = up.nodes.map((n) => n.id);
    expect(upIds).toEqual(expect.arrayContaining([state.runId, state.v1.id, state.datasetId, state.projectId, state.experimentId, state.trainingJob, state.modelId]));
    expect(up.nodes.map((n) => n.kind)).toEqual(expect.arrayContaining(['agent', 'artifact']));
    expect(up.nodes.find((n) => n.id === state.runId)).toMatchObject({ kind: 'run', direction: 'UPSTREAM', depth: 1 });
    expect(up.edges).toEqual(expect.arrayContaining([{ from: state.v1.id, type: 'TRAINED_ON', to: state.runId }, { from: state.runId, type: 'PRODUCED_BY', to: state.versionId }]));

    const down = await walk({ id: state.versionId, direction: 'DOWNSTREAM' });
    const downKinds = down.nodes.map((n) => n.kind);
    expect(downKinds).toEqual(expect.arrayContaining(['promotion', 'alias', 'deployment', 'monitor', 'alert', 'retrain', 'job', 'run']));
    const deploymentNode = down.nodes.find((n) => n.id === state.deploymentId);
    expect(deploymentNode).toMatchObject({ kind: 'deployment', direction: 'DOWNSTREAM', depth: 1 });

    // As of the moment before the deployment: the same version, no deployment downstream of it.
    const before = await walk({ id: state.versionId, direction: 'DOWNSTREAM', asOf: { position: deploymentNode.createdPosition - 1 } });
    expect(before.nodes.map((n) => n.id)).not.toContain(state.deploymentId);
    expect(before.nodes.map((n) => n.kind)).toEqual(expect.arrayContaining(['promotion', 'alias']));
    const both = (await ada.data(lineage, { id: state.versionId, direction: 'BOTH', depth: 1, first: 1000 })).lineage;
    expect(Math.max(...both.nodes.map((n: any) => n.depth))).toBe(1);

    const bad = async (variables: Record<string, unknown>, code: string, message: RegExp) => {
      const response = await ada.request(lineage, variables);
      expect(response.errors?.[0]).toMatchObject({ extensions: { code } });
      expect(response.errors![0].message).toMatch(message);
      expect(response.text).not.toMatch(/stacktrace|\.ts:\d+/);
    };
    await bad({ id: state.versionId, asOf: { time: '2999-01-01T00:00:00.000Z' } }, 'BAD_USER_INPUT', /in the future/);
    await bad({ id: state.versionId, asOf: { position: 9_000_000_000_000_000 } }, 'BAD_USER_INPUT', /beyond the end of the log/);
    await bad({ id: state.versionId, asOf: { position: 5, time: '2026-01-01T00:00:00.000Z' } }, 'BAD_USER_INPUT', /exactly one of time and position/);
    await bad({ id: state.versionId, depth: -1 }, 'BAD_USER_INPUT', /depth/);
    await bad({ id: state.versionId, depth: 1001 }, 'BAD_USER_INPUT', /depth.*at most 1000/);
    // Far deeper: the walk's cost refuses it at the gateway, before the service is asked.
    await bad({ id: state.versionId, depth: 100_000 }, 'GRAPHQL_VALIDATION_FAILED', /GRAPHQL_MAX_COST/);
    await bad({ id: '00000000-0000-4000-8000-000000000000' }, 'NOT_FOUND', /no lineage node/);
    await bad({ id: state.versionId, after: 'bm90LWEtY3Vyc29y' }, 'BAD_USER_INPUT', /cursor/);

    // Why is it in production: the chain from data to retraining, each step linked to its cause.
    const { explain } = await ada.data(`query($id: ID!) { explain(id: $id) { missingStages subject { kind } steps { stage type actor eventId causationId causedByStep flowStartStep } } }`, { id: state.deploymentId });
    expect(explain.subject.kind).toBe('deployment');
    expect(explain.missingStages).toEqual([]);
    const stages = explain.steps.map((s: any) => s.stage);
    for (const stage of ['PROBLEM', 'DATA', 'VALIDATION', 'TRAINING', 'JOB', 'METRICS', 'MODEL', 'GATES', 'APPROVAL', 'ALIAS', 'DEPLOYMENT', 'DRIFT', 'ALERT', 'RETRAIN']) expect(stages).toContain(stage);
    const step = (type: string) => explain.steps.findIndex((s: any) => s.type === type);
    expect(explain.steps[step('monitoring.AlertRaised.v1')].causedByStep).toBe(step('monitoring.DriftMeasured.v1'));
    expect(explain.steps[step('monitoring.RetrainRequested.v1')].causedByStep).toBe(step('monitoring.AlertRaised.v1'));
    expect(explain.steps.find((s: any) => s.type === 'registry.PromotionApproved.v1').actor).toBe('bob@example.com');
    // The approval and the alias move are one request's flow; the drift window, its alert and the retraining another's.
    expect(explain.steps[step('registry.AliasAssigned.v1')].flowStartStep).toBe(step('registry.PromotionApproved.v1'));
    expect(explain.steps[step('registry.PromotionApproved.v1')].flowStartStep).toBeNull();
    expect(explain.steps[step('monitoring.RetrainRequested.v1')].flowStartStep).toBe(step('monitoring.DriftMeasured.v1'));
    // The run's timeline: its own events and its neighbours' (the data it read, its experiment, its job), in order.
    const { timeline } = await ada.data(`query($id: ID!) { timeline(id: $id, first: 20) { nodes { type position nodeId } pageInfo { hasNextPage } } }`, { id: state.runId });
    expect(timeline.nodes).toEqual(expect.arrayContaining([{ type: 'experiments.RunStarted.v1', position: expect.any(Number), nodeId: state.runId }]));
    expect(timeline.nodes.map((e: any) => e.nodeId)).toEqual(expect.arrayContaining([state.v1.id, state.experimentId, state.trainingJob]));
    expect(timeline.nodes.map((e: any) => e.position)).toEqual([...timeline.nodes.map((e: any) => e.position)].sort((a: number, b: number) => a - b));

    // A signed checkpoint; the approval's inclusion proof verifies offline against it alone.
    const { logKey } = await ada.data(`{ logKey { origin verifierKey } }`);
    const { publishCheckpoint: first } = await ada.data(`mutation { publishCheckpoint { treeSize rootHash note } }`);
    const opened = openCheckpoint(first.note, logKey.verifierKey);
    expect(opened.origin).toBe(logKey.origin);
    expect(opened.root.toString('hex')).toBe(first.rootHash);
    const approved = (await history(state.modelId)).events.find((e: any) => e.type === 'registry.PromotionApproved.v1');
    const proofQuery = `query($e: ID!, $n: Float) { inclusionProof(eventId: $e, treeSize: $n) { leafIndex treeSize leafHash proof rootHash } }`;
    const { inclusionProof } = await ada.data(proofQuery, { e: approved.id, n: first.treeSize });
    expect(verifyInclusion(hashFromHex(inclusionProof.leafHash), inclusionProof.leafIndex, inclusionProof.treeSize, inclusionProof.proof.map(hashFromHex), opened.root)).toBe(true);
    const tooBig = await ada.request(proofQuery, { e: approved.id, n: first.treeSize + 1_000_000 });
    expect(tooBig.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/larger than the log/) });

    // More events, a later checkpoint: the log only grew.
    await ada.data(`mutation($d: ID!) { configureMonitor(input: { deploymentId: $d, windowSize: 8 }) { config { windowSize } } }`, { d: state.deploymentId });
    const later = await eventually(
      async () => {
        const { publishCheckpoint } = await ada.data(`mutation { publishCheckpoint { treeSize note } }`);
        expect(publishCheckpoint.treeSize).toBeGreaterThan(first.treeSize);
        return publishCheckpoint;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    const { consistencyProof } = await ada.data(`query($a: Float!, $b: Float!) { consistencyProof(fromSize: $a, toSize: $b) { proof } }`, { a: first.treeSize, b: later.treeSize });
    expect(verifyConsistency(first.treeSize, later.treeSize, consistencyProof.proof.map(hashFromHex), opened.root, openCheckpoint(later.note, logKey.verifierKey).root)).toBe(true);

    // The training run as OpenLineage 2-0-2 RunEvents: START then COMPLETE, its data in, its model out.
    const { openLineage } = await ada.data(`query($r: ID!) { openLineage(runId: $r) }`, { r: state.runId });
    expect(openLineage.map((e: any) => e.eventType)).toEqual(expect.arrayContaining(['START', 'COMPLETE']));
    for (const event of openLineage) expect(validateRunEvent(event)).toEqual([]);
    expect(openLineage.find((e: any) => e.eventType === 'START').inputs.length).toBeGreaterThan(0);

    // The audit report: as JSON (verified here as an auditor would, offline, with the key kept from before), and as HTML to read.
    const { auditReport } = await ada.data(`query($v: ID!) { auditReport(modelVersionId: $v) { format fileName digest body } }`, { v: state.versionId });
    const report = JSON.parse(auditReport.body);
    expect(report.digest.value).toBe(auditReport.digest);
    const verdict = verifyReport(report, { verifierKey: logKey.verifierKey });
    expect(verdict.failures).toEqual([]);
    expect(verdict.ok).toBe(true);
    expect(report.sections.map((s: any) => s.claims.length).every((n: number) => n > 0)).toBe(true);
    const html = await fetch(ada.url.replace(/\/graphql$/, `/audit-reports/${state.versionId}?format=html`), { headers: { authorization: 'Bearer ada-token' } });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(await html.text()).toMatch(/churn-classifier/);
    const refused = await fetch(ada.url.replace(/\/graphql$/, `/audit-reports/${state.versionId}?format=pdf`), { headers: { authorization: 'Bearer ada-token' } });
    expect([refused.status, ((await refused.json()) as any).errors[0].extensions.code]).toEqual([400, 'BAD_USER_INPUT']);
    const anonymous = await fetch(ada.url.replace(/\/graphql$/, `/audit-reports/${state.versionId}`));
    expect(anonymous.status).toBe(401);
    const unknown = await fetch(ada.url.replace(/\/graphql$/, `/audit-reports/00000000-0000-4000-8000-000000000000`), { headers: { authorization: 'Bearer ada-token' } });
    expect(unknown.status).toBe(404);

    // Someone with table access edits the approval: the log's verification names its position.
    expect((await ada.data(`{ verifyLog { ok problemCount } }`)).verifyLog).toEqual({ ok: true, problemCount: 0 });
    const db = new Client({ connectionString: sandbox.databaseUrl });
    await db.connect();
    try {
      await db.query(`UPDATE eventstore.events SET data = jsonb_set(data, '{approvedBy}', '"mallory@example.com"') WHERE event_id = $1`, [approved.id]);
    } finally {
      await db.end();
    }
    const { verifyLog } = await ada.data(`{ verifyLog { ok firstBadPosition problems { kind position eventId detail } } }`);
    expect(verifyLog.ok).toBe(false);
    expect(verifyLog.problems).toEqual([expect.objectContaining({ kind: 'ALTERED', eventId: approved.id })]);
    expect(verifyLog.firstBadPosition).toBe(verifyLog.problems[0].position);
  }, 120_000);

  async function monitorId(deploymentId: string): Promise<string> {
    return (await ada.data(`query($d: ID!) { deployment(id: $d) { monitor { id } } }`, { d: deploymentId })).deployment.monitor.id;
  }
});
