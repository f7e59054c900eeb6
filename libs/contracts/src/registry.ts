import { PageInfo, PageRequest, Sha256Digest } from './datasets';
import { CodeRef, MetricSummary, OptimizationDirection, RunDatasetVersion } from './experiments';
import { nameBasedUuid, normaliseName } from './ids';
import { defineRpc } from './rpc';
import { uuid as uuidSchema, z } from './schema';

/**
 * Contracts of the `registry` context: registered models, their versions, promotion requests
 * with their gates, and aliases.
 *
 * Streams: `model-<modelId>` holds the model's registration, its promotion requests and their
 * decisions, every alias move and the archiving of its versions; `model-version-<id>` holds a
 * version's creation (the snapshot of its run) and its model card. Whatever must hold across the
 * versions of a model (one holder per alias, no alias on an archived version, a request decided
 * once) is decided on the model's stream, so an approval appends `PromotionApproved` and
 * `AliasAssigned` in one append: a request is never approved without its alias move, nor the
 * reverse.
 */

const uuid = uuidSchema();
const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time, e.g. 2026-11-22T12:00:00.000Z' });

// ---------------------------------------------------------------------------------------------
// Ids and streams
// ---------------------------------------------------------------------------------------------

/** Namespaces of the ids the registry derives. Never change one: ids would move. */
export const REGISTRY_ID_NAMESPACES = {
  /** A model from its project and name (names are unique within a project). */
  model: '6f2a9c4e-8b1d-4e7a-a3c5-1d9e0b7f2a86',
  /** Version `n` of a model: two versions can never take the same number. */
  modelVersion: 'b3e7d1a9-5c2f-4a8e-9d6b-7f0a2c4e8b19',
} as const;

/** Model id from its project and name: model names are unique within a project (trimmed, case-insensitive). */
export function modelIdFor(projectId: string, name: string): string {
  return nameBasedUuid(REGISTRY_ID_NAMESPACES.model, `${projectId.toLowerCase()}/${normaliseName(name)}`);
}

/** The id of version `version` (1, 2, ...) of a model. */
export function modelVersionIdFor(modelId: string, version: number): string {
  return nameBasedUuid(REGISTRY_ID_NAMESPACES.modelVersion, `${modelId.toLowerCase()}/${version}`);
}

export const modelStream = (modelId: string) => `model-${modelId}`;
export const modelVersionStream = (modelVersionId: string) => `model-version-${modelVersionId}`;

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

export const MODEL_VERSION_STATUSES = ['ACTIVE', 'ARCHIVED'] as const;
export const ModelVersionStatus = z.enum(MODEL_VERSION_STATUSES, { message: `must be one of ${MODEL_VERSION_STATUSES.join(', ')}` });
export type ModelVersionStatus = z.output<typeof ModelVersionStatus>;

export const PROMOTION_STATUSES = ['PENDING', 'APPROVED', 'REJECTED'] as const;
export const PromotionStatus = z.enum(PROMOTION_STATUSES, { message: `must be one of ${PROMOTION_STATUSES.join(', ')}` });
export type PromotionStatus = z.output<typeof PromotionStatus>;

/** The checks a promotion request records, each with its result, when it is made. */
export const PROMOTION_GATES = ['RUN_COMPLETED', 'SUCCESS_CRITERIA', 'DATASET_VALIDATION', 'MODEL_CARD_COMPLETE'] as const;
export const PromotionGate = z.enum(PROMOTION_GATES, { message: `must be one of ${PROMOTION_GATES.join(', ')}` });
export type PromotionGate = z.output<typeof PromotionGate>;

const NAME_RULE = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;
export const ModelName = z
  .string({ message: 'must be a name' })
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(NAME_RULE, 'must start with a letter or digit and use only letters, digits, spaces, dots, dashes and underscores');
export const ModelDescription = z.string({ message: 'must be a text' }).trim().max(4_000, 'must be at most 4000 characters');

export const ALIAS_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
export const ALIAS_RULE = 'must be a lowercase identifier: a letter a-z, then letters a-z, digits and underscores, at most 63 characters (e.g. champion, challenger, staging)';
/** An alias name: `champion`, `challenger`, `staging`. */
export const AliasName = z.string({ message: ALIAS_RULE }).regex(ALIAS_PATTERN, ALIAS_RULE);

const TextField = (max: number) => z.string({ message: 'must be a text' }).trim().max(max, `must be at most ${max} characters`);

/** A column or tensor of a model's input or output: `{ name: 'age', type: 'double' }`. */
export const SignatureField = z.object(
  {
    name: z.string({ message: 'must be a name' }).trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
    type: z
      .string({ message: 'must be a type name, e.g. double, long, string, boolean, tensor<float32>[-1,3]' })
      .trim()
      .min(1, 'must be a type name, e.g. double, long, string, boolean, tensor<float32>[-1,3]')
      .max(128, 'must be at most 128 characters'),
  },
  { message: 'must be an object { name, type }' },
);
export type SignatureField = z.output<typeof SignatureField>;

const signatureFields = (what: string) =>
  z
    .array(SignatureField, { message: `must be a list of ${what} { name, type }` })
    .min(1, `must list at least one ${what.replace(/s$/, '')}`)
    .max(10_000, `must list at most 10000 ${what}`)
    .superRefine((fields, ctx) => {
      const seen = new Set<string>();
      fields.forEach((field, index) => {
        if (seen.has(field.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `"${field.name}" is listed more than once` });
        seen.add(field.name);
      });
    });

/** What a model takes and gives: `{ inputs: [{name, type}], outputs: [{name, type}] }`. */
export const ModelSignature = z.object(
  { inputs: signatureFields('inputs'), outputs: signatureFields('outputs') },
  { message: 'must be an object { inputs: [{name, type}], outputs: [{name, type}] }' },
);
export type ModelSignature = z.output<typeof ModelSignature>;

export const MODEL_CARD_FIELDS = ['intendedUse', 'limitations', 'evaluationData', 'ethicalConsiderations', 'caveats'] as const;
export type ModelCardField = (typeof MODEL_CARD_FIELDS)[number];

/**
 * A model card (Mitchell et al., as SageMaker keeps them). A field may be left empty while the
 * card is written; a promotion's MODEL_CARD_COMPLETE gate needs every field filled.
 */
export const ModelCard = z.object(
  {
    intendedUse: TextField(10_000).default(''),
    limitations: TextField(10_000).default(''),
    evaluationData: TextField(10_000).default(''),
    ethicalConsiderations: TextField(10_000).default(''),
    caveats: TextField(10_000).default(''),
  },
  { message: `must be an object { ${MODEL_CARD_FIELDS.join(', ')} }` },
);
export type ModelCard = z.output<typeof ModelCard>;

/** The fields of a card still empty (none: the card is complete). */
export function missingModelCardFields(card: ModelCard): ModelCardField[] {
  return MODEL_CARD_FIELDS.filter((field) => card[field].trim() === '');
}

/** The artifact a version serves, as its run logged it. */
export const ModelArtifact = z.object({ name: z.string(), uri: z.string(), digest: Sha256Digest, size: z.number().int().nonnegative() });
export type ModelArtifact = z.output<typeof ModelArtifact>;

/** One success criterion of the project measured against the run's metrics summary (the last value). */
export const CriterionResult = z.object({
  metric: z.string(),
  threshold: z.number(),
  direction: OptimizationDirection,
  /** The run's last value of the metric; null when the run did not log it (the criterion fails). */
  value: z.number().nullable(),
  passed: z.boolean(),
});
export type CriterionResult = z.output<typeof CriterionResult>;

/** The latest validation of one dataset version the run used. */
export const DatasetValidationResult = z.object({
  datasetVersionId: uuid,
  datasetId: uuid,
  role: z.string(),
  /** Null when the version was never validated (the gate fails). */
  validationId: uuid.nullable(),
  validatedAt: z.iso.datetime().nullable(),
  passed: z.boolean(),
});
export type DatasetValidationResult = z.output<typeof DatasetValidationResult>;

/** The result of one gate, as the request recorded it. `criteria` and `datasets` are filled for their gates only. */
export const GateResult = z.object({
  gate: PromotionGate,
  passed: z.boolean(),
  detail: z.string(),
  criteria: z.array(CriterionResult),
  datasets: z.array(DatasetValidationResult),
});
export type GateResult = z.output<typeof GateResult>;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export const ModelRegisteredV1 = z.object({ modelId: uuid, projectId: uuid, name: z.string(), description: z.string(), registeredAt: z.iso.datetime() });
export const ModelVersionCreatedV1 = z.object({
  modelVersionId: uuid,
  modelId: uuid,
  projectId: uuid,
  experimentId: uuid,
  runId: uuid,
  /** 1, 2, ... per model. */
  version: z.number().int().min(1),
  artifact: ModelArtifact,
  /** The run's metrics summary when it completed. */
  metrics: z.array(MetricSummary),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  codeRef: CodeRef.nullable(),
  datasetVersions: z.array(RunDatasetVersion),
  signature: ModelSignature,
  modelCard: ModelCard,
  createdAt: z.iso.datetime(),
});
export const ModelCardUpdatedV1 = z.object({ modelVersionId: uuid, modelId: uuid, modelCard: ModelCard, updatedAt: z.iso.datetime() });
export const PromotionRequestedV1 = z.object({
  requestId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  version: z.number().int().min(1),
  alias: AliasName,
  justification: z.string(),
  requestedBy: z.string(),
  /** Every gate, passed or not: a request with a failing gate is recorded, but cannot be approved. */
  gates: z.array(GateResult),
  requestedAt: z.iso.datetime(),
});
export const PromotionApprovedV1 = z.object({
  requestId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  alias: AliasName,
  approvedBy: z.string(),
  comment: z.string(),
  approvedAt: z.iso.datetime(),
});
export const PromotionRejectedV1 = z.object({
  requestId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  alias: AliasName,
  rejectedBy: z.string(),
  reason: z.string(),
  rejectedAt: z.iso.datetime(),
});
/** An alias moves to a version; the previous holder (if any) loses it in this same event. */
export const AliasAssignedV1 = z.object({
  modelId: uuid,
  alias: AliasName,
  modelVersionId: uuid,
  previousModelVersionId: uuid.nullable(),
  requestId: uuid,
  requestedBy: z.string(),
  approvedBy: z.string(),
  /** The request's justification and the approver's comment. */
  reason: z.string(),
  assignedAt: z.iso.datetime(),
});
export const ModelVersionArchivedV1 = z.object({ modelVersionId: uuid, modelId: uuid, version: z.number().int().min(1), reason: z.string(), archivedAt: z.iso.datetime() });

export const registryEvents = {
  'registry.ModelRegistered.v1': ModelRegisteredV1,
  'registry.ModelVersionCreated.v1': ModelVersionCreatedV1,
  'registry.ModelCardUpdated.v1': ModelCardUpdatedV1,
  'registry.PromotionRequested.v1': PromotionRequestedV1,
  'registry.PromotionApproved.v1': PromotionApprovedV1,
  'registry.PromotionRejected.v1': PromotionRejectedV1,
  'registry.AliasAssigned.v1': AliasAssignedV1,
  'registry.ModelVersionArchived.v1': ModelVersionArchivedV1,
} as const satisfies Record<string, z.ZodType>;

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

export const AliasHolder = z.object({ alias: z.string(), modelVersionId: uuid, version: z.number().int().min(1) });
export type AliasHolder = z.output<typeof AliasHolder>;

export const ModelView = z.object({
  modelId: uuid,
  projectId: uuid,
  name: z.string(),
  description: z.string(),
  /** The highest version number (0 before the first version). */
  latestVersion: z.number().int().nonnegative(),
  /** Aliases and their holders now, by alias name. */
  aliases: z.array(AliasHolder),
  registeredAt: z.iso.datetime(),
  registeredBy: z.string(),
  revision: z.number().int(),
});
export type ModelView = z.output<typeof ModelView>;

export const ModelVersionView = z.object({
  modelVersionId: uuid,
  modelId: uuid,
  projectId: uuid,
  experimentId: uuid,
  runId: uuid,
  version: z.number().int().min(1),
  status: ModelVersionStatus,
  artifact: ModelArtifact,
  metrics: z.array(MetricSummary),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  codeRef: CodeRef.nullable(),
  datasetVersions: z.array(RunDatasetVersion),
  signature: ModelSignature,
  modelCard: ModelCard,
  /** The aliases it holds now, sorted. */
  aliases: z.array(z.string()),
  createdAt: z.iso.datetime(),
  createdBy: z.string(),
  archivedAt: z.iso.datetime().nullable(),
  archiveReason: z.string().nullable(),
  /** Revision of the version's own stream. */
  revision: z.number().int(),
});
export type ModelVersionView = z.output<typeof ModelVersionView>;

export const PromotionRequestView = z.object({
  requestId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  version: z.number().int().min(1),
  alias: z.string(),
  justification: z.string(),
  status: PromotionStatus,
  gates: z.array(GateResult),
  /** Whether every gate passed (the request can be approved). */
  gatesPassed: z.boolean(),
  requestedBy: z.string(),
  requestedAt: z.iso.datetime(),
  decidedBy: z.string().nullable(),
  decidedAt: z.iso.datetime().nullable(),
  /** The approver's comment or the rejection's reason. */
  decisionNote: z.string().nullable(),
});
export type PromotionRequestView = z.output<typeof PromotionRequestView>;

/** One holding of an alias: from its assignment until the next one (null: it still holds). */
export const AliasAssignmentView = z.object({
  modelId: uuid,
  alias: z.string(),
  modelVersionId: uuid,
  version: z.number().int().min(1),
  previousModelVersionId: uuid.nullable(),
  requestId: uuid,
  requestedBy: z.string(),
  approvedBy: z.string(),
  reason: z.string(),
  validFrom: z.iso.datetime(),
  validFromPosition: z.number().int().positive(),
  validTo: z.iso.datetime().nullable(),
  validToPosition: z.number().int().positive().nullable(),
});
export type AliasAssignmentView = z.output<typeof AliasAssignmentView>;

// ---------------------------------------------------------------------------------------------
// Requests and replies
// ---------------------------------------------------------------------------------------------

export const RegisterModelRequest = z.object({ projectId: uuid, name: ModelName, description: ModelDescription.default('') });
export const CreateModelVersionRequest = z.object({
  modelId: uuid,
  runId: uuid,
  /** The name of the run's logged artifact this version serves. */
  artifactName: z.string({ message: 'must be the name of an artifact the run logged' }).trim().min(1, 'must be the name of an artifact the run logged').max(256, 'must be at most 256 characters'),
  signature: ModelSignature,
  modelCard: ModelCard.default({ intendedUse: '', limitations: '', evaluationData: '', ethicalConsiderations: '', caveats: '' }),
});
export const UpdateModelCardRequest = z.object({ modelVersionId: uuid, modelCard: ModelCard });
export const RequestPromotionRequest = z.object({
  /** Chosen by the caller when the request must have a known id; else derived from the Mt-Command-Id, else random. */
  requestId: uuid.optional(),
  modelVersionId: uuid,
  alias: AliasName,
  justification: z.string({ message: 'must say why' }).trim().min(1, 'must say why the version should hold the alias').max(4_000, 'must be at most 4000 characters'),
});
export const ApprovePromotionRequest = z.object({ requestId: uuid, comment: z.string({ message: 'must be a text' }).trim().max(4_000, 'must be at most 4000 characters').default('') });
export const RejectPromotionRequest = z.object({ requestId: uuid, reason: z.string({ message: 'must say why' }).trim().min(1, 'must say why the request is rejected').max(4_000, 'must be at most 4000 characters') });
export const ArchiveModelVersionRequest = z.object({ modelVersionId: uuid, reason: z.string({ message: 'must say why' }).trim().min(1, 'must say why the version is archived').max(4_000, 'must be at most 4000 characters') });

export const PromotionRequestFilter = z.object({ modelId: uuid.optional(), modelVersionId: uuid.optional(), status: PromotionStatus.optional() });
export const ListModelsRequest = PageRequest.extend({ projectId: uuid.optional() });
export const ListModelVersionsRequest = PageRequest.extend({ modelId: uuid, status: ModelVersionStatus.optional() });
export const ListPromotionRequestsRequest = PageRequest.extend({ filter: PromotionRequestFilter.default({}) });
export const GetAliasRequest = z
  .object({
    modelId: uuid,
    alias: AliasName,
    /** The moment to answer for; now when absent (and when `asOfPosition` is absent). */
    asOf: isoTime.optional(),
    /** A global event position to answer for, instead of a time. */
    asOfPosition: z.number().int().nonnegative().optional(),
  })
  .refine((r) => r.asOf === undefined || r.asOfPosition === undefined, { message: 'give asOf or asOfPosition, not both', path: ['asOfPosition'] });
export const GetAliasReply = z.object({ assignment: AliasAssignmentView.nullable(), version: ModelVersionView.nullable() });
export const AliasHistoryRequest = z.object({ modelId: uuid, alias: AliasName });

// ---------------------------------------------------------------------------------------------
// RPC definitions
// ---------------------------------------------------------------------------------------------

const batchOf = (field: string) => z.array(uuid).min(1, `${field} must name at least one id`).max(500, `${field} must name at most 500 ids`);

export const registryRpc = {
  registerModel: defineRpc('mt.cmd.registry.RegisterModel', RegisterModelRequest, ModelView),
  createModelVersion: defineRpc('mt.cmd.registry.CreateModelVersion', CreateModelVersionRequest, ModelVersionView),
  updateModelCard: defineRpc('mt.cmd.registry.UpdateModelCard', UpdateModelCardRequest, ModelVersionView),
  requestPromotion: defineRpc('mt.cmd.registry.RequestPromotion', RequestPromotionRequest, PromotionRequestView),
  approvePromotion: defineRpc('mt.cmd.registry.ApprovePromotion', ApprovePromotionRequest, PromotionRequestView),
  rejectPromotion: defineRpc('mt.cmd.registry.RejectPromotion', RejectPromotionRequest, PromotionRequestView),
  archiveModelVersion: defineRpc('mt.cmd.registry.ArchiveModelVersion', ArchiveModelVersionRequest, ModelVersionView),

  /** Batch lookups (the gateway's DataLoaders): unknown ids are absent from `items`. */
  getModels: defineRpc('mt.qry.registry.GetModels', z.object({ modelIds: batchOf('modelIds') }), z.object({ items: z.array(ModelView) })),
  getModelVersions: defineRpc('mt.qry.registry.GetModelVersions', z.object({ modelVersionIds: batchOf('modelVersionIds') }), z.object({ items: z.array(ModelVersionView) })),
  getPromotionRequests: defineRpc('mt.qry.registry.GetPromotionRequests', z.object({ requestIds: batchOf('requestIds') }), z.object({ items: z.array(PromotionRequestView) })),
  /** Versions made from the runs asked for (a batch, for the gateway's DataLoader), oldest first; runs without any have none. */
  listRunModelVersions: defineRpc(
    'mt.qry.registry.ListRunModelVersions',
    z.object({ runIds: z.array(uuid).min(1, 'must name at least one run').max(500, 'must name at most 500 runs') }),
    z.object({ items: z.array(ModelVersionView) }),
  ),
  /** Oldest first. */
  listModels: defineRpc('mt.qry.registry.ListModels', ListModelsRequest, z.object({ items: z.array(ModelView), pageInfo: PageInfo })),
  /** Newest version first. */
  listModelVersions: defineRpc('mt.qry.registry.ListModelVersions', ListModelVersionsRequest, z.object({ items: z.array(ModelVersionView), pageInfo: PageInfo })),
  /** Newest first. */
  listPromotionRequests: defineRpc('mt.qry.registry.ListPromotionRequests', ListPromotionRequestsRequest, z.object({ items: z.array(PromotionRequestView), pageInfo: PageInfo })),
  /** Which version held the alias at a moment (now by default); null before its first assignment. */
  getAlias: defineRpc('mt.qry.registry.GetAlias', GetAliasRequest, GetAliasReply),
  /** Every move of the alias, newest first. */
  aliasHistory: defineRpc('mt.qry.registry.AliasHistory', AliasHistoryRequest, z.object({ items: z.array(AliasAssignmentView) })),
} as const;
