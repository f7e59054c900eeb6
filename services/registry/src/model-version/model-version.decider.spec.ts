import { ConflictError, type ModelCard, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { type ModelVersionCommand, modelVersionDecider, type ModelVersionEvent, type RunFacts, VERSION_TAKEN } from './model-version.decider';

const modelId = '6a000000-0000-4000-8000-000000000001';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const otherProject = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f01';
const modelVersionId = '7b000000-0000-4000-8000-000000000001';
const runId = '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const experimentId = '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43';
const datasetVersionId = '5d000000-0000-4000-8000-000000000001';
const datasetId = '5c000000-0000-4000-8000-000000000001';
const digest = 'a'.repeat(64);
const t0 = '2026-11-22T10:00:00.000Z';
const t1 = '2026-11-22T11:00:00.000Z';

const card: ModelCard = { intendedUse: 'churn scoring', limitations: 'EU only', evaluationData: 'holdout 2026-10', ethicalConsiderations: 'no protected attributes', caveats: 'retrain monthly' };
const signature = { inputs: [{ name: 'age', type: 'double' }], outputs: [{ name: 'churn', type: 'boolean' }] };
const run: RunFacts = {
  runId,
  experimentId,
  projectId,
  status: 'Completed',
  params: { lr: 0.01 },
  codeRef: { repository: 'git@example.com:ml/churn.git', commit: 'abc123', path: null },
  datasetVersions: [{ datasetVersionId, datasetId, role: 'TRAIN' }],
  summary: [{ key: 'auc', last: 0.91, min: 0.5, max: 0.91, count: 10, lastStep: 9 }],
};
const artifacts = [
  { name: 'model.pkl', uri: 's3://models/churn/model.pkl', digest, size: 1_024 },
  { name: 'report.html', uri: 's3://models/churn/report.html', digest: 'b'.repeat(64), size: 10 },
];
const create: Extract<ModelVersionCommand, { type: 'CreateModelVersion' }> = {
  type: 'CreateModelVersion',
  modelVersionId,
  version: 1,
  modelId,
  model: { modelId, projectId, name: 'churn' },
  runId,
  run,
  artifacts,
  artifactName: 'model.pkl',
  signature,
  modelCard: card,
  at: t0,
};
const created: ModelVersionEvent = {
  type: 'registry.ModelVersionCreated.v1',
  data: {
    modelVersionId,
    modelId,
    projectId,
    experimentId,
    runId,
    version: 1,
    artifact: { name: 'model.pkl', uri: 's3://models/churn/model.pkl', digest, size: 1_024 },
    metrics: run.summary!,
    params: { lr: 0.01 },
    codeRef: run.codeRef,
    datasetVersions: run.datasetVersions,
    signature,
    modelCard: card,
    createdAt: t0,
  },
};

describe('ModelVersion decider', () => {
  const spec = deciderSpec(modelVersionDecider);

  it("snapshots a completed run: the named artifact with its digest, the metrics summary, params, code and dataset versions", () => {
    spec.given([]).when(create).then([created]);
  });

  it('refuses a run that is not completed', () => {
    spec.given([]).when({ ...create, run: { ...run, status: 'Running' } }).thenThrows(ConflictError, `run ${runId} is Running: a model version is created from a completed run only`);
    spec.given([]).when({ ...create, run: { ...run, status: 'Failed' } }).thenThrows(ConflictError, 'is Failed');
  });

  it('refuses an artifact name the run does not have, naming those it has', () => {
    spec.given([]).when({ ...create, artifactName: 'weights.pt' }).thenThrows(ValidationError, `run ${runId} has no artifact named "weights.pt"; it has "model.pkl", "report.html"`);
    spec.given([]).when({ ...create, artifacts: [] }).thenThrows(ValidationError, 'it logged no artifacts');
  });

  it('refuses an unknown model or run', () => {
    spec.given([]).when({ ...create, model: null }).thenThrows(NotFoundError, `model ${modelId} does not exist`);
    spec.given([]).when({ ...create, run: null }).thenThrows(NotFoundError, `run ${runId} does not exist`);
  });

  it("refuses a run of another project than the model's", () => {
    spec.given([]).when({ ...create, run: { ...run, projectId: otherProject } }).thenThrows(ValidationError, `run ${runId} belongs to project ${otherProject}, not to project ${projectId} of model "churn"`);
  });

  it('refuses a number already taken, saying so to the handler that picks the next one', () => {
    let thrown: unknown;
    try {
      modelVersionDecider.decide(create, modelVersionDecider.evolve(modelVersionDecider.initialState(), created));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConflictError);
    expect((thrown as ConflictError).details).toMatchObject({ reason: VERSION_TAKEN });
  });

  it('updates the model card, and takes the same card as nothing new', () => {
    const changed = { ...card, caveats: 'retrain weekly' };
    spec.given([created]).when({ type: 'UpdateModelCard', modelVersionId, modelCard: changed, at: t1 }).then([{ type: 'registry.ModelCardUpdated.v1', data: { modelVersionId, modelId, modelCard: changed, updatedAt: t1 } }]);
    spec.given([created]).when({ type: 'UpdateModelCard', modelVersionId, modelCard: card, at: t1 }).thenNothingHappens();
    spec.given([]).when({ type: 'UpdateModelCard', modelVersionId, modelCard: card, at: t1 }).thenThrows(NotFoundError, `model version ${modelVersionId} does not exist`);
  });
});
