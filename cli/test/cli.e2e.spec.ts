import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, eventually, freePort, platformSandbox, type StartedPlatform, startPlatform } from '@modeltrail/testing';
import { GraphQLHttpClient } from '../../gateway/test/graphql-client';

/**
 * The `modeltrail` command line as a user runs it: the compiled dist/cli/src/main.js as a child
 * process, configured by MODELTRAIL_URL / MODELTRAIL_TOKEN, against the platform in one process
 * on the in-process bus. The test prepares through GraphQL only what the command line has no
 * command for (projects, experiments, roles, models and their versions).
 */
describe('modeltrail command line against the platform (one process, in-process bus)', () => {
  const root = join(__dirname, '..', '..');
  const main = join(root, 'dist/cli/src/main.js');
  const csv = join(root, 'examples/datasets/customer-churn.csv');
  const sandbox = platformSandbox('cli', { bus: 'in-process' });
  const work = mkdtempSync(join(tmpdir(), 'mt-cli-'));
  // The local agent runs jobs as `nobody` when started as root: it must reach its data dir.
  chmodSync(work, 0o755);
  let platform: StartedPlatform;
  let url: string;
  let ada: GraphQLHttpClient;

  interface Result {
    code: number | null;
    stdout: string;
    stderr: string;
  }
  /** Runs the built CLI; the token is ada's (platform admin) unless another is given (null: none at all). */
  function cli(args: string[], options: { token?: string | null; url?: string; timeoutMs?: number } = {}): Result {
    const env: NodeJS.ProcessEnv = { ...process.env, MODELTRAIL_URL: options.url ?? url, NO_COLOR: '1' };
    delete env.MODELTRAIL_TOKEN;
    if (options.token !== null) env.MODELTRAIL_TOKEN = options.token ?? 'ada-token';
    const result = spawnSync(process.execPath, [main, ...args], { cwd: root, env, encoding: 'utf8', timeout: options.timeoutMs ?? 60_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }
  /** A --json command that must succeed: its stdout parsed (it must be JSON and nothing else). */
  function cliJson(args: string[], options: { token?: string | null; timeoutMs?: number } = {}): any {
    const result = cli(['--json', ...args], options);
    if (result.code !== 0) throw new Error(`modeltrail ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    return JSON.parse(result.stdout);
  }
  const ok = (result: Result): Result => {
    if (result.code !== 0) throw new Error(`exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    return result;
  };

  beforeAll(async () => {
    ensureBuilt(root);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/graphql`;
    platform = startPlatform(root, {
      ...process.env,
      ...sandbox.env,
      PORT: String(port),
      ARTIFACT_ROOT: join(work, 'artifacts'),
      AGENT_DATA_DIR: join(work, 'agent'),
      DATA_ROOTS: `${root},${work}`,
      API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com,vic-token=vic@example.com',
      // Only ada is a platform admin: bob approves and vic views through project roles.
      PLATFORM_ADMINS: 'ada@example.com',
      NODE_ENV: 'development',
    });
    await platform.waitFor(['gateway: GraphQL on', 'datasets: serving', 'experiments: serving', 'scheduler: serving', 'registry: serving', 'lineage: serving'].map((line) => new RegExp(line)));
    ada = new GraphQLHttpClient(url, 'ada-token');
    // The test's own requests come seconds apart: one that meets a keep-alive connection the gateway
    // has just closed ("other side closed") is sent once more.
    const data = ada.data.bind(ada);
    ada.data = (async (query: string, variables?: Record<string, unknown>) => {
      try {
        return await data(query, variables);
      } catch (error) {
        if ((error as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw error;
        return data(query, variables);
      }
    }) as GraphQLHttpClient['data'];
    await eventually(async () => expect((await ada.data(`{ agents { nodes { id status } } }`)).agents.nodes).toHaveLength(1), { timeoutMs: 30_000, intervalMs: 200 });
  }, 300_000);

  afterAll(async () => {
    await platform?.stop();
    if (platform) {
      mkdirSync(join(root, 'test-results'), { recursive: true });
      writeFileSync(join(root, 'test-results', 'cli-e2e.log'), platform.output());
    }
    await sandbox.remove();
    rmSync(work, { recursive: true, force: true });
  });

  const state: Record<string, any> = {};

  it('prints its version and help, and refuses bad arguments with exit code 2', () => {
    const version = cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
    // The package's bin, as `npx modeltrail` runs it from the repository.
    const npx = spawnSync('npx', ['--no-install', 'modeltrail', '--version'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect([npx.status, npx.stdout.trim()]).toEqual([0, version.stdout.trim()]);
    const help = cli(['jobs', 'watch', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: modeltrail jobs watch \[options\] <jobId>/);
    expect(help.stdout).toMatch(/--json/);

    for (const args of [['datasets', 'frobnicate'], ['runs', 'compare', 'only-one'], ['lineage', 'show', 'x', '--as-of', 'yesterday'], ['datasets', 'validate', 'v', '--rule', 'sometimes:age'], ['datasets', 'register', csv]]) {
      const refused = cli(args);
      expect({ args, code: refused.code }).toEqual({ args, code: 2 });
      expect(refused.stdout).toBe('');
      expect(refused.stderr.length).toBeGreaterThan(0);
    }
    expect(cli(['lineage', 'show', 'x', '--as-of', 'yesterday']).stderr).toMatch(/"yesterday" is not an ISO-8601 date-time/);
  });

  it('names the problem and exits 4, 3 or 5 for a bad token, a missing token, an unknown dataset and an unreachable API', async () => {
    const badToken = cli(['datasets', 'list'], { token: 'not-a-token-7f3e' });
    expect(badToken.code).toBe(4);
    expect(badToken.stderr).toMatch(/UNAUTHENTICATED/);
    expect(badToken.stdout + badToken.stderr).not.toContain('not-a-token-7f3e');

    const noToken = cli(['datasets', 'list'], { token: null });
    expect(noToken.code).toBe(4);
    expect(noToken.stderr).toMatch(/MODELTRAIL_TOKEN/);

    const unknown = cli(['datasets', 'show', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/NOT_FOUND/);
    expect(unknown.stderr).toContain('00000000-0000-4000-8000-000000000000');

    const closed = `http://127.0.0.1:${await freePort()}/graphql`;
    const unreachable = cli(['datasets', 'list'], { url: closed });
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toContain(closed);
    expect(unreachable.stderr).toMatch(/connection refused/);
    // --url wins over MODELTRAIL_URL.
    expect(cli(['--url', closed, 'datasets', 'list']).code).toBe(5);
  });

  it('registers the churn CSV and shows it as a table and as JSON; validates, cleans and splits it', () => {
    const registered = cliJson(['datasets', 'register', 'examples/datasets/customer-churn.csv', '--name', 'churn-cli', '--description', 'Monthly churn']);
    expect(registered.dataset).toMatchObject({ name: 'churn-cli', registeredBy: 'ada@example.com' });
    expect(registered.version).toMatchObject({ version: 1, format: 'CSV', profiled: true });
    expect(registered.version.uri).toMatch(new RegExp(`^(file:\/\/)?${csv}$`));
    expect(registered.version.digest).toMatch(/^[0-9a-f]{64}$/);
    state.datasetId = registered.dataset.id;
    state.v1 = registered.version;

    const shown = ok(cli(['datasets', 'show', state.datasetId]));
    expect(shown.stdout).toMatch(/│ name\s+│ churn-cli/);
    expect(shown.stdout).toContain(state.v1.id);
    expect(shown.stdout).toMatch(/[┌└│]/);
    const version = cliJson(['datasets', 'show', state.v1.id]);
    expect(version.datasetVersion).toMatchObject({ id: state.v1.id, rows: state.v1.rows, digest: state.v1.digest });
    expect(version.datasetVersion.schema.map((c: any) => c.name)).toEqual(expect.arrayContaining(['age', 'contract', 'churned']));

    const failing = cli(['datasets', 'validate', state.v1.id, '--rule', 'not_null:age', '--json']);
    expect(failing.code).toBe(1);
    expect(JSON.parse(failing.stdout)).toMatchObject({ passed: false, results: [{ rule: { type: 'NOT_NULL', column: 'age' }, passed: false }] });

    // The latest validation passes: the promotion's DATASET_VALIDATION gate reads it.
    const passing = cli(['datasets', 'validate', state.v1.id, '--rule', 'range:monthly_charges:0:500', '--rule', 'allowed:contract:month-to-month,one-year,two-year', '--rule', 'max_missing:age:0.2']);
    expect(passing.code).toBe(0);
    expect(passing.stdout).toMatch(/passed: \d+ rows checked/);
    const cleaned = cliJson(['datasets', 'clean', state.v1.id, '--step', 'drop_duplicates', '--step', 'fill_missing:age:median', '--step', 'drop_missing']);
    expect(cleaned.parents).toEqual([{ id: state.v1.id }]);
    expect(cleaned.transform.kind).toBe('CLEAN');
    const split = cliJson(['datasets', 'split', cleaned.id, '--seed', '42', '--stratify-by', 'churned']);
    expect(split.train.rows + split.validation.rows + split.test.rows).toBe(cleaned.rows);

    const unknownColumn = cli(['datasets', 'validate', state.v1.id, '--rule', 'not_null:agee']);
    expect(unknownColumn.code).toBe(1);
    expect(unknownColumn.stderr).toMatch(/BAD_USER_INPUT: .*"agee"/);
  });

  it('lists runs with a filter and an order, and compares them side by side', async () => {
    const { defineProject } = await ada.data(`mutation { defineProject(input: { name: "churn-cli", problem: "Predict which customers cancel next month",
      taskType: BINARY_CLASSIFICATION, target: "churned", successCriteria: [{ metric: "val/accuracy", threshold: 0.6, direction: MAXIMIZE }] }) { id } }`);
    state.projectId = defineProject.id;
    await ada.data(`mutation($p: ID!) { a: grantRole(input: { projectId: $p, principal: "vic@example.com", role: VIEWER }) { role } b: grantRole(input: { projectId: $p, principal: "bob@example.com", role: APPROVER }) { role } }`, { p: state.projectId });
    const { createExperiment } = await ada.data(`mutation($p: ID!) { createExperiment(input: { projectId: $p, name: "logistic" }) { id } }`, { p: state.projectId });
    state.experimentId = createExperiment.id;
    const runs: string[] = [];
    for (const [lr, accuracy] of [[0.01, 0.81], [0.1, 0.93]]) {
      const { startRun } = await ada.data(`mutation($e: ID!, $params: JSON) { startRun(input: { experimentId: $e, params: $params, tags: ["cli"] }) { id } }`, { e: state.experimentId, params: { lr, depth: 6 } });
      await ada.data(`mutation($r: ID!, $a: Float!) { logMetrics(input: { runId: $r, points: [{ key: "accuracy", value: $a, step: 1 }, { key: "loss", value: 0.3, step: 1 }] }) { accepted } }`, { r: startRun.id, a: accuracy });
      await ada.data(`mutation($r: ID!) { completeRun(input: { runId: $r }) { status } }`, { r: startRun.id });
      runs.push(startRun.id);
    }

    const ordered = cliJson(['runs', 'list', '--experiment', state.experimentId, '--order-by', 'metric:accuracy']);
    expect(ordered.nodes.map((r: any) => r.id)).toEqual([runs[1], runs[0]]);
    const ascending = cliJson(['runs', 'list', '--experiment', state.experimentId, '--order-by', 'metric:accuracy', '--asc']);
    expect(ascending.nodes.map((r: any) => r.id)).toEqual(runs);
    const filtered = cliJson(['runs', 'list', '--experiment', state.experimentId, '--param', 'lr=0.01', '--metric', 'accuracy>0.8', '--tag', 'cli']);
    expect(filtered.nodes.map((r: any) => r.id)).toEqual([runs[0]]);
    const listed = ok(cli(['runs', 'list', '--experiment', state.experimentId])).stdout;
    expect(listed).toContain(runs[0]);
    expect(listed).toMatch(/lr=0\.01 depth=6/);

    const compared = ok(cli(['runs', 'compare', ...runs])).stdout;
    expect(compared).toMatch(/│ \* param lr\s+│ 0\.01\s+│ 0\.1\s+│/);
    expect(compared).toMatch(/│ {3}param depth\s+│ 6\s+│ 6\s+│/);
    expect(compared).toMatch(/│ \* metric accuracy\s+│ 0\.81\s+│ 0\.93\s+│/);
    expect(compared).toMatch(/│ {3}metric loss\s+│ 0\.3\s+│ 0\.3\s+│/);
    const json = cliJson(['runs', 'compare', ...runs]);
    expect(json.differingParams.map((p: any) => p.key)).toEqual(['lr']);
    expect(json.rows.find((r: any) => r.key === 'accuracy')).toEqual({ section: 'metric', key: 'accuracy', values: [0.81, 0.93], differs: true });
  });

  it('submits a training job, watches it to its end (exit 0) and prints its logs; a failing job exits 1', () => {
    // Submitted and watched in one go, so the watch sees it queued; on a pipe, a plain line per status change.
    const watched = cli(
      ['jobs', 'submit', '--experiment', state.experimentId, '--param', 'lr=0.1', '--train', state.v1.id, '--cpus', '1', '--memory-mb', '512', '--watch',
        '--', 'python3', 'examples/training/train.py', '--epochs', '2', '--steps-per-epoch', '20', '--step-delay', '0'],
      { timeoutMs: 120_000 },
    );
    expect(watched.code).toBe(0);
    const id = /job ([0-9a-f-]{36}): QUEUED\n/.exec(watched.stdout)?.[1];
    expect(id).toBeDefined();
    expect(watched.stderr).toContain(`submitted job ${id}`);
    expect(watched.stdout).toMatch(/│ status\s+│ SUCCEEDED/);
    expect(watched.stdout).toMatch(/│ train\/loss\s+│/);
    const job = cliJson(['jobs', 'show', id!]);
    expect(job).toMatchObject({ status: 'SUCCEEDED', command: ['python3', 'examples/training/train.py', '--epochs', '2', '--steps-per-epoch', '20', '--step-delay', '0'], workingDir: root });
    state.jobId = job.id;
    state.runId = job.runId;

    // Watching a job that has ended answers at once, in JSON too.
    const again = cliJson(['jobs', 'watch', job.id]);
    expect(again).toMatchObject({ id: job.id, status: 'SUCCEEDED', exitCode: 0 });
    expect(again.latestMetrics.map((m: any) => m.key)).toEqual(expect.arrayContaining(['train/loss', 'val/accuracy']));

    const logs = ok(cli(['jobs', 'logs', job.id])).stdout;
    expect(logs).toMatch(/epoch 2: val loss/);
    const followed = ok(cli(['jobs', 'logs', job.id, '--follow'])).stdout;
    expect(followed).toBe(logs);
    const lines = cliJson(['jobs', 'logs', job.id]);
    expect(lines.map((l: any) => l.line).join('\n')).toMatch(/epoch 2: val loss/);

    const failing = cliJson(['jobs', 'submit', '--experiment', state.experimentId, '--cpus', '1', '--memory-mb', '256', '--', 'python3', '-c', 'import sys; print("giving up"); sys.exit(3)']);
    const failed = cli(['jobs', 'submit', '--experiment', state.experimentId, '--cpus', '1', '--memory-mb', '256', '--watch', '--', 'python3', '-c', 'import sys; print("no luck"); sys.exit(4)'], { timeoutMs: 120_000 });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/│ status\s+│ FAILED/);
    expect(failed.stderr).toMatch(/ended FAILED/);
    const followedFailure = cli(['jobs', 'logs', failing.id, '--follow'], { timeoutMs: 120_000 });
    expect(followedFailure.code).toBe(0);
    expect(followedFailure.stdout).toMatch(/giving up/);
  }, 180_000);

  it('promotes the trained version (its gates recorded), refuses a viewer\'s approval (exit 4), approves it as a second person and shows the history', async () => {
    const { registerModel } = await ada.data(`mutation($p: ID!) { registerModel(input: { projectId: $p, name: "churn-cli-model" }) { id } }`, { p: state.projectId });
    state.modelId = registerModel.id;
    const { createModelVersion } = await ada.data(
      `mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { id version } }`,
      {
        input: {
          modelId: state.modelId,
          runId: state.runId,
          artifactName: 'model',
          signature: { inputs: [{ name: 'age', type: 'NUMBER' }], outputs: [{ name: 'churned', type: 'STRING' }] },
          modelCard: { intendedUse: 'Retention offers', limitations: 'One market', evaluationData: 'A held-out fifth', ethicalConsiderations: 'No protected attributes', caveats: 'Retrain on drift' },
        },
      },
    );
    state.versionId = createModelVersion.id;

    const request = cliJson(['models', 'promote', state.versionId, '--alias', 'champion', '--justification', 'passes the criterion']);
    expect(request).toMatchObject({ status: 'PENDING', gatesPassed: true, alias: 'champion', requestedBy: 'ada@example.com' });
    state.beforeApproval = new Date().toISOString();

    const viewer = cli(['models', 'approve', request.id], { token: 'vic-token' });
    expect(viewer.code).toBe(4);
    expect(viewer.stderr).toMatch(/FORBIDDEN/);
    const own = cli(['models', 'approve', request.id]);
    expect(own.code).toBe(4);
    expect(own.stderr).toMatch(/FORBIDDEN/);

    const approved = ok(cli(['models', 'approve', request.id, '--comment', 'reviewed'], { token: 'bob-token' })).stdout;
    expect(approved).toMatch(/│ status\s+│ APPROVED/);
    expect(approved).toMatch(/│ RUN_COMPLETED\s+│ pass/);

    const history = cliJson(['models', 'history', state.modelId], { token: 'vic-token' });
    expect(history.model.aliases).toEqual([{ alias: 'champion', version: 1 }]);
    expect(history.aliasHistory).toEqual([expect.objectContaining({ alias: 'champion', version: 1, requestedBy: 'ada@example.com', approvedBy: 'bob@example.com', validTo: null })]);
    const table = ok(cli(['models', 'history', state.modelId])).stdout;
    expect(table).toMatch(/aliases now: champion → v1/);
    expect(table).toMatch(/│ champion\s+│ 1\s+│/);

    const deployment = cliJson(['deploy', state.versionId, '--env', 'staging', '--endpoint', 'https://models.example.com/churn', '--feature', 'age', '--feature', 'monthly_charges']);
    expect(deployment).toMatchObject({ environment: 'staging', modelVersionId: state.versionId });
    expect(cliJson(['deployments', 'list', '--env', 'staging']).nodes.map((d: any) => d.id)).toEqual([deployment.id]);
  }, 120_000);

  it('draws the lineage of the version as a tree, now and as of a moment before its approval', () => {
    const now = ok(cli(['lineage', 'show', state.versionId])).stdout;
    expect(now.split('\n')[0]).toMatch(new RegExp(`^model_version .*${state.versionId}`));
    expect(now).toMatch(/├── upstream\n/);
    expect(now).toMatch(/│ {3}[├└]── PACKAGES ← artifact "model"/);
    expect(now).toMatch(/PRODUCED_BY ← run/);
    expect(now).toMatch(/TRAINED_ON ← dataset_version/);
    expect(now).toMatch(/└── downstream\n/);
    expect(now).toMatch(/POINTS_TO → alias/);

    const before = ok(cli(['lineage', 'show', state.versionId, '--as-of', state.beforeApproval])).stdout;
    expect(before).toMatch(/PRODUCED_BY ← run/);
    expect(before).not.toMatch(/POINTS_TO → alias/);
    const json = cliJson(['lineage', 'show', state.versionId, '--direction', 'upstream', '--as-of', state.beforeApproval]);
    expect(json.root).toMatchObject({ id: state.versionId, kind: 'model_version' });
    expect(json.nodes.every((n: any) => n.direction === 'ROOT' || n.direction === 'UPSTREAM')).toBe(true);
    expect(json.nodes.map((n: any) => n.kind)).toEqual(expect.arrayContaining(['run', 'dataset_version']));
  });

  it('exports the audit report and verifies it offline; a tampered report fails with exit code 1', async () => {
    const file = join(work, 'audit.json');
    const exported = cliJson(['audit', 'export', state.versionId, '--output', file]);
    expect(exported).toMatchObject({ file, format: 'JSON' });
    expect(JSON.parse(readFileSync(file, 'utf8')).digest.value).toBe(exported.digest);
    const { logKey } = await ada.data(`{ logKey { verifierKey } }`);
    expect(ok(cli(['audit', 'key'])).stdout).toBe(`${logKey.verifierKey}\n`);

    // Offline: an unreachable URL and no token change nothing.
    const offline = { token: null, url: `http://127.0.0.1:${await freePort()}/graphql` };
    const verified = cli(['verify', file, '--key', logKey.verifierKey], offline);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/all \d+ checks passed/);
    const verdict = JSON.parse(cli(['verify', file, '--key', logKey.verifierKey, '--json'], offline).stdout);
    expect(verdict).toMatchObject({ ok: true, failures: [] });

    const report = JSON.parse(readFileSync(file, 'utf8'));
    const event = report.events[report.events.length - 1];
    event.data = { ...event.data, tampered: true };
    const tampered = join(work, 'audit-tampered.json');
    writeFileSync(tampered, JSON.stringify(report, null, 2));
    const failed = cli(['verify', tampered, '--key', logKey.verifierKey], offline);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/FAIL/);
    expect(failed.stderr).toMatch(/verification failed/);
    expect(cli(['verify', join(work, 'missing.json')], offline).code).toBe(3);

    const markdown = cli(['audit', 'export', state.versionId, '--format', 'markdown']);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toMatch(/churn-cli-model/);
  });
});
