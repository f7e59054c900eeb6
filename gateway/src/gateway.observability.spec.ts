import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { configureLogging } from '@modeltrail/observability';
import { createPool, ident } from '@modeltrail/postgres';
import { describeOnTestBus, eventually, onTestBus, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { DatasetsModule } from '../../services/datasets/src/datasets.module';
import { GraphQLHttpClient } from '../test/graphql-client';
import { createGatewayApp } from './gateway.app';
import { GRAPHQL_PATH } from './gateway.module';

const METRICS_TOKEN = 'metrics-token-for-the-gateway-spec';

/**
 * The gateway and the datasets service in one process (as the one-process composition runs
 * them), their log lines captured: a caller's x-request-id comes back in the response and is
 * the correlation id of the service's log lines for that request; the gateway's own port serves
 * /metrics (behind METRICS_TOKEN), /health and /ready for the whole process.
 */
describeOnTestBus('gateway observability: request ids, JSON logs, /metrics, /health, /ready', () => {
  const schema = uniqueName('gwobs');
  const readModel = `${schema}_ds`;
  const dir = join(tmpdir(), uniqueName('mt-gwobs'));
  const environment = { DATABASE_URL: TEST_DATABASE_URL, NATS_NAMESPACE: schema, EVENTSTORE_SCHEMA: schema, ARTIFACT_ROOT: join(dir, 'artifacts'), DATA_ROOTS: dir };
  const lines: Array<Record<string, unknown>> = [];
  let service: INestMicroservice;
  let gateway: INestApplication;
  let base: string;
  let http: GraphQLHttpClient;

  beforeAll(async () => {
    mkdirSync(dir);
    // Every line of the process, as JSON objects (before the apps are made: they log through it).
    configureLogging({ service: 'gwobs-test', level: 'debug', destination: { write: (chunk: string) => void chunk.split('\n').filter(Boolean).forEach((line) => lines.push(JSON.parse(line) as Record<string, unknown>)) } });
    const datasetsConfig = onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'datasets', READ_MODEL_SCHEMA: readModel }));
    service = await createServiceApp(DatasetsModule.forRoot(datasetsConfig), datasetsConfig);
    await service.listen();
    const config = onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'gateway', READ_MODEL_SCHEMA: schema, API_TOKENS: 'ada-token=ada@example.com', METRICS_TOKEN }));
    gateway = await createGatewayApp(config, { logger: false });
    await gateway.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
    http = new GraphQLHttpClient(`${base}${GRAPHQL_PATH}`, 'ada-token');
  });
  afterAll(async () => {
    await gateway?.close();
    await service?.close();
    const pool = createPool(TEST_DATABASE_URL, { max: 1 });
    for (const name of [schema, readModel]) await pool.query(`DROP SCHEMA IF EXISTS ${ident(name)} CASCADE`);
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const REGISTER = 'mutation RegisterDataset($input: RegisterDatasetInput!) { registerDataset(input: $input) { id } }';

  it("answers with the caller's x-request-id, and the service's log lines for that request carry it as correlationId", async () => {
    const requestId = `obs-${randomBytes(6).toString('hex')}`;
    const response = await http.request<{ registerDataset: { id: string } }>(REGISTER, { input: { name: `churn-${requestId}` } }, { headers: { 'x-request-id': requestId } });
    expect(response.errors).toBeUndefined();
    expect(response.headers.get('x-request-id')).toBe(requestId);
    expect(response.headers.get('x-correlation-id')).toBe(requestId);
    const handled = await eventually(() => {
      const mine = lines.filter((line) => line.correlationId === requestId && line.service === 'datasets');
      expect(mine.length).toBeGreaterThan(0);
      return mine;
    });
    expect(handled).toContainEqual(expect.objectContaining({ level: 'debug', context: 'Rpc', outcome: 'ok', msg: expect.stringMatching(/^handled mt\.cmd\.datasets\.\w+: ok$/) }));
    for (const line of handled) expect(typeof line.time).toBe('string');
  });

  it('makes a request id when the given one is unsafe or too long', async () => {
    for (const given of ['has spaces', 'x'.repeat(129), '<script>']) {
      const response = await http.request('{ __typename }', {}, { headers: { 'x-request-id': given } });
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('serves /metrics behind METRICS_TOKEN, with the operations, requests and appends counted', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const response = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    const count = (metric: string, labels: RegExp) => text.split('\n').filter((line) => line.startsWith(`${metric}_count{`) && labels.test(line)).reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    expect(count('modeltrail_graphql_operation_duration_seconds', /operation="RegisterDataset",type="mutation",outcome="ok"/)).toBeGreaterThan(0);
    expect(count('modeltrail_rpc_server_duration_seconds', /subject="mt\.cmd\.datasets\.\w+",outcome="ok"/)).toBeGreaterThan(0);
    expect(count('modeltrail_rpc_client_duration_seconds', /subject="mt\.cmd\.datasets\.\w+",outcome="ok"/)).toBeGreaterThan(0);
    expect(count('modeltrail_eventstore_append_duration_seconds', /store="postgres",outcome="ok"/)).toBeGreaterThan(0);
    expect(text).toMatch(/^modeltrail_projection_lag_positions\{[^}]*projection="[^"]+"[^}]*\} \d+$/m);
    expect(text).not.toMatch(/obs-[0-9a-f]{12}/); // no request ids in labels
  });

  it('answers /health and /ready (every part of the process) without a token, and a JSON 404 elsewhere as before', async () => {
    const health = await fetch(`${base}/health`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await fetch(`${base}/ready`);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect([ready.status, body.status]).toEqual([200, 'ready']);
    expect(Object.keys(body.checks).sort()).toEqual(['datasets:bus', 'datasets:database', 'gateway:bus', 'gateway:database', 'gateway:http']);
    const missing = await fetch(`${base}/metricsx`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/json/);
  });
});
