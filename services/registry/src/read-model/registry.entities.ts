import { BigIntType, EntitySchema } from '@mikro-orm/postgresql';
import type { CodeRef, GateResult, MetricSummary, ModelArtifact, ModelCard, ModelSignature, ModelVersionStatus, PromotionStatus, RunDatasetVersion } from '@modeltrail/contracts';
import type { TableSpec } from '@modeltrail/readmodel';

/** Read-model rows of the registry service (tables in its schema; see registry.migrations.ts). */

export interface ModelRow {
  modelId: string;
  projectId: string;
  name: string;
  description: string;
  /** The highest version number created (0 before the first). */
  latestVersion: number;
  registeredAt: Date;
  registeredBy: string;
  /** Revision of the model's stream. */
  revision: number;
  position: number;
}

export interface ModelVersionRow {
  modelVersionId: string;
  modelId: string;
  projectId: string;
  experimentId: string;
  runId: string;
  version: number;
  status: ModelVersionStatus;
  artifact: ModelArtifact;
  metrics: MetricSummary[];
  params: Record<string, string | number | boolean>;
  codeRef: CodeRef | null;
  datasetVersions: RunDatasetVersion[];
  signature: ModelSignature;
  modelCard: ModelCard;
  createdAt: Date;
  createdBy: string;
  archivedAt: Date | null;
  archiveReason: string | null;
  /** Revision of the version's own stream. */
  revision: number;
  position: number;
}

export interface PromotionRequestRow {
  requestId: string;
  modelId: string;
  modelVersionId: string;
  version: number;
  alias: string;
  justification: string;
  status: PromotionStatus;
  gates: GateResult[];
  gatesPassed: boolean;
  requestedBy: string;
  requestedAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
  decisionNote: string | null;
  position: number;
}

/** One assignment of an alias; it holds until the next assignment of the same alias (found when queried). */
export interface AliasAssignmentRow {
  modelId: string;
  alias: string;
  validFromPosition: number;
  modelVersionId: string;
  previousModelVersionId: string | null;
  requestId: string;
  requestedBy: string;
  approvedBy: string;
  reason: string;
  validFrom: Date;
}

const bigint = () => new BigIntType('number');

export const ModelRowSchema = new EntitySchema<ModelRow>({
  name: 'ModelRow',
  tableName: 'models',
  properties: {
    modelId: { type: 'uuid', primary: true },
    projectId: { type: 'uuid' },
    name: { type: 'text' },
    description: { type: 'text' },
    latestVersion: { type: 'integer' },
    registeredAt: { type: 'Date' },
    registeredBy: { type: 'text' },
    revision: { type: bigint() },
    position: { type: bigint() },
  },
});

export const ModelVersionRowSchema = new EntitySchema<ModelVersionRow>({
  name: 'ModelVersionRow',
  tableName: 'model_versions',
  properties: {
    modelVersionId: { type: 'uuid', primary: true },
    modelId: { type: 'uuid' },
    projectId: { type: 'uuid' },
    experimentId: { type: 'uuid' },
    runId: { type: 'uuid' },
    version: { type: 'integer' },
    status: { type: 'text' },
    artifact: { type: 'json' },
    metrics: { type: 'json' },
    params: { type: 'json' },
    codeRef: { type: 'json', nullable: true },
    datasetVersions: { type: 'json' },
    signature: { type: 'json' },
    modelCard: { type: 'json' },
    createdAt: { type: 'Date' },
    createdBy: { type: 'text' },
    archivedAt: { type: 'Date', nullable: true },
    archiveReason: { type: 'text', nullable: true },
    revision: { type: bigint() },
    position: { type: bigint() },
  },
});

export const PromotionRequestRowSchema = new EntitySchema<PromotionRequestRow>({
  name: 'PromotionRequestRow',
  tableName: 'promotion_requests',
  properties: {
    requestId: { type: 'uuid', primary: true },
    modelId: { type: 'uuid' },
    modelVersionId: { type: 'uuid' },
    version: { type: 'integer' },
    alias: { type: 'text' },
    justification: { type: 'text' },
    status: { type: 'text' },
    gates: { type: 'json' },
    gatesPassed: { type: 'boolean' },
    requestedBy: { type: 'text' },
    requestedAt: { type: 'Date' },
    decidedBy: { type: 'text', nullable: true },
    decidedAt: { type: 'Date', nullable: true },
    decisionNote: { type: 'text', nullable: true },
    position: { type: bigint() },
  },
});

export const AliasAssignmentRowSchema = new EntitySchema<AliasAssignmentRow>({
  name: 'AliasAssignmentRow',
  tableName: 'alias_assignments',
  properties: {
    modelId: { type: 'uuid', primary: true },
    alias: { type: 'text', primary: true },
    validFromPosition: { type: bigint(), primary: true },
    modelVersionId: { type: 'uuid' },
    previousModelVersionId: { type: 'uuid', nullable: true },
    requestId: { type: 'uuid' },
    requestedBy: { type: 'text' },
    approvedBy: { type: 'text' },
    reason: { type: 'text' },
    validFrom: { type: 'Date' },
  },
});

export const registryEntities = [ModelRowSchema, ModelVersionRowSchema, PromotionRequestRowSchema, AliasAssignmentRowSchema];

/** The tables as the projection writes them. */
export const modelsTable: TableSpec<ModelRow, 'modelId'> = {
  name: 'models',
  key: ['modelId'],
  columns: {
    modelId: 'uuid',
    projectId: 'uuid',
    name: 'text',
    description: 'text',
    latestVersion: 'integer',
    registeredAt: 'timestamptz',
    registeredBy: 'text',
    revision: 'bigint',
    position: 'bigint',
  },
};

export const modelVersionsTable: TableSpec<ModelVersionRow, 'modelVersionId'> = {
  name: 'model_versions',
  key: ['modelVersionId'],
  columns: {
    modelVersionId: 'uuid',
    modelId: 'uuid',
    projectId: 'uuid',
    experimentId: 'uuid',
    runId: 'uuid',
    version: 'integer',
    status: 'text',
    artifact: 'jsonb',
    metrics: 'jsonb',
    params: 'jsonb',
    codeRef: 'jsonb',
    datasetVersions: 'jsonb',
    signature: 'jsonb',
    modelCard: 'jsonb',
    createdAt: 'timestamptz',
    createdBy: 'text',
    archivedAt: 'timestamptz',
    archiveReason: 'text',
    revision: 'bigint',
    position: 'bigint',
  },
};

export const promotionRequestsTable: TableSpec<PromotionRequestRow, 'requestId'> = {
  name: 'promotion_requests',
  key: ['requestId'],
  columns: {
    requestId: 'uuid',
    modelId: 'uuid',
    modelVersionId: 'uuid',
    version: 'integer',
    alias: 'text',
    justification: 'text',
    status: 'text',
    gates: 'jsonb',
    gatesPassed: 'boolean',
    requestedBy: 'text',
    requestedAt: 'timestamptz',
    decidedBy: 'text',
    decidedAt: 'timestamptz',
    decisionNote: 'text',
    position: 'bigint',
  },
};

export const aliasAssignmentsTable: TableSpec<AliasAssignmentRow, 'modelId' | 'alias' | 'validFromPosition'> = {
  name: 'alias_assignments',
  key: ['modelId', 'alias', 'validFromPosition'],
  columns: {
    modelId: 'uuid',
    alias: 'text',
    validFromPosition: 'bigint',
    modelVersionId: 'uuid',
    previousModelVersionId: 'uuid',
    requestId: 'uuid',
    requestedBy: 'text',
    approvedBy: 'text',
    reason: 'text',
    validFrom: 'timestamptz',
  },
};
