import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamicModule, INestApplication, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import { datasetsRpc, experimentsRpc, type MessageHeaders } from '@modeltrail/contracts';
import { connectBus, type ManagedBus, NatsRpcTransport, RpcClient } from '@modeltrail/messaging';
import { describeOnTestBus, onTestBus, platformSandbox, signedRpcClient, TEST_BUS_URL, uniqueName } from '@modeltrail/testing';
import { DatasetsModule } from '../../../services/datasets/src/datasets.module';
import { ExperimentsModule } from '../../../services/experiments/src/experiments.module';
import { RegistryModule } from '../../../services/registry/src/registry.module';
import { GraphQLHttpClient } from '../../test/graphql-client';
import { GatewayModule, GRAPHQL_PATH } from '../gateway.module';

/**
 * The registry through GraphQL: the gateway with the real datasets, experiments and registry
 * services behind it, over the real PostgreSQL and the test bus (NATS, or the in-process bus
 * where no server answers), in a database of its own. Models,
 * versions, runs and promotion requests are reached from each other as fields; refusals carry
 * their `extensions.code`.
 */
describeOnTestBus('GraphQL gateway with the registry', () => {
  // Without NATS, no streams to remove at the end: the sandbox's database only.
  const sandbox = platformSandbox('gwreg');
  const dir = join(tmpdir(), uniqueName('mt-gateway-registry')); // made in beforeAll: a skipped suite leaves nothing behind
  const environment = { ...sandbox.env, ARTIFACT_ROOT: join(dir, 'artifacts'), DATA_ROOTS: dir, LOG_LEVEL: 'error' };
  const ada: MessageHeaders = { actor: 'ada@example.com', correlationId: 'corr-gateway-registry' };
  const services: INestMicroservice[] = [];
  let gateway: INestApplication;
  let http: GraphQLHttpClient;
  let nats: ManagedBus;
  let rpc: RpcClient;

  const csv = join(dir, 'customers.csv');

  async function boot(module: DynamicModule, name: string): Promise<void> {
    const service = await NestFactory.createMicroservice(module, { strategy: new NatsRpcTransport({ nats: { url: TEST_BUS_URL, name: `${name}-gateway-registry-test` }, namespace: sandbox.namespace, queue: name }), logger: false });
    await service.listen();
    services.push(service);
  }

  beforeAll(async () => {
    mkdirSync(dir);
    writeFileSync(csv, `${['id,age,churned', ...Array.from({ length: 10 }, (_, i) => `${i + 1},${30 + i},${i % 3 ? 'no' : 'yes'}`)].join('\n')}\n`);
    await boot(DatasetsModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'datasets' }))), 'datasets');
    await boot(ExperimentsModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'experiments' }))), 'experiments');
    await boot(RegistryModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'registry' }))), 'registry');
    const config = onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'gateway', API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com', RPC_TIMEOUT_MS: '20000' }));
    gateway = await NestFactory.create(GatewayModule.forRoot(config), { logger: false });
    await gateway.listen(0, '127.0.0.1');
    http = new GraphQLHttpClient(`http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}${GRAPHQL_PATH}`, 'ada-token');
    nats = await connectBus({ url: TEST_BUS_URL, name: 'gateway-registry-test' });
    rpc = signedRpcClient(nats.nc, { timeoutMs: 20_000, namespace: sandbox.namespace });
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    for (const service of services.reverse()) await service.close();
    await nats?.close();
    await sandbox.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const card = { intendedUse: 'Churn risk scoring', limitations: 'EU only', evaluationData: 'October holdout', ethicalConsiderations: 'No protected attributes', caveats: 'Retrain monthly' };
  const signature = { inputs: [{ name: 'age', type: 'double' }], outputs: [{ name: 'churned', type: 'boolean' }] };

  /** A project (auc >= 0.8) with a validated dataset version, and a completed run on it that logged model.pkl. */
  async function completedRun(auc: number, name: string) {
    const project = await rpc.request(
      experimentsRpc.defineProject,
      { name, problem: 'Predict churn', taskType: 'BINARY_CLASSIFICATION', target: 'churned', successCriteria: [{ metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE' }] },
      { headers: ada },
    );
    const experiment = await rpc.request(experimentsRpc.createExperiment, { projectId: project.projectId, name: 'baseline' }, { headers: ada });
    const dataset = await rpc.request(datasetsRpc.registerDataset, { name: `${name} customers`, projectId: project.projectId }, { headers: ada });
    const version = await rpc.request(datasetsRpc.registerDatasetVersion, { datasetId: dataset.datasetId, uri: csv, format: 'CSV' }, { headers: ada });
    await rpc.request(datasetsRpc.validateDatasetVersion, { datasetVersionId: version.datasetVersionId, rules: [{ type: 'NOT_NULL', column: 'age' }] }, { headers: ada });
    const run = await rpc.request(experimentsRpc.startRun, { experimentId: experiment.experimentId, datasetVersions: [{ datasetVersionId: version.datasetVersionId, role: 'TRAIN' }] }, { headers: ada });
    await rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: [{ key: 'auc', value: auc, step: 0 }] }, { headers: ada });
    await rpc.request(experimentsRpc.logArtifact, { runId: run.runId, name: 'model.pkl', uri: `s3://models/${run.runId}.pkl`, digest: createHash('sha256').update(run.runId).digest('hex'), size: 10 }, { headers: ada });
    await rpc.request(experimentsRpc.completeRun, { runId: run.runId }, { headers: ada });
    return { projectId: project.projectId, runId: run.runId, datasetVersionId: version.datasetVersionId };
  }

  const REGISTER = 'mutation ($input: RegisterModelInput!) { registerModel(input: $input) { id name registeredBy project { id } } }';
  const CREATE = 'mutation ($input: CreateModelVersionInput!) { createModelVersion(input: $input) { id version status artifact { name digest } run { id status } model { id } } }';
  const REQUEST = 'mutation ($input: RequestPromotionInput!) { requestPromotion(input: $input) { id status gatesPassed gates { gate passed detail } } }';
  const APPROVE = 'mutation ($input: ApprovePromotionInput!) { approvePromotion(input: $input) { id status decidedBy } }';

  it('registers, versions and promotes through GraphQL, and walks model, versions, run, requests and alias history as fields', async () => {
    const source = await completedRun(0.9, 'churn gql');
    const { registerModel: model } = await http.data(REGISTER, { input: { projectId: source.projectId, name: 'churn' } });
    expect(model).toMatchObject({ name: 'churn', registeredBy: 'ada@example.com', project: { id: source.projectId } });

    const { createModelVersion: v1 } = await http.data(CREATE, { input: { modelId: model.id, runId: source.runId, artifactName: 'model.pkl', signature, modelCard: card } });
    expect(v1).toMatchObject({ version: 1, status: 'ACTIVE', artifact: { name: 'model.pkl' }, run: { id: source.runId, status: 'COMPLETED' }, model: { id: model.id } });

    const { requestPromotion: request } = await http.data(REQUEST, { input: { modelVersionId: v1.id, alias: 'champion', justification: 'first model' } });
    expect(request).toMatchObject({ status: 'PENDING', gatesPassed: true });
    expect(request.gates.map((g: { gate: string }) => g.gate)).toEqual(['RUN_COMPLETED', 'SUCCESS_CRITERIA', 'DATASET_VALIDATION', 'MODEL_CARD_COMPLETE']);

    const own = await http.request(APPROVE, { input: { requestId: request.id } });
    expect(own.errors?.[0]).toMatchObject({ message: expect.stringContaining('ada@example.com made promotion request'), extensions: { code: 'FORBIDDEN' } });

    const { approvePromotion } = await http.data(APPROVE, { input: { requestId: request.id, comment: 'ok' } }, { token: 'bob-token' });
    expect(approvePromotion).toEqual({ id: request.id, status: 'APPROVED', decidedBy: 'bob@example.com' });

    const { model: walked } = await http.data(
      `query ($id: ID!, $before: DateTime!) {
        model(id: $id) {
          latestVersion
          aliases { alias version modelVersion { id } }
          now: alias(name: "champion") { version approvedBy requestedBy modelVersion { id run { id } } promotionRequest { id status } previousModelVersion { id } }
          before: alias(name: "champion", asOf: $before) { version }
          aliasHistory(alias: "champion") { version validTo reason }
          versions { nodes { id version promotionRequests { nodes { id status model { id } modelVersion { id } } } datasetVersions { role datasetVersion { id } } } }
          promotionRequests { nodes { id } }
        }
      }`,
      { id: model.id, before: '2000-01-01T00:00:00Z' },
    );
    expect(walked).toEqual({
      latestVersion: 1,
      aliases: [{ alias: 'champion', version: 1, modelVersion: { id: v1.id } }],
      now: { version: 1, approvedBy: 'bob@example.com', requestedBy: 'ada@example.com', modelVersion: { id: v1.id, run: { id: source.runId } }, promotionRequest: { id: request.id, status: 'APPROVED' }, previousModelVersion: null },
      before: null,
      aliasHistory: [{ version: 1, validTo: null, reason: 'first model (approved: ok)' }],
      versions: { nodes: [{ id: v1.id, version: 1, promotionRequests: { nodes: [{ id: request.id, status: 'APPROVED', model: { id: model.id }, modelVersion: { id: v1.id } }] }, datasetVersions: [{ role: 'TRAIN', datasetVersion: { id: source.datasetVersionId } }] }] },
      promotionRequests: { nodes: [{ id: request.id }] },
    });

    const { run } = await http.data('query ($id: ID!) { run(id: $id) { modelVersions { id version model { id } } } }', { id: source.runId });
    expect(run).toEqual({ modelVersions: [{ id: v1.id, version: 1, model: { id: model.id } }] });

    const { aliasHistory } = await http.data('query ($m: ID!) { aliasHistory(modelId: $m, alias: "champion") { version approvedBy model { id } } }', { m: model.id });
    expect(aliasHistory).toEqual([{ version: 1, approvedBy: 'bob@example.com', model: { id: model.id } }]);
    const { modelVersion } = await http.data('query ($id: ID!) { modelVersion(id: $id) { aliases signature { inputs { name type } } modelCard { caveats } project { id } experiment { id } } }', { id: v1.id });
    expect(modelVersion).toMatchObject({ aliases: ['champion'], signature: { inputs: [{ name: 'age', type: 'double' }] }, modelCard: { caveats: 'Retrain monthly' }, project: { id: source.projectId } });
    const { models } = await http.data('query ($p: ID!) { models(filter: { projectId: $p }) { nodes { id } pageInfo { hasNextPage } } }', { p: source.projectId });
    expect(models).toEqual({ nodes: [{ id: model.id }], pageInfo: { hasNextPage: false } });
    const { promotionRequests } = await http.data('query ($m: ID!) { promotionRequests(filter: { modelId: $m, status: APPROVED }) { nodes { id } } }', { m: model.id });
    expect(promotionRequests.nodes).toEqual([{ id: request.id }]);

    const archive = await http.request('mutation ($input: ArchiveModelVersionInput!) { archiveModelVersion(input: $input) { id } }', { input: { modelVersionId: v1.id, reason: 'done' } });
    expect(archive.errors?.[0]).toMatchObject({ message: expect.stringContaining('holds the alias champion'), extensions: { code: 'CONFLICT' } });
  });

  it('answers bad input with clear codes: a failing gate, an unknown run, a missing artifact, a bad signature, a duplicate name', async () => {
    const source = await completedRun(0.85, 'churn gql errors');
    const { registerModel: model } = await http.data(REGISTER, { input: { projectId: source.projectId, name: 'churn' } });
    const duplicate = await http.request(REGISTER, { input: { projectId: source.projectId, name: 'CHURN' } });
    expect(duplicate.errors?.[0]).toMatchObject({ message: expect.stringContaining('already has a model named "churn"'), extensions: { code: 'CONFLICT' } });

    const missingRun = '00000000-0000-4000-8000-000000000000';
    const unknown = await http.request(CREATE, { input: { modelId: model.id, runId: missingRun, artifactName: 'model.pkl', signature } });
    expect(unknown.errors?.[0]).toMatchObject({ message: `run ${missingRun} does not exist`, extensions: { code: 'NOT_FOUND' } });
    const noArtifact = await http.request(CREATE, { input: { modelId: model.id, runId: source.runId, artifactName: 'weights.pt', signature } });
    expect(noArtifact.errors?.[0]).toMatchObject({ message: expect.stringContaining('has no artifact named "weights.pt"; it has "model.pkl"'), extensions: { code: 'BAD_USER_INPUT' } });
    const badSignature = await http.request(CREATE, { input: { modelId: model.id, runId: source.runId, artifactName: 'model.pkl', signature: { inputs: [], outputs: signature.outputs } } });
    expect(badSignature.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', details: { issues: [{ field: 'signature.inputs', message: 'must list at least one input' }] } } });

    const { createModelVersion: v1 } = await http.data(CREATE, { input: { modelId: model.id, runId: source.runId, artifactName: 'model.pkl', signature, modelCard: { intendedUse: 'scoring' } } });
    const { requestPromotion: request } = await http.data(REQUEST, { input: { modelVersionId: v1.id, alias: 'staging', justification: 'try it' } });
    expect(request.gatesPassed).toBe(false);
    const gate = await http.request(APPROVE, { input: { requestId: request.id } }, { token: 'bob-token' });
    expect(gate.errors?.[0]).toMatchObject({ message: expect.stringContaining('gate MODEL_CARD_COMPLETE did not pass'), extensions: { code: 'CONFLICT' } });
    const badAlias = await http.request(REQUEST, { input: { modelVersionId: v1.id, alias: 'Prod!', justification: 'x' } });
    expect(badAlias.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(badAlias.errors?.[0].message).toContain('field "alias": must be a lowercase identifier');
  });
});
