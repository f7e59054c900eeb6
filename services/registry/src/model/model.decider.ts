import { ConflictError, ForbiddenError, type GateResult, modelStream, NotFoundError, type PromotionStatus, type TypedEvent } from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';
import { failingGates } from '../promotion/promotion-gates';

/**
 * The RegisteredModel aggregate (stream `model-<uuid>`, the id derived from project and name):
 * the model, its promotion requests, the holders of its aliases and which of its versions are
 * archived. Everything that must hold across versions is decided here, on one stream:
 *
 * - an approval appends PromotionApproved and AliasAssigned together (one append), and the
 *   AliasAssigned names the version that held the alias before, which loses it in that event;
 * - a request is decided once (approved or rejected), never by the one who made it;
 * - a request whose gates did not all pass is recorded but cannot be approved;
 * - an archived version cannot be promoted, and a version holding an alias cannot be archived.
 *
 * A version's content (its run, artifact, signature, card) lives in its own stream; commands
 * that name a version carry what the handler read of it.
 */

export interface VersionRef {
  modelVersionId: string;
  modelId: string;
  version: number;
}

export type ModelCommand =
  | {
      type: 'RegisterModel';
      modelId: string;
      projectId: string;
      /** Whether the project exists (the experiments service said so). */
      projectExists: boolean;
      name: string;
      description: string;
      at: string;
    }
  | {
      type: 'RequestPromotion';
      requestId: string;
      modelId: string;
      version: VersionRef;
      alias: string;
      justification: string;
      requestedBy: string;
      gates: GateResult[];
      at: string;
    }
  | { type: 'ApprovePromotion'; requestId: string; modelId: string; approvedBy: string; comment: string; at: string }
  | { type: 'RejectPromotion'; requestId: string; modelId: string; rejectedBy: string; reason: string; at: string }
  | { type: 'ArchiveModelVersion'; modelId: string; version: VersionRef; reason: string; at: string };

export type ModelEvent = TypedEvent<
  | 'registry.ModelRegistered.v1'
  | 'registry.PromotionRequested.v1'
  | 'registry.PromotionApproved.v1'
  | 'registry.PromotionRejected.v1'
  | 'registry.AliasAssigned.v1'
  | 'registry.ModelVersionArchived.v1'
>;

export interface PromotionRequestState {
  requestId: string;
  modelVersionId: string;
  version: number;
  alias: string;
  justification: string;
  requestedBy: string;
  requestedAt: string;
  gates: GateResult[];
  status: PromotionStatus;
  decidedBy: string | null;
  decidedAt: string | null;
}

export type ModelState =
  | { status: 'None' }
  | {
      status: 'Registered';
      modelId: string;
      projectId: string;
      name: string;
      registeredAt: string;
      requests: Record<string, PromotionRequestState>;
      /** Alias name -> the version holding it. */
      aliases: Record<string, string>;
      /** Archived version ids -> when. */
      archived: Record<string, string>;
    };
type Registered = Extract<ModelState, { status: 'Registered' }>;

export { modelStream };

export const modelDecider: Decider<ModelCommand, ModelEvent, ModelState> = {
  initialState: () => ({ status: 'None' }),

  decide(command, state) {
    switch (command.type) {
      case 'RegisterModel': {
        if (state.status === 'Registered') {
          throw new ConflictError(`project ${state.projectId} already has a model named "${state.name}" (model ${state.modelId}, registered ${state.registeredAt})`, {
            modelId: state.modelId,
            name: state.name,
          });
        }
        if (!command.projectExists) throw new NotFoundError(`project ${command.projectId} does not exist`, { projectId: command.projectId });
        return [
          {
            type: 'registry.ModelRegistered.v1',
            data: { modelId: command.modelId, projectId: command.projectId, name: command.name, description: command.description, registeredAt: command.at },
          },
        ];
      }
      case 'RequestPromotion': {
        const model = requireModel(state, command.modelId);
        const { version } = command;
        if (version.modelId !== model.modelId) throw new ConflictError(`model version ${version.modelVersionId} belongs to model ${version.modelId}, not ${model.modelId}`);
        const existing = model.requests[command.requestId];
        if (existing) {
          if (existing.modelVersionId === version.modelVersionId && existing.alias === command.alias && existing.requestedBy === command.requestedBy) return [];
          throw new ConflictError(`promotion request ${command.requestId} already exists (version ${existing.version} to ${existing.alias})`, { requestId: command.requestId });
        }
        if (model.archived[version.modelVersionId]) {
          throw new ConflictError(`version ${version.version} of model "${model.name}" is archived (${model.archived[version.modelVersionId]}): an archived version cannot be promoted`, {
            modelVersionId: version.modelVersionId,
          });
        }
        if (model.aliases[command.alias] === version.modelVersionId) {
          throw new ConflictError(`version ${version.version} of model "${model.name}" already holds the alias ${command.alias}`, { modelVersionId: version.modelVersionId, alias: command.alias });
        }
        const pending = Object.values(model.requests).find((r) => r.status === 'PENDING' && r.modelVersionId === version.modelVersionId && r.alias === command.alias);
        if (pending) {
          throw new ConflictError(`request ${pending.requestId} (by ${pending.requestedBy}) to make version ${version.version} ${command.alias} is still pending: approve or reject it first`, {
            requestId: pending.requestId,
          });
        }
        return [
          {
            type: 'registry.PromotionRequested.v1',
            data: {
              requestId: command.requestId,
              modelId: model.modelId,
              modelVersionId: version.modelVersionId,
              version: version.version,
              alias: command.alias,
              justification: command.justification,
              requestedBy: command.requestedBy,
              gates: command.gates,
              requestedAt: command.at,
            },
          },
        ];
      }
      case 'ApprovePromotion': {
        const model = requireModel(state, command.modelId);
        const request = requireRequest(model, command.requestId);
        requirePending(request);
        if (request.requestedBy === command.approvedBy) {
          throw new ForbiddenError(`${command.approvedBy} made promotion request ${request.requestId} and cannot approve it: another person must`, { requestId: request.requestId });
        }
        if (model.archived[request.modelVersionId]) {
          throw new ConflictError(`version ${request.version} of model "${model.name}" was archived after the request: an archived version cannot be promoted`, {
            modelVersionId: request.modelVersionId,
          });
        }
        const failing = failingGates(request.gates);
        if (failing.length > 0) {
          throw new ConflictError(
            `promotion request ${request.requestId} cannot be approved: gate${failing.length === 1 ? '' : 's'} ${failing.map((g) => g.gate).join(', ')} did not pass (${failing.map((g) => `${g.gate}: ${g.detail}`).join('; ')}); reject it and request again once fixed`,
            { requestId: request.requestId, failingGates: failing.map((g) => g.gate) },
          );
        }
        const previous = model.aliases[request.alias] ?? null;
        if (previous === request.modelVersionId) {
          throw new ConflictError(`version ${request.version} of model "${model.name}" already holds the alias ${request.alias}`, { requestId: request.requestId });
        }
        return [
          {
            type: 'registry.PromotionApproved.v1',
            data: { requestId: request.requestId, modelId: model.modelId, modelVersionId: request.modelVersionId, alias: request.alias, approvedBy: command.approvedBy, comment: command.comment, approvedAt: command.at },
          },
          {
            type: 'registry.AliasAssigned.v1',
            data: {
              modelId: model.modelId,
              alias: request.alias,
              modelVersionId: request.modelVersionId,
              previousModelVersionId: previous,
              requestId: request.requestId,
              requestedBy: request.requestedBy,
              approvedBy: command.approvedBy,
              reason: command.comment ? `${request.justification} (approved: ${command.comment})` : request.justification,
              assignedAt: command.at,
            },
          },
        ];
      }
      case 'RejectPromotion': {
        const model = requireModel(state, command.modelId);
        const request = requireRequest(model, command.requestId);
        requirePending(request);
        return [
          {
            type: 'registry.PromotionRejected.v1',
            data: { requestId: request.requestId, modelId: model.modelId, modelVersionId: request.modelVersionId, alias: request.alias, rejectedBy: command.rejectedBy, reason: command.reason, rejectedAt: command.at },
          },
        ];
      }
      case 'ArchiveModelVersion': {
        const model = requireModel(state, command.modelId);
        const { version } = command;
        if (version.modelId !== model.modelId) throw new ConflictError(`model version ${version.modelVersionId} belongs to model ${version.modelId}, not ${model.modelId}`);
        if (model.archived[version.modelVersionId]) return [];
        const held = Object.entries(model.aliases)
          .filter(([, holder]) => holder === version.modelVersionId)
          .map(([alias]) => alias)
          .sort();
        if (held.length > 0) {
          throw new ConflictError(
            `version ${version.version} of model "${model.name}" holds the alias${held.length === 1 ? '' : 'es'} ${held.join(', ')}: promote another version to ${held.length === 1 ? 'it' : 'them'} before archiving this one`,
            { modelVersionId: version.modelVersionId, aliases: held },
          );
        }
        return [
          {
            type: 'registry.ModelVersionArchived.v1',
            data: { modelVersionId: version.modelVersionId, modelId: model.modelId, version: version.version, reason: command.reason, archivedAt: command.at },
          },
        ];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    if (event.type === 'registry.ModelRegistered.v1') {
      const { modelId, projectId, name, registeredAt } = event.data;
      return { status: 'Registered', modelId, projectId, name, registeredAt, requests: {}, aliases: {}, archived: {} };
    }
    if (state.status === 'None') return state;
    switch (event.type) {
      case 'registry.PromotionRequested.v1': {
        const d = event.data;
        const request: PromotionRequestState = {
          requestId: d.requestId,
          modelVersionId: d.modelVersionId,
          version: d.version,
          alias: d.alias,
          justification: d.justification,
          requestedBy: d.requestedBy,
          requestedAt: d.requestedAt,
          gates: d.gates,
          status: 'PENDING',
          decidedBy: null,
          decidedAt: null,
        };
        return { ...state, requests: { ...state.requests, [d.requestId]: request } };
      }
      case 'registry.PromotionApproved.v1':
        return decided(state, event.data.requestId, 'APPROVED', event.data.approvedBy, event.data.approvedAt);
      case 'registry.PromotionRejected.v1':
        return decided(state, event.data.requestId, 'REJECTED', event.data.rejectedBy, event.data.rejectedAt);
      case 'registry.AliasAssigned.v1':
        return { ...state, aliases: { ...state.aliases, [event.data.alias]: event.data.modelVersionId } };
      case 'registry.ModelVersionArchived.v1':
        return { ...state, archived: { ...state.archived, [event.data.modelVersionId]: event.data.archivedAt } };
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

function decided(state: Registered, requestId: string, status: PromotionStatus, by: string, at: string): Registered {
  const request = state.requests[requestId];
  if (!request) return state;
  return { ...state, requests: { ...state.requests, [requestId]: { ...request, status, decidedBy: by, decidedAt: at } } };
}

function requireModel(state: ModelState, modelId: string): Registered {
  if (state.status === 'None') throw new NotFoundError(`model ${modelId} does not exist`, { modelId });
  return state;
}

function requireRequest(model: Registered, requestId: string): PromotionRequestState {
  const request = model.requests[requestId];
  if (!request) throw new NotFoundError(`promotion request ${requestId} does not exist`, { requestId });
  return request;
}

function requirePending(request: PromotionRequestState): void {
  if (request.status !== 'PENDING') {
    throw new ConflictError(`promotion request ${request.requestId} was already ${request.status.toLowerCase()} by ${request.decidedBy} at ${request.decidedAt}: a request is decided once`, {
      requestId: request.requestId,
      status: request.status,
    });
  }
}
