import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import { ConflictError, datasetsRpc, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { connectNats, type ManagedNatsConnection, NatsRpcTransport, RpcClient } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { TEST_DATABASE_URL, TEST_NATS_URL, uniqueName } from '@modeltrail/testing';
import { DatasetsModule } from './datasets.module';

/** The datasets service as it runs: a Nest app on the NATS transport, over the real PostgreSQL and NATS. */
describe('datasets service over NATS', () => {
  const schema = uniqueName('dsvc');
  const config = loadConfig({ SERVICE_NAME: 'datasets', DATABASE_URL: TEST_DATABASE_URL, NATS_URL: TEST_NATS_URL, EVENTSTORE_SCHEMA: schema });
  const clock = { now: () => '2026-11-22T12:00:00.000Z' };
  let app: INestMicroservice;
  let caller: ManagedNatsConnection;
  let rpc: RpcClient;
  const headers = { actor: 'ada@example.com', correlationId: 'corr-datasets' };
  const pool = createPool(TEST_DATABASE_URL, { max: 2 });
  const store = new PostgresEventStore({ pool, connectionString: TEST_DATABASE_URL, schema });

  beforeAll(async () => {
    app = await NestFactory.createMicroservice(DatasetsModule.forRoot(config, clock), {
      strategy: new NatsRpcTransport({ nats: { url: config.natsUrl, name: 'datasets-test' }, namespace: schema }),
      logger: false,
    });
    await app.listen();
    caller = await connectNats({ url: TEST_NATS_URL, name: 'datasets-test-caller' });
    rpc = new RpcClient(caller.nc, { timeoutMs: 5000, namespace: schema });
  });
  afterAll(async () => {
    await app.close();
    await caller.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    await pool.end();
  });

  it('registers a dataset and records who did it', async () => {
    const datasetId = randomUUID();
    const reply = await rpc.request(datasetsRpc.registerDataset, { datasetId, name: 'churn-events', description: 'Customer churn' }, { headers });
    expect(reply).toEqual({ datasetId, name: 'churn-events', description: 'Customer churn', projectId: null, status: 'Active', revision: 0 });
    const [event] = await store.readStream(`dataset-${datasetId}`);
    expect(event).toMatchObject({
      type: 'datasets.DatasetRegistered.v1',
      data: { datasetId, name: 'churn-events', registeredAt: '2026-11-22T12:00:00.000Z' },
      metadata: { actor: 'ada@example.com', correlationId: 'corr-datasets' },
    });
    await expect(rpc.request(datasetsRpc.getDataset, { datasetId }, { headers })).resolves.toMatchObject({ name: 'churn-events', revision: 0 });
  });

  it('rejects bad input naming the field, and writes nothing', async () => {
    const datasetId = randomUUID();
    const error = await rpc.request(datasetsRpc.registerDataset, { datasetId, name: '  ' } as never, { headers }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/field "name": must not be empty/);
    expect(await store.streamRevision(`dataset-${datasetId}`)).toBe('no_stream');
  });

  it('answers NOT_FOUND and CONFLICT with their codes', async () => {
    const missing = randomUUID();
    await expect(rpc.request(datasetsRpc.archiveDataset, { datasetId: missing, reason: 'gone' }, { headers })).rejects.toBeInstanceOf(NotFoundError);
    await expect(rpc.request(datasetsRpc.getDataset, { datasetId: missing }, { headers })).rejects.toBeInstanceOf(NotFoundError);

    const datasetId = randomUUID();
    await rpc.request(datasetsRpc.registerDataset, { datasetId, name: 'a' }, { headers });
    await rpc.request(datasetsRpc.archiveDataset, { datasetId, reason: 'superseded' }, { headers });
    const error = await rpc.request(datasetsRpc.changeDatasetDescription, { datasetId, description: 'new' }, { headers }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(/archived/);
    expect(await store.streamRevision(`dataset-${datasetId}`)).toBe(1);
  });
});
