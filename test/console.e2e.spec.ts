import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ensureBuilt, eventually, freePort, platformSandbox, type StartedPlatform, startPlatform } from '@modeltrail/testing';
import { GraphQLHttpClient } from '../gateway/test/graphql-client';

/**
 * The web console (/console) in a real headless Chromium against the compiled platform (one
 * process on the in-process bus): the lineage graph of a model version and as of before it
 * existed, a job's loss charted live over graphql-ws, runs compared, a promotion refused to its
 * requester and approved by a second person, and API data containing HTML shown as text.
 */
// What the functions run in the page see (this project type-checks against Node's globals, not the DOM's).
declare const window: any;
declare const document: any;
declare const sessionStorage: any;
type HTMLOptionElement = { value: string };

const CHROMIUM = '/usr/bin/chromium';
const chromiumMissing = !existsSync(CHROMIUM);
/** Free text (a justification, a parameter's value) holds whatever users type: this must be shown, never run. */
const HOSTILE = '<img src=x onerror="window.__pwned=1">';

describe('web console in a browser', () => {
  if (chromiumMissing) {
    it.skip(`shows lineage, a live loss chart, compared runs and the promotion queue (skipped: needs Chromium at ${CHROMIUM}, none installed)`, () => undefined);
    return;
  }
  const root = join(__dirname, '..');
  const csv = join(root, 'examples/datasets/customer-churn.csv');
  const results = join(root, 'test-results');
  const sandbox = platformSandbox('console', { bus: 'in-process' });
  const artifactRoot = mkdtempSync(join(tmpdir(), 'mt-console-'));
  // The local agent runs jobs as `nobody` when started as root: it must reach its data dir.
  chmodSync(artifactRoot, 0o755);
  let platform: StartedPlatform;
  let ada: GraphQLHttpClient;
  let bob: GraphQLHttpClient;
  let base: string;
  let browser: Browser;
  let page: Page;
  /** Errors the page logged or threw. */
  const pageErrors: string[] = [];
  const state: Record<string, any> = {};

  const job = async (id: string) => (await ada.data(`query($id: ID!) { job(id: $id) { id status run { id status } } }`, { id })).job;
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
  const submit = async (input: Record<string, unknown>) => (await ada.data(`mutation($input: SubmitJobInput!) { submitJob(input: $input) { id status } }`, { input })).submitJob;
  const shot = (name: string) => page.screenshot({ path: join(results, `console-${name}.png`), fullPage: true });
  const consoleState = <T>(what: 'lineageNodes' | 'lossPointCount') => page.evaluate((key) => window.modeltrailConsole[key]() as unknown, what) as Promise<T>;

  beforeAll(async () => {
    ensureBuilt(root);
    mkdirSync(results, { recursive: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    platform = startPlatform(root, {
      ...process.env,
      ...sandbox.env,
      PORT: String(port),
      ARTIFACT_ROOT: artifactRoot,
      AGENT_DATA_DIR: join(artifactRoot, 'agent'),
      API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com',
      NODE_ENV: 'development',
    });
    await platform.waitFor([/gateway: GraphQL on/, /experiments: serving/, /datasets: serving/, /lineage: serving/]);
    ada = new GraphQLHttpClient(`${base}/graphql`, 'ada-token');
    bob = new GraphQLHttpClient(`${base}/graphql`, 'bob-token');
    await eventually(async () => expect((await ada.data(`{ agents { nodes { id status } } }`)).agents.nodes).toHaveLength(1), { timeoutMs: 30_000, intervalMs: 200 });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    if (platform) writeFileSync(join(results, 'console-platform.log'), platform.output());
    await sandbox.remove();
    rmSync(artifactRoot, { recursive: true, force: true });
  }, 60_000);

  it('prepares, through GraphQL: a validated dataset version, a trained model version with a pending promotion, runs to compare, and a job still training', async () => {
    const { registerDataset } = await ada.data(`mutation { registerDataset(input: { name: "churn-console-e2e", description: "Monthly churn" }) { id } }`);
    const { registerDatasetVersion: version } = await ada.data(`mutation($input: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $input) { id version } }`, {
      input: { datasetId: registerDataset.id, uri: csv, format: 'CSV' },
    });
    state.datasetVersionId = version.id;
    const { validateDatasetVersion } = await ada.data(
      `mutation($id: ID!) { validateDatasetVersion(input: { datasetVersionId: $id, rules: [{ type: RANGE, column: "monthly_charges", min: 0, max: 500 }] }) { passed } }`,
      { id: version.id },
    );
    expect(validateDatasetVersion.passed).toBe(true);

    const { defineProject } = await ada.data(`mutation { defineProject(input: { name: "churn-console-e2e", problem: "Predict which customers cancel next month",
      taskType: BINARY_CLASSIFICATION, target: "churned", successCriteria: [{ metric: "val/accuracy", threshold: 0.6, direction: MAXIMIZE }] }) { id } }`);
    const { createExperiment } = await ada.data(`mutation($p: ID!, $name: String!) { createExperiment(input: { projectId: $p, name: $name }) { id name } }`, {
      p: defineProject.id,
      name: 'logistic-console',
    });
    state.experimentId = createExperiment.id;

    const trained = await submit({
      experimentId: state.experimentId,
      params: { lr: 0.1 },
      datasetVersions: [{ datasetVersionId: version.id, role: 'TRAIN' }],
      command: ['python3', 'examples/training/train.py', '--epochs', '2', '--steps-per-epoch', '20', '--step-delay', '0'],
      workingDir: root,
      resources: { gpus: 0, cpus: 1, memoryMb: 512 },
    });
    state.trainingJobId = trained.id;
    state.runId = (await waitForJob(trained.id)).run.id;

    // Runs to compare, with metrics of known values.
    const start = `mutation($input: StartRunInput!) { startRun(input: $input) { id } }`;
    const log = `mutation($input: LogMetricsInput!) { logMetrics(input: $input) { accepted } }`;
    state.compared = [];
    for (const [lr, accuracy] of [[0.01, 0.71], [0.3, 0.84]]) {
      const { startRun } = await ada.data(start, { input: { experimentId: state.experimentId, params: { lr, depth: 4, note: HOSTILE } } });
      await ada.data(log, { input: { runId: startRun.id, points: [{ key: 'accuracy', value: accuracy - 0.1, step: 1 }, { key: 'accuracy', value: accuracy, step: 2 }] } });
      await ada.data(`mutation($id: ID!) { completeRun(input: { runId: $id }) { status } }`, { id: startRun.id });
      state.compared.push({ id: startRun.id, lr, accuracy });
    }

    // The asOf picker counts whole seconds: the model version comes a second after everything above.
    const { run } = await ada.data(`query($id: ID!) { run(id: $id) { endedAt } }`, { id: state.runId });
    await eventually(() => expect(Date.now()).toBeGreaterThan(Date.parse(run.endedAt) + 2_000), { timeoutMs: 5_000, intervalMs: 100 });

    const { registerModel } = await ada.data(`mutation($p: ID!) { registerModel(input: { projectId: $p, name: "churn-console", description: "Who cancels next month" }) { id } }`, { p: defineProject.id });
    const card = {
      intendedUse: 'Rank customers for retention offers',
      limitations: 'Trained on one market',
      evaluationData: 'A held-out fifth of the training data',
      ethicalConsiderations: 'No protected attributes are used',
      caveats: 'Retrain when the contract mix changes',
    };
    const signature = { inputs: [{ name: 'age', type: 'NUMBER' }], outputs: [{ name: 'churned', type: 'STRING' }] };
    const { createModelVersion } = await ada.data(`mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { id version createdAt } }`, {
      input: { modelId: registerModel.id, runId: state.runId, artifactName: 'model', signature, modelCard: card },
    });
    state.modelVersion = createModelVersion;
    const { requestPromotion } = await ada.data(
      `mutation($v: ID!, $why: String!) { requestPromotion(input: { modelVersionId: $v, alias: "champion", justification: $why }) { id status gatesPassed } }`,
      { v: createModelVersion.id, why: `Beats the success criterion ${HOSTILE}` },
    );
    expect(requestPromotion).toMatchObject({ status: 'PENDING', gatesPassed: true });
    state.requestId = requestPromotion.id;

    // A job that trains for a while (120 steps, 0.2 s each), for the live chart.
    const live = await submit({
      experimentId: state.experimentId,
      params: { lr: 0.05 },
      command: ['python3', 'examples/training/train.py', '--epochs', '2', '--steps-per-epoch', '60', '--step-delay', '0.2'],
      workingDir: root,
      resources: { gpus: 0, cpus: 1, memoryMb: 512 },
    });
    state.liveJobId = live.id;
  }, 150_000);

  it('opens with the token from the URL fragment, keeps it in sessionStorage and drops it from the address', async () => {
    await page.goto(`${base}/console#token=ada-token`);
    await page.waitForFunction(() => /ada@example\.com/.test(document.getElementById('whoami')!.textContent ?? ''));
    expect(page.url()).toBe(`${base}/console/`);
    expect(await page.evaluate(() => sessionStorage.getItem('modeltrail.token'))).toBe('ada-token');
    const response = await page.request.get(`${base}/console/`);
    expect(response.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    expect(response.headers()['x-content-type-options']).toBe('nosniff');
  });

  it('draws the lineage of the model version, coloured by kind, with details on click', async () => {
    await page.waitForFunction((id) => [...document.querySelectorAll('#lineage-version option')].some((o: HTMLOptionElement) => o.value === id), state.modelVersion.id);
    await page.selectOption('#lineage-version', state.modelVersion.id);
    await page.waitForFunction(() => /\d+ nodes, \d+ edges, now\./.test(document.getElementById('lineage-status')!.textContent ?? ''));
    const nodes = await consoleState<Array<{ id: string; kind: string; name: string | null; x: number; y: number }>>('lineageNodes');
    const ids = nodes.map((node) => node.id);
    expect(ids).toEqual(expect.arrayContaining([state.modelVersion.id, state.runId, state.trainingJobId, state.datasetVersionId, state.requestId]));
    expect(nodes.find((node) => node.id === state.modelVersion.id)!.kind).toBe('model_version');
    expect(nodes.find((node) => node.id === state.trainingJobId)!.kind).toBe('job');
    expect(nodes.find((node) => node.id === state.datasetVersionId)!.kind).toBe('dataset_version');
    expect(await page.locator('#lineage-legend li').allTextContents()).toEqual(expect.arrayContaining(['dataset_version', 'job', 'model_version', 'run']));

    // A click on the run's node in the canvas shows its details.
    const run = nodes.find((node) => node.id === state.runId)!;
    const box = (await page.locator('#lineage-graph').boundingBox())!;
    await page.mouse.click(box.x + run.x, box.y + run.y);
    await page.waitForFunction((id) => (document.getElementById('lineage-details')!.textContent ?? '').includes(id), state.runId);
    expect(await page.locator('#lineage-details dl').textContent()).toMatch(/kind\s*run/);
    await shot('lineage');
  });

  it('shows the lineage as of a moment before the model version existed: it is gone', async () => {
    const before = new Date(Math.floor(Date.parse(state.modelVersion.createdAt) / 1000) * 1000 - 1000).toISOString();
    // The picker takes the browser's local time.
    const local = await page.evaluate((iso) => {
      const d = new Date(iso);
      const pad = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    }, before);
    await page.fill('#lineage-asof', local);
    await page.click('#lineage-form button[type="submit"]');
    await page.waitForFunction(() => /^Nothing as of /.test(document.getElementById('lineage-status')!.textContent ?? ''));
    expect(await page.textContent('#lineage-status')).toMatch(/no lineage node/);
    expect(await consoleState<unknown[]>('lineageNodes')).toEqual([]);

    // From the run, as of then: its data and job are there, the model version made of it is not.
    await page.fill('#lineage-id', state.runId);
    await page.click('#lineage-form button[type="submit"]');
    await page.waitForFunction(() => / as of /.test(document.getElementById('lineage-status')!.textContent ?? ''));
    const then = (await consoleState<Array<{ id: string; kind: string }>>('lineageNodes')).map((node) => node.id);
    expect(then).toEqual(expect.arrayContaining([state.runId, state.datasetVersionId, state.trainingJobId]));
    expect(then).not.toContain(state.modelVersion.id);

    await page.click('#lineage-now');
    await page.waitForFunction(() => /, now\./.test(document.getElementById('lineage-status')!.textContent ?? ''));
    expect((await consoleState<Array<{ id: string }>>('lineageNodes')).map((node) => node.id)).toContain(state.modelVersion.id);
  });

  it('charts the loss of the training job live: points arrive while it runs', async () => {
    await page.fill('#job-id', state.liveJobId);
    await page.click('#job-form button[type="submit"]');
    await page.waitForFunction(() => window.modeltrailConsole.lossPointCount() > 0, undefined, { timeout: 60_000 });
    const first = await consoleState<number>('lossPointCount');
    // Still training after the first points were drawn: whatever comes next arrives live.
    expect((await job(state.liveJobId)).status).toBe('RUNNING');
    await page.waitForFunction((n) => window.modeltrailConsole.lossPointCount() > n, first, { timeout: 60_000 });
    expect(await page.locator('#loss-chart canvas').count()).toBeGreaterThan(0);
    await shot('loss');
    await waitForJob(state.liveJobId);
    // Every loss point: 120 of train/loss and 2 of val/loss.
    await page.waitForFunction(() => window.modeltrailConsole.lossPointCount() === 122, undefined, { timeout: 15_000 });
    await page.waitForFunction(() => /SUCCEEDED/.test(document.getElementById('job-status')!.textContent ?? ''));
  }, 120_000);

  it('lists the runs of an experiment and compares the two ticked', async () => {
    await page.waitForFunction((id) => [...document.querySelectorAll('#experiment-select option')].some((o: HTMLOptionElement) => o.value === id), state.experimentId);
    await page.selectOption('#experiment-select', state.experimentId);
    await page.waitForFunction(() => /\d+ runs\./.test(document.getElementById('runs-status')!.textContent ?? ''));
    expect(await page.locator('#runs-table tbody tr').count()).toBe(4);
    for (const run of state.compared) await page.check(`#runs-table tr[data-run-id="${run.id}"] input[type="checkbox"]`);
    await page.click('#compare-button');
    await page.waitForSelector('#compare:not([hidden])');
    const metrics = await page.locator('#compare-metrics tbody tr').allInnerTexts();
    const accuracy = metrics.find((line) => line.startsWith('accuracy'))!;
    expect(accuracy).toMatch(/0\.71 \(step 2\)\s+0\.84 \(step 2\)/);
    const params = await page.locator('#compare-params tbody tr').allInnerTexts();
    expect(params).toEqual(expect.arrayContaining([expect.stringMatching(/^lr\s+0\.01\s+0\.3$/), expect.stringMatching(/^depth\s+4\s+4$/)]));
    await shot('compare');
  });

  it('shows text holding HTML as text, never as markup', async () => {
    const justification = await page.locator(`#promotions-table tr[data-request-id="${state.requestId}"] td:nth-child(4)`).textContent();
    expect(justification).toBe(`Beats the success criterion ${HOSTILE}`);
    const params = await page.locator(`#runs-table tr[data-run-id="${state.compared[0].id}"] td:nth-child(5)`).textContent();
    expect(params).toContain(`note=${HOSTILE}`);
    expect(await page.locator('#compare-params tbody tr').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining(`note\t${HOSTILE}`)]));
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  });

  it('refuses the requester’s own approval with the API’s message, then a second person approves and the request leaves the queue', async () => {
    const row = page.locator(`#promotions-table tr[data-request-id="${state.requestId}"]`);
    await row.waitFor();
    await row.locator('button[data-action="approve"]').click();
    await page.waitForFunction((id) => /FORBIDDEN: .*cannot approve it/.test(document.querySelector(`#promotions-table tr[data-request-id="${id}"] .row-error`)?.textContent ?? ''), state.requestId);
    await shot('promotion-refused');

    // Signing in again reloads the queue after the name shows: mark the row drawn for ada, and
    // type into the one drawn for bob (a note typed into the old row would be lost with it).
    await row.evaluate((tr) => tr.setAttribute('data-drawn-before', 'yes'));
    await page.fill('#token-input', 'bob-token');
    await page.click('#token-form button[type="submit"]');
    await page.waitForFunction(() => /bob@example\.com/.test(document.getElementById('whoami')!.textContent ?? ''));
    expect(await page.evaluate(() => sessionStorage.getItem('modeltrail.token'))).toBe('bob-token');
    await page.locator(`#promotions-table tr[data-request-id="${state.requestId}"]:not([data-drawn-before])`).waitFor();
    await row.locator('input[type="text"]').fill('Reviewed the card and the gates');
    await row.locator('button[data-action="approve"]').click();
    await row.waitFor({ state: 'detached' });
    await shot('promotions');
    const { promotionRequest } = await bob.data(`query($id: ID!) { promotionRequest(id: $id) { status decidedBy decisionNote } }`, { id: state.requestId });
    expect(promotionRequest).toEqual({ status: 'APPROVED', decidedBy: 'bob@example.com', decisionNote: 'Reviewed the card and the gates' });
  });

  it('logged no error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
