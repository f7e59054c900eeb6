import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import { ConflictError, datasetIdFor, datasetsRpc, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { connectBus, type ManagedBus, NatsRpcTransport, type RpcClient } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner } from '@modeltrail/readmodel';
import { describeOnTestBus, onTestBus, signedRpcClient, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { DatasetsModule } from './datasets.module';

/** The datasets service as it runs: a Nest app on the NATS transport, over the real PostgreSQL, on the test bus (NATS, else the in-process bus). */
describeOnTestBus('datasets service over the message bus', () => {
  const schema = uniqueName('dsvc');
  const config = onTestBus(loadConfig({ SERVICE_NAME: 'datasets', DATABASE_URL: TEST_DATABASE_URL, EVENTSTORE_SCHEMA: schema, READ_MODEL_SCHEMA: schema }));
  const clock = { now: () => '2026-11-22T12:00:00.000Z' };
  let app: INestMicroservice;
  let caller: ManagedBus;
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
    caller = await connectBus({ url: TEST_BUS_URL, name: 'datasets-test-caller' });
    rpc = signedRpcClient(caller.nc, { timeoutMs: 5000, namespace: schema });
  });
  afterAll(async () => {
    await app.close();
    await caller.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    await pool.end();
  });

  it('registers a dataset under an id derived from its name, and records who did it', async () => {
    const reply = await rpc.request(datasetsRpc.registerDataset, { name: 'churn-events', description: 'Customer churn' }, { headers });
    const datasetId = datasetIdFor(null, 'churn-events');
    expect(reply).toEqual({ datasetId, name: 'churn-events', description: 'Customer churn', projectId: null, status: 'Active', revision: 0 });
    const [event] = await store.readStream(`dataset-${datasetId}`);
    expect(event).toMatchObject({
      type: 'datasets.DatasetRegistered.v1',
      data: { datasetId, name: 'churn-events', registeredAt: '2026-11-22T12:00:00.000Z' },
      metadata: { actor: 'ada@example.com', correlationId: 'corr-datasets' },
    });
    await expect(rpc.request(datasetsRpc.getDataset, { datasetId: datasetId.toUpperCase() }, { headers })).resolves.toMatchObject({ datasetId, name: 'churn-events', revision: 0 });
  });

  it('refuses a second dataset of the same name in a project, whatever its case, and writes nothing', async () => {
    const projectId = randomUUID();
    const first = await rpc.request(datasetsRpc.registerDataset, { name: 'Churn', projectId }, { headers });
    const error = await rpc.request(datasetsRpc.registerDataset, { name: ' churn ', projectId, description: 'again' }, { headers }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toBe(`a dataset named "Churn" already exists in project ${projectId}: dataset ${first.datasetId}`);
    expect(await store.streamRevision(`dataset-${first.datasetId}`)).toBe(0);
    // The same name in another project is another dataset.
    const elsewhere = await rpc.request(datasetsRpc.registerDataset, { name: 'Churn', projectId: randomUUID() }, { headers });
    expect(elsewhere.datasetId).not.toBe(first.datasetId);
  });

  it('recognises a retried registration by its command id', async () => {
    const retried = { headers: { ...headers, commandId: randomUUID() } };
    const first = await rpc.request(datasetsRpc.registerDataset, { name: 'retried' }, retried);
    await expect(rpc.request(datasetsRpc.registerDataset, { name: 'retried' }, retried)).resolves.toEqual(first);
    expect(await store.readStream(`dataset-${first.datasetId}`)).toHaveLength(1);
  });

  it('rejects bad input naming the field, and writes nothing', async () => {
    const error = await rpc.request(datasetsRpc.registerDataset, { name: '  ' } as never, { headers }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/field "name": must not be empty/);
    expect(await store.streamRevision(`dataset-${datasetIdFor(null, '  ')}`)).toBe('no_stream');
  });

  it('answers NOT_FOUND and CONFLICT with their codes', async () => {
    const missing = randomUUID();
    await expect(rpc.request(datasetsRpc.archiveDataset, { datasetId: missing, reason: 'gone' }, { headers })).rejects.toBeInstanceOf(NotFoundError);
    await expect(rpc.request(datasetsRpc.getDataset, { datasetId: missing }, { headers })).rejects.toBeInstanceOf(NotFoundError);

    const { datasetId } = await rpc.request(datasetsRpc.registerDataset, { name: 'a' }, { headers });
    await rpc.request(datasetsRpc.archiveDataset, { datasetId, reason: 'superseded' }, { headers });
    const error = await rpc.request(datasetsRpc.changeDatasetDescription, { datasetId, description: 'new' }, { headers }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(/archived/);
    expect(await store.streamRevision(`dataset-${datasetId}`)).toBe(1);
  });

  it('lists datasets from the read model with filters and cursor pages', async () => {
    const project = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { datasetId } = await rpc.request(datasetsRpc.registerDataset, { name: `p-${i}`, projectId: project }, { headers });
      ids.push(datasetId);
    }
    await rpc.request(datasetsRpc.archiveDataset, { datasetId: ids[1], reason: 'bad labels' }, { headers });
    const runners = app.get<ProjectionRunner[]>(PROJECTION_RUNNERS);
    await Promise.all(runners.map((r) => store.headPosition().then((head) => r.waitFor(head))));

    const all = await rpc.request(datasetsRpc.listDatasets, { projectId: project }, { headers });
    expect(all.items.map((d) => [d.name, d.status])).toEqual(
      [...all.items].sort((a, b) => a.registeredAt.localeCompare(b.registeredAt) || a.datasetId.localeCompare(b.datasetId)).map((d) => [d.name, d.status]),
    );
    expect(all.items.map((d) => d.name).sort()).toEqual(['p-0', 'p-1', 'p-2']);
    expect(all.items.find((d) => d.name === 'p-1')).toMatchObject({ status: 'Archived', revision: 1, registeredBy: 'ada@example.com' });
    expect(all.pageInfo.hasNextPage).toBe(false);

    const firstPage = await rpc.request(datasetsRpc.listDatasets, { projectId: project, first: 2 }, { headers });
    expect(firstPage.items).toHaveLength(2);
    expect(firstPage.pageInfo.hasNextPage).toBe(true);
    const secondPage = await rpc.request(datasetsRpc.listDatasets, { projectId: project, first: 2, after: firstPage.pageInfo.endCursor! }, { headers });
    expect([...firstPage.items, ...secondPage.items].map((d) => d.datasetId)).toEqual(all.items.map((d) => d.datasetId));
    expect(secondPage.pageInfo.hasNextPage).toBe(false);

    const archived = await rpc.request(datasetsRpc.listDatasets, { projectId: project, status: 'Archived' }, { headers });
    expect(archived.items.map((d) => d.datasetId)).toEqual([ids[1]]);

    await expect(rpc.request(datasetsRpc.listDatasets, { after: 'not-a-cursor' }, { headers })).rejects.toThrow(/cursor "not-a-cursor"/);
    const forged = Buffer.from('2026-01-01T00:00:00.000Z|not-a-uuid').toString('base64url');
    await expect(rpc.request(datasetsRpc.listDatasets, { after: forged }, { headers })).rejects.toBeInstanceOf(ValidationError);
    await expect(rpc.request(datasetsRpc.listDatasets, { first: 1000 }, { headers })).rejects.toThrow(/field "first": must be at most 200/);
  });
});
