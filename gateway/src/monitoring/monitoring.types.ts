import { Field, Float, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import {
  ALERT_KINDS,
  ALERT_STATUSES,
  BATCH_SOURCE_KINDS,
  CATEGORICAL_DRIFT_METHODS,
  DRIFT_METHODS,
  FEATURE_KINDS,
  JOB_REFUSAL_CODES,
  NUMERIC_DRIFT_METHODS,
  PERFORMANCE_METRICS,
  PSI_BAND_NAMES,
  RETRAIN_POLICIES,
  RETRAIN_STATUSES,
  RETRAIN_TEMPLATE_SOURCES,
  SKIPPED_COLUMN_REASONS,
  type AlertView,
  type DeploymentView,
  type DriftMeasurementView,
  type MonitorView,
  type PerformanceMeasurementView,
  type RetrainView,
} from '@modeltrail/contracts';
import { enumOf } from '../common/ids';
import { Connection } from '../common/page';
import { DateTimeScalar, JSONScalar } from '../common/scalars';
import { ColumnTypeEnum, DataFormatEnum } from '../datasets/dataset.types';
import { DatasetRoleEnum, TaskTypeEnum } from '../experiments/experiment.types';

type Values<E> = E[keyof E];

export const RetrainPolicyEnum = enumOf(RETRAIN_POLICIES);
registerEnumType(RetrainPolicyEnum, {
  name: 'RetrainPolicy',
  description: 'What a raised alert does: OFF nothing more; APPROVAL proposes a retraining that a person approves (approveRetrain) or declines; AUTO requests the retraining at once.',
});
export const AlertKindEnum = enumOf(ALERT_KINDS);
registerEnumType(AlertKindEnum, { name: 'AlertKind', description: 'DRIFT: raised by drifted feature batches; PERFORMANCE: by degraded windows of labelled predictions.' });
export const AlertStatusEnum = enumOf(ALERT_STATUSES);
registerEnumType(AlertStatusEnum, { name: 'AlertStatus' });
export const RetrainStatusEnum = enumOf(RETRAIN_STATUSES);
registerEnumType(RetrainStatusEnum, { name: 'RetrainStatus', description: 'PROPOSED (APPROVAL policy, waiting for a person), REQUESTED (the scheduler queues its job), DECLINED.' });
export const FeatureKindEnum = enumOf(FEATURE_KINDS);
registerEnumType(FeatureKindEnum, { name: 'FeatureKind', description: 'How a feature is compared: NUMERIC or CATEGORICAL.' });
export const NumericDriftMethodEnum = enumOf(NUMERIC_DRIFT_METHODS);
registerEnumType(NumericDriftMethodEnum, {
  name: 'NumericDriftMethod',
  description:
    "The test that decides a numeric feature's drift. AUTO follows Evidently's default choice: with at most 1,000 reference values KS, else Wasserstein normed by the reference std; a feature with at most 5 distinct values (reference and batch together) is compared as categories (chi-square, or Jensen–Shannon above 1,000 values).",
});
export const CategoricalDriftMethodEnum = enumOf(CATEGORICAL_DRIFT_METHODS);
registerEnumType(CategoricalDriftMethodEnum, {
  name: 'CategoricalDriftMethod',
  description: "The test that decides a categorical feature's drift. AUTO follows Evidently's default choice: chi-square with at most 1,000 reference values, else Jensen–Shannon distance.",
});
export const DriftMethodEnum = enumOf(DRIFT_METHODS);
registerEnumType(DriftMethodEnum, {
  name: 'DriftMethod',
  description:
    'KS: two-sample Kolmogorov–Smirnov D with its asymptotic p-value (drifted when p < ksPValue). WASSERSTEIN: Wasserstein-1 distance divided by the reference std (floored at 0.001), drifted at or above wassersteinThreshold. PSI: population stability index over the frozen reference deciles (numeric) or the categories plus an "other" bin, zero shares counted as 0.0001, drifted at or above psiThreshold. CHI_SQUARE: goodness of fit of the batch counts to the reference shares over the categories plus an "other" bin for unseen ones (drifted when p < chiSquarePValue). JENSEN_SHANNON: Jensen–Shannon distance with natural logarithms (0 to 0.833), drifted at or above jensenShannonThreshold.',
});
export const PsiBandEnum = enumOf(PSI_BAND_NAMES);
registerEnumType(PsiBandEnum, { name: 'PsiBand', description: 'NONE below 0.1, MODERATE from 0.1, MAJOR from 0.25 (fixed, whatever the threshold).' });
export const BatchSourceKindEnum = enumOf(BATCH_SOURCE_KINDS);
registerEnumType(BatchSourceKindEnum, { name: 'BatchSourceKind' });
/** Metric names are lower case in the contracts (they are run metric keys); the enum's names are their upper-case form. */
export const PerformanceMetricEnum = enumOf(PERFORMANCE_METRICS);
registerEnumType(PerformanceMetricEnum, { name: 'PerformanceMetric', description: 'ACCURACY, PRECISION, RECALL, F1 for classification; RMSE, MAE for regression.' });
export const SkippedColumnReasonEnum = enumOf(SKIPPED_COLUMN_REASONS);
registerEnumType(SkippedColumnReasonEnum, { name: 'SkippedColumnReason' });
export const RetrainTemplateSourceEnum = enumOf(RETRAIN_TEMPLATE_SOURCES);
registerEnumType(RetrainTemplateSourceEnum, { name: 'RetrainTemplateSource', description: 'CONFIGURED with configureMonitor, or TRAINING_JOB: copied from the scheduler job that trained the deployed version.' });
export const JobRefusalCodeEnum = enumOf(JOB_REFUSAL_CODES);
registerEnumType(JobRefusalCodeEnum, { name: 'JobRefusalCode' });

/** How drift is measured, for the descriptions of the types that show it (libs/drift/README.md). */
export const DRIFT_CONVENTIONS =
  'Each feature of a batch is compared with the reference frozen from the training data at deployment. Numeric features: the two-sample Kolmogorov–Smirnov statistic D with its asymptotic p-value, PSI over the reference deciles (zero shares floored at 0.0001), and the Wasserstein-1 distance divided by the reference std. Categorical features: chi-square goodness of fit with an "other" bin for categories the reference never saw, PSI, and the Jensen–Shannon distance (natural logarithms). Every statistic that applies is reported; the chosen method decides (AUTO: Evidently\'s default choice per feature, by the size of the reference and the number of distinct values). Thresholds are the monitor\'s (defaults: p < 0.05 for KS and chi-square, 0.1 for Wasserstein, Jensen–Shannon and PSI); Bonferroni, when on, divides the p-value thresholds by the number of features decided by a p-value. The batch is drifted when the share of drifted features is at or above driftShare (0.5).';

@ObjectType({ description: 'A feature of the reference: its name, how it is compared, and its column type in the training data.' })
export class ReferenceFeature {
  @Field()
  name!: string;

  @Field(() => FeatureKindEnum)
  kind!: string;

  @Field(() => ColumnTypeEnum)
  columnType!: string;
}

@ObjectType({ description: 'A column of the training data that is not monitored, and why.' })
export class SkippedColumn {
  @Field()
  name!: string;

  @Field(() => SkippedColumnReasonEnum)
  reason!: string;
}

@ObjectType({ description: 'The profile of the training data frozen at deployment (content-addressed, so it never changes): what drift is measured against.' })
export class DeploymentReference {
  @Field(() => ID, { description: 'The training dataset version the profile was built from.' })
  datasetVersionId!: string;

  @Field(() => ID)
  datasetId!: string;

  @Field({ description: 'The training data file read.' })
  dataUri!: string;

  @Field(() => DataFormatEnum)
  format!: string;

  @Field({ description: 'SHA-256 of the stored profile.' })
  digest!: string;

  @Field({ description: 'Where the profile is stored.' })
  uri!: string;

  @Field(() => Float, { description: 'Bytes of the stored profile.' })
  size!: number;

  @Field(() => Float, { description: 'Rows of the training data.' })
  rows!: number;

  @Field(() => [ReferenceFeature])
  features!: ReferenceFeature[];

  @Field(() => [SkippedColumn])
  skippedColumns!: SkippedColumn[];

  @Field(() => String, { nullable: true, description: "The project's target (never a feature)." })
  target!: string | null;

  @Field(() => DateTimeScalar)
  setAt!: string;
}

@ObjectType({ description: 'A model version deployed to an environment, with its frozen reference and its monitor.' })
export class Deployment {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: 'The deployment\'s monitor (also as `monitor`).' })
  monitorId!: string;

  @Field(() => ID)
  modelId!: string;

  @Field(() => ID)
  modelVersionId!: string;

  @Field(() => Int, { description: 'The version number of the deployed model version.' })
  version!: number;

  @Field(() => ID)
  projectId!: string;

  @Field(() => ID)
  experimentId!: string;

  @Field(() => ID, { description: 'The run that trained the deployed version (also as `run`).' })
  runId!: string;

  @Field()
  environment!: string;

  @Field()
  endpoint!: string;

  @Field(() => DateTimeScalar)
  deployedAt!: string;

  @Field()
  deployedBy!: string;

  @Field(() => DeploymentReference, { nullable: true, description: 'Null only while the deployment is being recorded.' })
  reference!: DeploymentReference | null;

  @Field(() => Int)
  revision!: number;
}

@ObjectType()
export class DeploymentConnection extends Connection(Deployment) {}

/** The fields of a job spec a retraining carries, in its template and in the job it queues. */
@ObjectType({ isAbstract: true })
abstract class RetrainJobSpec {
  @Field(() => [String], { description: 'argv, executed without a shell.' })
  command!: string[];

  @Field(() => JSONScalar)
  env!: Record<string, string>;

  @Field(() => String, { nullable: true })
  workingDir!: string | null;

  @Field(() => JSONScalar, { description: '{ gpus, gpuMemoryMb, cpus, memoryMb, labels }' })
  resources!: unknown;

  @Field(() => Int)
  priority!: number;

  @Field(() => Int)
  maxRetries!: number;

  @Field(() => Int, { nullable: true })
  timeoutSeconds!: number | null;

  @Field(() => Int)
  cancelGraceSeconds!: number;
}

@ObjectType({ description: 'The job a retraining queues, but for its datasets (the newest version of each training dataset is taken when the retraining is requested).' })
export class RetrainTemplate extends RetrainJobSpec {
  @Field(() => RetrainTemplateSourceEnum)
  source!: string;

  @Field(() => ID, { nullable: true, description: 'The job it was copied from (TRAINING_JOB).' })
  sourceJobId!: string | null;

  @Field(() => ID, { description: "The experiment of the retraining's new run." })
  experimentId!: string;


  @Field(() => JSONScalar, { description: "The new run's params." })
  params!: Record<string, unknown>;
}

@ObjectType({ description: `A monitor's settings. ${DRIFT_CONVENTIONS}` })
export class MonitorConfig {
  @Field(() => NumericDriftMethodEnum)
  numericMethod!: string;

  @Field(() => CategoricalDriftMethodEnum)
  categoricalMethod!: string;

  @Field(() => Float, { description: 'KS drifts when its p-value is below this (default 0.05).' })
  ksPValue!: number;

  @Field(() => Float, { description: 'Chi-square drifts when its p-value is below this (default 0.05).' })
  chiSquarePValue!: number;

  @Field(() => Float, { description: 'Wasserstein distance, in reference standard deviations, drifts at or above this (default 0.1).' })
  wassersteinThreshold!: number;

  @Field(() => Float, { description: 'Jensen–Shannon distance drifts at or above this (default 0.1).' })
  jensenShannonThreshold!: number;

  @Field(() => Float, { description: 'PSI drifts at or above this (default 0.1).' })
  psiThreshold!: number;

  @Field(() => Float, { description: 'A batch is drifted when the share of drifted features is at or above this (default 0.5).' })
  driftShare!: number;

  @Field({ description: 'Divide the p-value thresholds by the number of features decided by a p-value (default false).' })
  bonferroni!: boolean;

  @Field(() => Int, { description: 'An alert is raised after this many consecutive drifted (or degraded) windows.' })
  raiseAfter!: number;

  @Field(() => Int, { description: 'An open alert is resolved after this many consecutive healthy windows.' })
  resolveAfter!: number;

  @Field(() => RetrainPolicyEnum)
  retrainPolicy!: string;

  @Field(() => Float, { description: "A performance window is degraded when a metric is worse than the deployed version's value of it by more than this fraction of that value." })
  performanceTolerance!: number;

  @Field(() => Int, { description: 'Labelled predictions per performance window.' })
  windowSize!: number;

  @Field(() => RetrainTemplate, { nullable: true, description: 'The configured retraining job; null: the job that trained the deployed version.' })
  retrainJob!: RetrainTemplate | null;
}

@ObjectType({ description: 'Where one kind of window stands: how many there were, and the run of equal verdicts the last ones make.' })
export class MonitorWindowState {
  @Field(() => Int)
  windows!: number;

  @Field(() => Int, { description: 'Consecutive drifted (degraded) windows up to the last one.' })
  consecutiveBad!: number;

  @Field(() => Int, { description: 'Consecutive healthy windows up to the last one.' })
  consecutiveHealthy!: number;

  @Field(() => ID, { nullable: true })
  openAlertId!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  lastMeasuredAt!: string | null;
}

@ObjectType({ description: "A deployment's monitor: its settings and where its drift and performance windows stand." })
export class Monitor {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  deploymentId!: string;

  @Field(() => ID)
  modelId!: string;

  @Field(() => ID)
  modelVersionId!: string;

  @Field(() => ID)
  projectId!: string;

  @Field(() => TaskTypeEnum, { description: 'Which performance metrics a window measures.' })
  taskType!: string;

  @Field(() => MonitorConfig)
  config!: MonitorConfig;

  @Field(() => MonitorWindowState)
  drift!: MonitorWindowState;

  @Field(() => MonitorWindowState)
  performance!: MonitorWindowState;

  @Field(() => DateTimeScalar)
  createdAt!: string;

  @Field(() => DateTimeScalar, { nullable: true })
  configuredAt!: string | null;

  @Field(() => String, { nullable: true })
  configuredBy!: string | null;

  @Field(() => Int)
  revision!: number;
}

@ObjectType({ description: 'Where a measured batch came from.' })
export class BatchSource {
  @Field(() => BatchSourceKindEnum)
  kind!: string;

  @Field(() => ID, { nullable: true })
  datasetVersionId!: string | null;

  @Field(() => String, { nullable: true, description: 'The file read; null for inline rows.' })
  uri!: string | null;

  @Field(() => DataFormatEnum, { nullable: true })
  format!: string | null;
}

@ObjectType({ description: 'Two-sample Kolmogorov–Smirnov: D = sup |F_ref − F_cur| and its asymptotic p-value Q(√(nm/(n+m))·D).' })
export class KsResult {
  @Field(() => Float)
  statistic!: number;

  @Field(() => Float)
  pValue!: number;
}

@ObjectType({ description: 'Chi-square goodness of fit over the reference categories and an "other" bin (reference share 0.0001, shares renormalised); degrees of freedom = bins − 1.' })
export class ChiSquareResult {
  @Field(() => Float)
  statistic!: number;

  @Field(() => Int)
  degreesOfFreedom!: number;

  @Field(() => Float)
  pValue!: number;
}

@ObjectType({ description: 'The drift of one feature in one batch: every statistic that applies, and the verdict of the chosen method.' })
export class FeatureDrift {
  @Field()
  feature!: string;

  @Field(() => FeatureKindEnum)
  kind!: string;

  @Field(() => DriftMethodEnum, { description: 'The method that decided.' })
  method!: string;

  @Field(() => Float, { description: 'A p-value (KS, CHI_SQUARE: drifted below the threshold) or a distance (the others: drifted at or above it).' })
  score!: number;

  @Field(() => Float, { description: 'The threshold applied (with Bonferroni, the divided one).' })
  threshold!: number;

  @Field()
  drifted!: boolean;

  @Field(() => Int)
  referenceCount!: number;

  @Field(() => Int)
  currentCount!: number;

  @Field(() => Int, { description: 'Missing values of the batch (null, empty, NaN), left out of every statistic.' })
  currentMissing!: number;

  @Field(() => KsResult, { nullable: true, description: 'Numeric features.' })
  ks!: KsResult | null;

  @Field(() => Float, { nullable: true, description: 'Wasserstein-1 distance divided by the reference std (floored at 0.001); numeric features.' })
  wasserstein!: number | null;

  @Field(() => Float, { description: 'PSI over the reference deciles (numeric) or categories plus "other", zero shares counted as 0.0001.' })
  psi!: number;

  @Field(() => PsiBandEnum)
  psiBand!: string;

  @Field(() => ChiSquareResult, { nullable: true, description: 'Categorical features (and numeric ones with at most 5 distinct values).' })
  chiSquare!: ChiSquareResult | null;

  @Field(() => Float, { nullable: true, description: 'Jensen–Shannon distance, natural logarithms (0 to 0.833).' })
  jensenShannon!: number | null;

  @Field(() => [String], { description: 'Categories of the batch absent from the reference, most frequent first (at most 20).' })
  unseenCategories!: string[];

  @Field(() => Int)
  unseenCategoryCount!: number;
}

@ObjectType({ description: 'The drift options a measurement was made with (the monitor\'s settings then).' })
export class DriftOptions {
  @Field(() => NumericDriftMethodEnum)
  numericMethod!: string;

  @Field(() => CategoricalDriftMethodEnum)
  categoricalMethod!: string;

  @Field(() => Float)
  ksPValue!: number;

  @Field(() => Float)
  chiSquarePValue!: number;

  @Field(() => Float)
  wassersteinThreshold!: number;

  @Field(() => Float)
  jensenShannonThreshold!: number;

  @Field(() => Float)
  psiThreshold!: number;

  @Field(() => Float)
  driftShare!: number;

  @Field()
  bonferroni!: boolean;
}

@ObjectType({ description: `One feature batch compared with the deployment's reference (a drift window). ${DRIFT_CONVENTIONS}` })
export class DriftMeasurement {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  deploymentId!: string;

  @Field(() => ID)
  monitorId!: string;

  @Field(() => Int, { description: '1, 2, ... per monitor.' })
  window!: number;

  @Field(() => BatchSource)
  source!: BatchSource;

  @Field(() => Int)
  rows!: number;

  @Field({ description: 'Digest of the reference profile compared with.' })
  referenceDigest!: string;

  @Field(() => DriftOptions)
  options!: DriftOptions;

  @Field(() => [FeatureDrift])
  features!: FeatureDrift[];

  @Field(() => Int)
  driftedFeatures!: number;

  @Field(() => Float)
  driftedShare!: number;

  @Field({ description: 'The dataset verdict: the share of drifted features is at or above driftShare.' })
  drifted!: boolean;

  @Field(() => DateTimeScalar)
  measuredAt!: string;

  @Field()
  measuredBy!: string;
}

@ObjectType()
export class DriftMeasurementConnection extends Connection(DriftMeasurement) {}

@ObjectType({ description: 'Performance metrics of a window; those of the other task family are null. Classification: binary with the positive class 1 (or true) when the labels are 0/1 (true/false), else macro averages over the classes.' })
export class PerformanceValues {
  @Field(() => Float, { nullable: true })
  accuracy!: number | null;

  @Field(() => Float, { nullable: true })
  precision!: number | null;

  @Field(() => Float, { nullable: true })
  recall!: number | null;

  @Field(() => Float, { nullable: true })
  f1!: number | null;

  @Field(() => Float, { nullable: true })
  rmse!: number | null;

  @Field(() => Float, { nullable: true })
  mae!: number | null;
}

@ObjectType({ description: "One metric of a window against the deployed version's value of it (its run's last value)." })
export class PerformanceComparison {
  @Field(() => PerformanceMetricEnum)
  metric!: string;

  @Field(() => Float)
  value!: number;

  @Field(() => Float, {
    nullable: true,
    description:
      "The training run's last value of the metric: under its own name (accuracy), else the first of val/, val_, validation/, validation_, eval/, eval_, test/, test_ before it (val/accuracy). Null when the run logged none of them.",
  })
  baseline!: number | null;

  @Field(() => Float, { nullable: true, description: 'Worse than the baseline by this fraction of it (negative: better; lower is worse for accuracy, precision, recall and F1, higher for RMSE and MAE).' })
  relativeChange!: number | null;

  @Field()
  degraded!: boolean;
}

@ObjectType({ description: 'A window of labelled predictions (in label-arrival order) measured and compared with the deployed version.' })
export class PerformanceMeasurement {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  deploymentId!: string;

  @Field(() => ID)
  monitorId!: string;

  @Field(() => Int, { description: '1, 2, ... per monitor.' })
  window!: number;

  @Field(() => TaskTypeEnum)
  taskType!: string;

  @Field(() => Int, { description: 'Labelled predictions in the window.' })
  predictions!: number;

  @Field(() => Float, { description: "The first of the deployment's labels the window holds, numbered 1, 2, ... in arrival order." })
  firstLabel!: number;

  @Field(() => Float, { description: 'The last label it holds.' })
  lastLabel!: number;

  @Field(() => DateTimeScalar)
  firstPredictedAt!: string;

  @Field(() => DateTimeScalar)
  lastPredictedAt!: string;

  @Field(() => DateTimeScalar, { description: 'When its first label arrived.' })
  firstLabelledAt!: string;

  @Field(() => DateTimeScalar)
  lastLabelledAt!: string;

  @Field(() => PerformanceValues)
  metrics!: PerformanceValues;

  @Field(() => [PerformanceComparison])
  comparisons!: PerformanceComparison[];

  @Field(() => Float, { description: 'The tolerance applied, a fraction of each baseline.' })
  tolerance!: number;

  @Field({ description: "Some metric is worse than the version's by more than the tolerance." })
  degraded!: boolean;

  @Field(() => DateTimeScalar)
  measuredAt!: string;

  @Field()
  measuredBy!: string;
}

@ObjectType()
export class PerformanceMeasurementConnection extends Connection(PerformanceMeasurement) {}

@ObjectType({ description: 'Raised after raiseAfter consecutive drifted (or degraded) windows; resolved after resolveAfter consecutive healthy ones.' })
export class Alert {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  deploymentId!: string;

  @Field(() => ID)
  monitorId!: string;

  @Field(() => AlertKindEnum)
  kind!: string;

  @Field(() => AlertStatusEnum)
  status!: string;

  @Field(() => [Int], { description: 'The windows that raised it, oldest first.' })
  windows!: number[];

  @Field(() => [ID], { description: 'Their measurements.' })
  measurementIds!: string[];

  @Field()
  summary!: string;

  @Field(() => DateTimeScalar)
  raisedAt!: string;

  @Field(() => DateTimeScalar, { nullable: true })
  resolvedAt!: string | null;

  @Field(() => [Int], { description: 'The healthy windows that resolved it.' })
  resolvedWindows!: number[];

  @Field(() => ID, { nullable: true, description: 'The retraining it led to (also as `retrainRequest`).' })
  retrainId!: string | null;
}

@ObjectType()
export class AlertConnection extends Connection(Alert) {}

@ObjectType({ description: 'A training dataset of the retrained model and the version the retraining uses instead (the newest of its dataset).' })
export class RetrainDatasetChange {
  @Field(() => ID)
  datasetId!: string;

  @Field(() => ID, { description: 'The version the deployed model was trained on.' })
  fromDatasetVersionId!: string;

  @Field(() => ID)
  toDatasetVersionId!: string;
}

@ObjectType({ description: 'A job dataset version and its role.' })
export class RetrainJobDatasetVersion {
  @Field(() => ID)
  datasetVersionId!: string;

  @Field(() => DatasetRoleEnum)
  role!: string;
}

@ObjectType({ description: 'The training job a retraining queues (as `jobId`, in a new run of `experimentId`).' })
export class RetrainJob extends RetrainJobSpec {
  @Field(() => ID)
  jobId!: string;

  @Field(() => ID)
  experimentId!: string;


  @Field(() => JSONScalar)
  params!: Record<string, unknown>;

  @Field(() => [RetrainJobDatasetVersion])
  datasetVersions!: RetrainJobDatasetVersion[];
}

@ObjectType({ description: 'Why the scheduler could not queue a retraining\'s job (the experiment or a dataset version is gone, the working directory is outside the allowed roots ...).' })
export class RetrainJobRefusal {
  @Field(() => JobRefusalCodeEnum)
  code!: string;

  @Field()
  reason!: string;

  @Field(() => DateTimeScalar)
  refusedAt!: string;
}

@ObjectType({ description: 'A retraining: proposed by an alert under the APPROVAL policy, or requested (AUTO, or approved), or declined. A requested one is queued by the scheduler as `job.jobId`.' })
export class RetrainRequest {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  deploymentId!: string;

  @Field(() => ID)
  monitorId!: string;

  @Field(() => ID)
  modelId!: string;

  @Field(() => ID)
  modelVersionId!: string;

  @Field(() => ID, { nullable: true })
  alertId!: string | null;

  @Field(() => RetrainPolicyEnum)
  policy!: string;

  @Field(() => RetrainStatusEnum)
  status!: string;

  @Field(() => RetrainJob, { description: 'The job queued (REQUESTED) or proposed.' })
  job!: RetrainJob;

  @Field(() => [RetrainDatasetChange])
  datasetChanges!: RetrainDatasetChange[];

  @Field(() => DateTimeScalar, { nullable: true })
  proposedAt!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  requestedAt!: string | null;

  @Field(() => String, { nullable: true, description: 'Who approved or declined it (null for AUTO).' })
  decidedBy!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  decidedAt!: string | null;

  @Field(() => String, { nullable: true, description: 'The comment of the approval, or the reason of the decline.' })
  decisionNote!: string | null;
}

@ObjectType()
export class RetrainRequestConnection extends Connection(RetrainRequest) {}

@ObjectType({ description: 'What ingesting a feature batch measured, and what it led to in the same decision.' })
export class IngestFeatureBatchResult {
  @Field(() => DriftMeasurement)
  measurement!: DriftMeasurement;

  @Field(() => Monitor)
  monitor!: Monitor;

  @Field(() => [Alert])
  alertsRaised!: Alert[];

  @Field(() => [Alert])
  alertsResolved!: Alert[];

  @Field(() => [RetrainRequest], { description: 'Retrainings requested (AUTO) or proposed (APPROVAL).' })
  retrainRequests!: RetrainRequest[];
}

@ObjectType()
export class IngestPredictionsResult {
  @Field(() => ID)
  deploymentId!: string;

  @Field(() => Int, { description: 'Predictions stored by this call.' })
  accepted!: number;

  @Field(() => Int, { description: 'Predictions stored before with the same value (a retried call).' })
  alreadyStored!: number;
}

@ObjectType({ description: 'Labels stored, and the performance windows they completed, with what those led to.' })
export class IngestGroundTruthResult {
  @Field(() => ID)
  deploymentId!: string;

  @Field(() => Int, { description: 'Labels stored by this call.' })
  accepted!: number;

  @Field(() => Int, { description: 'Labelled predictions waiting for their window to fill.' })
  pending!: number;

  @Field(() => [PerformanceMeasurement], { description: 'Windows this call completed, oldest first.' })
  measurements!: PerformanceMeasurement[];

  @Field(() => Monitor)
  monitor!: Monitor;

  @Field(() => [Alert])
  alertsRaised!: Alert[];

  @Field(() => [Alert])
  alertsResolved!: Alert[];

  @Field(() => [RetrainRequest])
  retrainRequests!: RetrainRequest[];
}

@ObjectType({ description: 'An alert raised or resolved, as the monitor recorded it.' })
export class AlertEvent {
  @Field(() => AlertStatusEnum, { description: 'OPEN: raised; RESOLVED: resolved.' })
  status!: Values<typeof AlertStatusEnum>;

  @Field(() => ID)
  alertId!: string;

  @Field(() => ID)
  deploymentId!: string;

  @Field(() => AlertKindEnum)
  kind!: string;

  @Field(() => [Int])
  windows!: number[];

  @Field(() => DateTimeScalar)
  at!: string;

  @Field(() => Float, { description: 'Position of the event in the store.' })
  position!: number;
}

export function toDeployment(view: DeploymentView): Deployment {
  const { deploymentId, ...rest } = view;
  return { id: deploymentId, ...rest };
}

export function toMonitor(view: MonitorView): Monitor {
  const { monitorId, ...rest } = view;
  return { id: monitorId, ...rest };
}

export function toDriftMeasurement(view: DriftMeasurementView): DriftMeasurement {
  const { measurementId, ...rest } = view;
  return { id: measurementId, ...rest };
}

export function toPerformanceMeasurement(view: PerformanceMeasurementView): PerformanceMeasurement {
  const { measurementId, ...rest } = view;
  return { id: measurementId, ...rest };
}

export function toAlert(view: AlertView): Alert {
  const { alertId, ...rest } = view;
  return { id: alertId, ...rest };
}

export function toRetrainRequest(view: RetrainView): RetrainRequest {
  const { retrainId, ...rest } = view;
  return { id: retrainId, ...rest };
}
