import 'reflect-metadata';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ErrorCode as NatsErrorCode, type Msg, type Subscription } from 'nats';
import { loadConfig } from '@modeltrail/config';
import { subjects, withNamespace } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { connectBus, decodeJson, type ManagedBus, NatsRpcTransport } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner } from '@modeltrail/readmodel';
import { describeOnTestBus, eventually, onTestBus, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { DatasetsModule } from '../../services/datasets/src/datasets.module';
import { ExperimentsModule } from '../../services/experiments/src/experiments.module';
import { GraphQLHttpClient, SubscriptionQueue, webSocketClient } from '../test/graphql-client';
import { createGatewayApp } from './gateway.app';
import { GRAPHQL_PATH } from './gateway.module';

const NO_STACK = /stacktrace|\bat [^"]*\.(ts|js):\d+/;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The gateway with the real datasets and experiments services behind it, over the real
 * PostgreSQL and the test bus (NATS, or the in-process bus where no server answers), driven as a
 * portal drives it: GraphQL over HTTP (fetch) and graphql-ws.
 */
describeOnTestBus('GraphQL gateway with the datasets and experiments services', () => {
  const schema = uniqueName('gw');
  const readModels = [`${schema}_ds`, `${schema}_ex`];
  const dir = join(tmpdir(), uniqueName('mt-gateway')); // made in beforeAll: a skipped suite leaves nothing behind
  const environment = { DATABASE_URL: TEST_DATABASE_URL, NATS_NAMESPACE: schema, EVENTSTORE_SCHEMA: schema, ARTIFACT_ROOT: join(dir, 'artifacts'), DATA_ROOTS: dir };
  const services: INestMicroservice[] = [];
  let gateway: INestApplication;
  let http: GraphQLHttpClient;
  let nats: ManagedBus;
  const pool = createPool(TEST_DATABASE_URL, { max: 2 });
  const store = new PostgresEventStore({ pool, connectionString: TEST_DATABASE_URL, schema });

  /** Every read model has caught up with every event stored so far. */
  const caughtUp = async () => {
    const head = await store.headPosition();
    await Promise.all(services.flatMap((service) => service.get<ProjectionRunner[]>(PROJECTION_RUNNERS)).map((runner) => runner.waitFor(head)));
  };

  /** Requests the gateway sends to `subject`, from now on (a plain subscriber sees every request besides the service's queue group). */
  const watchRequests = (subject: string) => {
    const seen: unknown[] = [];
    const sub: Subscription = nats.nc.subscribe(withNamespace(schema, subject), { callback: (_error, msg: Msg) => seen.push(decodeJson(msg.data)) });
    return {
      seen: async () => {
        await nats.nc.flush();
        return seen;
      },
      stop: () => sub.unsubscribe(),
    };
  };

  const csvPath = join(dir, 'customers.csv');

  beforeAll(async () => {
    mkdirSync(dir);
    writeFileSync(csvPath, `${['id,age,plan,churned', ...Array.from({ length: 10 }, (_, i) => `${i + 1},${i === 3 ? '' : 30 + i},${i % 2 ? 'pro' : 'basic'},${i % 3 ? 'no' : 'yes'}`)].join('\n')}\n`);
    for (const [module, name] of [
      [DatasetsModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'datasets', READ_MODEL_SCHEMA: readModels[0] }))), 'datasets'],
      [ExperimentsModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'experiments', READ_MODEL_SCHEMA: readModels[1] }))), 'experiments'],
    ] as const) {
      const service = await NestFactory.createMicroservice(module, {
        strategy: new NatsRpcTransport({ nats: { url: TEST_BUS_URL, name: `${name}-gateway-test` }, namespace: schema, queue: name }),
        logger: false,
      });
      await service.listen();
      services.push(service);
    }
    const config = onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'gateway', READ_MODEL_SCHEMA: schema, API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com', RPC_TIMEOUT_MS: '20000' }));
    gateway = await createGatewayApp(config, { logger: false });
    await gateway.listen(0, '127.0.0.1');
    http = new GraphQLHttpClient(`http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}${GRAPHQL_PATH}`, 'ada-token');
    nats = await connectBus({ url: TEST_BUS_URL, name: 'gateway-test-observer' });
  });
  afterAll(async () => {
    await gateway?.close();
    for (const service of services) await service.close();
    await nats?.close();
    for (const name of [schema, ...readModels]) await pool.query(`DROP SCHEMA IF EXISTS ${ident(name)} CASCADE`);
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const REGISTER = 'mutation ($input: RegisterDatasetInput!) { registerDataset(input: $input) { id name description status registeredBy registeredAt project { id } } }';
  const HISTORY = `query ($id: ID!) { history(entityId: $id) {
    entityId stream aggregate
    events { id type revision position occurredAt actor correlationId causationId data }
    verification { valid checkedEvents problem } } }`;

  const remoteVersion = async (datasetId: string, name: string) =>
    (
      await http.data<{ registerDatasetVersion: { id: string } }>(
        'mutation ($input: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $input) { id } }',
        { input: { datasetId, uri: `s3://bucket/${name}.csv`, format: 'CSV', digest: sha(name), size: 100 } },
      )
    ).registerDatasetVersion.id;

  describe('datasets', () => {
    it('registers a dataset as the authenticated user, and tells its history with a verified hash chain', async () => {
      const correlationId = randomUUID();
      const response = await http.request(REGISTER, { input: { name: 'churn-events', description: 'Customer churn' } }, { headers: { 'x-correlation-id': correlationId } });
      expect(response.errors).toBeUndefined();
      const dataset = response.data!.registerDataset;
      expect(dataset).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'churn-events',
        description: 'Customer churn',
        status: 'ACTIVE',
        registeredBy: 'ada@example.com',
        registeredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        project: null,
      });

      const changed = await http.data('mutation ($input: ChangeDatasetDescriptionInput!) { changeDatasetDescription(input: $input) { description registeredBy } }', {
        input: { datasetId: dataset.id, description: 'Churn, cleaned' },
      }, { token: 'bob-token' });
      expect(changed.changeDatasetDescription).toEqual({ description: 'Churn, cleaned', registeredBy: 'ada@example.com' });

      const { history } = await http.data(HISTORY, { id: dataset.id.toUpperCase() });
      expect(history).toMatchObject({ entityId: dataset.id, stream: `dataset-${dataset.id}`, aggregate: 'dataset', verification: { valid: true, checkedEvents: 2, problem: null } });
      expect(history.events).toEqual([
        expect.objectContaining({ type: 'datasets.DatasetRegistered.v1', revision: 0, actor: 'ada@example.com', correlationId, causationId: null, data: expect.objectContaining({ name: 'churn-events' }) }),
        expect.objectContaining({ type: 'datasets.DatasetDescriptionChanged.v1', revision: 1, actor: 'bob@example.com', data: expect.objectContaining({ description: 'Churn, cleaned' }) }),
      ]);
      expect(history.events[1].position).toBeGreaterThan(history.events[0].position);
      expect(history.events[1].correlationId).not.toBe(correlationId);
    });

    it('reports an edited history as not valid, saying what is wrong', async () => {
      const { registerDataset } = await http.data(REGISTER, { input: { name: 'tampered' } });
      const stream = `dataset-${registerDataset.id}`;
      const [stored] = await store.readStream(stream);
      await pool.query(`UPDATE ${ident(schema)}.events SET data = $1 WHERE stream_id = $2 AND revision = 0`, [JSON.stringify({ ...(stored.data as object), name: 'forged' }), stream]);
      const { history } = await http.data(HISTORY, { id: registerDataset.id });
      expect(history.verification).toEqual({ valid: false, checkedEvents: 1, problem: expect.stringMatching(/event 0 .* was altered/) });
      expect(history.events[0].data.name).toBe('forged');
    });

    it('maps refusals to BAD_USER_INPUT with the field, CONFLICT and NOT_FOUND, writing nothing', async () => {
      const blank = await http.request(REGISTER, { input: { name: '  ' } });
      expect(blank.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/field "name": must not be empty/),
          path: ['registerDataset'],
          extensions: { code: 'BAD_USER_INPUT', details: { issues: expect.arrayContaining([{ field: 'name', message: 'must not be empty' }]) } },
        }),
      ]);
      expect(blank.text).not.toMatch(NO_STACK);

      await http.data(REGISTER, { input: { name: 'Unique name' } });
      const twice = await http.request(REGISTER, { input: { name: ' unique NAME ' } });
      expect(twice.data).toBeNull();
      expect(twice.errors?.[0]).toMatchObject({ message: expect.stringMatching(/a dataset named "Unique name" already exists/), extensions: { code: 'CONFLICT' } });

      const missing = randomUUID();
      const archive = await http.request('mutation ($id: ID!) { archiveDataset(input: { datasetId: $id, reason: "gone" }) { id } }', { id: missing });
      expect(archive.errors?.[0]).toMatchObject({ message: `dataset ${missing} does not exist`, extensions: { code: 'NOT_FOUND' } });
      const lookup = await http.request('query ($id: ID!) { dataset(id: $id) { id } }', { id: missing });
      expect(lookup.data).toEqual({ dataset: null });
      expect(lookup.errors?.[0]).toMatchObject({ path: ['dataset'], extensions: { code: 'NOT_FOUND', details: { id: missing } } });
      expect(await store.streamRevision(`dataset-${missing}`)).toBe('no_stream');
    });

    it('sends a retried mutation with the same Idempotency-Key once', async () => {
      const headers = { 'idempotency-key': `register-${randomUUID()}` };
      const first = await http.request(REGISTER, { input: { name: 'retried' } }, { headers });
      const again = await http.request(REGISTER, { input: { name: 'retried' } }, { headers });
      expect(again.errors).toBeUndefined();
      expect(again.data!.registerDataset.id).toBe(first.data!.registerDataset.id);
      expect(await store.readStream(`dataset-${first.data!.registerDataset.id}`)).toHaveLength(1);
      // Without the key it is a second registration of the name.
      expect((await http.request(REGISTER, { input: { name: 'retried' } })).errors?.[0].extensions?.code).toBe('CONFLICT');
    });

    it('registers, validates, cleans and splits versions, with typed profiles, transforms and lineage', async () => {
      const { registerDataset } = await http.data(REGISTER, { input: { name: 'customers' } });
      const { registerDatasetVersion: version } = await http.data(
        `mutation ($input: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $input) {
          id version format digest rows profiled registeredBy transform { kind } parents { id }
          dataset { id name }
          schema { name type nullable }
          profile { rows columns { name type count missing distinct numeric { min max quantiles { q value } histogram { count } } categorical { topValues { value count } exact } } } } }`,
        { input: { datasetId: registerDataset.id, uri: csvPath, format: 'CSV' } },
      );
      expect(version).toMatchObject({ version: 1, format: 'CSV', rows: 10, profiled: true, registeredBy: 'ada@example.com', transform: null, parents: [], dataset: { id: registerDataset.id, name: 'customers' } });
      expect(version.schema).toEqual([
        { name: 'id', type: 'INTEGER', nullable: false },
        { name: 'age', type: 'INTEGER', nullable: true },
        { name: 'plan', type: 'STRING', nullable: false },
        { name: 'churned', type: 'STRING', nullable: false },
      ]);
      const age = version.profile.columns.find((c: { name: string }) => c.name === 'age');
      expect(age).toMatchObject({ type: 'INTEGER', count: 9, missing: 1, numeric: { min: 30, max: 39 }, categorical: null });
      expect(age.numeric.histogram.reduce((sum: number, bin: { count: number }) => sum + bin.count, 0)).toBe(9);
      expect(version.profile.columns.find((c: { name: string }) => c.name === 'plan').categorical.topValues).toEqual(
        expect.arrayContaining([{ value: 'pro', count: 5 }, { value: 'basic', count: 5 }]),
      );

      const { validateDatasetVersion: report } = await http.data(
        `mutation ($input: ValidateDatasetVersionInput!) { validateDatasetVersion(input: $input) {
          id passed rowsChecked validatedBy datasetVersion { id }
          rules { type column min max values }
          results { passed failingRows exampleRows observed rule { type column } } } }`,
        {
          input: {
            datasetVersionId: version.id,
            rules: [
              { type: 'NOT_NULL', column: 'age' },
              { type: 'RANGE', column: 'age', min: 0, max: 120 },
              { type: 'ALLOWED_VALUES', column: 'plan', values: ['basic', 'pro'] },
            ],
          },
        },
      );
      expect(report).toMatchObject({ passed: false, rowsChecked: 10, validatedBy: 'ada@example.com', datasetVersion: { id: version.id } });
      expect(report.rules).toEqual([
        { type: 'NOT_NULL', column: 'age', min: null, max: null, values: null },
        { type: 'RANGE', column: 'age', min: 0, max: 120, values: null },
        { type: 'ALLOWED_VALUES', column: 'plan', min: null, max: null, values: ['basic', 'pro'] },
      ]);
      expect(report.results.map((r: { passed: boolean; failingRows: number; exampleRows: number[] }) => [r.passed, r.failingRows, r.exampleRows])).toEqual([
        [false, 1, [4]],
        [true, 0, []],
        [true, 0, []],
      ]);

      const wrongField = await http.request('mutation ($input: ValidateDatasetVersionInput!) { validateDatasetVersion(input: $input) { id } }', {
        input: { datasetVersionId: version.id, rules: [{ type: 'RANGE', column: 'age', min: 0, pattern: '^x' }] },
      });
      expect(wrongField.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'rules[0].pattern', message: 'a RANGE rule takes no pattern' }] } });
      const noBounds = await http.request('mutation ($input: ValidateDatasetVersionInput!) { validateDatasetVersion(input: $input) { id } }', {
        input: { datasetVersionId: version.id, rules: [{ type: 'RANGE', column: 'age' }] },
      });
      expect(noBounds.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'rules[0].min', message: 'a RANGE rule needs min, max or both' }] } });

      const { cleanDatasetVersion: cleaned } = await http.data(
        `mutation ($input: CleanDatasetVersionInput!) { cleanDatasetVersion(input: $input) {
          id rows parents { id } dataset { id }
          transform { __typename kind ... on CleanTransform { steps { type column columns strategy value to } } } } }`,
        { input: { datasetVersionId: version.id, steps: [{ type: 'FILL_MISSING', column: 'age', strategy: 'CONSTANT', value: 0 }, { type: 'DROP_COLUMNS', columns: ['plan'] }] } },
      );
      expect(cleaned).toMatchObject({ rows: 10, parents: [{ id: version.id }], dataset: { id: registerDataset.id } });
      expect(cleaned.transform).toEqual({
        __typename: 'CleanTransform',
        kind: 'CLEAN',
        steps: [
          { type: 'FILL_MISSING', column: 'age', columns: null, strategy: 'CONSTANT', value: 0, to: null },
          { type: 'DROP_COLUMNS', column: null, columns: ['plan'], strategy: null, value: null, to: null },
        ],
      });

      const { splitDatasetVersion: split } = await http.data(
        `mutation ($input: SplitDatasetVersionInput!) { splitDatasetVersion(input: $input) {
          id seed stratifyBy fractions { train validation test } source { id }
          train { id rows transform { ... on SplitTransform { part splitId seed } } parents { id } }
          validation { id rows } test { id rows } } }`,
        { input: { datasetVersionId: version.id, train: 0.6, validation: 0.2, test: 0.2, seed: 7 } },
      );
      expect(split).toMatchObject({ seed: 7, stratifyBy: null, fractions: { train: 0.6, validation: 0.2, test: 0.2 }, source: { id: version.id } });
      expect(split.train.transform).toEqual({ part: 'TRAIN', splitId: split.id, seed: 7 });
      expect(split.train.parents).toEqual([{ id: version.id }]);
      expect(split.train.rows + split.validation.rows + split.test.rows).toBe(10);

      await caughtUp();
      const VERSIONS = 'query ($id: ID!, $after: String) { dataset(id: $id) { versions(first: 3, after: $after) { nodes { id version validations { id passed } } pageInfo { hasNextPage endCursor } } } }';
      const first = (await http.data(VERSIONS, { id: registerDataset.id })).dataset.versions;
      expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: expect.any(String) });
      const second = (await http.data(VERSIONS, { id: registerDataset.id, after: first.pageInfo.endCursor })).dataset.versions;
      expect(second.pageInfo.hasNextPage).toBe(false);
      const nodes = [...first.nodes, ...second.nodes];
      expect(nodes.map((v: { version: number }) => v.version)).toEqual([5, 4, 3, 2, 1]);
      expect(nodes.map((v: { id: string }) => v.id).reverse()).toEqual([version.id, cleaned.id, split.train.id, split.validation.id, split.test.id]);
      expect(nodes[4].validations).toEqual([{ id: report.id, passed: false }]);
    });

    it('batches nested lookups with DataLoader: 20 versions with their datasets make one GetDatasets request', async () => {
      const parents: string[] = [];
      for (let i = 0; i < 20; i++) {
        const { registerDataset } = await http.data(REGISTER, { input: { name: `batched-${i}` } });
        parents.push(await remoteVersion(registerDataset.id, `batched-${i}`));
      }
      const { deriveDatasetVersion } = await http.data('mutation ($input: DeriveDatasetVersionInput!) { deriveDatasetVersion(input: $input) { id } }', {
        input: { parentVersionIds: parents, uri: 's3://bucket/joined.csv', format: 'CSV', transform: 'joined the 20 sources on id', digest: sha('joined') },
      });
      await caughtUp();

      const getDatasets = watchRequests('mt.qry.datasets.GetDatasets');
      const getVersions = watchRequests('mt.qry.datasets.GetDatasetVersions');
      const listValidations = watchRequests('mt.qry.datasets.ListValidations');
      try {
        const { datasetVersion } = await http.data('query ($id: ID!) { datasetVersion(id: $id) { transform { kind description } parents { id validations { id } dataset { id name registeredBy } } } }', {
          id: deriveDatasetVersion.id,
        });
        expect(datasetVersion.transform).toEqual({ kind: 'EXTERNAL', description: 'joined the 20 sources on id' });
        expect(datasetVersion.parents.map((p: { id: string }) => p.id)).toEqual(parents);
        expect(datasetVersion.parents.map((p: { dataset: { name: string } }) => p.dataset.name)).toEqual(parents.map((_, i) => `batched-${i}`));
        const datasetRequests = (await getDatasets.seen()) as Array<{ datasetIds: string[] }>;
        expect(datasetRequests).toHaveLength(1);
        expect(datasetRequests[0].datasetIds).toHaveLength(20);
        // One for the version asked for, one for its 20 parents.
        expect(((await getVersions.seen()) as Array<{ datasetVersionIds: string[] }>).map((r) => r.datasetVersionIds.length)).toEqual([1, 20]);
        // The parents' validations: one request for all 20.
        expect(((await listValidations.seen()) as Array<{ datasetVersionIds: string[] }>).map((r) => r.datasetVersionIds.length)).toEqual([20]);
      } finally {
        getDatasets.stop();
        getVersions.stop();
        listValidations.stop();
      }
    });
  });

  describe('experiments', () => {
    let projectId: string;
    let experimentId: string;
    let datasetVersionId: string;

    beforeAll(async () => {
      ({
        defineProject: { id: projectId },
      } = await http.data('mutation ($input: DefineProjectInput!) { defineProject(input: $input) { id } }', {
        input: { name: 'Churn prediction', problem: 'Who cancels next month?', taskType: 'BINARY_CLASSIFICATION', target: 'churned', successCriteria: [{ metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE' }] },
      }));
      ({
        createExperiment: { id: experimentId },
      } = await http.data('mutation ($input: CreateExperimentInput!) { createExperiment(input: $input) { id } }', { input: { projectId, name: 'gbm baseline' } }));
      const { registerDataset } = await http.data(REGISTER, { input: { name: 'churn-train', projectId } });
      datasetVersionId = await remoteVersion(registerDataset.id, 'churn-train');
      await caughtUp();
    });

    const START = `mutation ($input: StartRunInput!) { startRun(input: $input) {
      id status params tags startedBy codeRef { repository commit path }
      experiment { id name } project { id name successCriteria { metric threshold direction } }
      datasetVersions { role datasetVersion { id dataset { name project { id } } } } } }`;

    it('defines projects and experiments, and starts a run that names its data, resolving each reference', async () => {
      const { project } = await http.data('query ($id: ID!) { project(id: $id) { name taskType target definedBy experiments { nodes { id name createdBy project { id } } } datasets { nodes { name } } } }', { id: projectId });
      expect(project).toEqual({
        name: 'Churn prediction',
        taskType: 'BINARY_CLASSIFICATION',
        target: 'churned',
        definedBy: 'ada@example.com',
        experiments: { nodes: [{ id: experimentId, name: 'gbm baseline', createdBy: 'ada@example.com', project: { id: projectId } }] },
        datasets: { nodes: [{ name: 'churn-train' }] },
      });

      const { startRun } = await http.data(
        START,
        {
          input: {
            experimentId,
            params: { learningRate: 0.05, maxDepth: 6, booster: 'gbtree' },
            datasetVersions: [{ datasetVersionId, role: 'TRAIN' }],
            codeRef: { repository: 'git@example.com:ml/churn.git', commit: 'a1b2c3d' },
            tags: ['baseline'],
          },
        },
        { token: 'bob-token' },
      );
      expect(startRun).toEqual({
        id: expect.any(String),
        status: 'RUNNING',
        params: { learningRate: 0.05, maxDepth: 6, booster: 'gbtree' },
        tags: ['baseline'],
        startedBy: 'bob@example.com',
        codeRef: { repository: 'git@example.com:ml/churn.git', commit: 'a1b2c3d', path: null },
        experiment: { id: experimentId, name: 'gbm baseline' },
        project: { id: projectId, name: 'Churn prediction', successCriteria: [{ metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE' }] },
        datasetVersions: [{ role: 'TRAIN', datasetVersion: { id: datasetVersionId, dataset: { name: 'churn-train', project: { id: projectId } } } }],
      });

      const bad = await http.request(START, { input: { experimentId, params: { lr: { nested: true } } } });
      expect(bad.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', details: { issues: [expect.objectContaining({ field: 'params.lr' })] } } });
      const unknown = await http.request(START, { input: { experimentId: randomUUID() } });
      expect(unknown.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });

    it('streams the points logMetrics stores to runMetrics subscribers, and stops listening when they leave', async () => {
      const { startRun: run } = await http.data(START, { input: { experimentId } });
      const subject = withNamespace(schema, subjects.runTelemetry(run.id));
      const client = webSocketClient(http.url, { authorization: 'Bearer ada-token' });
      const LOG = 'mutation ($input: LogMetricsInput!) { logMetrics(input: $input) { runId accepted alreadyRecorded } }';
      try {
        const live = new SubscriptionQueue<{ runMetrics: Array<{ key: string; value: number; step: number; timestamp: string }> }>(
          client,
          'subscription ($runId: ID!) { runMetrics(runId: $runId) { key value step timestamp } }',
          { runId: run.id },
        );
        // The subscription is live once a logged point comes back.
        let warmup = 0;
        await eventually(
          async () => {
            await http.data(LOG, { input: { runId: run.id, points: [{ key: 'warmup', value: 1, step: warmup++ }] } });
            await live.next(250);
          },
          { timeoutMs: 15_000 },
        );
        // While a subscriber listens, the gateway holds a subscription on the run's subject.
        await expect(nats.nc.request(subject, new Uint8Array(0), { timeout: 300 })).rejects.toMatchObject({ code: NatsErrorCode.Timeout });

        const points = [
          { key: 'loss', value: 0.9, step: 1, timestamp: '2026-11-22T12:00:01Z' },
          { key: 'loss', value: 0.5, step: 2, timestamp: '2026-11-22T12:00:02+00:00' },
          { key: 'auc', value: 0.71, step: 2 },
        ];
        expect((await http.data(LOG, { input: { runId: run.id, points } })).logMetrics).toEqual({ runId: run.id, accepted: 3, alreadyRecorded: false });
        let message = await live.next();
        while (message.data?.runMetrics.some((p) => p.key === 'warmup')) message = await live.next();
        expect(message.errors).toBeUndefined();
        expect(message.data!.runMetrics).toEqual([
          { key: 'loss', value: 0.9, step: 1, timestamp: '2026-11-22T12:00:01.000Z' },
          { key: 'loss', value: 0.5, step: 2, timestamp: '2026-11-22T12:00:02.000Z' },
          { key: 'auc', value: 0.71, step: 2, timestamp: expect.stringMatching(/Z$/) },
        ]);

        live.dispose();
        await eventually(async () => {
          await expect(nats.nc.request(subject, new Uint8Array(0), { timeout: 300 })).rejects.toMatchObject({ code: NatsErrorCode.NoResponders });
        });
      } finally {
        await client.dispose();
      }

      await caughtUp();
      const { run: stored } = await http.data('query ($id: ID!) { run(id: $id) { metricKeys latestMetrics { key value step } metrics(key: "loss") { key value step timestamp } } }', { id: run.id });
      expect(stored.metricKeys).toEqual(['auc', 'loss', 'warmup']);
      expect(stored.latestMetrics.find((m: { key: string }) => m.key === 'loss')).toEqual({ key: 'loss', value: 0.5, step: 2 });
      expect(stored.metrics).toEqual([
        { key: 'loss', value: 0.9, step: 1, timestamp: '2026-11-22T12:00:01.000Z' },
        { key: 'loss', value: 0.5, step: 2, timestamp: '2026-11-22T12:00:02.000Z' },
      ]);
    });

    it('refuses a subscription to a run that does not exist, or to a malformed id', async () => {
      const client = webSocketClient(http.url, { authorization: 'Bearer bob-token' });
      try {
        const missing = randomUUID();
        const unknown = new SubscriptionQueue(client, 'subscription ($runId: ID!) { runMetrics(runId: $runId) { key } }', { runId: missing });
        const first = await unknown.next();
        expect(first.errors).toEqual([expect.objectContaining({ message: `run ${missing} does not exist`, extensions: { code: 'NOT_FOUND', details: { id: missing } } })]);
        const malformed = new SubscriptionQueue(client, 'subscription { runMetrics(runId: "nope") { key } }');
        expect((await malformed.next()).errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'runId', message: 'must be a UUID' }] } });
      } finally {
        await client.dispose();
      }
    });

    it('logs artifacts, ends runs, filters, orders and compares them', async () => {
      const starts = await Promise.all(
        [0.1, 0.01].map(async (learningRate) => (await http.data(START, { input: { experimentId, params: { learningRate, booster: 'gbtree' }, tags: ['sweep'] } })).startRun.id as string),
      );
      const LOG = 'mutation ($input: LogMetricsInput!) { logMetrics(input: $input) { accepted } }';
      await http.data(LOG, { input: { runId: starts[0], points: [{ key: 'auc', value: 0.74, step: 10 }] } });
      await http.data(LOG, { input: { runId: starts[1], points: [{ key: 'auc', value: 0.83, step: 10 }] } });
      const badPoint = await http.request(LOG, { input: { runId: starts[0], points: [{ key: 'auc', value: 0.5, step: -1 }] } });
      expect(badPoint.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', details: { issues: [expect.objectContaining({ field: 'points[0].step' })] } });

      const { logArtifact } = await http.data('mutation ($input: LogArtifactInput!) { logArtifact(input: $input) { name uri digest size loggedBy run { id } } }', {
        input: { runId: starts[1], name: 'model.pkl', uri: 's3://models/churn/model.pkl', digest: sha('model'), size: 2048 },
      }, { token: 'bob-token' });
      expect(logArtifact).toEqual({ name: 'model.pkl', uri: 's3://models/churn/model.pkl', digest: sha('model'), size: 2048, loggedBy: 'bob@example.com', run: { id: starts[1] } });
      const { completeRun } = await http.data('mutation ($id: ID!) { completeRun(input: { runId: $id }) { status endedAt summary { key last count } } }', { id: starts[1] });
      expect(completeRun).toEqual({ status: 'COMPLETED', endedAt: expect.any(String), summary: [{ key: 'auc', last: 0.83, count: 1 }] });
      const { failRun } = await http.data('mutation ($id: ID!) { failRun(input: { runId: $id, reason: "diverged" }) { status failureReason } }', { id: starts[0] });
      expect(failRun).toEqual({ status: 'FAILED', failureReason: 'diverged' });
      const again = await http.request('mutation ($id: ID!) { failRun(input: { runId: $id, reason: "twice" }) { status } }', { id: starts[1] });
      expect(again.errors?.[0].extensions?.code).toBe('CONFLICT');

      await caughtUp();
      const listArtifacts = watchRequests('mt.qry.experiments.ListRunArtifacts');
      const { runs } = await http.data(
        `query ($experimentId: ID!) { runs(filter: { experimentId: $experimentId, tags: ["sweep"], metrics: [{ key: "auc", op: GT, value: 0.7 }] },
          orderBy: { field: METRIC, key: "auc", direction: DESC }) { nodes { id status experiment { id } artifacts { name } } pageInfo { hasNextPage } } }`,
        { experimentId },
      );
      expect(runs.nodes).toEqual([
        { id: starts[1], status: 'COMPLETED', experiment: { id: experimentId }, artifacts: [{ name: 'model.pkl' }] },
        { id: starts[0], status: 'FAILED', experiment: { id: experimentId }, artifacts: [] },
      ]);
      // The two runs' artifacts: one batched request.
      expect(((await listArtifacts.seen()) as Array<{ runIds: string[] }>).map((r) => r.runIds.length)).toEqual([2]);
      listArtifacts.stop();
      const failed = await http.data('query ($experimentId: ID!) { runs(filter: { experimentId: $experimentId, status: FAILED, params: [{ key: "learningRate", op: EQ, value: 0.1 }] }) { nodes { id } } }', { experimentId });
      expect(failed.runs.nodes).toEqual([{ id: starts[0] }]);
      const badOrder = await http.request('{ runs(orderBy: { field: METRIC }) { nodes { id } } }');
      expect(badOrder.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', details: { issues: [expect.objectContaining({ field: 'orderBy.key' })] } });

      const { compareRuns } = await http.data(
        `query ($ids: [ID!]!) { compareRuns(ids: $ids) {
          runs { id } commonParams { key value } differingParams { key values { value run { id } } }
          metrics { key series { count sampled points { step value } latest { value } run { id } } } } }`,
        { ids: starts },
      );
      expect(compareRuns.runs).toEqual([{ id: starts[0] }, { id: starts[1] }]);
      expect(compareRuns.commonParams).toEqual([{ key: 'booster', value: 'gbtree' }]);
      expect(compareRuns.differingParams).toEqual([{ key: 'learningRate', values: [{ value: 0.1, run: { id: starts[0] } }, { value: 0.01, run: { id: starts[1] } }] }]);
      expect(compareRuns.metrics).toEqual([
        {
          key: 'auc',
          series: [
            { count: 1, sampled: false, points: [{ step: 10, value: 0.74 }], latest: { value: 0.74 }, run: { id: starts[0] } },
            { count: 1, sampled: false, points: [{ step: 10, value: 0.83 }], latest: { value: 0.83 }, run: { id: starts[1] } },
          ],
        },
      ]);
      const one = await http.request('query ($ids: [ID!]!) { compareRuns(ids: $ids) { runs { id } } }', { ids: [starts[0]] });
      expect(one.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', details: { issues: [expect.objectContaining({ field: 'runIds' })] } });
    });

    it('starts a run and logs a batch once when the client retries with the same Idempotency-Key', async () => {
      const headers = { 'idempotency-key': `start-${randomUUID()}` };
      const first = (await http.data(START, { input: { experimentId, tags: ['retried'] } }, { headers })).startRun.id;
      const again = (await http.data(START, { input: { experimentId, tags: ['retried'] } }, { headers })).startRun.id;
      expect(again).toBe(first);
      const LOG = 'mutation ($input: LogMetricsInput!) { logMetrics(input: $input) { accepted alreadyRecorded } }';
      const batch = { input: { runId: first, points: [{ key: 'loss', value: 0.3, step: 1 }] } };
      const logHeaders = { 'idempotency-key': `log-${randomUUID()}` };
      expect((await http.data(LOG, batch, { headers: logHeaders })).logMetrics).toEqual({ accepted: 1, alreadyRecorded: false });
      expect((await http.data(LOG, batch, { headers: logHeaders })).logMetrics).toEqual({ accepted: 0, alreadyRecorded: true });
      // Another user's identical key is another command.
      expect((await http.data(LOG, batch, { headers: logHeaders, token: 'bob-token' })).logMetrics).toEqual({ accepted: 1, alreadyRecorded: false });
      expect(await store.readStream(`run-${first}`)).toHaveLength(1);
    });

    it('tells the history of a run, with who did what', async () => {
      const { startRun } = await http.data(START, { input: { experimentId } }, { token: 'bob-token' });
      await http.data('mutation ($id: ID!) { completeRun(input: { runId: $id }) { id } }', { id: startRun.id });
      const { history } = await http.data(HISTORY, { id: startRun.id });
      expect(history).toMatchObject({ aggregate: 'run', stream: `run-${startRun.id}`, verification: { valid: true, problem: null } });
      expect(history.events.map((e: { type: string; actor: string }) => [e.type, e.actor])).toEqual([
        ['experiments.RunStarted.v1', 'bob@example.com'],
        ...history.events.slice(1).map((e: { type: string }) => [e.type, 'ada@example.com']),
      ]);
      expect(history.events.at(-1).type).toBe('experiments.RunCompleted.v1');
    });
  });
});
