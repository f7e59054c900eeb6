import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClientSchema, buildSchema, getIntrospectionQuery, type GraphQLSchema, parse, validate } from 'graphql';
import { Client } from 'pg';
import { describeWithNats, ensureBuilt, eventually, freePort, platformSandbox, type StartedPlatform, startPlatform, uniqueName } from '@modeltrail/testing';
import { GraphQLHttpClient, webSocketClient } from '../gateway/test/graphql-client';
import {
  expectedAllowed,
  FEATURES,
  MODEL_CARD,
  NEVER_FITS,
  type Probe,
  type ProbeCall,
  PROBES,
  type ProjectFixtures,
  type ProjectRoleName,
  type SharedFixtures,
  SIGNATURE,
} from './access-matrix.probes';

/**
 * The access matrix, end to end on the platform as `npm start` starts it: every root field of
 * Query, Mutation and Subscription (read from the running gateway's schema), called by six
 * principals (a platform admin, a member of each role of project P1, and nobody) on the
 * fixtures of two projects (P1, where the members have their roles, and P2, where nobody but the
 * platform admin has any), judged against the policy table of test/access-matrix.probes.ts, an
 * oracle of its own (it does not import the gateway's policy code):
 *   - refused ⇒ an error with extensions.code FORBIDDEN, and no event with the request's correlation id;
 *   - allowed ⇒ no FORBIDDEN or UNAUTHENTICATED (CONFLICT, NOT_FOUND, BAD_USER_INPUT mean the call got past access control);
 *   - in every answer to a principal without a role in a project: no id or name of that project's
 *     fixtures, but for what the request itself sent;
 *   - lists: a member of a project finds that project's fixture in them.
 * Members of roles below ADMIN call with their personal API keys, the others with static tokens.
 */

interface PrincipalSpec {
  name: string;
  user: string;
  staticToken: string;
  /** Calls the matrix with a personal API key it made for itself (else its static token). */
  usesApiKey: boolean;
  roles: Partial<Record<'P1' | 'P2', ProjectRoleName>>;
  platformAdmin: boolean;
}

/** Least privileged first: a call that succeeds can change what the next one meets. */
const PRINCIPALS: ReadonlyArray<PrincipalSpec> = [
  { name: 'nobody', user: 'nobody@example.com', staticToken: 'nobody-token', usesApiKey: false, roles: {}, platformAdmin: false },
  { name: 'viewer', user: 'viewer@example.com', staticToken: 'viewer-token', usesApiKey: true, roles: { P1: 'VIEWER' }, platformAdmin: false },
  { name: 'contributor', user: 'contributor@example.com', staticToken: 'contributor-token', usesApiKey: true, roles: { P1: 'CONTRIBUTOR' }, platformAdmin: false },
  { name: 'approver', user: 'approver@example.com', staticToken: 'approver-token', usesApiKey: true, roles: { P1: 'APPROVER' }, platformAdmin: false },
  { name: 'projectadmin', user: 'projectadmin@example.com', staticToken: 'projectadmin-token', usesApiKey: false, roles: { P1: 'ADMIN' }, platformAdmin: false },
  { name: 'admin', user: 'admin@example.com', staticToken: 'admin-token', usesApiKey: false, roles: {}, platformAdmin: true },
];

interface CellResult {
  cell: string;
  probe: Probe;
  project: 'P1' | 'P2';
  principal: PrincipalSpec;
  allowed: boolean;
  status: number;
  codes: string[];
  correlationId: string | null;
  text: string;
  call: ProbeCall;
  ms: number;
}

describeWithNats('access matrix: role × operation × project, through GraphQL', () => {
  const root = join(__dirname, '..');
  const csv = join(root, 'examples/datasets/customer-churn.csv');
  const sandbox = platformSandbox('acl');
  const work = join(tmpdir(), uniqueName('mt-acl')); // made in beforeAll: a skipped suite leaves nothing behind
  const runTag = randomBytes(4).toString('hex');
  let platform: StartedPlatform;
  let url: string;
  let admin: GraphQLHttpClient;
  const tokens = new Map<string, string>();
  const fixtures: Partial<Record<'P1' | 'P2', ProjectFixtures>> = {};
  let shared: SharedFixtures;
  let schema: GraphQLSchema;

  beforeAll(async () => {
    mkdirSync(work);
    chmodSync(work, 0o755);
    ensureBuilt(root);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/graphql`;
    const env = {
      ...process.env,
      ...sandbox.env,
      PORT: String(port),
      ARTIFACT_ROOT: join(work, 'artifacts'),
      AGENT_DATA_DIR: join(work, 'agent'),
      DATA_ROOTS: `${root},${work}`,
      API_TOKENS: PRINCIPALS.map((p) => `${p.staticToken}=${p.user}`).join(','),
      // Without it every API_TOKENS user would be a platform admin outside production.
      PLATFORM_ADMINS: 'admin@example.com',
      // The matrix makes well over a thousand requests a minute per principal.
      RATE_LIMIT_PER_MINUTE: '10000000',
      RATE_LIMIT_BURST: '1000000',
      GRAPHQL_MAX_COST: '100000000',
      // Nine processes side by side under a parallel matrix: small pools keep PostgreSQL under its max_connections (100 here).
      DATABASE_POOL_SIZE: '4',
      NODE_ENV: 'development',
      // The processes' start-up lines ("gateway: GraphQL on", "<service>: serving") are info records.
      LOG_LEVEL: 'info',
    };
    platform = startPlatform(root, env);
    await platform.waitFor(['gateway: GraphQL on', 'datasets: serving', 'experiments: serving', 'scheduler: serving', 'registry: serving', 'monitoring: serving', 'lineage: serving'].map((line) => new RegExp(line)), 90_000);
    admin = new GraphQLHttpClient(url, 'admin-token');
    for (const p of PRINCIPALS) tokens.set(p.name, p.staticToken);
  }, 400_000);

  afterAll(async () => {
    // ACL_MATRIX_OUTPUT=<file>: what the platform's processes printed, to read after a failure.
    if (process.env.ACL_MATRIX_OUTPUT && platform) writeFileSync(process.env.ACL_MATRIX_OUTPUT, platform.output());
    await platform?.stop();
    await sandbox.remove();
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  async function buildProject(key: 'P1' | 'P2'): Promise<ProjectFixtures> {
    const tag = `acl-${key.toLowerCase()}-${runTag}`;
    const data = (query: string, variables: Record<string, unknown> = {}) => admin.data(query, variables);
    const projectName = `${tag}-project`;
    const { defineProject } = await data(
      `mutation($n: String!) { defineProject(input: { name: $n, problem: "Predict which customers cancel next month", taskType: BINARY_CLASSIFICATION, target: "churned",
        successCriteria: [{ metric: "val/accuracy", threshold: 0.6, direction: MAXIMIZE }] }) { id } }`,
      { n: projectName },
    );
    const projectId = defineProject.id;
    const datasetName = `${tag}-data`;
    const { registerDataset } = await data(`mutation($n: String!, $p: ID) { registerDataset(input: { name: $n, projectId: $p, description: "churn" }) { id } }`, { n: datasetName, p: projectId });
    const datasetId = registerDataset.id;
    const { registerDatasetVersion } = await data(`mutation($d: ID!, $u: String!) { registerDatasetVersion(input: { datasetId: $d, uri: $u, format: CSV }) { id } }`, { d: datasetId, u: csv });
    const versionId = registerDatasetVersion.id;
    const { validateDatasetVersion } = await data(
      `mutation($v: ID!) { validateDatasetVersion(input: { datasetVersionId: $v, rules: [
          { type: RANGE, column: "monthly_charges", min: 0, max: 500 },
          { type: MAX_MISSING_FRACTION, column: "age", fraction: 0.2 } ] }) { id passed } }`,
      { v: versionId },
    );
    expect(validateDatasetVersion.passed).toBe(true);
    const { splitDatasetVersion: split } = await data(
      `mutation($v: ID!) { splitDatasetVersion(input: { datasetVersionId: $v, train: 0.7, validation: 0.15, test: 0.15, seed: 42 }) { id train { id } validation { id } test { id } } }`,
      { v: versionId },
    );
    const experimentName = `${tag}-exp`;
    const { createExperiment } = await data(`mutation($p: ID!, $n: String!) { createExperiment(input: { projectId: $p, name: $n }) { id } }`, { p: projectId, n: experimentName });
    const experimentId = createExperiment.id;

    const { startRun } = await data(`mutation($input: StartRunInput!) { startRun(input: $input) { id } }`, {
      input: { experimentId, params: { lr: 0.1 }, datasetVersions: [{ datasetVersionId: versionId, role: 'TRAIN' }], tags: [tag] },
    });
    const runId = startRun.id;
    await data(`mutation($r: ID!) { logMetrics(input: { runId: $r, points: [{ key: "val/accuracy", value: 0.9, step: 1 }, { key: "loss", value: 0.3, step: 1 }] }) { accepted } }`, { r: runId });
    await data(`mutation($r: ID!, $u: String!) { logArtifact(input: { runId: $r, name: "model", uri: $u, digest: "${'a'.repeat(64)}", size: 1234 }) { name } }`, { r: runId, u: join(work, `${tag}-model.bin`) });
    await data(`mutation($r: ID!) { completeRun(input: { runId: $r }) { status } }`, { r: runId });
    const { startRun: live } = await data(`mutation($e: ID!) { startRun(input: { experimentId: $e, params: { lr: 0.2 } }) { id } }`, { e: experimentId });

    const { submitJob } = await data(`mutation($input: SubmitJobInput!) { submitJob(input: $input) { id status } }`, { input: { experimentId, command: ['true'], resources: NEVER_FITS } });
    const { submitSweep } = await data(`mutation($input: SubmitSweepInput!) { submitSweep(input: $input) { id } }`, {
      input: { experimentId, command: ['true'], space: { lr: { values: [0.1, 0.2] } }, strategy: 'GRID', resources: NEVER_FITS },
    });
    const sweepJobIds = await eventually(
      async () => {
        const { sweep } = await data(`query($s: ID!) { sweep(id: $s) { trials { jobId runId } } }`, { s: submitSweep.id });
        expect(sweep.trials.length).toBeGreaterThan(0);
        return sweep.trials.flatMap((t: any) => [t.jobId, t.runId]);
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    ).catch(() => [] as string[]);

    const modelName = `${tag}-model`;
    const { registerModel } = await data(`mutation($p: ID!, $n: String!) { registerModel(input: { projectId: $p, name: $n }) { id } }`, { p: projectId, n: modelName });
    const modelId = registerModel.id;
    const { createModelVersion } = await data(`mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { id } }`, {
      input: { modelId, runId, artifactName: 'model', signature: SIGNATURE, modelCard: MODEL_CARD },
    });
    const modelVersionId = createModelVersion.id;
    const { requestPromotion } = await data(`mutation($v: ID!) { requestPromotion(input: { modelVersionId: $v, alias: "champion", justification: "Beats the criterion" }) { id status } }`, {
      v: modelVersionId,
    });
    const { deployModel } = await data(`mutation($input: DeployModelInput!) { deployModel(input: $input) { id monitor { id } } }`, {
      input: { modelVersionId, environment: 'production', endpoint: `https://models.example.com/${tag}`, features: FEATURES },
    });
    const deploymentId = deployModel.id;
    await data(`mutation($d: ID!, $job: RetrainJobInput) { configureMonitor(input: { deploymentId: $d, raiseAfter: 1, resolveAfter: 100, retrainPolicy: APPROVAL, retrainJob: $job }) { id } }`, {
      d: deploymentId,
      job: { command: ['true'], resources: NEVER_FITS },
    });
    const drifting = Array.from({ length: 300 }, (_, i) => [60 + (i % 25), 60 + (i % 40), 150 + (i % 50), 'two-year', i % 3 === 0 ? 'JP' : 'US']);
    const { ingestFeatureBatch } = await data(
      `mutation($input: IngestFeatureBatchInput!) { ingestFeatureBatch(input: $input) { measurement { drifted } alertsRaised { id } retrainRequests { id status } } }`,
      { input: { deploymentId, rows: { columns: FEATURES, rows: drifting } } },
    );
    expect(ingestFeatureBatch.alertsRaised).toHaveLength(1);
    expect(ingestFeatureBatch.retrainRequests).toEqual([expect.objectContaining({ status: 'PROPOSED' })]);
    await data(`mutation($d: ID!) { ingestPredictions(input: { deploymentId: $d, predictions: [{ predictionId: "fixture-1", prediction: "yes" }, { predictionId: "fixture-2", prediction: "no" }] }) { accepted } }`, {
      d: deploymentId,
    });
    const { history } = await data(`query($id: ID!) { history(entityId: $id) { events { id } } }`, { id: runId });
    const { createWebhook } = await data(
      `mutation($p: ID, $d: String) { createWebhook(input: { url: "http://127.0.0.1:9/matrix", eventTypes: ["*"], projectId: $p, description: $d }) { webhook { id } } }`,
      { p: projectId, d: `${tag} webhook` },
    );
    // Its own creation is its first delivery (it fails: nothing answers there).
    const webhookDeliveryId = await eventually(
      async () => {
        const { webhook } = await data(`query($id: ID!) { webhook(id: $id) { deliveries(first: 1) { nodes { id } } } }`, { id: createWebhook.webhook.id });
        expect(webhook.deliveries.nodes).toHaveLength(1);
        return webhook.deliveries.nodes[0].id as string;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );

    return {
      key,
      tag,
      projectId,
      projectName,
      datasetId,
      datasetName,
      versionId,
      validationReportId: validateDatasetVersion.id,
      splitId: split.id,
      splitVersionIds: [split.train.id, split.validation.id, split.test.id],
      experimentId,
      experimentName,
      runId,
      crossRunId: runId,
      liveRunId: live.id,
      jobId: submitJob.id,
      sweepId: submitSweep.id,
      sweepJobIds,
      modelId,
      modelName,
      modelVersionId,
      promotionId: requestPromotion.id,
      deploymentId,
      monitorId: deployModel.monitor.id,
      alertId: ingestFeatureBatch.alertsRaised[0].id,
      retrainId: ingestFeatureBatch.retrainRequests[0].id,
      eventId: history.events[0].id,
      webhookId: createWebhook.webhook.id,
      webhookDeliveryId,
    };
  }

  /** What the answers to a principal without a role in the project must not hold: its ids, and its tag (in every name made for it). */
  const secrets = new Map<'P1' | 'P2', Map<string, string>>();
  function secretsOf(fx: ProjectFixtures): Map<string, string> {
    const out = new Map<string, string>();
    for (const [label, value] of Object.entries(fx)) {
      if (label === 'key' || label === 'eventId') continue;
      for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'string' && v.length >= 8) out.set(v.toLowerCase(), `${fx.key}.${label}`);
    }
    out.set(fx.tag.toLowerCase(), `${fx.key}.tag (names)`);
    return out;
  }

  it('makes two projects with every kind of entity as the platform admin', async () => {
    const { agents } = await admin.data(`{ agents(first: 10) { nodes { id } } }`);
    const agentId = await eventually(
      async () => {
        const { agents: now } = await admin.data(`{ agents(first: 10) { nodes { id } } }`);
        expect(now.nodes.length).toBeGreaterThan(0);
        return now.nodes[0].id as string;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    ).catch(() => agents.nodes[0]?.id ?? randomUUID());
    fixtures.P1 = await buildProject('P1');
    fixtures.P2 = await buildProject('P2');
    // A P1 run trained on P2's data (the platform admin may read both): lineage across projects.
    const { startRun: cross } = await admin.data(`mutation($input: StartRunInput!) { startRun(input: $input) { id } }`, {
      input: { experimentId: fixtures.P1.experimentId, params: { lr: 0.3 }, datasetVersions: [{ datasetVersionId: fixtures.P2.versionId, role: 'TRAIN' }] },
    });
    await admin.data(`mutation($r: ID!) { completeRun(input: { runId: $r }) { status } }`, { r: cross.id });
    fixtures.P1.crossRunId = cross.id;
    const { publishCheckpoint } = await admin.data(`mutation { publishCheckpoint { treeSize } }`);
    shared = { root, csv, agentId, runTag, treeSize: publishCheckpoint.treeSize, ownKeyIds: {}, serviceKeyId: randomUUID() };
    for (const key of ['P1', 'P2'] as const) secrets.set(key, secretsOf(fixtures[key]!));
  }, 120_000);

  it('grants the roles in P1, and the members make personal API keys', async () => {
    expect(fixtures.P1).toBeDefined();
    for (const p of PRINCIPALS) {
      const role = p.roles.P1;
      if (!role) continue;
      const granted = await admin.request(`mutation($p: ID, $who: String!, $role: ProjectRole!) { grantRole(input: { projectId: $p, principal: $who, role: $role }) { principal role projectId } }`, {
        p: fixtures.P1!.projectId,
        who: p.user,
        role,
      });
      expect(granted.errors).toBeUndefined();
    }
    for (const p of PRINCIPALS.filter((x) => x.usesApiKey)) {
      const made = await new GraphQLHttpClient(url, p.staticToken).data(`mutation($n: String!) { createApiKey(input: { name: $n }) { key } }`, { n: `matrix key of ${p.name}` });
      expect(made.createApiKey.key).toMatch(/^mtk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
      tokens.set(p.name, made.createApiKey.key);
    }
    // Throwaway keys, for revokeApiKey: one of each user's own, one of a service account.
    for (const p of PRINCIPALS) {
      const made = await new GraphQLHttpClient(url, p.staticToken).data(`mutation($n: String!) { createApiKey(input: { name: $n }) { apiKey { id } } }`, { n: `throwaway of ${p.name}` });
      shared.ownKeyIds[p.user] = made.createApiKey.apiKey.id;
    }
    const service = await admin.data(`mutation($n: String!, $sa: String!) { createApiKey(input: { name: $n, kind: SERVICE_ACCOUNT, serviceAccount: $sa }) { apiKey { id principal } } }`, {
      n: 'throwaway service key',
      sa: `acl-${runTag}-throwaway`,
    });
    shared.serviceKeyId = service.createApiKey.apiKey.id;
    // Each credential the matrix uses authenticates as its user, with the roles granted.
    for (const p of PRINCIPALS) {
      const { me } = await new GraphQLHttpClient(url, tokens.get(p.name)!).data(`{ me { principal platformAdmin authenticatedBy projects { projectId role } } }`);
      expect([p.name, me.principal, me.platformAdmin, me.authenticatedBy]).toEqual([p.name, p.user, p.platformAdmin, p.usesApiKey ? 'API_KEY' : 'STATIC_TOKEN']);
      if (p.platformAdmin) continue; // made P1 and P2: whether that made it their ADMIN too is not this table's concern
      const inP1 = me.projects.find((x: any) => x.projectId === fixtures.P1!.projectId);
      expect([p.name, inP1?.role ?? null]).toEqual([p.name, p.roles.P1 ?? null]);
      expect([p.name, me.projects.some((x: any) => x.projectId === fixtures.P2!.projectId)]).toEqual([p.name, false]);
    }
  });

  it('has a probe for every root field of the running schema, each valid against it', async () => {
    // The running gateway's schema; the one the build wrote when introspection is refused.
    const introspection = await admin.request(getIntrospectionQuery());
    if (introspection.data?.__schema) schema = buildClientSchema(introspection.data as any);
    else {
      console.log(`introspection refused (${clip(introspection.text, 300)}): the schema of gateway/schema.gql instead`);
      schema = buildSchema(readFileSync(join(root, 'gateway/schema.gql'), 'utf8'));
    }
    const fields = rootFields(schema);
    const probed = new Set(PROBES.map((p) => p.field));
    const missing = fields.filter((f) => !probed.has(f));
    expect(missing).toEqual([]);
    const invalid: string[] = [];
    for (const probe of PROBES.filter((p) => fields.includes(p.field))) {
      for (const key of ['P1', 'P2'] as const) {
        const call = probe.call(fixtures[key] ?? placeholder(key), shared ?? { root, csv, agentId: randomUUID(), runTag, treeSize: 1, ownKeyIds: {}, serviceKeyId: randomUUID() }, 'probe@example.com');
        const errors = validate(schema, parse(call.document));
        if (errors.length) invalid.push(`${label(probe)}: ${errors.map((e) => e.message).join('; ')}`);
      }
    }
    expect([...new Set(invalid)]).toEqual([]);
    const stale = [...probed].filter((f) => !fields.includes(f));
    if (stale.length) console.log(`probes of fields the schema does not have (skipped): ${stale.join(', ')}`);
  });

  it('answers every cell as the policy table says, leaks nothing, and appends nothing for a refusal', async () => {
    expect(fixtures.P1 && fixtures.P2 && shared && schema).toBeTruthy();
    const fields = new Set(rootFields(schema));
    const probes = PROBES.filter((p) => fields.has(p.field));
    const results: CellResult[] = [];
    const started = Date.now();

    // Reads and subscriptions change nothing: several at a time.
    const reads = probes.filter((p) => !p.field.startsWith('Mutation.')).flatMap((probe) => (['P1', 'P2'] as const).flatMap((key) => PRINCIPALS.map((principal) => ({ probe, key, principal }))));
    await pool(reads, 8, async ({ probe, key, principal }) => {
      results.push(await runCell(probe, key, principal));
    });
    const readsDone = Date.now();
    // Mutations one at a time, by phase, each field's cells least privileged first.
    const mutations = probes.filter((p) => p.field.startsWith('Mutation.'));
    for (const phase of [...new Set(mutations.map((p) => p.phase))].sort((a, b) => a - b)) {
      await pool(
        mutations.filter((p) => p.phase === phase),
        4,
        async (probe) => {
          for (const key of ['P1', 'P2'] as const) {
            for (const principal of PRINCIPALS) {
              const result = await runCell(probe, key, principal);
              results.push(result);
                  // What the platform admin made in a project is the project's too: no one else may see it.
              if (result.allowed && principal.platformAdmin && ['VIEWER', 'CONTRIBUTOR', 'APPROVER', 'ADMIN'].includes(probe.requires)) rememberMade(key, result);
            }
          }
        },
      );
    }
    const elapsed = Date.now() - started;

    const failures: string[] = [];
    const otherErrors: string[] = [];
    const refusalStatuses = new Map<number, number>();
    for (const r of results) {
      if (r.allowed) {
        const bad = r.codes.filter((c) => c === 'FORBIDDEN' || c === 'UNAUTHENTICATED');
        if (bad.length) failures.push(`${r.cell}: expected ALLOWED, got ${bad.join(',')} (HTTP ${r.status}) ${clip(r.text)}`);
        const others = r.codes.filter((c) => c !== 'FORBIDDEN' && c !== 'UNAUTHENTICATED');
        if (others.length) otherErrors.push(`${r.cell}: ${others.join(',')} ${clip(errorMessages(r.text), 240)}`);
      } else {
        refusalStatuses.set(r.status, (refusalStatuses.get(r.status) ?? 0) + 1);
        if (!r.codes.includes('FORBIDDEN')) failures.push(`${r.cell}: expected FORBIDDEN, got ${r.codes.join(',') || 'no error'} (HTTP ${r.status}) ${clip(r.text)}`);
      }
    }

    // Lists: a member of a project (or a platform admin) finds its fixture.
    const unseen: string[] = [];
    for (const r of results) {
      if (!r.probe.mustSee || !r.allowed) continue;
      const member = r.principal.platformAdmin || r.principal.roles[r.project] !== undefined;
      const id = r.probe.mustSee(fixtures[r.project]!);
      if (member && !r.text.toLowerCase().includes(id.toLowerCase())) unseen.push(`${r.cell}: ${id} not in ${clip(r.text)}`);
    }

    // apiKeys: a principal who is not a platform admin lists its own keys only.
    for (const r of results) {
      if (r.probe.field !== 'Query.apiKeys' || r.principal.platformAdmin) continue;
      const foreign = ((r as any).body?.data?.apiKeys?.nodes ?? []).filter((k: any) => k.principal !== r.principal.user);
      if (foreign.length) unseen.push(`${r.cell}: lists keys of others: ${foreign.map((k: any) => `${k.principal} (${k.name})`).join(', ')}`);
    }

    // Leaks: a principal without a role in a project reads nothing of it it did not send.
    const leaks: string[] = [];
    for (const r of results) {
      if (r.principal.platformAdmin) continue;
      let text = r.text.toLowerCase();
      for (const sent of strings(r.call.variables)) if (sent.length >= 8) text = text.split(sent.toLowerCase()).join('');
      for (const key of ['P1', 'P2'] as const) {
        if (r.principal.roles[key] !== undefined) continue;
        for (const [secret, what] of secrets.get(key)!) if (text.includes(secret)) leaks.push(`${r.cell}: ${what} ${secret}`);
      }
    }

    // A refused mutation appended nothing: no event carries its correlation id.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const refusedMutations = results.filter((r) => !r.allowed && r.probe.field.startsWith('Mutation.'));
    const appended = await eventsWith(refusedMutations.map((r) => r.correlationId).filter((c): c is string => c !== null));
    const appendedForRefusal = refusedMutations.filter((r) => r.correlationId && appended.has(r.correlationId)).map((r) => `${r.cell}: ${appended.get(r.correlationId!)!.join(', ')}`);
    const withoutCorrelation = refusedMutations.filter((r) => r.correlationId === null).map((r) => r.cell);

    // Internal errors: what the platform printed about them (by correlation id).
    const output = platform.output().split('\n');
    const internal = results
      .filter((r) => r.codes.includes('INTERNAL_SERVER_ERROR'))
      .flatMap((r) => [...r.text.matchAll(/correlation id ([0-9a-f-]{36})/g)].map((m) => m[1]))
      .slice(0, 6)
      .flatMap((id) => output.filter((line) => line.includes(id)).slice(0, 3).map((line) => clip(line, 400)));

    console.log(
      [
        `platform lines about internal errors:\n  ${internal.join('\n  ')}`,
        `access matrix: ${results.length} cells (${probes.length} probes × 2 projects × ${PRINCIPALS.length} principals) in ${(elapsed / 1000).toFixed(1)} s (reads ${((readsDone - started) / 1000).toFixed(1)} s)`,
        `slowest cells: ${[...results].sort((a, b) => b.ms - a.ms).slice(0, 8).map((r) => `${r.cell} ${r.ms} ms`).join('; ')}`,
        `refusals by HTTP status: ${[...refusalStatuses].map(([s, n]) => `${s}: ${n}`).join(', ')}`,
        `allowed cells with other errors (past access control): ${otherErrors.length}\n  ${otherErrors.join('\n  ')}`,
        `failures: ${failures.length}\n  ${failures.join('\n  ')}`,
        `leaks: ${leaks.length}\n  ${leaks.join('\n  ')}`,
        `unseen in lists (or another's keys listed): ${unseen.length}\n  ${unseen.join('\n  ')}`,
        `refusals that appended events: ${appendedForRefusal.length}\n  ${appendedForRefusal.join('\n  ')}`,
      ].join('\n'),
    );
    expect({ failures, leaks, unseen, appendedForRefusal, withoutCorrelation }).toEqual({ failures: [], leaks: [], unseen: [], appendedForRefusal: [], withoutCorrelation: [] });
  }, 240_000);

  // ------------------------------------------------------------------------------------------

  function label(probe: Probe): string {
    return probe.variant ? `${probe.field} (${probe.variant})` : probe.field;
  }

  async function runCell(probe: Probe, key: 'P1' | 'P2', principal: PrincipalSpec): Promise<CellResult> {
    const fx = fixtures[key]!;
    const call = probe.call(fx, shared, principal.user);
    const allowed = expectedAllowed(probe.requires, principal.roles[key] ?? null, principal.platformAdmin);
    const cell = `${label(probe)} × ${key} × ${principal.name}`;
    const token = tokens.get(principal.name)!;
    const begun = Date.now();
    if (probe.field.startsWith('Subscription.')) {
      const outcome = await subscribeCell(token, call, allowed);
      return { cell, probe, project: key, principal, allowed, status: 101, codes: outcome.codes, correlationId: null, text: outcome.text, call, ms: Date.now() - begun };
    }
    const correlationId = randomUUID();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-correlation-id': correlationId },
      body: JSON.stringify({ query: call.document, variables: call.variables }),
    });
    const text = await response.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const codes: string[] = (body?.errors ?? []).map((e: any) => String(e?.extensions?.code ?? 'NO_CODE'));
    return { cell, probe, project: key, principal, allowed, status: response.status, codes, correlationId: response.headers.get('x-correlation-id') ?? correlationId, text, call, ms: Date.now() - begun, ...{ body } };
  }

  /** A subscription: refused ⇒ an error (FORBIDDEN) soon; allowed ⇒ no error within 500 ms, then completed. */
  async function subscribeCell(token: string, call: ProbeCall, allowed: boolean): Promise<{ codes: string[]; text: string }> {
    const codes: string[] = [];
    const received: unknown[] = [];
    let ended = false;
    const client = webSocketClient(url, { authorization: `Bearer ${token}` }, (closed) => {
      if (closed.code === 4403) codes.push('FORBIDDEN');
      else if (closed.code === 4401) codes.push('UNAUTHENTICATED');
      received.push({ closed });
    });
    const dispose = client.subscribe(
      { query: call.document, variables: call.variables },
      {
        next: (value) => {
          received.push(value);
          for (const e of (value as any).errors ?? []) codes.push(String(e?.extensions?.code ?? 'NO_CODE'));
        },
        error: (error) => {
          ended = true;
          received.push(Array.isArray(error) ? error : String((error as any)?.message ?? (error as any)?.reason ?? error));
          if (Array.isArray(error)) for (const e of error) codes.push(String((e as any)?.extensions?.code ?? 'NO_CODE'));
          else if (codes.length === 0) codes.push('SOCKET_ERROR');
        },
        complete: () => {
          ended = true;
        },
      },
    );
    const deadline = Date.now() + (allowed ? 500 : 3_000);
    while (Date.now() < deadline && !ended && codes.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    dispose();
    await client.dispose();
    return { codes, text: JSON.stringify(received) };
  }

  function rememberMade(key: 'P1' | 'P2', result: CellResult): void {
    const body = (result as any).body;
    const field = result.probe.field.slice('Mutation.'.length);
    const made = body?.data?.[field];
    if (made && typeof made.id === 'string' && !secrets.get(key)!.has(made.id.toLowerCase())) secrets.get(key)!.set(made.id.toLowerCase(), `${key}.made by ${label(result.probe)}`);
  }

  async function eventsWith(correlationIds: string[]): Promise<Map<string, string[]>> {
    const db = new Client({ connectionString: sandbox.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ correlation_id: string; type: string }>('SELECT correlation_id, type FROM eventstore.events WHERE correlation_id = ANY($1::text[])', [correlationIds]);
      const out = new Map<string, string[]>();
      for (const row of rows) out.set(row.correlation_id, [...(out.get(row.correlation_id) ?? []), row.type]);
      return out;
    } finally {
      await db.end();
    }
  }
});

/** Fixtures of made-up ids, to check the probes' documents when the fixtures could not be made. */
function placeholder(key: 'P1' | 'P2'): ProjectFixtures {
  const id = () => randomUUID();
  return {
    key,
    tag: `acl-${key.toLowerCase()}-placeholder`,
    projectId: id(),
    projectName: 'placeholder',
    datasetId: id(),
    datasetName: 'placeholder',
    versionId: id(),
    validationReportId: id(),
    splitId: id(),
    splitVersionIds: [],
    experimentId: id(),
    experimentName: 'placeholder',
    runId: id(),
    crossRunId: id(),
    liveRunId: id(),
    jobId: id(),
    sweepId: id(),
    sweepJobIds: [],
    modelId: id(),
    modelName: 'placeholder',
    modelVersionId: id(),
    promotionId: id(),
    deploymentId: id(),
    monitorId: id(),
    alertId: id(),
    retrainId: id(),
    eventId: id(),
    webhookId: id(),
    webhookDeliveryId: id(),
  };
}

function rootFields(schema: GraphQLSchema): string[] {
  const out: string[] = [];
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (type) for (const name of Object.keys(type.getFields())) out.push(`${type.name}.${name}`);
  }
  return out;
}

/** The messages of the errors in an answer (or the answer itself when it is not JSON). */
function errorMessages(text: string): string {
  try {
    const body = JSON.parse(text);
    const errors = Array.isArray(body) ? body.flatMap((m: any) => m?.errors ?? (Array.isArray(m) ? m : [])) : (body?.errors ?? []);
    return errors.map((e: any) => e?.message).join(' | ');
  } catch {
    return text;
  }
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

function clip(text: string, max = 600): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

async function pool<T>(items: ReadonlyArray<T>, size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}
