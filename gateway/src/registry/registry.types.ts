import { Field, Float, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { MODEL_VERSION_STATUSES, type ModelVersionView, type ModelView, PROMOTION_GATES, PROMOTION_STATUSES, type AliasAssignmentView, type PromotionRequestView } from '@modeltrail/contracts';
import { enumOf } from '../common/ids';
import { Connection } from '../common/page';
import { DateTimeScalar, JSONScalar } from '../common/scalars';
import { CodeRef, DatasetRoleEnum, MetricSummary, OptimizationDirectionEnum, RunDatasetVersion } from '../experiments/experiment.types';

export const ModelVersionStatusEnum = enumOf(MODEL_VERSION_STATUSES);
registerEnumType(ModelVersionStatusEnum, { name: 'ModelVersionStatus', description: 'ARCHIVED: kept for lineage and audit, never promoted again.' });
export const PromotionStatusEnum = enumOf(PROMOTION_STATUSES);
registerEnumType(PromotionStatusEnum, { name: 'PromotionStatus', description: 'PENDING until approved or rejected, once.' });
export const PromotionGateEnum = enumOf(PROMOTION_GATES);
registerEnumType(PromotionGateEnum, {
  name: 'PromotionGate',
  description:
    "RUN_COMPLETED: the source run completed. SUCCESS_CRITERIA: the run's metrics meet the project's success criteria. DATASET_VALIDATION: the latest validation of every dataset version the run used passed. MODEL_CARD_COMPLETE: every field of the model card is filled.",
});

@ObjectType({ description: 'The artifact a version serves, as its run logged it.' })
export class ModelArtifact {
  @Field()
  name!: string;

  @Field()
  uri!: string;

  @Field({ description: 'SHA-256 of the bytes, lower-case hexadecimal.' })
  digest!: string;

  @Field(() => Float, { description: 'Bytes.' })
  size!: number;
}

@ObjectType({ description: 'A column or tensor a model takes or gives.' })
export class SignatureField {
  @Field()
  name!: string;

  @Field({ description: 'e.g. double, long, string, boolean, tensor<float32>[-1,3].' })
  type!: string;
}

@ObjectType({ description: 'What a model takes and gives.' })
export class ModelSignature {
  @Field(() => [SignatureField])
  inputs!: SignatureField[];

  @Field(() => [SignatureField])
  outputs!: SignatureField[];
}

@ObjectType({ description: 'A model card: what the model is for, where it falls short, how it was evaluated. Promotion needs every field filled.' })
export class ModelCard {
  @Field()
  intendedUse!: string;

  @Field()
  limitations!: string;

  @Field()
  evaluationData!: string;

  @Field()
  ethicalConsiderations!: string;

  @Field()
  caveats!: string;
}

@ObjectType({ description: 'A registered model: a named line of versions within a project, with aliases (champion, staging...) that point at versions.' })
export class Model {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  description!: string;

  @Field(() => Int, { description: 'The highest version number (0 before the first version).' })
  latestVersion!: number;

  @Field(() => DateTimeScalar)
  registeredAt!: string;

  @Field()
  registeredBy!: string;

  /** Resolved as `project`. */
  projectId!: string;
  /** Resolved as `aliases`. */
  holders!: Array<{ alias: string; modelVersionId: string; version: number }>;
}

@ObjectType()
export class ModelConnection extends Connection(Model) {}

@ObjectType({ description: 'An alias and the version holding it now.' })
export class AliasHolder {
  @Field()
  alias!: string;

  @Field(() => Int)
  version!: number;

  /** Resolved as `modelVersion`. */
  modelVersionId!: string;
}

@ObjectType({ description: 'A version of a model: a snapshot of the completed run it came from, with its signature and model card.' })
export class ModelVersion {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { description: '1, 2, ... within the model.' })
  version!: number;

  @Field(() => ModelVersionStatusEnum)
  status!: string;

  @Field(() => ModelArtifact)
  artifact!: ModelArtifact;

  @Field(() => [MetricSummary], { description: "The run's metrics summary when it completed." })
  metrics!: MetricSummary[];

  @Field(() => JSONScalar, { description: "The run's parameters (name to string, number or boolean)." })
  params!: Record<string, string | number | boolean>;

  @Field(() => CodeRef, { nullable: true })
  codeRef!: CodeRef | null;

  @Field(() => [RunDatasetVersion], { description: 'The dataset versions the run trained and was evaluated on.' })
  datasetVersions!: RunDatasetVersion[];

  @Field(() => ModelSignature)
  signature!: ModelSignature;

  @Field(() => ModelCard)
  modelCard!: ModelCard;

  @Field(() => [String], { description: 'The aliases it holds now.' })
  aliases!: string[];

  @Field(() => DateTimeScalar)
  createdAt!: string;

  @Field()
  createdBy!: string;

  @Field(() => DateTimeScalar, { nullable: true })
  archivedAt!: string | null;

  @Field(() => String, { nullable: true })
  archiveReason!: string | null;

  /** Resolved as `model`, `run`, `experiment` and `project`. */
  modelId!: string;
  runId!: string;
  experimentId!: string;
  projectId!: string;
}

@ObjectType()
export class ModelVersionConnection extends Connection(ModelVersion) {}

@ObjectType({ description: "One success criterion of the project against the run's last value of the metric." })
export class CriterionResult {
  @Field()
  metric!: string;

  @Field(() => Float)
  threshold!: number;

  @Field(() => OptimizationDirectionEnum)
  direction!: string;

  @Field(() => Float, { nullable: true, description: 'Null when the run did not log the metric (the criterion fails).' })
  value!: number | null;

  @Field()
  passed!: boolean;
}

@ObjectType({ description: 'The latest validation of a dataset version the run used.' })
export class DatasetValidationResult {
  @Field(() => ID)
  datasetVersionId!: string;

  @Field(() => ID)
  datasetId!: string;

  @Field(() => DatasetRoleEnum)
  role!: string;

  @Field(() => ID, { nullable: true, description: 'Null when the version was never validated (the gate fails).' })
  validationId!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  validatedAt!: string | null;

  @Field()
  passed!: boolean;
}

@ObjectType({ description: 'The result of one gate, as the request recorded it when it was made.' })
export class GateResult {
  @Field(() => PromotionGateEnum)
  gate!: string;

  @Field()
  passed!: boolean;

  @Field()
  detail!: string;

  @Field(() => [CriterionResult], { description: 'SUCCESS_CRITERIA: each criterion with the run\'s value.' })
  criteria!: CriterionResult[];

  @Field(() => [DatasetValidationResult], { description: 'DATASET_VALIDATION: each dataset version with its latest validation.' })
  datasets!: DatasetValidationResult[];
}

@ObjectType({ description: 'A request to point an alias at a version, with the result of every gate; approved (by someone else) or rejected, once.' })
export class PromotionRequest {
  @Field(() => ID)
  id!: string;

  @Field()
  alias!: string;

  @Field(() => Int)
  version!: number;

  @Field()
  justification!: string;

  @Field(() => PromotionStatusEnum)
  status!: string;

  @Field(() => [GateResult])
  gates!: GateResult[];

  @Field({ description: 'Whether every gate passed: only then can the request be approved.' })
  gatesPassed!: boolean;

  @Field()
  requestedBy!: string;

  @Field(() => DateTimeScalar)
  requestedAt!: string;

  @Field(() => String, { nullable: true })
  decidedBy!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  decidedAt!: string | null;

  @Field(() => String, { nullable: true, description: "The approver's comment or the rejection's reason." })
  decisionNote!: string | null;

  /** Resolved as `model` and `modelVersion`. */
  modelId!: string;
  modelVersionId!: string;
}

@ObjectType()
export class PromotionRequestConnection extends Connection(PromotionRequest) {}

@ObjectType({ description: 'One holding of an alias: who moved it to which version, when and why, from its assignment until the next one.' })
export class AliasAssignment {
  @Field()
  alias!: string;

  @Field(() => Int)
  version!: number;

  @Field()
  requestedBy!: string;

  @Field()
  approvedBy!: string;

  @Field({ description: "The request's justification and the approver's comment." })
  reason!: string;

  @Field(() => DateTimeScalar)
  validFrom!: string;

  @Field(() => Float, { description: 'Global position of the event that assigned it.' })
  validFromPosition!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the next assignment took the alias; null while it holds.' })
  validTo!: string | null;

  @Field(() => Float, { nullable: true })
  validToPosition!: number | null;

  /** Resolved as `model`, `modelVersion`, `previousModelVersion` and `promotionRequest`. */
  modelId!: string;
  modelVersionId!: string;
  previousModelVersionId!: string | null;
  requestId!: string;
}

export function toModel(view: ModelView): Model {
  return {
    id: view.modelId,
    projectId: view.projectId,
    name: view.name,
    description: view.description,
    latestVersion: view.latestVersion,
    registeredAt: view.registeredAt,
    registeredBy: view.registeredBy,
    holders: view.aliases,
  };
}

export function toModelVersion(view: ModelVersionView): ModelVersion {
  return {
    id: view.modelVersionId,
    modelId: view.modelId,
    runId: view.runId,
    experimentId: view.experimentId,
    projectId: view.projectId,
    version: view.version,
    status: view.status,
    artifact: view.artifact,
    metrics: view.metrics,
    params: view.params,
    codeRef: view.codeRef,
    datasetVersions: view.datasetVersions.map((v) => ({ datasetVersionId: v.datasetVersionId, role: v.role })),
    signature: view.signature,
    modelCard: view.modelCard,
    aliases: view.aliases,
    createdAt: view.createdAt,
    createdBy: view.createdBy,
    archivedAt: view.archivedAt,
    archiveReason: view.archiveReason,
  };
}

export function toPromotionRequest(view: PromotionRequestView): PromotionRequest {
  return {
    id: view.requestId,
    modelId: view.modelId,
    modelVersionId: view.modelVersionId,
    version: view.version,
    alias: view.alias,
    justification: view.justification,
    status: view.status,
    gates: view.gates,
    gatesPassed: view.gatesPassed,
    requestedBy: view.requestedBy,
    requestedAt: view.requestedAt,
    decidedBy: view.decidedBy,
    decidedAt: view.decidedAt,
    decisionNote: view.decisionNote,
  };
}

export function toAliasAssignment(view: AliasAssignmentView): AliasAssignment {
  return { ...view };
}
