import 'reflect-metadata';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamicModule, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import {
  ConflictError,
  datasetsRpc,
  experimentsRpc,
  ForbiddenError,
  type MessageHeaders,
  type ModelCard,
  modelIdFor,
  modelStream,
  modelVersionIdFor,
  modelVersionStream,
  NotFoundError,
  registryRpc,
  ValidationError,
} from '@modeltrail/contracts';
import { type EventStore, PostgresEventStore } from '@modeltrail/eventstore';
import { connectBus, type ManagedBus, NatsRpcTransport, RpcClient } from '@modeltrail/messaging';
import { createPool } from '@modeltrail/postgres';
import { describeOnTestBus, onTestBus, platformSandbox, signedRpcClient, TEST_BUS_URL, uniqueName } from '@modeltrail/testing';
import { DatasetsModule } from '../../datasets/src/datasets.module';
import { ExperimentsModule } from '../../experiments/src/experiments.module';
import type { Clock } from './clock';
import { RegistryModule } from './registry.module';

/** A clock one second further at each reading: alias moves get distinct, known times. */
class SteppingClock implements Clock {
  private at = Date.parse('2026-11-22T10:00:00.000Z');
  now(): string {
    this.at += 1_000;
    return new Date(this.at).toISOString();
  }
}

/**
 * The registry as it runs: a Nest app on the NATS transport over the real PostgreSQL, on the test
 * bus (NATS, else the in-process bus), in a database of its own, next to the experiments and
 * datasets services it reads runs, artifacts, success criteria and validations from. Every
 * refusal leaves the store as it was.
 */
describeOnTestBus('registry service over the message bus', () => {
  // Without NATS there are no JetStream streams of its own to remove afterwards.
  const sandbox = platformSandbox('registry');
  const dir = join(tmpdir(), uniqueName('mt-registry')); // made in beforeAll: a skipped suite leaves nothing behind
  const environment = { ...sandbox.env, ARTIFACT_ROOT: join(dir, 'artifacts'), DATA_ROOTS: dir, LOG_LEVEL: 'error' };
  const ada: MessageHeaders = { actor: 'ada@example.com', correlationId: 'corr-registry' };
  const bob: MessageHeaders = { actor: 'bob@example.com', correlationId: 'corr-registry' };
  const clock = new SteppingClock();
  const services: INestMicroservice[] = [];
  let caller: ManagedBus;
  let rpc: RpcClient;
  let store: EventStore;
  const pool = createPool(sandbox.databaseUrl, { max: 2 });

  const csv = join(dir, 'customers.csv');
  const badCsv = join(dir, 'customers-with-gaps.csv');

  async function boot(module: DynamicModule, name: string): Promise<void> {
    const app = await NestFactory.createMicroservice(module, { strategy: new NatsRpcTransport({ nats: { url: TEST_BUS_URL, name: `${name}-registry-test` }, namespace: sandbox.namespace, queue: name }), logger: false });
    await app.listen();
    services.push(app);
  }

  beforeAll(async () => {
    mkdirSync(dir);
    writeFileSync(csv, `${['id,age,churned', ...Array.from({ length: 10 }, (_, i) => `${i + 1},${30 + i},${i % 3 ? 'no' : 'yes'}`)].join('\n')}\n`);
    writeFileSync(badCsv, `${['id,age,churned', ...Array.from({ length: 10 }, (_, i) => `${i + 1},${i === 3 ? '' : 30 + i},no`)].join('\n')}\n`);
    // One after another: the first creates the database the others then find.
    await boot(DatasetsModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'datasets' }))), 'datasets');
    await boot(ExperimentsModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'experiments' }))), 'experiments');
    await boot(RegistryModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'registry' })), clock), 'registry');
    caller = await connectBus({ url: TEST_BUS_URL, name: 'registry-test-caller' });
    rpc = signedRpcClient(caller.nc, { timeoutMs: 20_000, namespace: sandbox.namespace });
    store = new PostgresEventStore({ pool, connectionString: sandbox.databaseUrl, schema: 'eventstore' });
  }, 60_000);
  afterAll(async () => {
    for (const service of services.reverse()) await service.close();
    await caller?.close();
    await pool.end();
    await sandbox.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  const completeCard: ModelCard = {
    intendedUse: 'Scoring churn risk of existing customers',
    limitations: 'Trained on EU customers only',
    evaluationData: 'Holdout of October 2026',
    ethicalConsiderations: 'No protected attributes are used',
    caveats: 'Retrain monthly',
  };
  const signature = { inputs: [{ name: 'age', type: 'double' }], outputs: [{ name: 'churned', type: 'boolean' }] };
  const digest = (text: string) => createHash('sha256').update(text).digest('hex');

  async function failure(promise: Promise<unknown>): Promise<Error> {
    const outcome = await promise.then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    if (!outcome) throw new Error('expected the request to fail');
    return outcome;
  }

  /** The request fails with `type` and a message matching `message`, and the store gains no event. */
  async function refused(promise: () => Promise<unknown>, type: new (...args: never[]) => Error, message: RegExp | string): Promise<Error> {
    const before = await sandbox.storedEvents();
    const error = await failure(promise());
    expect(error).toBeInstanceOf(type);
    expect(error.message).toMatch(message);
    expect(await sandbox.storedEvents()).toBe(before);
    return error;
  }

  let projects = 0;
  /** A project with a success criterion (auc >= 0.8), an experiment, and a validated TRAIN dataset version. */
  async function newProject(options: { validate?: 'passing' | 'failing' | 'never' } = {}) {
    const project = await rpc.request(
      experimentsRpc.defineProject,
      { name: `churn ${++projects} ${sandbox.namespace}`, problem: 'Predict churn', taskType: 'BINARY_CLASSIFICATION', target: 'churned', successCriteria: [{ metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE' }] },
      { headers: ada },
    );
    const experiment = await rpc.request(experimentsRpc.createExperiment, { projectId: project.projectId, name: 'baseline' }, { headers: ada });
    const dataset = await rpc.request(datasetsRpc.registerDataset, { name: `customers ${projects}`, projectId: project.projectId }, { headers: ada });
    const file = options.validate === 'failing' ? badCsv : csv;
    const version = await rpc.request(datasetsRpc.registerDatasetVersion, { datasetId: dataset.datasetId, uri: file, format: 'CSV' }, { headers: ada });
    if (options.validate !== 'never') {
      await rpc.request(datasetsRpc.validateDatasetVersion, { datasetVersionId: version.datasetVersionId, rules: [{ type: 'NOT_NULL', column: 'age' }] }, { headers: ada });
    }
    return { projectId: project.projectId, experimentId: experiment.experimentId, datasetVersionId: version.datasetVersionId, datasetId: dataset.datasetId };
  }

  /** A run on the project's dataset version with an auc and a model artifact, completed unless told otherwise. */
  async function trainedRun(p: { experimentId: string; datasetVersionId: string }, auc: number, options: { complete?: boolean } = {}) {
    const run = await rpc.request(
      experimentsRpc.startRun,
      {
        experimentId: p.experimentId,
        params: { lr: 0.01, depth: 6 },
        datasetVersions: [{ datasetVersionId: p.datasetVersionId, role: 'TRAIN' }],
        codeRef: { repository: 'git@example.com:ml/churn.git', commit: 'c0ffee1', path: 'train.py' },
      },
      { headers: ada },
    );
    await rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: [{ key: 'auc', value: auc - 0.1, step: 0 }, { key: 'auc', value: auc, step: 1 }] }, { headers: ada });
    const artifact = await rpc.request(experimentsRpc.logArtifact, { runId: run.runId, name: 'model.pkl', uri: `s3://models/${run.runId}/model.pkl`, digest: digest(run.runId), size: 4_096 }, { headers: ada });
    await rpc.request(experimentsRpc.logArtifact, { runId: run.runId, name: 'report.html', uri: `s3://models/${run.runId}/report.html`, digest: digest(`${run.runId}-report`), size: 100 }, { headers: ada });
    if (options.complete ?? true) await rpc.request(experimentsRpc.completeRun, { runId: run.runId }, { headers: ada });
    return { runId: run.runId, artifact };
  }

  const register = (projectId: string, name = 'churn-classifier') => rpc.request(registryRpc.registerModel, { projectId, name, description: 'Who will leave next month' }, { headers: ada });
  const createVersion = (modelId: string, runId: string, card: Partial<ModelCard> = completeCard) =>
    rpc.request(registryRpc.createModelVersion, { modelId, runId, artifactName: 'model.pkl', signature, modelCard: card }, { headers: ada });
  const requestPromotion = (modelVersionId: string, alias = 'champion', headers = ada) =>
    rpc.request(registryRpc.requestPromotion, { modelVersionId, alias, justification: 'beats the current champion on the holdout' }, { headers });
  const approve = (requestId: string, headers = bob) => rpc.request(registryRpc.approvePromotion, { requestId, comment: 'checked the report' }, { headers });
  const version = async (modelVersionId: string) => (await rpc.request(registryRpc.getModelVersions, { modelVersionIds: [modelVersionId] }, { headers: ada })).items[0];

  // -------------------------------------------------------------------------------------------

  it('takes a model from a validated, completed run to champion, moves the alias to a better version, and answers the alias for any past moment', async () => {
    const p = await newProject();
    const first = await trainedRun(p, 0.85);

    const model = await register(p.projectId);
    expect(model).toMatchObject({ modelId: modelIdFor(p.projectId, 'churn-classifier'), projectId: p.projectId, name: 'churn-classifier', latestVersion: 0, aliases: [], registeredBy: 'ada@example.com', revision: 0 });

    const v1 = await createVersion(model.modelId, first.runId);
    expect(v1).toMatchObject({
      modelVersionId: modelVersionIdFor(model.modelId, 1),
      modelId: model.modelId,
      projectId: p.projectId,
      experimentId: p.experimentId,
      runId: first.runId,
      version: 1,
      status: 'ACTIVE',
      artifact: { name: 'model.pkl', uri: first.artifact.uri, digest: first.artifact.digest, size: 4_096 },
      metrics: [{ key: 'auc', last: 0.85, min: 0.75, max: 0.85, count: 2, lastStep: 1 }],
      params: { lr: 0.01, depth: 6 },
      codeRef: { repository: 'git@example.com:ml/churn.git', commit: 'c0ffee1', path: 'train.py' },
      datasetVersions: [{ datasetVersionId: p.datasetVersionId, datasetId: p.datasetId, role: 'TRAIN' }],
      signature,
      modelCard: completeCard,
      aliases: [],
      createdBy: 'ada@example.com',
      revision: 0,
    });

    const request1 = await requestPromotion(v1.modelVersionId);
    expect(request1).toMatchObject({ modelId: model.modelId, modelVersionId: v1.modelVersionId, version: 1, alias: 'champion', status: 'PENDING', gatesPassed: true, requestedBy: 'ada@example.com' });
    expect(request1.gates.map((g) => [g.gate, g.passed])).toEqual([
      ['RUN_COMPLETED', true],
      ['SUCCESS_CRITERIA', true],
      ['DATASET_VALIDATION', true],
      ['MODEL_CARD_COMPLETE', true],
    ]);
    expect(request1.gates[1].criteria).toEqual([{ metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE', value: 0.85, passed: true }]);
    expect(request1.gates[2].datasets).toEqual([expect.objectContaining({ datasetVersionId: p.datasetVersionId, role: 'TRAIN', passed: true, validationId: expect.any(String) })]);

    const approved1 = await approve(request1.requestId);
    expect(approved1).toMatchObject({ status: 'APPROVED', decidedBy: 'bob@example.com', decisionNote: 'checked the report' });
    expect((await version(v1.modelVersionId)).aliases).toEqual(['champion']);

    // The approval and the alias move are one append to the model's stream.
    const events = await store.readStream(modelStream(model.modelId));
    expect(events.map((e) => e.type)).toEqual(['registry.ModelRegistered.v1', 'registry.PromotionRequested.v1', 'registry.PromotionApproved.v1', 'registry.AliasAssigned.v1']);
    expect(events[3].metadata.actor).toBe('bob@example.com');
    expect(events[3].data).toMatchObject({ modelVersionId: v1.modelVersionId, previousModelVersionId: null, requestId: request1.requestId, requestedBy: 'ada@example.com', approvedBy: 'bob@example.com' });

    // A better run becomes version 2 and takes the alias; version 1 loses it in the same event.
    const second = await trainedRun(p, 0.9);
    const v2 = await createVersion(model.modelId, second.runId);
    expect(v2).toMatchObject({ version: 2, modelVersionId: modelVersionIdFor(model.modelId, 2) });
    const request2 = await requestPromotion(v2.modelVersionId);
    await approve(request2.requestId);
    expect((await version(v1.modelVersionId)).aliases).toEqual([]);
    expect((await version(v2.modelVersionId)).aliases).toEqual(['champion']);
    const [moved] = (await store.readStream(modelStream(model.modelId), { direction: 'backwards', maxCount: 1 })) as Array<{ type: string; data: { previousModelVersionId: string } }>;
    expect(moved).toMatchObject({ type: 'registry.AliasAssigned.v1', data: { modelVersionId: v2.modelVersionId, previousModelVersionId: v1.modelVersionId } });

    const { items: history } = await rpc.request(registryRpc.aliasHistory, { modelId: model.modelId, alias: 'champion' }, { headers: ada });
    expect(history).toMatchObject([
      { modelVersionId: v2.modelVersionId, version: 2, previousModelVersionId: v1.modelVersionId, requestId: request2.requestId, requestedBy: 'ada@example.com', approvedBy: 'bob@example.com', reason: 'beats the current champion on the holdout (approved: checked the report)', validTo: null, validToPosition: null },
      { modelVersionId: v1.modelVersionId, version: 1, previousModelVersionId: null, requestId: request1.requestId, validTo: history[0].validFrom, validToPosition: history[0].validFromPosition },
    ]);
    expect(history[0].validFromPosition).toBeGreaterThan(history[1].validFromPosition);

    const aliasAt = (asOf: { asOf?: string; asOfPosition?: number }) => rpc.request(registryRpc.getAlias, { modelId: model.modelId, alias: 'champion', ...asOf }, { headers: ada });
    const before = new Date(Date.parse(history[1].validFrom) - 1).toISOString();
    const between = new Date(Date.parse(history[0].validFrom) - 1).toISOString();
    expect(await aliasAt({ asOf: before })).toEqual({ assignment: null, version: null });
    expect((await aliasAt({ asOf: history[1].validFrom })).assignment?.modelVersionId).toBe(v1.modelVersionId);
    expect((await aliasAt({ asOf: between })).version).toMatchObject({ modelVersionId: v1.modelVersionId, version: 1 });
    expect((await aliasAt({ asOf: '2099-01-01T00:00:00Z' })).assignment?.modelVersionId).toBe(v2.modelVersionId);
    expect((await aliasAt({})).assignment?.modelVersionId).toBe(v2.modelVersionId);
    expect((await aliasAt({ asOfPosition: history[1].validFromPosition - 1 })).assignment).toBeNull();
    expect((await aliasAt({ asOfPosition: history[0].validFromPosition - 1 })).assignment?.modelVersionId).toBe(v1.modelVersionId);
    expect((await aliasAt({ asOfPosition: history[0].validFromPosition })).assignment?.modelVersionId).toBe(v2.modelVersionId);

    const current = await rpc.request(registryRpc.getModels, { modelIds: [model.modelId] }, { headers: ada });
    expect(current.items[0]).toMatchObject({ latestVersion: 2, aliases: [{ alias: 'champion', modelVersionId: v2.modelVersionId, version: 2 }] });

    // Lists: versions newest first, requests newest first, models of the project.
    const versions = await rpc.request(registryRpc.listModelVersions, { modelId: model.modelId, first: 1 }, { headers: ada });
    expect(versions.items.map((v) => v.version)).toEqual([2]);
    const rest = await rpc.request(registryRpc.listModelVersions, { modelId: model.modelId, first: 1, after: versions.pageInfo.endCursor! }, { headers: ada });
    expect(rest).toMatchObject({ items: [{ version: 1 }], pageInfo: { hasNextPage: false } });
    const requests = await rpc.request(registryRpc.listPromotionRequests, { filter: { modelId: model.modelId } }, { headers: ada });
    expect(requests.items.map((r) => r.requestId)).toEqual([request2.requestId, request1.requestId]);
    const byRun = await rpc.request(registryRpc.listRunModelVersions, { runIds: [first.runId, second.runId, randomUUID()] }, { headers: ada });
    expect(byRun.items.map((v) => [v.runId, v.version])).toEqual([
      [first.runId, 1],
      [second.runId, 2],
    ]);
    const models = await rpc.request(registryRpc.listModels, { projectId: p.projectId }, { headers: ada });
    expect(models.items.map((m) => m.modelId)).toEqual([model.modelId]);

    // Archiving: refused while the version holds the alias (naming it), allowed once it moved away.
    await refused(() => rpc.request(registryRpc.archiveModelVersion, { modelVersionId: v2.modelVersionId, reason: 'done' }, { headers: ada }), ConflictError, /holds the alias champion/);
    const archived = await rpc.request(registryRpc.archiveModelVersion, { modelVersionId: v1.modelVersionId, reason: 'superseded by version 2' }, { headers: ada });
    expect(archived).toMatchObject({ status: 'ARCHIVED', archiveReason: 'superseded by version 2', archivedAt: expect.any(String) });
    await refused(() => requestPromotion(v1.modelVersionId, 'challenger'), ConflictError, 'version 1 of model "churn-classifier" is archived');
  });

  it('refuses approving one\'s own request, and a request with a failing gate, naming the gate; a rejection closes the request', async () => {
    const p = await newProject();
    const run = await trainedRun(p, 0.82);
    const model = await register(p.projectId);
    const v1 = await createVersion(model.modelId, run.runId, { ...completeCard, caveats: '' });

    const request = await requestPromotion(v1.modelVersionId);
    expect(request).toMatchObject({ status: 'PENDING', gatesPassed: false });
    expect(request.gates.find((g) => g.gate === 'MODEL_CARD_COMPLETE')).toMatchObject({ passed: false, detail: 'the model card lacks caveats' });

    await refused(() => approve(request.requestId, ada), ForbiddenError, 'ada@example.com made promotion request');
    await refused(() => approve(request.requestId), ConflictError, /gate MODEL_CARD_COMPLETE did not pass \(MODEL_CARD_COMPLETE: the model card lacks caveats\)/);

    const rejected = await rpc.request(registryRpc.rejectPromotion, { requestId: request.requestId, reason: 'fill the card' }, { headers: bob });
    expect(rejected).toMatchObject({ status: 'REJECTED', decidedBy: 'bob@example.com', decisionNote: 'fill the card' });
    await refused(() => approve(request.requestId), ConflictError, 'was already rejected by bob@example.com');

    // The card completed, a new request passes every gate and is approved.
    const updated = await rpc.request(registryRpc.updateModelCard, { modelVersionId: v1.modelVersionId, modelCard: completeCard }, { headers: ada });
    expect(updated).toMatchObject({ modelCard: completeCard, revision: 1 });
    const again = await requestPromotion(v1.modelVersionId);
    expect(again.gatesPassed).toBe(true);
    await expect(approve(again.requestId)).resolves.toMatchObject({ status: 'APPROVED' });
    await refused(() => approve(again.requestId, { ...bob, actor: 'carol@example.com' }), ConflictError, 'was already approved by bob@example.com');
  });

  it('records failing data and criteria gates: a version never validated, or validated with failures, or under the threshold', async () => {
    const never = await newProject({ validate: 'never' });
    const neverModel = await register(never.projectId);
    const neverVersion = await createVersion(neverModel.modelId, (await trainedRun(never, 0.9)).runId);
    const neverRequest = await requestPromotion(neverVersion.modelVersionId);
    expect(neverRequest.gates.find((g) => g.gate === 'DATASET_VALIDATION')).toMatchObject({ passed: false, detail: `TRAIN dataset version ${never.datasetVersionId} was never validated` });
    await refused(() => approve(neverRequest.requestId), ConflictError, /gate DATASET_VALIDATION did not pass/);

    // Validated now, and asked at once: the request sees the validation just made.
    const validation = await rpc.request(datasetsRpc.validateDatasetVersion, { datasetVersionId: never.datasetVersionId, rules: [{ type: 'NOT_NULL', column: 'age' }] }, { headers: ada });
    const validatedRequest = await requestPromotion(neverVersion.modelVersionId, 'staging');
    expect(validatedRequest.gates.find((g) => g.gate === 'DATASET_VALIDATION')).toMatchObject({ passed: true, datasets: [expect.objectContaining({ validationId: validation.validationId, passed: true })] });

    const failing = await newProject({ validate: 'failing' });
    const failingModel = await register(failing.projectId);
    const low = await createVersion(failingModel.modelId, (await trainedRun(failing, 0.7)).runId);
    const lowRequest = await requestPromotion(low.modelVersionId, 'staging');
    expect(lowRequest.gates.filter((g) => !g.passed).map((g) => g.gate)).toEqual(['SUCCESS_CRITERIA', 'DATASET_VALIDATION']);
    expect(lowRequest.gates[1].criteria).toEqual([{ metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE', value: 0.7, passed: false }]);
    expect(lowRequest.gates[2].detail).toBe(`the latest validation of TRAIN dataset version ${failing.datasetVersionId} failed`);
    await refused(() => approve(lowRequest.requestId), ConflictError, /gates SUCCESS_CRITERIA, DATASET_VALIDATION did not pass/);
  });

  it('refuses bad input with nothing appended: a run not completed, a missing artifact, unknown ids, a duplicate name, bad shapes', async () => {
    const p = await newProject();
    const model = await register(p.projectId);
    const running = await trainedRun(p, 0.9, { complete: false });
    const done = await trainedRun(p, 0.9);

    await refused(() => createVersion(model.modelId, running.runId), ConflictError, `run ${running.runId} is Running: a model version is created from a completed run only`);
    const missing = await refused(
      () => rpc.request(registryRpc.createModelVersion, { modelId: model.modelId, runId: done.runId, artifactName: 'weights.pt', signature }, { headers: ada }),
      ValidationError,
      `run ${done.runId} has no artifact named "weights.pt"; it has "model.pkl", "report.html"`,
    );
    expect((missing as ValidationError).details).toMatchObject({ issues: [{ field: 'artifactName' }] });

    const unknown = randomUUID();
    await refused(() => createVersion(model.modelId, unknown), NotFoundError, `run ${unknown} does not exist`);
    await refused(() => createVersion(unknown, done.runId), NotFoundError, `model ${unknown} does not exist`);
    await refused(() => requestPromotion(unknown), NotFoundError, `model version ${unknown} does not exist`);
    await refused(() => approve(unknown), NotFoundError, `promotion request ${unknown} does not exist`);
    await refused(() => rpc.request(registryRpc.archiveModelVersion, { modelVersionId: unknown, reason: 'x' }, { headers: ada }), NotFoundError, `model version ${unknown} does not exist`);
    await refused(() => rpc.request(registryRpc.aliasHistory, { modelId: unknown, alias: 'champion' }, { headers: ada }), NotFoundError, `model ${unknown} does not exist`);
    await refused(() => register(unknown), NotFoundError, `project ${unknown} does not exist`);

    await refused(() => register(p.projectId, '  Churn-Classifier '), ConflictError, `already has a model named "churn-classifier" (model ${model.modelId}`);

    await refused(
      () => rpc.request(registryRpc.createModelVersion, { modelId: model.modelId, runId: done.runId, artifactName: 'model.pkl', signature: { inputs: [{ name: 'age' }], outputs: [] } as never }, { headers: ada }),
      ValidationError,
      /field "signature.inputs\[0\].type": must be a type name.*field "signature.outputs": must list at least one output/,
    );
    await refused(
      () => rpc.request(registryRpc.createModelVersion, { modelId: model.modelId, runId: done.runId, artifactName: 'model.pkl', signature, modelCard: { caveats: 7 } as never }, { headers: ada }),
      ValidationError,
      'field "modelCard.caveats": must be a text',
    );
    const v1 = await createVersion(model.modelId, done.runId);
    await refused(() => requestPromotion(v1.modelVersionId, 'Champion!'), ValidationError, 'field "alias": must be a lowercase identifier');

    // A run of another project cannot become a version of this model.
    const other = await newProject();
    const foreign = await trainedRun(other, 0.9);
    await refused(() => createVersion(model.modelId, foreign.runId), ValidationError, `run ${foreign.runId} belongs to project ${other.projectId}, not to project ${p.projectId}`);

    expect(await store.streamRevision(modelVersionStream(modelVersionIdFor(model.modelId, 2)))).toBe('no_stream');
  });

  it('numbers versions created at the same time 1, 2, 3 without a gap or a repeat', async () => {
    const p = await newProject();
    const model = await register(p.projectId);
    const runs = await Promise.all([0.81, 0.82, 0.83].map((auc) => trainedRun(p, auc)));
    const versions = await Promise.all(runs.map((r) => createVersion(model.modelId, r.runId)));
    expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3]);
    expect(new Set(versions.map((v) => v.modelVersionId)).size).toBe(3);
  });
});
