import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, eventually, freePort, natsAvailable, platformSandbox, type StartedPlatform, startPlatform, TEST_NATS_URL } from '@modeltrail/testing';
import { GraphQLHttpClient, SubscriptionQueue, webSocketClient } from '../gateway/test/graphql-client';

/**
 * The lifecycle's first stages through the public API only: the compiled platform started the
 * way `npm start` starts it, driven through GraphQL over HTTP and WebSocket, on a database that
 * does not exist yet, in both of its ways to run: every service, the gateway and the agent in one
 * process on the in-process bus (no NATS server needed), and separate processes over NATS.
 */
const MODES: Array<[string, 'in-process' | 'nats']> = [
  ['one process, in-process bus', 'in-process'],
  [natsAvailable ? 'separate processes over NATS' : `separate processes over NATS (skipped: needs a NATS server at ${TEST_NATS_URL}, none answered)`, 'nats'],
];

describe.each(MODES)('lifecycle through GraphQL (%s): data preparation to compared runs', (_mode, bus) => {
  if (bus === 'nats' && !natsAvailable) {
    it.skip(`runs the lifecycle (skipped: needs a NATS server at ${TEST_NATS_URL}, none answered)`, () => undefined);
    return;
  }
  const root = join(__dirname, '..');
  const csv = join(root, 'examples/datasets/customer-churn.csv');
  const sandbox = platformSandbox('life', { bus });
  const artifactRoot = mkdtempSync(join(tmpdir(), 'mt-life-'));
  // The local agent runs jobs as `nobody` when started as root: it must reach its data dir.
  chmodSync(artifactRoot, 0o755);
  let platform: StartedPlatform;
  let http: GraphQLHttpClient;
  let url: string;

  beforeAll(async () => {
    ensureBuilt(root);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/graphql`;
    const env = {
      ...process.env,
      ...sandbox.env,
      PORT: String(port),
      ARTIFACT_ROOT: artifactRoot,
      AGENT_DATA_DIR: join(artifactRoot, 'agent'),
      API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com',
      NODE_ENV: 'development',
    };
    platform = startPlatform(root, env);
    await platform.waitFor([/gateway: GraphQL on/, /experiments: serving/, /datasets: serving/, /lineage: serving/]);
    http = new GraphQLHttpClient(url, 'ada-token');
    // The local agent registers on its own schedule; wait for it, so that its event cannot land
    // inside a check that counts the store's events.
    await eventually(async () => expect((await http.data(`{ agents { nodes { id status } } }`)).agents.nodes).toHaveLength(1), { timeoutMs: 30_000, intervalMs: 200 });
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    // What the platform said, for whoever reads a failure (test-results/ is kept by CI, not committed).
    if (platform) {
      mkdirSync(join(root, 'test-results'), { recursive: true });
      writeFileSync(join(root, 'test-results', `lifecycle-${bus}.log`), platform.output());
    }
    await sandbox.remove();
    rmSync(artifactRoot, { recursive: true, force: true });
  });

  it('says how it runs: one process on the in-process bus, or a process per service over NATS', () => {
    expect(platform.output()).toMatch(bus === 'in-process' ? /ModelTrail: MODELTRAIL_MODE=one-process: running in one process on the in-process bus\n/ : /ModelTrail: NATS answers at nats:\/\/[^\s]+ \(NATS_URL\): running every service as its own process\n/);
    expect(platform.output()).toMatch(/ModelTrail: PostgreSQL: DATABASE_URL is set\n/);
  });

  // Events in the store: bad input must not add any.
  const storedEvents = () => sandbox.storedEvents();

  async function expectError(query: string, variables: Record<string, unknown>, code: string, message: RegExp): Promise<void> {
    const before = await storedEvents();
    const response = await http.request(query, variables);
    expect(response.errors?.[0]).toMatchObject({ extensions: { code } });
    expect(response.errors![0].message).toMatch(message);
    expect(response.text).not.toMatch(/stacktrace|\.ts:\d+/);
    expect(await storedEvents()).toBe(before);
  }

  const VERSION = 'id version uri digest size rows profiled schema { name type nullable } parents { id } transform { kind description }';
  const state: Record<string, any> = {};

  it('registers the churn CSV, reading its digest, rows, schema and profile', async () => {
    const { registerDataset } = await http.data(`mutation { registerDataset(input: { name: "churn-e2e", description: "Monthly churn of subscription customers" }) { id name registeredBy } }`);
    expect(registerDataset).toMatchObject({ name: 'churn-e2e', registeredBy: 'ada@example.com' });
    state.datasetId = registerDataset.id;

    const { registerDatasetVersion: version } = await http.data(
      `mutation($input: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $input) { ${VERSION} profile { rows columns { name count missing distinct numeric { min max mean stddev quantiles { q value } histogram { count } } categorical { topValues { value count } } } } } }`,
      { input: { datasetId: state.datasetId, uri: csv, format: 'CSV' } },
    );
    expect(version).toMatchObject({ version: 1, profiled: true, parents: [] });
    expect(version.rows).toBeGreaterThan(100);
    expect(version.digest).toMatch(/^[0-9a-f]{64}$/);
    const tenure = version.profile.columns.find((c: any) => c.name === 'tenure_months');
    expect(tenure.numeric.histogram.reduce((sum: number, bin: any) => sum + bin.count, 0)).toBe(tenure.count);
    const contract = version.profile.columns.find((c: any) => c.name === 'contract');
    expect(contract.categorical.topValues.length).toBeGreaterThan(1);
    state.source = version;

    const again = await http.data(`mutation($input: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $input) { id version } }`, {
      input: { datasetId: state.datasetId, uri: `file://${csv}`, format: 'CSV' },
    });
    expect(again.registerDatasetVersion).toEqual({ id: version.id, version: 1 });
  });

  it('refuses bad data input with a GraphQL error code and leaves nothing behind', async () => {
    const register = `mutation($input: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $input) { id } }`;
    await expectError(register, { input: { datasetId: state.datasetId, uri: join(root, 'examples/datasets/missing.csv'), format: 'CSV' } }, 'BAD_USER_INPUT', /missing\.csv/);
    await expectError(`mutation { registerDataset(input: { name: "Churn-E2E" }) { id } }`, {}, 'CONFLICT', /a dataset named "churn-e2e" already exists/);
    await expectError(
      `mutation($id: ID!) { validateDatasetVersion(input: { datasetVersionId: $id, rules: [{ type: NOT_NULL, column: "agee" }] }) { passed } }`,
      { id: state.source.id },
      'BAD_USER_INPUT',
      /"agee"/,
    );
    await expectError(
      `mutation($id: ID!) { splitDatasetVersion(input: { datasetVersionId: $id, train: 0.8, validation: 0.15, test: 0.15, seed: 1 }) { id } }`,
      { id: state.source.id },
      'BAD_USER_INPUT',
      /sum to 1/,
    );
  });

  it('validates, cleans and splits; each step is a version derived from the one before', async () => {
    const { validateDatasetVersion: report } = await http.data(
      `mutation($id: ID!) { validateDatasetVersion(input: { datasetVersionId: $id, rules: [
          { type: NOT_NULL, column: "age" },
          { type: RANGE, column: "monthly_charges", min: 0, max: 500 },
          { type: ALLOWED_VALUES, column: "contract", values: ["month-to-month", "one-year", "two-year"] },
          { type: UNIQUE, column: "customer_id" },
          { type: MAX_MISSING_FRACTION, column: "age", fraction: 0.2 }
        ] }) { passed rowsChecked results { rule { type column } passed failingRows exampleRows observed } } }`,
      { id: state.source.id },
    );
    expect(report.rowsChecked).toBe(state.source.rows);
    const byType = Object.fromEntries(report.results.map((r: any) => [r.rule.type, r]));
    expect(byType.NOT_NULL).toMatchObject({ passed: false });
    expect(byType.NOT_NULL.exampleRows.length).toBeGreaterThan(0);
    expect(byType.MAX_MISSING_FRACTION.passed).toBe(true);

    const { cleanDatasetVersion: cleaned } = await http.data(
      `mutation($id: ID!) { cleanDatasetVersion(input: { datasetVersionId: $id, steps: [
          { type: DROP_DUPLICATES },
          { type: FILL_MISSING, column: "age", strategy: MEDIAN },
          { type: DROP_MISSING }
        ] }) { ${VERSION} } }`,
      { id: state.source.id },
    );
    expect(cleaned.parents).toEqual([{ id: state.source.id }]);
    expect(cleaned.transform.kind).toBe('CLEAN');
    expect(cleaned.rows).toBeLessThan(state.source.rows);
    expect(cleaned.uri).toContain(artifactRoot);
    state.cleaned = cleaned;

    const split = `mutation($id: ID!, $seed: Int!) { splitDatasetVersion(input: { datasetVersionId: $id, train: 0.7, validation: 0.15, test: 0.15, seed: $seed, stratifyBy: "churned" }) {
        id seed train { ${VERSION} } validation { id rows digest } test { id rows digest } } }`;
    const { splitDatasetVersion: parts } = await http.data(split, { id: cleaned.id, seed: 42 });
    expect(parts.train.rows + parts.validation.rows + parts.test.rows).toBe(cleaned.rows);
    expect(parts.train.parents).toEqual([{ id: cleaned.id }]);
    expect(parts.train.transform.kind).toBe('SPLIT');
    const { splitDatasetVersion: again } = await http.data(split, { id: cleaned.id, seed: 42 });
    expect([again.id, again.train.digest, again.test.digest]).toEqual([parts.id, parts.train.digest, parts.test.digest]);
    state.split = parts;
  });

  it('defines the problem, runs two experiments on the train split, and streams metrics live to a subscriber', async () => {
    const { defineProject: project } = await http.data(`mutation { defineProject(input: {
        name: "churn-prediction-e2e", problem: "Predict which customers cancel next month", taskType: BINARY_CLASSIFICATION, target: "churned",
        successCriteria: [{ metric: "accuracy", threshold: 0.9, direction: MAXIMIZE }] }) { id name } }`);
    const { createExperiment: experiment } = await http.data(`mutation($p: ID!) { createExperiment(input: { projectId: $p, name: "gradient-boosting", description: "GBM baseline" }) { id } }`, {
      p: project.id,
    });
    state.experimentId = experiment.id;
    const start = `mutation($input: StartRunInput!) { startRun(input: $input) { id status datasetVersions { role datasetVersion { id version } } } }`;
    const runInput = (lr: number) => ({
      experimentId: experiment.id,
      params: { lr, max_depth: 6, loss: 'logloss' },
      datasetVersions: [
        { datasetVersionId: state.split.train.id, role: 'TRAIN' },
        { datasetVersionId: state.split.validation.id, role: 'VALIDATION' },
      ],
      codeRef: { repository: 'git@example.com:ml/churn.git', commit: '3f2a9c1' },
      tags: ['baseline'],
    });
    const { startRun: a } = await http.data(start, { input: runInput(0.01) });
    const { startRun: b } = await http.data(start, { input: runInput(0.1) });
    expect(a).toMatchObject({ status: 'RUNNING', datasetVersions: [{ role: 'TRAIN', datasetVersion: { id: state.split.train.id } }, { role: 'VALIDATION' }] });
    state.runs = [a.id, b.id];

    const ws = webSocketClient(url, { authorization: 'Bearer ada-token' });
    const live = new SubscriptionQueue<{ runMetrics: Array<{ key: string; value: number; step: number }> }>(ws, `subscription($id: ID!) { runMetrics(runId: $id) { key value step timestamp } }`, { id: a.id });
    try {
      const log = `mutation($input: LogMetricsInput!) { logMetrics(input: $input) { accepted } }`;
      // The subscription is live once a first message arrives: log a warm-up point until one does.
      let tick = 0;
      await eventually(
        async () => {
          await http.data(log, { input: { runId: a.id, points: [{ key: 'warmup', value: 1, step: tick++ }] } });
          expect(live.pending).toBeGreaterThan(0);
        },
        { timeoutMs: 10_000, intervalMs: 200 },
      );
      // A warm-up point logged just before the first one arrived may still be on its way: skip those.
      const nextPoints = async () => {
        for (;;) {
          const points = (await live.next()).data!.runMetrics.filter((p) => p.key !== 'warmup');
          if (points.length > 0) return points.map((p) => [p.key, p.value, p.step]);
        }
      };
      const first = [{ key: 'accuracy', value: 0.8, step: 1 }, { key: 'loss', value: 0.5, step: 1 }];
      expect((await http.data(log, { input: { runId: a.id, points: first } })).logMetrics.accepted).toBe(2);
      expect(await nextPoints()).toEqual([['accuracy', 0.8, 1], ['loss', 0.5, 1]]);
      const next = [{ key: 'accuracy', value: 0.93, step: 2 }, { key: 'loss', value: 0.2, step: 2 }];
      expect((await http.data(log, { input: { runId: a.id, points: next } })).logMetrics.accepted).toBe(2);
      expect(await nextPoints()).toEqual([['accuracy', 0.93, 2], ['loss', 0.2, 2]]);
      await http.data(log, { input: { runId: b.id, points: [{ key: 'accuracy', value: 0.85, step: 1 }, { key: 'loss', value: 0.4, step: 1 }] } });
    } finally {
      live.dispose();
      await ws.dispose();
    }

    await expectError(`mutation($id: ID!) { logMetrics(input: { runId: $id, points: [{ key: "accuracy", value: 1e400 }] }) { accepted } }`, { id: a.id }, 'BAD_USER_INPUT', /accuracy|finite|Float/);
    const unknownRun = '00000000-0000-4000-8000-000000000000';
    await expectError(`mutation($id: ID!) { logMetrics(input: { runId: $id, points: [{ key: "accuracy", value: 1 }] }) { accepted } }`, { id: unknownRun }, 'NOT_FOUND', new RegExp(unknownRun));

    for (const id of state.runs) {
      const { completeRun } = await http.data(`mutation($id: ID!) { completeRun(input: { runId: $id }) { status summary { key last min max } } }`, { id });
      expect(completeRun.status).toBe('COMPLETED');
    }
  });

  it('finds, compares and explains the runs', async () => {
    const { runs } = await http.data(
      `query($e: ID!) { runs(filter: { experimentId: $e, params: [{ key: "lr", op: EQ, value: 0.01 }], metrics: [{ key: "accuracy", op: GT, value: 0.9 }] },
          orderBy: { field: METRIC, key: "accuracy", direction: DESC }) { nodes { id params status latestMetrics { key value } } pageInfo { hasNextPage } } }`,
      { e: state.experimentId },
    );
    expect(runs.nodes.map((r: any) => r.id)).toEqual([state.runs[0]]);
    expect(runs.nodes[0].latestMetrics.find((m: any) => m.key === 'accuracy').value).toBe(0.93);

    const { runs: ordered } = await http.data(`query($e: ID!) { runs(filter: { experimentId: $e }, orderBy: { field: METRIC, key: "accuracy", direction: DESC }) { nodes { id } } }`, {
      e: state.experimentId,
    });
    expect(ordered.nodes.map((r: any) => r.id)).toEqual(state.runs);

    const { compareRuns } = await http.data(
      `query($ids: [ID!]!) { compareRuns(ids: $ids) { differingParams { key values { run { id } value } } commonParams { key value } metrics { key series { run { id } points { step value } } } } }`,
      { ids: state.runs },
    );
    expect(compareRuns.differingParams.map((p: any) => p.key)).toEqual(['lr']);
    expect(compareRuns.commonParams.map((p: any) => p.key).sort()).toEqual(['loss', 'max_depth']);
    const accuracy = compareRuns.metrics.find((m: any) => m.key === 'accuracy');
    expect(accuracy.series.find((s: any) => s.run.id === state.runs[0]).points.map((p: any) => p.value)).toEqual([0.8, 0.93]);

    const { run } = await http.data(`query($id: ID!) { run(id: $id) { metrics(key: "accuracy") { step value } } }`, { id: state.runs[0] });
    expect(run.metrics).toEqual([{ step: 1, value: 0.8 }, { step: 2, value: 0.93 }]);

    const { history } = await http.data(
      `query($id: ID!) { history(entityId: $id) { stream events { type actor correlationId causationId occurredAt data } verification { valid checkedEvents } } }`,
      { id: state.runs[0] },
    );
    expect(history.events.map((e: any) => e.type)).toEqual(['experiments.RunStarted.v1', 'experiments.RunMetricsSummarized.v1', 'experiments.RunCompleted.v1']);
    expect(history.events.every((e: any) => e.actor === 'ada@example.com' && e.correlationId)).toBe(true);
    expect(history.verification).toEqual({ valid: true, checkedEvents: 3 });

    const { history: sourceHistory } = await http.data(`query($id: ID!) { history(entityId: $id) { events { type } verification { valid } } }`, { id: state.source.id });
    expect(sourceHistory.events.map((e: any) => e.type)).toEqual(['datasets.DatasetVersionRegistered.v1', 'datasets.DatasetValidated.v1']);
    const { history: splitSource } = await http.data(`query($id: ID!) { history(entityId: $id) { events { type } verification { valid } } }`, { id: state.cleaned.id });
    expect(splitSource.events.map((e: any) => e.type)).toEqual(['datasets.DatasetVersionRegistered.v1', 'datasets.DatasetVersionDerived.v1', 'datasets.DatasetSplitCreated.v1']);
    expect(splitSource.verification.valid).toBe(true);
  });

  it('trains the example on the local agent while a subscriber follows its progress live over graphql-ws', async () => {
    const { defineProject } = await http.data(`mutation { defineProject(input: { name: "life-training", problem: "Does the example learn?", taskType: BINARY_CLASSIFICATION, target: "y" }) { id } }`);
    const { createExperiment } = await http.data(`mutation($p: ID!) { createExperiment(input: { projectId: $p, name: "logistic" }) { id } }`, { p: defineProject.id });
    const ws = webSocketClient(url, { authorization: 'Bearer ada-token' });
    try {
      const { submitJob } = await http.data(`mutation($input: SubmitJobInput!) { submitJob(input: $input) { id status } }`, {
        input: { experimentId: createExperiment.id, params: { lr: 0.1 }, command: ['python3', 'examples/training/train.py', '--epochs', '2', '--steps-per-epoch', '10'], workingDir: root, resources: { cpus: 1, memoryMb: 256 } },
      });
      expect(submitJob.status).toBe('QUEUED');
      // Subscribed once the job exists; the replay brings what came before.
      const progress = new SubscriptionQueue(
        ws,
        `subscription($j: ID!) { jobProgress(jobId: $j, replayLast: 10000) { __typename seq ... on JobMetric { key value step } ... on JobLogLine { line } ... on JobStatusChange { status } } }`,
        { j: submitJob.id },
      );
      const seen = await progress.collectUntil('jobProgress', (items) => items.some((item) => item.__typename === 'JobStatusChange' && item.status === 'SUCCEEDED'), 60_000);
      progress.dispose();
      expect(seen.filter((item) => item.__typename === 'JobMetric' && item.key === 'train/loss')).toHaveLength(20);
      expect(seen.some((item) => item.__typename === 'JobLogLine' && /epoch 2: val loss/.test(item.line))).toBe(true);
      const statuses = seen.filter((item) => item.__typename === 'JobStatusChange').map((item) => item.status);
      expect(statuses[0]).toBe('QUEUED');
      expect(statuses).toEqual(expect.arrayContaining(['ASSIGNED', 'RUNNING', 'SUCCEEDED']));
    } finally {
      await ws.dispose();
    }
  }, 90_000);

  it('runs the README walkthrough as written, against this platform', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Walkthrough'));
    const script = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    expect(script).toBeDefined();
    const out = execFileSync('bash', ['-c', `set -euo pipefail\n${script}\necho "RUN=$RUN"`], {
      cwd: root,
      env: { ...process.env, MODELTRAIL_URL: url, MODELTRAIL_TOKEN: 'bob-token', MODELTRAIL_REVIEWER_TOKEN: 'ada-token' },
      encoding: 'utf8',
      timeout: 200_000,
    });
    expect(out).not.toMatch(/"errors"/);
    expect(out).toMatch(/RUN=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/);
    expect(out).toMatch(/"valid": true/);
    expect(out).toMatch(/"actor": "bob@example.com"/);
    // Step 7: the example trained on the platform's own agent, into a completed run with its model.
    expect(out).toMatch(/job [0-9a-f-]{36}: SUCCEEDED\n/);
    expect(out).toMatch(/"name": "model"/);
    // Steps 8 and 9: the trained run became a version, promoted by a second person through passed gates.
    expect(out).toMatch(/"gatesPassed": true/);
    expect(out).toMatch(/"status": "APPROVED",\s*"decidedBy": "ada@example.com"/);
    expect(out).toMatch(/"aliases": \[\s*\{\s*"alias": "champion",\s*"version": 1/);
    expect(out).toMatch(/"requestedBy": "bob@example.com",\s*"approvedBy": "ada@example.com"/);
    // Step 10: the batch drifted, raised an alert and queued a retraining job.
    expect(out).toMatch(/"drifted": true,\s*"driftedShare": 1/);
    expect(out).toMatch(/"retrainRequests": \[\s*\{\s*"job": \{\s*"jobId": "[0-9a-f-]{36}"/);
    // Each split the model used is the newest of its part (the test split, registered last, replaces neither).
    const changes = [...out.matchAll(/"fromDatasetVersionId": "([0-9a-f-]{36})",\s*"toDatasetVersionId": "([0-9a-f-]{36})"/g)];
    expect(changes).toHaveLength(2);
    for (const [, from, to] of changes) expect(to).toBe(from);
    // Steps 11 to 13: the lineage both ways and before the deployment, the causal chain with no stage missing,
    // a signed checkpoint with the approval's proof, a clean log, and the audit report verified offline.
    expect(out).toMatch(/"kinds":\["ROOT 0 model_version",/);
    expect(out).toMatch(/\n\["model_version","(alias","promotion|promotion","alias)"\]\n\[\]\n/);
    expect(out).toMatch(/\["RETRAIN","monitoring.RetrainRequested.v1","bob@example.com",\d+\]/);
    expect(out).toMatch(/\n— modeltrail.local\/log [A-Za-z0-9+/=]+\n/);
    expect(out).toMatch(/"verifyLog":\{"ok":true,"eventsChecked":\d+,"checkpointsChecked":\d+,"problemCount":0\}/);
    expect(out).toMatch(/modeltrail-audit-[0-9a-f-]{36}\.json: all \d+ checks passed\n/);
    // Step 14: a role granted as an event, a personal key that acts as its creator, shown once, then revoked.
    expect(out).toMatch(/\n\{"principal":"carol@example.com","role":"VIEWER","grantedBy":"bob@example.com"\}\n/);
    expect(out).toMatch(/\n\{"id":"[0-9a-f-]{36}","prefix":"mtk_[0-9a-f]{8}","principal":"bob@example.com","status":"ACTIVE"\}\n/);
    expect(out).toMatch(/\n\{"principal":"bob@example.com","authenticatedBy":"API_KEY"\}\n/);
    expect(out).toMatch(/\n\[\["carol@example.com","VIEWER"\]\]\n/);
    expect(out).toMatch(/\n\{"revokeApiKey":\{"status":"REVOKED"\}\}\n"UNAUTHENTICATED"\n/);
  }, 240_000);
});
