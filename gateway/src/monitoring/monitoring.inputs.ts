import { Field, Float, ID, InputType, Int } from '@nestjs/graphql';
import { present } from '../common/input';
import { DateTimeScalar, JSONScalar } from '../common/scalars';
import { DataFormatEnum } from '../datasets/dataset.types';
import { JobResourcesInput } from '../scheduler/scheduler.inputs';
import { AlertKindEnum, AlertStatusEnum, CategoricalDriftMethodEnum, NumericDriftMethodEnum, RetrainPolicyEnum, RetrainStatusEnum } from './monitoring.types';

type Values<E> = E[keyof E];

@InputType({ description: 'Deploys a registered model version: its training data is profiled into the frozen reference drift is measured against, and its monitor is created.' })
export class DeployModelInput {
  @Field(() => ID, { nullable: true, description: 'A deployment id chosen by the caller; otherwise one is derived from the Idempotency-Key, or made up.' })
  deploymentId?: string | null;

  @Field(() => ID)
  modelVersionId!: string;

  @Field({ description: 'e.g. production, staging: letters, digits, dots, dashes and underscores.' })
  environment!: string;

  @Field({ description: 'Where the model serves, e.g. https://models.example.com/churn.' })
  endpoint!: string;

  @Field(() => ID, { nullable: true, description: 'The training dataset version to build the reference from; needed only when the version has several TRAIN datasets.' })
  referenceDatasetVersionId?: string | null;

  @Field(() => [String], { nullable: true, description: 'The features to monitor; every column but the target and DATETIME columns when absent.' })
  features?: string[] | null;
}

@InputType({ description: "The job a monitor's retraining queues (defaults as submitJob's)." })
export class RetrainJobInput {
  @Field(() => ID, { nullable: true, description: "The experiment of the retraining's run; the deployed version's when absent." })
  experimentId?: string | null;

  @Field(() => [String], { description: 'argv, executed without a shell: every element is one literal argument.' })
  command!: string[];

  @Field(() => JSONScalar, { nullable: true })
  env?: unknown;

  @Field(() => String, { nullable: true, description: "An absolute path under one of the installation's allowed roots." })
  workingDir?: string | null;

  @Field(() => JobResourcesInput, { nullable: true })
  resources?: JobResourcesInput | null;

  @Field(() => Int, { nullable: true })
  priority?: number | null;

  @Field(() => Int, { nullable: true })
  maxRetries?: number | null;

  @Field(() => Int, { nullable: true })
  timeoutSeconds?: number | null;

  @Field(() => Int, { nullable: true })
  cancelGraceSeconds?: number | null;

  @Field(() => JSONScalar, { nullable: true, description: "The new run's params; the deployed version's run's params when absent." })
  params?: unknown;
}

@InputType({ description: 'Changes the settings given and keeps the others. A policy of APPROVAL or AUTO needs a retraining job: the one given (now or before), else the job that trained the deployed version.' })
export class ConfigureMonitorInput {
  @Field(() => ID)
  deploymentId!: string;

  @Field(() => NumericDriftMethodEnum, { nullable: true })
  numericMethod?: Values<typeof NumericDriftMethodEnum> | null;

  @Field(() => CategoricalDriftMethodEnum, { nullable: true })
  categoricalMethod?: Values<typeof CategoricalDriftMethodEnum> | null;

  @Field(() => Float, { nullable: true, description: 'KS drifts when its p-value is below this (0 < p ≤ 1).' })
  ksPValue?: number | null;

  @Field(() => Float, { nullable: true, description: 'Chi-square drifts when its p-value is below this (0 < p ≤ 1).' })
  chiSquarePValue?: number | null;

  @Field(() => Float, { nullable: true, description: 'Wasserstein distance in reference standard deviations at or above which a feature drifts.' })
  wassersteinThreshold?: number | null;

  @Field(() => Float, { nullable: true, description: 'Jensen–Shannon distance at or above which a feature drifts.' })
  jensenShannonThreshold?: number | null;

  @Field(() => Float, { nullable: true, description: 'PSI at or above which a feature drifts.' })
  psiThreshold?: number | null;

  @Field(() => Float, { nullable: true, description: 'Share of drifted features (0 to 1) at or above which a batch drifts.' })
  driftShare?: number | null;

  @Field(() => Boolean, { nullable: true, description: 'Divide the p-value thresholds by the number of features decided by a p-value.' })
  bonferroni?: boolean | null;

  @Field(() => Int, { nullable: true, description: 'Consecutive drifted (or degraded) windows that raise an alert, 1 to 100.' })
  raiseAfter?: number | null;

  @Field(() => Int, { nullable: true, description: 'Consecutive healthy windows that resolve an open alert, 1 to 100.' })
  resolveAfter?: number | null;

  @Field(() => RetrainPolicyEnum, { nullable: true })
  retrainPolicy?: Values<typeof RetrainPolicyEnum> | null;

  @Field(() => Float, { nullable: true, description: "Fraction (0 to 1) of the version's value by which a metric may be worse before a window is degraded." })
  performanceTolerance?: number | null;

  @Field(() => Int, { nullable: true, description: 'Labelled predictions per performance window.' })
  windowSize?: number | null;

  @Field(() => RetrainJobInput, { nullable: true, description: 'The retraining job. Left out: unchanged; null: back to the job that trained the deployed version.' })
  retrainJob?: RetrainJobInput | null;
}

@InputType({ description: 'A batch as a table: the column names once, then each row as a list of cells in that order.' })
export class InlineRowsInput {
  @Field(() => [String])
  columns!: string[];

  @Field(() => [JSONScalar], { description: 'Rows, each a list of cells (string, finite number, boolean or null for missing), e.g. [[31, "pro"], [45, null]].' })
  rows!: unknown[];
}

@InputType({ description: 'A batch of production features to compare with the reference: exactly one of datasetVersionId, uri and rows.' })
export class IngestFeatureBatchInput {
  @Field(() => ID)
  deploymentId!: string;

  @Field(() => ID, { nullable: true, description: "A registered dataset version's file." })
  datasetVersionId?: string | null;

  @Field(() => String, { nullable: true, description: 'A file (local path or file:// URI).' })
  uri?: string | null;

  @Field(() => DataFormatEnum, { nullable: true, description: "The format of the file at uri; from its extension when absent." })
  format?: string | null;

  @Field(() => InlineRowsInput, { nullable: true })
  rows?: InlineRowsInput | null;
}

@InputType()
export class PredictionInput {
  @Field({ description: "The caller's id of the prediction (the serving request's id, say)." })
  predictionId!: string;

  @Field(() => JSONScalar, { description: 'The model output: a string, a finite number or a boolean.' })
  prediction!: unknown;

  @Field(() => DateTimeScalar, { nullable: true })
  predictedAt?: string | null;
}

@InputType({ description: "Predictions the deployed model made; their labels may come later (ingestGroundTruth). Idempotent per prediction id and value." })
export class IngestPredictionsInput {
  @Field(() => ID)
  deploymentId!: string;

  @Field(() => [PredictionInput])
  predictions!: PredictionInput[];
}

@InputType()
export class GroundTruthInput {
  @Field()
  predictionId!: string;

  @Field(() => JSONScalar, { description: 'The true outcome: a string, a finite number or a boolean.' })
  actual!: unknown;
}

@InputType({ description: 'True outcomes of stored predictions, in arrival order: each complete window of windowSize labels is measured once.' })
export class IngestGroundTruthInput {
  @Field(() => ID)
  deploymentId!: string;

  @Field(() => [GroundTruthInput])
  labels!: GroundTruthInput[];
}

@InputType()
export class ApproveRetrainInput {
  @Field(() => ID)
  retrainId!: string;

  @Field(() => String, { nullable: true })
  comment?: string | null;
}

@InputType()
export class DeclineRetrainInput {
  @Field(() => ID)
  retrainId!: string;

  @Field()
  reason!: string;
}

@InputType()
export class DeploymentFilter {
  @Field(() => ID, { nullable: true })
  modelId?: string | null;

  @Field(() => ID, { nullable: true })
  modelVersionId?: string | null;

  @Field(() => String, { nullable: true })
  environment?: string | null;
}

@InputType()
export class AlertFilter {
  @Field(() => ID, { nullable: true })
  deploymentId?: string | null;

  @Field(() => AlertStatusEnum, { nullable: true })
  status?: Values<typeof AlertStatusEnum> | null;

  @Field(() => AlertKindEnum, { nullable: true })
  kind?: Values<typeof AlertKindEnum> | null;
}

@InputType()
export class RetrainRequestFilter {
  @Field(() => ID, { nullable: true })
  deploymentId?: string | null;

  @Field(() => RetrainStatusEnum, { nullable: true })
  status?: Values<typeof RetrainStatusEnum> | null;
}

/** The contract's ConfigureMonitor request: settings left out (or null) stay as they are; `retrainJob: null` given explicitly resets the job. */
export function toConfigureMonitor(input: ConfigureMonitorInput): Record<string, unknown> {
  const { retrainJob, ...settings } = present(input);
  const request: Record<string, unknown> = { ...settings };
  if (retrainJob) {
    const { resources, ...job } = present(retrainJob);
    request.retrainJob = { ...job, ...(resources ? { resources: present(resources) } : {}) };
  } else if (Object.prototype.hasOwnProperty.call(input, 'retrainJob') && input.retrainJob === null) {
    request.retrainJob = null;
  }
  return request;
}

/** The contract's IngestFeatureBatch request: the one source given. */
export function toFeatureBatch(input: IngestFeatureBatchInput): Record<string, unknown> {
  const { rows, ...rest } = present(input);
  return { ...rest, ...(rows ? { rows: { columns: rows.columns, rows: rows.rows } } : {}) };
}
