import { ConflictError, ForbiddenError, type GateResult, NotFoundError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { type ModelCommand, modelDecider, type ModelEvent } from './model.decider';

const modelId = '6a000000-0000-4000-8000-000000000001';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const v1 = { modelVersionId: '7b000000-0000-4000-8000-000000000001', modelId, version: 1 };
const v2 = { modelVersionId: '7b000000-0000-4000-8000-000000000002', modelId, version: 2 };
const requestA = '8c000000-0000-4000-8000-00000000000a';
const requestB = '8c000000-0000-4000-8000-00000000000b';
const t0 = '2026-11-22T10:00:00.000Z';
const t1 = '2026-11-22T11:00:00.000Z';
const t2 = '2026-11-22T12:00:00.000Z';
const t3 = '2026-11-22T13:00:00.000Z';

const passing: GateResult[] = [
  { gate: 'RUN_COMPLETED', passed: true, detail: 'the source run completed', criteria: [], datasets: [] },
  { gate: 'SUCCESS_CRITERIA', passed: true, detail: 'all 1 success criteria met', criteria: [{ metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE', value: 0.9, passed: true }], datasets: [] },
  { gate: 'DATASET_VALIDATION', passed: true, detail: 'passed', criteria: [], datasets: [] },
  { gate: 'MODEL_CARD_COMPLETE', passed: true, detail: 'every field of the model card is filled', criteria: [], datasets: [] },
];
const failing: GateResult[] = passing.map((g) =>
  g.gate === 'MODEL_CARD_COMPLETE' ? { ...g, passed: false, detail: 'the model card lacks caveats' } : g.gate === 'DATASET_VALIDATION' ? { ...g, passed: false, detail: 'TRAIN dataset version x was never validated' } : g,
);

const registered: ModelEvent = { type: 'registry.ModelRegistered.v1', data: { modelId, projectId, name: 'churn', description: 'Churn model', registeredAt: t0 } };
const request = (requestId: string, version = v1, gates = passing, by = 'ada@example.com', at = t1): Extract<ModelCommand, { type: 'RequestPromotion' }> => ({
  type: 'RequestPromotion',
  requestId,
  modelId,
  version,
  alias: 'champion',
  justification: 'beats the baseline',
  requestedBy: by,
  gates,
  at,
});
const requested = (requestId: string, version = v1, gates = passing, by = 'ada@example.com', at = t1): ModelEvent => ({
  type: 'registry.PromotionRequested.v1',
  data: { requestId, modelId, modelVersionId: version.modelVersionId, version: version.version, alias: 'champion', justification: 'beats the baseline', requestedBy: by, gates, requestedAt: at },
});
const approve = (requestId: string, by = 'bob@example.com', at = t2): ModelCommand => ({ type: 'ApprovePromotion', requestId, modelId, approvedBy: by, comment: 'looks good', at });
const approved = (requestId: string, version = v1, by = 'bob@example.com', at = t2): ModelEvent => ({
  type: 'registry.PromotionApproved.v1',
  data: { requestId, modelId, modelVersionId: version.modelVersionId, alias: 'champion', approvedBy: by, comment: 'looks good', approvedAt: at },
});
const assigned = (requestId: string, version: typeof v1, previous: string | null, at = t2): ModelEvent => ({
  type: 'registry.AliasAssigned.v1',
  data: {
    modelId,
    alias: 'champion',
    modelVersionId: version.modelVersionId,
    previousModelVersionId: previous,
    requestId,
    requestedBy: 'ada@example.com',
    approvedBy: 'bob@example.com',
    reason: 'beats the baseline (approved: looks good)',
    assignedAt: at,
  },
});
const archive = (version = v1): ModelCommand => ({ type: 'ArchiveModelVersion', modelId, version, reason: 'superseded', at: t3 });

describe('RegisteredModel decider', () => {
  const spec = deciderSpec(modelDecider);
  const register: ModelCommand = { type: 'RegisterModel', modelId, projectId, projectExists: true, name: 'churn', description: 'Churn model', at: t0 };

  describe('registration', () => {
    it('registers a model of an existing project', () => {
      spec.given([]).when(register).then([registered]);
    });

    it('refuses a second model of the same name in the project (same id, same stream), naming the first', () => {
      spec.given([registered]).when({ ...register, description: 'again' }).thenThrows(ConflictError, `project ${projectId} already has a model named "churn" (model ${modelId}`);
    });

    it('refuses a project that does not exist', () => {
      spec.given([]).when({ ...register, projectExists: false }).thenThrows(NotFoundError, `project ${projectId} does not exist`);
    });
  });

  describe('promotion requests', () => {
    it('records a request with every gate result', () => {
      spec.given([registered]).when(request(requestA)).then([requested(requestA)]);
    });

    it('records a request whose gates fail, as PENDING with the failing gates in it', () => {
      spec.given([registered]).when(request(requestA, v1, failing)).then([requested(requestA, v1, failing)]);
    });

    it('takes the same request again as nothing new, and refuses another one under its id', () => {
      spec.given([registered, requested(requestA)]).when(request(requestA)).thenNothingHappens();
      spec.given([registered, requested(requestA)]).when(request(requestA, v2)).thenThrows(ConflictError, `promotion request ${requestA} already exists`);
    });

    it('refuses a second pending request of the same version and alias, naming the pending one', () => {
      spec.given([registered, requested(requestA)]).when(request(requestB)).thenThrows(ConflictError, `request ${requestA} (by ada@example.com) to make version 1 champion is still pending`);
    });

    it('refuses a request for an unknown model', () => {
      spec.given([]).when(request(requestA)).thenThrows(NotFoundError, `model ${modelId} does not exist`);
    });

    it('refuses to promote an archived version', () => {
      const archived: ModelEvent = { type: 'registry.ModelVersionArchived.v1', data: { modelVersionId: v1.modelVersionId, modelId, version: 1, reason: 'superseded', archivedAt: t1 } };
      spec.given([registered, archived]).when(request(requestA)).thenThrows(ConflictError, 'version 1 of model "churn" is archived');
    });

    it('refuses a request for the alias the version already holds', () => {
      spec.given([registered, requested(requestA), approved(requestA), assigned(requestA, v1, null)]).when(request(requestB)).thenThrows(ConflictError, 'already holds the alias champion');
    });
  });

  describe('approval', () => {
    it('approves and assigns the alias in one decision, with who, when and why', () => {
      spec.given([registered, requested(requestA)]).when(approve(requestA)).then([approved(requestA), assigned(requestA, v1, null)]);
    });

    it('moves the alias from its holder to the new version, naming the previous holder in the same event', () => {
      spec
        .given([registered, requested(requestA), approved(requestA), assigned(requestA, v1, null), requested(requestB, v2, passing, 'ada@example.com', t3)])
        .when(approve(requestB, 'bob@example.com', t3))
        .then([approved(requestB, v2, 'bob@example.com', t3), assigned(requestB, v2, v1.modelVersionId, t3)]);
    });

    it('forbids the requester to approve their own request', () => {
      spec.given([registered, requested(requestA)]).when(approve(requestA, 'ada@example.com')).thenThrows(ForbiddenError, 'ada@example.com made promotion request');
    });

    it('refuses to approve while a gate fails, naming the failing gates', () => {
      spec.given([registered, requested(requestA, v1, failing)]).when(approve(requestA)).thenThrows(ConflictError, /gates DATASET_VALIDATION, MODEL_CARD_COMPLETE did not pass/);
    });

    it('decides a request once: a second approval or a rejection after it is refused', () => {
      const given = [registered, requested(requestA), approved(requestA), assigned(requestA, v1, null)];
      spec.given(given).when(approve(requestA, 'carol@example.com')).thenThrows(ConflictError, `promotion request ${requestA} was already approved by bob@example.com`);
      spec.given(given).when({ type: 'RejectPromotion', requestId: requestA, modelId, rejectedBy: 'carol@example.com', reason: 'no', at: t3 }).thenThrows(ConflictError, 'a request is decided once');
    });

    it('refuses to approve a request whose version was archived after it was made', () => {
      const archived: ModelEvent = { type: 'registry.ModelVersionArchived.v1', data: { modelVersionId: v1.modelVersionId, modelId, version: 1, reason: 'leak found', archivedAt: t1 } };
      spec.given([registered, requested(requestA), archived]).when(approve(requestA)).thenThrows(ConflictError, 'was archived after the request');
    });

    it('refuses an unknown request', () => {
      spec.given([registered]).when(approve(requestA)).thenThrows(NotFoundError, `promotion request ${requestA} does not exist`);
    });
  });

  describe('rejection', () => {
    const reject = (by = 'bob@example.com'): ModelCommand => ({ type: 'RejectPromotion', requestId: requestA, modelId, rejectedBy: by, reason: 'not enough evaluation', at: t2 });
    const rejected: ModelEvent = {
      type: 'registry.PromotionRejected.v1',
      data: { requestId: requestA, modelId, modelVersionId: v1.modelVersionId, alias: 'champion', rejectedBy: 'bob@example.com', reason: 'not enough evaluation', rejectedAt: t2 },
    };

    it('rejects a pending request (failing gates or not), and then allows a new request', () => {
      spec.given([registered, requested(requestA, v1, failing)]).when(reject()).then([rejected]);
      spec.given([registered, requested(requestA, v1, failing), rejected]).when(request(requestB)).then([requested(requestB)]);
    });

    it('refuses to approve a rejected request', () => {
      spec.given([registered, requested(requestA), rejected]).when(approve(requestA)).thenThrows(ConflictError, 'was already rejected by bob@example.com');
    });
  });

  describe('archiving', () => {
    it('archives a version holding no alias, once', () => {
      const archived: ModelEvent = { type: 'registry.ModelVersionArchived.v1', data: { modelVersionId: v1.modelVersionId, modelId, version: 1, reason: 'superseded', archivedAt: t3 } };
      spec.given([registered]).when(archive()).then([archived]);
      spec.given([registered, archived]).when(archive()).thenNothingHappens();
    });

    it('refuses to archive a version while it holds an alias, naming the alias', () => {
      spec.given([registered, requested(requestA), approved(requestA), assigned(requestA, v1, null)]).when(archive()).thenThrows(ConflictError, 'holds the alias champion: promote another version to it before archiving');
    });

    it('archives the previous holder once the alias moved away from it', () => {
      const given = [registered, requested(requestA), approved(requestA), assigned(requestA, v1, null), requested(requestB, v2), approved(requestB, v2), assigned(requestB, v2, v1.modelVersionId)];
      spec.given(given).when(archive(v1)).then([{ type: 'registry.ModelVersionArchived.v1', data: { modelVersionId: v1.modelVersionId, modelId, version: 1, reason: 'superseded', archivedAt: t3 } }]);
      spec.given(given).when(archive(v2)).thenThrows(ConflictError, 'version 2 of model "churn" holds the alias champion');
    });
  });
});
