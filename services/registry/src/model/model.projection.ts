import type { Projection, RecordedOf, TableProjection } from '@modeltrail/readmodel';
import { type AliasAssignmentRow, aliasAssignmentsTable, type ModelRow, modelsTable, type PromotionRequestRow, promotionRequestsTable } from '../read-model/registry.entities';

const REQUEST_EVENTS = ['registry.PromotionRequested.v1', 'registry.PromotionApproved.v1', 'registry.PromotionRejected.v1'] as const;
/** Every event of the model's stream, and the creation of its versions. */
const MODEL_EVENTS = ['registry.ModelRegistered.v1', 'registry.ModelVersionCreated.v1', 'registry.AliasAssigned.v1', 'registry.ModelVersionArchived.v1', ...REQUEST_EVENTS] as const;

export type ModelRecorded = RecordedOf<(typeof MODEL_EVENTS)[number]>;
export type RequestRecorded = RecordedOf<(typeof REQUEST_EVENTS)[number]>;
export type AliasRecorded = RecordedOf<'registry.AliasAssigned.v1'>;
type Handled = ModelRecorded;

const requestTypes = new Set<string>(REQUEST_EVENTS);
const isRequestEvent = (e: Handled): e is RequestRecorded => requestTypes.has(e.type);
const isAliasEvent = (e: Handled): e is AliasRecorded => e.type === 'registry.AliasAssigned.v1';

/**
 * A model's row after one of its events (pure). A version's creation (on the version's own
 * stream) raises `latestVersion`; the revision follows the model's stream only.
 */
export function evolveModel(row: ModelRow | undefined, event: ModelRecorded): ModelRow {
  if (event.type === 'registry.ModelRegistered.v1') {
    if (row) throw new Error(`model ${row.modelId} is already registered`);
    const d = event.data;
    return {
      modelId: d.modelId,
      projectId: d.projectId,
      name: d.name,
      description: d.description,
      latestVersion: 0,
      registeredAt: new Date(d.registeredAt),
      registeredBy: event.metadata.actor,
      revision: event.revision,
      position: event.position,
    };
  }
  if (!row) throw new Error(`${event.type} at ${event.position}: model ${event.data.modelId} has no row`);
  switch (event.type) {
    case 'registry.ModelVersionCreated.v1':
      return { ...row, latestVersion: Math.max(row.latestVersion, event.data.version), position: event.position };
    case 'registry.AliasAssigned.v1':
    case 'registry.ModelVersionArchived.v1':
    case 'registry.PromotionRequested.v1':
    case 'registry.PromotionApproved.v1':
    case 'registry.PromotionRejected.v1':
      return { ...row, revision: event.revision, position: event.position };
    default: {
      const unknown: never = event;
      throw new Error(`registry projection cannot apply ${(unknown as ModelRecorded).type} to a model`);
    }
  }
}

/** A promotion request's row after one of its events (pure). */
export function evolvePromotionRequest(row: PromotionRequestRow | undefined, event: RequestRecorded): PromotionRequestRow {
  if (event.type === 'registry.PromotionRequested.v1') {
    if (row) throw new Error(`promotion request ${row.requestId} already exists`);
    const d = event.data;
    return {
      requestId: d.requestId,
      modelId: d.modelId,
      modelVersionId: d.modelVersionId,
      version: d.version,
      alias: d.alias,
      justification: d.justification,
      status: 'PENDING',
      gates: d.gates,
      gatesPassed: d.gates.every((g) => g.passed),
      requestedBy: d.requestedBy,
      requestedAt: new Date(d.requestedAt),
      decidedBy: null,
      decidedAt: null,
      decisionNote: null,
      position: event.position,
    };
  }
  if (!row) throw new Error(`${event.type} at ${event.position}: promotion request ${event.data.requestId} has no row`);
  switch (event.type) {
    case 'registry.PromotionApproved.v1':
      return { ...row, status: 'APPROVED', decidedBy: event.data.approvedBy, decidedAt: new Date(event.data.approvedAt), decisionNote: event.data.comment, position: event.position };
    case 'registry.PromotionRejected.v1':
      return { ...row, status: 'REJECTED', decidedBy: event.data.rejectedBy, decidedAt: new Date(event.data.rejectedAt), decisionNote: event.data.reason, position: event.position };
    default: {
      const unknown: never = event;
      throw new Error(`registry projection cannot apply ${(unknown as RequestRecorded).type} to a promotion request`);
    }
  }
}

/** An alias assignment's row: one per AliasAssigned, keyed by its position (it ends where the next one of the alias starts). */
export function aliasAssignmentRow(event: AliasRecorded): AliasAssignmentRow {
  const d = event.data;
  return {
    modelId: d.modelId,
    alias: d.alias,
    validFromPosition: event.position,
    modelVersionId: d.modelVersionId,
    previousModelVersionId: d.previousModelVersionId,
    requestId: d.requestId,
    requestedBy: d.requestedBy,
    approvedBy: d.approvedBy,
    reason: d.reason,
    validFrom: new Date(d.assignedAt),
  };
}

const models: TableProjection<Handled, ModelRow, 'modelId'> = {
  table: modelsTable,
  keyOf: (event) => ({ modelId: event.data.modelId }),
  evolve: (row, event) => evolveModel(row, event),
};

const promotionRequests: TableProjection<Handled, PromotionRequestRow, 'requestId'> = {
  table: promotionRequestsTable,
  keyOf: (event) => (isRequestEvent(event) ? { requestId: event.data.requestId } : undefined),
  evolve: (row, event) => (isRequestEvent(event) ? evolvePromotionRequest(row, event) : row),
};

const aliasAssignments: TableProjection<Handled, AliasAssignmentRow, 'modelId' | 'alias' | 'validFromPosition'> = {
  table: aliasAssignmentsTable,
  keyOf: (event) => (isAliasEvent(event) ? { modelId: event.data.modelId, alias: event.data.alias, validFromPosition: event.position } : undefined),
  evolve: (row, event) => (isAliasEvent(event) ? (row ?? aliasAssignmentRow(event)) : row),
};

/** Models, their promotion requests and every alias assignment. */
export const modelProjection: Projection<Handled> = {
  name: 'registry.models.v1',
  handles: new Set<string>(MODEL_EVENTS),
  tables: [models, promotionRequests, aliasAssignments],
};
