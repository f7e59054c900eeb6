import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { NatsRpcTransport } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner } from '@modeltrail/readmodel';
import { describeOnTestBus, onTestBus, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { ExperimentsModule } from '../../../services/experiments/src/experiments.module';
import { GraphQLHttpClient } from '../../test/graphql-client';
import { createGatewayApp } from '../gateway.app';
import { GRAPHQL_PATH } from '../gateway.module';

/**
 * The logParams mutation through the gateway, with the real experiments service behind it over
 * the real PostgreSQL and the test bus (NATS, or the in-process bus where no server answers),
 * driven as a portal (or a training script's helper) drives it.
 */
describeOnTestBus('GraphQL logParams', () => {
  const schema = uniqueName('gwparams');
  const readModel = `${schema}_ex`;
  const dir = join(tmpdir(), uniqueName('mt-gateway-params')); // made in beforeAll: a skipped suite leaves nothing behind
  const environment = { DATABASE_URL: TEST_DATABASE_URL, NATS_NAMESPACE: schema, EVENTSTORE_SCHEMA: schema, ARTIFACT_ROOT: join(dir, 'artifacts'), DATA_ROOTS: dir };
  let service: INestMicroservice;
  let gateway: INestApplication;
  let http: GraphQLHttpClient;
  const pool = createPool(TEST_DATABASE_URL, { max: 2 });
  const store = new PostgresEventStore({ pool, connectionString: TEST_DATABASE_URL, schema });
  let experimentId: string;

  const caughtUp = async () => {
    const head = await store.headPosition();
    await Promise.all(service.get<ProjectionRunner[]>(PROJECTION_RUNNERS).map((runner) => runner.waitFor(head)));
  };

  const START = 'mutation ($input: StartRunInput!) { startRun(input: $input) { id params } }';
  const LOG_PARAMS = 'mutation ($input: LogParamsInput!) { logParams(input: $input) { id status params startedBy experiment { id } } }';

  beforeAll(async () => {
    mkdirSync(dir);
    service = await NestFactory.createMicroservice(ExperimentsModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'experiments', READ_MODEL_SCHEMA: readModel }))), {
      strategy: new NatsRpcTransport({ nats: { url: TEST_BUS_URL, name: 'experiments-gateway-params-test' }, namespace: schema, queue: 'experiments' }),
      logger: false,
    });
    await service.listen();
    const config = onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'gateway', READ_MODEL_SCHEMA: schema, API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com', RPC_TIMEOUT_MS: '20000' }));
    gateway = await createGatewayApp(config, { logger: false });
    await gateway.listen(0, '127.0.0.1');
    http = new GraphQLHttpClient(`http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}${GRAPHQL_PATH}`, 'ada-token');

    const { defineProject } = await http.data('mutation ($input: DefineProjectInput!) { defineProject(input: $input) { id } }', {
      input: { name: 'Churn', problem: 'Who cancels next month?', taskType: 'BINARY_CLASSIFICATION', target: 'churned' },
    });
    ({
      createExperiment: { id: experimentId },
    } = await http.data('mutation ($input: CreateExperimentInput!) { createExperiment(input: $input) { id } }', { input: { projectId: defineProject.id, name: 'gbm' } }));
  });
  afterAll(async () => {
    await gateway?.close();
    await service?.close();
    for (const name of [schema, readModel]) await pool.query(`DROP SCHEMA IF EXISTS ${ident(name)} CASCADE`);
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds params to a running run as the authenticated user; the same params again change nothing; runs filters on them', async () => {
    const { startRun: run } = await http.data(START, { input: { experimentId, params: { learningRate: 0.05 } } }, { token: 'bob-token' });
    const { startRun: other } = await http.data(START, { input: { experimentId, params: { learningRate: 0.05 } } });
    const input = { runId: run.id, params: { learningRate: 0.05, maxDepth: 6, booster: 'gbtree' } };
    const { logParams } = await http.data(LOG_PARAMS, { input });
    expect(logParams).toEqual({ id: run.id, status: 'RUNNING', params: { learningRate: 0.05, maxDepth: 6, booster: 'gbtree' }, startedBy: 'bob@example.com', experiment: { id: experimentId } });
    expect((await http.data(LOG_PARAMS, { input })).logParams).toEqual(logParams);
    const events = await store.readStream(`run-${run.id}`);
    expect(events.map((e) => [e.type, e.metadata.actor])).toEqual([
      ['experiments.RunStarted.v1', 'bob@example.com'],
      ['experiments.RunParamsLogged.v1', 'ada@example.com'],
    ]);

    await caughtUp();
    const { runs } = await http.data('query ($experimentId: ID!) { runs(filter: { experimentId: $experimentId, params: [{ key: "maxDepth", op: GTE, value: 6 }] }) { nodes { id params } } }', {
      experimentId,
    });
    expect(runs.nodes).toEqual([{ id: run.id, params: { learningRate: 0.05, maxDepth: 6, booster: 'gbtree' } }]);
    const { run: stored } = await http.data('query ($id: ID!) { run(id: $id) { params } }', { id: other.id });
    expect(stored.params).toEqual({ learningRate: 0.05 });
  });

  it('answers CONFLICT for a changed value, naming the key and both values, BAD_USER_INPUT for bad params and NOT_FOUND for an unknown run, appending nothing', async () => {
    const { startRun: run } = await http.data(START, { input: { experimentId, params: { learningRate: 0.05 } } });
    const head = await store.headPosition();

    const changed = await http.request(LOG_PARAMS, { input: { runId: run.id, params: { learningRate: 0.1, maxDepth: 6 } } });
    expect(changed.data).toBeNull();
    expect(changed.errors).toEqual([
      expect.objectContaining({
        message: `run ${run.id} cannot change parameter "learningRate" from 0.05 to 0.1: params are immutable once logged (log the new value under another name)`,
        path: ['logParams'],
        extensions: expect.objectContaining({ code: 'CONFLICT' }),
      }),
    ]);

    const empty = await http.request(LOG_PARAMS, { input: { runId: run.id, params: {} } });
    expect(empty.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'params', message: 'must hold at least one parameter' }] } });
    const nested = await http.request(LOG_PARAMS, { input: { runId: run.id, params: { layers: [64, 32] } } });
    expect(nested.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', details: { issues: [expect.objectContaining({ field: 'params.layers' })] } });
    const tooMany = await http.request(LOG_PARAMS, { input: { runId: run.id, params: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, i])) } });
    expect(tooMany.errors?.[0]).toMatchObject({ message: `run ${run.id} would hold 201 parameters (1 logged, 200 new): a run holds at most 200 parameters in all`, extensions: { code: 'BAD_USER_INPUT' } });

    const missing = randomUUID();
    const unknown = await http.request(LOG_PARAMS, { input: { runId: missing, params: { maxDepth: 6 } } });
    expect(unknown.errors?.[0]).toMatchObject({ message: `run ${missing} does not exist`, extensions: { code: 'NOT_FOUND' } });

    expect(await store.headPosition()).toBe(head);
    expect(await store.readStream(`run-${run.id}`)).toHaveLength(1);
  });
});
