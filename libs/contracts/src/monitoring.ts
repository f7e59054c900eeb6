import { ColumnType, DataFormat, DatasetUri, PageInfo, PageRequest } from './datasets';
import { MetricSummary, Params, RunDatasetVersion, TaskType } from './experiments';
import { nameBasedUuid } from './ids';
import { defineRpc } from './rpc';
import { CancelGraceSeconds, JobArgv, JobEnv, JobPriority, JobResources, MaxRetries, SweepJobTemplate, TimeoutSeconds, WorkingDir, DEFAULT_CANCEL_GRACE_SECONDS, DEFAULT_MAX_RETRIES } from './scheduler';
import { uuid as uuidSchema, z } from './schema';

/**
 * Contracts of the `monitoring` context: deployments with their frozen reference, monitors,
 * drift and performance measurements, alerts and retraining requests.
 *
 * Streams: `deployment-<deploymentId>` holds a deployment and its reference (ModelDeployed and
 * ReferenceProfileSet, appended together); `monitor-<monitorId>` holds everything the monitor
 * decides: its configuration, every measured window, the alerts with their hysteresis, and the
 * retraining proposals and requests. A deployment has exactly one monitor, whose id is derived
 * from the deployment id (`monitorIdFor`). Alert, retraining and retraining-job ids are derived
 * from what caused them, so a repeated decision names the same things.
 */

const uuid = uuidSchema();
const finite = (message = 'must be a finite number') => z.number({ message }).refine(Number.isFinite, message);
const fraction = (what: string) => z.number({ message: `must be ${what} between 0 and 1` }).min(0, `must be ${what} between 0 and 1`).max(1, `must be ${what} between 0 and 1`);
const probability = z.number({ message: 'must be a p-value threshold above 0 and at most 1' }).gt(0, 'must be a p-value threshold above 0 and at most 1').max(1, 'must be a p-value threshold above 0 and at most 1');
const distance = z.number({ message: 'must be a positive threshold' }).gt(0, 'must be a positive threshold').max(1_000, 'must be at most 1000');

// ---------------------------------------------------------------------------------------------
// Ids and streams
// ---------------------------------------------------------------------------------------------

/** Namespaces of the ids monitoring derives. Never change one: ids would move. */
export const MONITORING_ID_NAMESPACES = {
  /** The monitor of a deployment, from the deployment id. */
  monitor: '2d6b8f1a-4c3e-4a9d-b7e5-0f1c3a5e7b92',
  /** An alert from its monitor, its kind and the window that raised it. */
  alert: '9e4c2a7f-1b5d-4f8e-a3c6-5d7b9f1e3a04',
  /** A retraining from the alert that led to it. */
  retrain: '4a8e6c2d-7f1b-4d3e-9b5a-1c3e5f7a9d16',
  /** The training job of a retraining, from the retraining id. */
  retrainJob: '7c1e3a5f-9d2b-4b6e-8a4c-3e5f7b9d1c28',
} as const;

/** The id of a deployment's monitor. */
export function monitorIdFor(deploymentId: string): string {
  return nameBasedUuid(MONITORING_ID_NAMESPACES.monitor, deploymentId.toLowerCase());
}

/** The id of the alert of `kind` raised by window `window` (1-based, counted per kind) of a monitor. */
export function alertIdFor(monitorId: string, kind: AlertKind, window: number): string {
  return nameBasedUuid(MONITORING_ID_NAMESPACES.alert, `${monitorId.toLowerCase()}/${kind}/${window}`);
}

/** The id of the retraining an alert leads to (at most one per alert). */
export function retrainIdFor(alertId: string): string {
  return nameBasedUuid(MONITORING_ID_NAMESPACES.retrain, alertId.toLowerCase());
}

/** The job id a retraining queues: a redelivered RetrainRequested queues one job. */
export function retrainJobId(retrainId: string): string {
  return nameBasedUuid(MONITORING_ID_NAMESPACES.retrainJob, retrainId.toLowerCase());
}

export const deploymentStream = (deploymentId: string) => `deployment-${deploymentId}`;
export const monitorStream = (monitorId: string) => `monitor-${monitorId}`;
/** The stream prefixes of the monitoring aggregates (for lookups by id alone). */
export const MONITORING_STREAM_PREFIXES = ['deployment', 'monitor'] as const;

// ---------------------------------------------------------------------------------------------
// Vocabulary and limits
// ---------------------------------------------------------------------------------------------

export const RETRAIN_POLICIES = ['OFF', 'APPROVAL', 'AUTO'] as const;
export const RetrainPolicy = z.enum(RETRAIN_POLICIES, { message: `must be one of ${RETRAIN_POLICIES.join(', ')}` });
export type RetrainPolicy = z.output<typeof RetrainPolicy>;

export const ALERT_KINDS = ['DRIFT', 'PERFORMANCE'] as const;
export const AlertKind = z.enum(ALERT_KINDS, { message: `must be one of ${ALERT_KINDS.join(', ')}` });
export type AlertKind = z.output<typeof AlertKind>;

export const ALERT_STATUSES = ['OPEN', 'RESOLVED'] as const;
export const AlertStatus = z.enum(ALERT_STATUSES, { message: `must be one of ${ALERT_STATUSES.join(', ')}` });
export type AlertStatus = z.output<typeof AlertStatus>;

export const RETRAIN_STATUSES = ['PROPOSED', 'REQUESTED', 'DECLINED'] as const;
export const RetrainStatus = z.enum(RETRAIN_STATUSES, { message: `must be one of ${RETRAIN_STATUSES.join(', ')}` });
export type RetrainStatus = z.output<typeof RetrainStatus>;

export const FEATURE_KINDS = ['NUMERIC', 'CATEGORICAL'] as const;
export const FeatureKind = z.enum(FEATURE_KINDS);
export const NUMERIC_DRIFT_METHODS = ['AUTO', 'KS', 'WASSERSTEIN', 'PSI'] as const;
export const NumericDriftMethod = z.enum(NUMERIC_DRIFT_METHODS, { message: `must be one of ${NUMERIC_DRIFT_METHODS.join(', ')}` });
export const CATEGORICAL_DRIFT_METHODS = ['AUTO', 'CHI_SQUARE', 'JENSEN_SHANNON', 'PSI'] as const;
export const CategoricalDriftMethod = z.enum(CATEGORICAL_DRIFT_METHODS, { message: `must be one of ${CATEGORICAL_DRIFT_METHODS.join(', ')}` });
export const DRIFT_METHODS = ['KS', 'WASSERSTEIN', 'PSI', 'CHI_SQUARE', 'JENSEN_SHANNON'] as const;
export const DriftMethod = z.enum(DRIFT_METHODS);
export const PSI_BAND_NAMES = ['NONE', 'MODERATE', 'MAJOR'] as const;
export const PsiBandName = z.enum(PSI_BAND_NAMES);

/** Where a measured batch came from. */
export const BATCH_SOURCE_KINDS = ['DATASET_VERSION', 'URI', 'INLINE'] as const;
export const BatchSourceKind = z.enum(BATCH_SOURCE_KINDS);

/** Why a column of the training data is not a feature. */
export const SKIPPED_COLUMN_REASONS = ['TARGET', 'DATETIME', 'NOT_CHOSEN'] as const;
/** Where a monitor's retraining template came from. */
export const RETRAIN_TEMPLATE_SOURCES = ['CONFIGURED', 'TRAINING_JOB'] as const;

/** Metrics a performance window measures: the first four for classification, the last two for regression. */
export const PERFORMANCE_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'rmse', 'mae'] as const;
export const PerformanceMetric = z.enum(PERFORMANCE_METRICS);
export type PerformanceMetric = z.output<typeof PerformanceMetric>;

export const MONITORING_LIMITS = {
  /** Rows of an inline feature batch. */
  inlineRows: 10_000,
  /** Columns of an inline feature batch. */
  inlineColumns: 1_000,
  /** Predictions, or labels, per call. */
  predictionsPerCall: 10_000,
  /** Consecutive windows before an alert is raised or resolved. */
  hysteresisWindows: 100,
  /** Labelled predictions per performance window. */
  windowSize: 1_000_000,
  environmentChars: 64,
  endpointChars: 2_048,
} as const;

// ---------------------------------------------------------------------------------------------
// Monitor configuration
// ---------------------------------------------------------------------------------------------

/**
 * The retraining job a monitor queues, but for its datasets (each training dataset version of
 * the deployed model, replaced by the newest version of its dataset when the retraining is
 * requested). Taken from the monitor's configured job, else from the scheduler job that trained
 * the deployed version's run (with that run's params), when the policy is set.
 */
export const RetrainTemplate = z.object({
  /** CONFIGURED: given with configureMonitor; TRAINING_JOB: copied from `sourceJobId`. */
  source: z.enum(RETRAIN_TEMPLATE_SOURCES),
  sourceJobId: uuid.nullable(),
  /** The experiment the retraining's new run belongs to. */
  experimentId: uuid,
  command: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  workingDir: z.string().nullable(),
  resources: JobResources,
  priority: z.number().int(),
  maxRetries: z.number().int(),
  timeoutSeconds: z.number().int().nullable(),
  cancelGraceSeconds: z.number().int(),
  params: Params,
});
export type RetrainTemplate = z.output<typeof RetrainTemplate>;

/** Drift options, as @modeltrail/drift's DriftOptions (see libs/drift/README.md). */
const DriftSettingFields = {
  numericMethod: NumericDriftMethod,
  categoricalMethod: CategoricalDriftMethod,
  /** KS drifts when its p-value is below this. */
  ksPValue: probability,
  /** Chi-square drifts when its p-value is below this. */
  chiSquarePValue: probability,
  /** Wasserstein distance (in reference standard deviations) drifts at or above this. */
  wassersteinThreshold: distance,
  /** Jensen–Shannon distance drifts at or above this. */
  jensenShannonThreshold: distance,
  /** PSI drifts at or above this. */
  psiThreshold: distance,
  /** A batch drifts when the share of drifted features is at or above this. */
  driftShare: fraction('a share'),
  /** Divide the p-value thresholds by the number of features decided by a p-value. */
  bonferroni: z.boolean({ message: 'must be true or false' }),
};
const hysteresis = (what: string) =>
  z
    .number({ message: `must be a whole number of ${what} windows` })
    .int(`must be a whole number of ${what} windows`)
    .min(1, 'must be at least 1')
    .max(MONITORING_LIMITS.hysteresisWindows, `must be at most ${MONITORING_LIMITS.hysteresisWindows}`);
const MonitorSettingFields = {
  ...DriftSettingFields,
  /** An alert is raised after this many consecutive drifted (or degraded) windows. */
  raiseAfter: hysteresis('drifted or degraded'),
  /** An open alert is resolved after this many consecutive healthy windows. */
  resolveAfter: hysteresis('healthy'),
  retrainPolicy: RetrainPolicy,
  /**
   * A performance window is degraded when a metric is worse than the deployed version's value
   * of it (its run's last value) by more than this fraction of that value.
   */
  performanceTolerance: fraction('a fraction'),
  /** Labelled predictions per performance window. */
  windowSize: z
    .number({ message: 'must be a whole number of predictions' })
    .int('must be a whole number of predictions')
    .min(1, 'must be at least 1')
    .max(MONITORING_LIMITS.windowSize, `must be at most ${MONITORING_LIMITS.windowSize}`),
};

export const MonitorConfig = z.object({ ...MonitorSettingFields, retrainJob: RetrainTemplate.nullable() });
export type MonitorConfig = z.output<typeof MonitorConfig>;

/** A new monitor's configuration: the drift defaults of @modeltrail/drift, three windows each way, no retraining. */
export const DEFAULT_MONITOR_CONFIG: Readonly<MonitorConfig> = Object.freeze({
  numericMethod: 'AUTO',
  categoricalMethod: 'AUTO',
  ksPValue: 0.05,
  chiSquarePValue: 0.05,
  wassersteinThreshold: 0.1,
  jensenShannonThreshold: 0.1,
  psiThreshold: 0.1,
  driftShare: 0.5,
  bonferroni: false,
  raiseAfter: 3,
  resolveAfter: 3,
  retrainPolicy: 'OFF',
  performanceTolerance: 0.05,
  windowSize: 500,
  retrainJob: null,
});

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

/** One feature of a deployment's reference: its name, how it is compared, and its column type in the training data. */
export const ReferenceFeature = z.object({ name: z.string(), kind: FeatureKind, columnType: ColumnType });
export type ReferenceFeature = z.output<typeof ReferenceFeature>;
/** A column of the training data that is not a feature, and why (the target, a DATETIME column, not chosen). */
export const SkippedColumn = z.object({ name: z.string(), reason: z.enum(SKIPPED_COLUMN_REASONS) });
export type SkippedColumn = z.output<typeof SkippedColumn>;

/** Where a measured batch came from. */
export const BatchSource = z.object({
  kind: BatchSourceKind,
  datasetVersionId: uuid.nullable(),
  /** The file read (a dataset version's or the one given); null inline. */
  uri: z.string().nullable(),
  format: DataFormat.nullable(),
});
export type BatchSource = z.output<typeof BatchSource>;

/** The drift of one feature in one window, as @modeltrail/drift measured it. */
export const FeatureDriftRecord = z.object({
  feature: z.string(),
  kind: FeatureKind,
  method: DriftMethod,
  /** p-value (KS, CHI_SQUARE: drifted below the threshold) or distance (others: drifted at or above it). */
  score: z.number(),
  threshold: z.number(),
  drifted: z.boolean(),
  referenceCount: z.number().int().nonnegative(),
  currentCount: z.number().int().nonnegative(),
  currentMissing: z.number().int().nonnegative(),
  ks: z.object({ statistic: z.number(), pValue: z.number() }).nullable(),
  wasserstein: z.number().nullable(),
  psi: z.number(),
  psiBand: PsiBandName,
  chiSquare: z.object({ statistic: z.number(), degreesOfFreedom: z.number().int().nonnegative(), pValue: z.number() }).nullable(),
  jensenShannon: z.number().nullable(),
  /** Categories of the batch absent from the reference, most frequent first (at most 20). */
  unseenCategories: z.array(z.string()),
  unseenCategoryCount: z.number().int().nonnegative(),
});
export type FeatureDriftRecord = z.output<typeof FeatureDriftRecord>;

/** Values of the performance metrics; those of the other task family are null. */
export const PerformanceValues = z.object({
  accuracy: z.number().nullable(),
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  f1: z.number().nullable(),
  rmse: z.number().nullable(),
  mae: z.number().nullable(),
});
export type PerformanceValues = z.output<typeof PerformanceValues>;

/** One metric of a window compared with the deployed version's value of it. */
export const PerformanceComparison = z.object({
  metric: PerformanceMetric,
  value: z.number(),
  /** The version's value (its run's last value of the metric); null when the run did not log it. */
  baseline: z.number().nullable(),
  /** Worse than the baseline by this fraction of it (negative: better); null without a baseline. */
  relativeChange: z.number().nullable(),
  degraded: z.boolean(),
});
export type PerformanceComparison = z.output<typeof PerformanceComparison>;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export const ModelDeployedV1 = z.object({
  deploymentId: uuid,
  monitorId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  version: z.number().int().min(1),
  projectId: uuid,
  experimentId: uuid,
  runId: uuid,
  environment: z.string(),
  endpoint: z.string(),
  deployedAt: z.iso.datetime(),
});

/**
 * The reference drift is measured against: the profile of the training data frozen at
 * deployment, stored content-addressed (`digest`, `uri`: the profile file) so that it never
 * changes, whatever happens to the data later.
 */
export const ReferenceProfileSetV1 = z.object({
  deploymentId: uuid,
  /** The training dataset version the profile was built from. */
  datasetVersionId: uuid,
  datasetId: uuid,
  dataUri: z.string(),
  format: DataFormat,
  /** SHA-256 of the stored profile file. */
  digest: z.string(),
  /** `file://` URI of the stored profile file. */
  uri: z.string(),
  size: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  features: z.array(ReferenceFeature),
  skippedColumns: z.array(SkippedColumn),
  /** The project's target (never a feature); null for task types without one. */
  target: z.string().nullable(),
  setAt: z.iso.datetime(),
});

/** A deployment's monitor starts with the default configuration and what it needs of the deployed version. */
export const MonitorCreatedV1 = z.object({
  monitorId: uuid,
  deploymentId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  projectId: uuid,
  experimentId: uuid,
  runId: uuid,
  /** The project's task type: which performance metrics a window measures. */
  taskType: TaskType,
  /** The version's metrics snapshot: the baseline of performance windows. */
  baseline: z.array(MetricSummary),
  /** The version's dataset versions: those a retraining replaces by their dataset's newest version. */
  datasetVersions: z.array(RunDatasetVersion),
  config: MonitorConfig,
  createdAt: z.iso.datetime(),
});

export const MonitorConfiguredV1 = z.object({
  monitorId: uuid,
  deploymentId: uuid,
  /** The whole configuration after the change. */
  config: MonitorConfig,
  /** The settings this change set to a new value. */
  changed: z.array(z.string()),
  configuredAt: z.iso.datetime(),
});

export const DriftMeasuredV1 = z.object({
  measurementId: uuid,
  monitorId: uuid,
  deploymentId: uuid,
  /** 1, 2, ... per monitor: the drift window this batch is. */
  window: z.number().int().min(1),
  source: BatchSource,
  rows: z.number().int().nonnegative(),
  /** Digest of the reference profile compared with. */
  referenceDigest: z.string(),
  /** The options of the measurement (the monitor's configuration when it was made). */
  options: z.object(DriftSettingFields),
  features: z.array(FeatureDriftRecord),
  driftedFeatures: z.number().int().nonnegative(),
  driftedShare: z.number(),
  /** The dataset verdict: the window is drifted. */
  drifted: z.boolean(),
  measuredAt: z.iso.datetime(),
});

export const PerformanceMeasuredV1 = z.object({
  measurementId: uuid,
  monitorId: uuid,
  deploymentId: uuid,
  /** 1, 2, ... per monitor: the performance window this is. */
  window: z.number().int().min(1),
  taskType: TaskType,
  /** Labelled predictions in the window. */
  predictions: z.number().int().min(1),
  /**
   * The deployment's labels the window holds, numbered 1, 2, ... in the order they arrived: a
   * window is `windowSize` consecutive labels, and each label is measured in one window (after a
   * change of the window size, the first window may also hold labels measured before).
   */
  firstLabel: z.number().int().min(1),
  lastLabel: z.number().int().min(1),
  firstPredictedAt: z.iso.datetime(),
  lastPredictedAt: z.iso.datetime(),
  firstLabelledAt: z.iso.datetime(),
  lastLabelledAt: z.iso.datetime(),
  metrics: PerformanceValues,
  comparisons: z.array(PerformanceComparison),
  tolerance: z.number(),
  /** Some metric is worse than the version's by more than the tolerance. */
  degraded: z.boolean(),
  measuredAt: z.iso.datetime(),
});

export const AlertRaisedV1 = z.object({
  alertId: uuid,
  monitorId: uuid,
  deploymentId: uuid,
  kind: AlertKind,
  /** The consecutive drifted (or degraded) windows that raised it, oldest first. */
  windows: z.array(z.number().int().min(1)).min(1),
  measurementIds: z.array(uuid).min(1),
  summary: z.string(),
  raisedAt: z.iso.datetime(),
});

export const AlertResolvedV1 = z.object({
  alertId: uuid,
  monitorId: uuid,
  deploymentId: uuid,
  kind: AlertKind,
  /** The consecutive healthy windows that resolved it, oldest first. */
  windows: z.array(z.number().int().min(1)).min(1),
  measurementIds: z.array(uuid).min(1),
  resolvedAt: z.iso.datetime(),
});

/**
 * The training job a retraining queues: the model's retraining template with each training
 * dataset version replaced by the newest version of its dataset. The scheduler queues it as
 * `jobId` (so a redelivered request queues one job), in a new run of `experimentId`.
 */
export const RetrainJob = SweepJobTemplate.extend({ jobId: uuid, experimentId: uuid });
export type RetrainJob = z.output<typeof RetrainJob>;

/** One training dataset of the retrained model and the version the retraining uses instead. */
export const RetrainDatasetChange = z.object({
  datasetId: uuid,
  /** The version the deployed model was trained on. */
  fromDatasetVersionId: uuid,
  /** The newest version of the dataset when the retraining was requested (may be the same). */
  toDatasetVersionId: uuid,
});
export type RetrainDatasetChange = z.output<typeof RetrainDatasetChange>;

/** An alert under the APPROVAL policy proposes a retraining; a person approves (RetrainRequested follows) or declines it. */
export const RetrainProposedV1 = z.object({
  retrainId: uuid,
  monitorId: uuid,
  deploymentId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  alertId: uuid,
  /** The job as it would be queued now; an approval takes the newest dataset versions again. */
  job: RetrainJob,
  datasetChanges: z.array(RetrainDatasetChange),
  proposedAt: z.iso.datetime(),
});

/**
 * A retraining is requested: by the monitor's AUTO policy (caused by the alert), or by a person
 * approving a proposed retraining (APPROVAL policy). The scheduler reacts by queueing `job`,
 * with this event as the job's causation.
 */
export const RetrainRequestedV1 = z.object({
  retrainId: uuid,
  monitorId: uuid,
  deploymentId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  /** The alert that led to it. */
  alertId: uuid.nullable(),
  policy: RetrainPolicy,
  job: RetrainJob,
  datasetChanges: z.array(RetrainDatasetChange),
  requestedAt: z.iso.datetime(),
});
export type RetrainRequestedV1 = z.output<typeof RetrainRequestedV1>;

/** Appended with the RetrainRequested an approval makes: who approved, and their comment. */
export const RetrainApprovedV1 = z.object({ retrainId: uuid, monitorId: uuid, approvedBy: z.string(), comment: z.string(), approvedAt: z.iso.datetime() });
export const RetrainDeclinedV1 = z.object({ retrainId: uuid, monitorId: uuid, declinedBy: z.string(), reason: z.string(), declinedAt: z.iso.datetime() });

export const monitoringEvents = {
  'monitoring.ModelDeployed.v1': ModelDeployedV1,
  'monitoring.ReferenceProfileSet.v1': ReferenceProfileSetV1,
  'monitoring.MonitorCreated.v1': MonitorCreatedV1,
  'monitoring.MonitorConfigured.v1': MonitorConfiguredV1,
  'monitoring.DriftMeasured.v1': DriftMeasuredV1,
  'monitoring.PerformanceMeasured.v1': PerformanceMeasuredV1,
  'monitoring.AlertRaised.v1': AlertRaisedV1,
  'monitoring.AlertResolved.v1': AlertResolvedV1,
  'monitoring.RetrainProposed.v1': RetrainProposedV1,
  'monitoring.RetrainRequested.v1': RetrainRequestedV1,
  'monitoring.RetrainApproved.v1': RetrainApprovedV1,
  'monitoring.RetrainDeclined.v1': RetrainDeclinedV1,
} as const satisfies Record<string, z.ZodType>;

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

export const DeploymentReference = ReferenceProfileSetV1.omit({ deploymentId: true });
export type DeploymentReference = z.output<typeof DeploymentReference>;

export const DeploymentView = ModelDeployedV1.extend({
  deployedBy: z.string(),
  /** Null only in the moment between the deployment's events being read and its reference. */
  reference: DeploymentReference.nullable(),
  revision: z.number().int(),
});
export type DeploymentView = z.output<typeof DeploymentView>;

/** Where one kind of window stands: how many there were, and the run of equal verdicts the last ones make. */
export const WindowState = z.object({
  windows: z.number().int().nonnegative(),
  /** Consecutive drifted (degraded) windows up to the last one; 0 when the last was healthy. */
  consecutiveBad: z.number().int().nonnegative(),
  /** Consecutive healthy windows up to the last one; 0 when the last was drifted (degraded). */
  consecutiveHealthy: z.number().int().nonnegative(),
  openAlertId: uuid.nullable(),
  lastMeasuredAt: z.iso.datetime().nullable(),
});
export type WindowState = z.output<typeof WindowState>;

export const MonitorView = z.object({
  monitorId: uuid,
  deploymentId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  projectId: uuid,
  taskType: TaskType,
  config: MonitorConfig,
  drift: WindowState,
  performance: WindowState,
  createdAt: z.iso.datetime(),
  configuredAt: z.iso.datetime().nullable(),
  configuredBy: z.string().nullable(),
  revision: z.number().int(),
});
export type MonitorView = z.output<typeof MonitorView>;

export const DriftMeasurementView = DriftMeasuredV1.extend({ measuredBy: z.string() });
export type DriftMeasurementView = z.output<typeof DriftMeasurementView>;
export const PerformanceMeasurementView = PerformanceMeasuredV1.extend({ measuredBy: z.string() });
export type PerformanceMeasurementView = z.output<typeof PerformanceMeasurementView>;

export const AlertView = z.object({
  alertId: uuid,
  monitorId: uuid,
  deploymentId: uuid,
  kind: AlertKind,
  status: AlertStatus,
  windows: z.array(z.number().int()),
  measurementIds: z.array(uuid),
  summary: z.string(),
  raisedAt: z.iso.datetime(),
  resolvedAt: z.iso.datetime().nullable(),
  resolvedWindows: z.array(z.number().int()),
  /** The retraining it led to, if any. */
  retrainId: uuid.nullable(),
});
export type AlertView = z.output<typeof AlertView>;

export const RetrainView = z.object({
  retrainId: uuid,
  monitorId: uuid,
  deploymentId: uuid,
  modelId: uuid,
  modelVersionId: uuid,
  alertId: uuid.nullable(),
  policy: RetrainPolicy,
  status: RetrainStatus,
  /** The job queued (REQUESTED) or proposed (PROPOSED, DECLINED). */
  job: RetrainJob,
  datasetChanges: z.array(RetrainDatasetChange),
  proposedAt: z.iso.datetime().nullable(),
  requestedAt: z.iso.datetime().nullable(),
  /** Who approved or declined it (null for AUTO), when, and their comment or reason. */
  decidedBy: z.string().nullable(),
  decidedAt: z.iso.datetime().nullable(),
  decisionNote: z.string().nullable(),
});
export type RetrainView = z.output<typeof RetrainView>;

// ---------------------------------------------------------------------------------------------
// Requests and replies
// ---------------------------------------------------------------------------------------------

const FeatureName = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');

export const DeployModelRequest = z.object({
  /** Chosen by the caller when the deployment must have a known id; else derived from the Mt-Command-Id, else random. */
  deploymentId: uuid.optional(),
  modelVersionId: uuid,
  environment: z
    .string({ message: 'must name the environment, e.g. production' })
    .trim()
    .min(1, 'must name the environment, e.g. production')
    .max(MONITORING_LIMITS.environmentChars, `must be at most ${MONITORING_LIMITS.environmentChars} characters`)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and use only letters, digits, dots, dashes and underscores'),
  endpoint: z
    .string({ message: 'must be where the model serves, e.g. https://models.example.com/churn' })
    .trim()
    .min(1, 'must be where the model serves, e.g. https://models.example.com/churn')
    .max(MONITORING_LIMITS.endpointChars, `must be at most ${MONITORING_LIMITS.endpointChars} characters`),
  /** The training dataset version the reference is built from; needed only when the version has several TRAIN datasets. */
  referenceDatasetVersionId: uuid.optional(),
  /** The features to monitor (a subset of the training data's columns); all but the target and DATETIME columns when absent. */
  features: z
    .array(FeatureName)
    .min(1, 'must name at least one feature')
    .max(10_000, 'must name at most 10000 features')
    .refine((names) => new Set(names).size === names.length, 'must not name a feature twice')
    .optional(),
});

/** A job a monitor's retraining queues, as given with configureMonitor (defaults as SubmitJob's). */
export const RetrainJobInput = z.object({
  /** The experiment of the retraining's run; the deployed version's when absent. */
  experimentId: uuid.optional(),
  command: JobArgv,
  env: JobEnv.default({}),
  workingDir: WorkingDir.nullable().default(null),
  resources: JobResources.default({ gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} }),
  priority: JobPriority.default(0),
  maxRetries: MaxRetries.default(DEFAULT_MAX_RETRIES),
  timeoutSeconds: TimeoutSeconds.nullable().default(null),
  cancelGraceSeconds: CancelGraceSeconds.default(DEFAULT_CANCEL_GRACE_SECONDS),
  /** The new run's params; the deployed version's run's params when absent. */
  params: Params.optional(),
});

/**
 * Changes the settings given, keeps the others. `retrainJob: null` goes back to the job that
 * trained the deployed version. A policy of APPROVAL or AUTO needs a retraining job: the one
 * given (now or before), else the scheduler job that trained the version's run.
 */
export const ConfigureMonitorRequest = z
  .object(MonitorSettingFields)
  .partial()
  .extend({ deploymentId: uuid, retrainJob: RetrainJobInput.nullable().optional() })
  .refine((r) => Object.entries(r).some(([key, value]) => key !== 'deploymentId' && value !== undefined), { message: 'must change at least one setting', path: ['deploymentId'] });
export type ConfigureMonitorRequest = z.output<typeof ConfigureMonitorRequest>;

/** A cell of an inline batch: a string, a finite number, a boolean, or null (missing). */
export const InlineCell = z.union([z.string(), finite(), z.boolean(), z.null()], { message: 'must be a string, a finite number, a boolean or null' });

/**
 * An inline batch as a table: the column names once, then each row as a list of cells in the
 * columns' order (`{ columns: ['age', 'plan'], rows: [[31, 'pro'], [45, null]] }`): the compact
 * form of a table, the one the files are read into.
 */
export const InlineRows = z
  .object({
    columns: z
      .array(FeatureName)
      .min(1, 'must name at least one column')
      .max(MONITORING_LIMITS.inlineColumns, `must name at most ${MONITORING_LIMITS.inlineColumns} columns`)
      .refine((names) => new Set(names).size === names.length, 'must not name a column twice'),
    rows: z
      .array(z.array(InlineCell, { message: 'each row must be a list of cells in the order of columns' }), { message: 'must be a list of rows' })
      .min(1, 'must hold at least one row: an empty batch has nothing to compare')
      .max(MONITORING_LIMITS.inlineRows, `must hold at most ${MONITORING_LIMITS.inlineRows} rows per call (send larger batches as a file: uri or datasetVersionId)`),
  })
  .superRefine((batch, ctx) => {
    let bad = 0;
    batch.rows.forEach((row, index) => {
      if (row.length !== batch.columns.length && ++bad <= 5) {
        ctx.addIssue({ code: 'custom', path: ['rows', index], message: `row ${index + 1} has ${row.length} cells for ${batch.columns.length} columns` });
      }
    });
    if (bad > 5) ctx.addIssue({ code: 'custom', path: ['rows'], message: `and ${bad - 5} more rows of the wrong length` });
  });
export type InlineRows = z.output<typeof InlineRows>;

/** Exactly one source: a dataset version's file, a file (format from its extension unless given), or inline rows. */
export const IngestFeatureBatchRequest = z
  .object({
    deploymentId: uuid,
    datasetVersionId: uuid.optional(),
    uri: DatasetUri.optional(),
    /** The format of the file at `uri`: from its extension (.csv, .jsonl/.ndjson, .parquet) when absent. */
    format: DataFormat.optional(),
    rows: InlineRows.optional(),
  })
  .superRefine((r, ctx) => {
    const given = (['datasetVersionId', 'uri', 'rows'] as const).filter((key) => r[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: given.length ? [given[1]] : ['rows'],
        message: given.length ? `give exactly one source of the batch, not ${given.join(' and ')}` : 'give the batch: datasetVersionId, uri or rows',
      });
    }
    if (r.format !== undefined && r.uri === undefined) ctx.addIssue({ code: 'custom', path: ['format'], message: 'is the format of the file at uri: give it with uri only' });
  });
export type IngestFeatureBatchRequest = z.output<typeof IngestFeatureBatchRequest>;

/** What a measurement led to, in the same append. */
const Consequences = {
  monitor: MonitorView,
  alertsRaised: z.array(AlertView),
  alertsResolved: z.array(AlertView),
  /** Retrainings requested (AUTO) or proposed (APPROVAL). */
  retrains: z.array(RetrainView),
};
export const IngestFeatureBatchReply = z.object({ measurement: DriftMeasurementView, ...Consequences });

const PredictionValue = z.union([z.string().max(1_000, 'must be at most 1000 characters'), finite(), z.boolean()], { message: 'must be a string, a finite number or a boolean' });
const predictionIdsUnique = (items: ReadonlyArray<{ predictionId: string }>, ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.predictionId)) ctx.addIssue({ code: 'custom', path: [index, 'predictionId'], message: `prediction ${item.predictionId} is listed more than once` });
    seen.add(item.predictionId);
  });
};
const PredictionId = z.string({ message: 'must be an id' }).trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters');

/** Predictions the deployed model made; their labels may come later (ingestGroundTruth). */
export const IngestPredictionsRequest = z.object({
  deploymentId: uuid,
  predictions: z
    .array(z.object({ predictionId: PredictionId, prediction: PredictionValue, predictedAt: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' }).optional() }))
    .min(1, 'must hold at least one prediction')
    .max(MONITORING_LIMITS.predictionsPerCall, `must hold at most ${MONITORING_LIMITS.predictionsPerCall} predictions per call`)
    .superRefine(predictionIdsUnique),
});
export const IngestPredictionsReply = z.object({
  deploymentId: uuid,
  /** Predictions stored by this call. */
  accepted: z.number().int().nonnegative(),
  /** Predictions stored before with the same value (a retried call). */
  alreadyStored: z.number().int().nonnegative(),
});

/** The true outcomes of predictions made before; every id must name a stored prediction of the deployment. */
export const IngestGroundTruthRequest = z.object({
  deploymentId: uuid,
  labels: z
    .array(z.object({ predictionId: PredictionId, actual: PredictionValue }))
    .min(1, 'must hold at least one label')
    .max(MONITORING_LIMITS.predictionsPerCall, `must hold at most ${MONITORING_LIMITS.predictionsPerCall} labels per call`)
    .superRefine(predictionIdsUnique),
});
export const IngestGroundTruthReply = z.object({
  deploymentId: uuid,
  /** Labels stored by this call. */
  accepted: z.number().int().nonnegative(),
  /** Labelled predictions waiting for their window to fill. */
  pending: z.number().int().nonnegative(),
  /** Windows this call completed, oldest first. */
  measurements: z.array(PerformanceMeasurementView),
  ...Consequences,
});

export const ApproveRetrainRequest = z.object({ retrainId: uuid, comment: z.string({ message: 'must be a text' }).trim().max(4_000, 'must be at most 4000 characters').default('') });
export const DeclineRetrainRequest = z.object({ retrainId: uuid, reason: z.string({ message: 'must say why' }).trim().min(1, 'must say why the retraining is declined').max(4_000, 'must be at most 4000 characters') });

export const ListDeploymentsRequest = PageRequest.extend({
  modelId: uuid.optional(),
  modelVersionId: uuid.optional(),
  environment: z.string().trim().min(1).max(MONITORING_LIMITS.environmentChars).optional(),
});
export const ListMeasurementsRequest = PageRequest.extend({ deploymentId: uuid });
export const AlertFilter = z.object({ deploymentId: uuid.optional(), status: AlertStatus.optional(), kind: AlertKind.optional() });
export const ListAlertsRequest = PageRequest.extend({ filter: AlertFilter.default({}) });
export const RetrainFilter = z.object({ deploymentId: uuid.optional(), status: RetrainStatus.optional() });
export const ListRetrainsRequest = PageRequest.extend({ filter: RetrainFilter.default({}) });

// ---------------------------------------------------------------------------------------------
// RPC definitions
// ---------------------------------------------------------------------------------------------

const batchOf = (field: string) => z.array(uuid).min(1, `${field} must name at least one id`).max(500, `${field} must name at most 500 ids`);
/** Reading and profiling a file takes time: a large batch, a large training set. */
const DATA_OPERATION = { timeoutMs: 15 * 60_000 };

export const monitoringRpc = {
  /** Freezes the reference from the training data and creates the deployment's monitor. */
  deployModel: defineRpc('mt.cmd.monitoring.DeployModel', DeployModelRequest, DeploymentView, DATA_OPERATION),
  configureMonitor: defineRpc('mt.cmd.monitoring.ConfigureMonitor', ConfigureMonitorRequest, MonitorView),
  ingestFeatureBatch: defineRpc('mt.cmd.monitoring.IngestFeatureBatch', IngestFeatureBatchRequest, IngestFeatureBatchReply, DATA_OPERATION),
  ingestPredictions: defineRpc('mt.cmd.monitoring.IngestPredictions', IngestPredictionsRequest, IngestPredictionsReply),
  ingestGroundTruth: defineRpc('mt.cmd.monitoring.IngestGroundTruth', IngestGroundTruthRequest, IngestGroundTruthReply),
  /** The approver is the actor; RetrainRequested follows, caused by the proposal. */
  approveRetrain: defineRpc('mt.cmd.monitoring.ApproveRetrain', ApproveRetrainRequest, RetrainView),
  declineRetrain: defineRpc('mt.cmd.monitoring.DeclineRetrain', DeclineRetrainRequest, RetrainView),

  /** Batch lookups (the gateway's DataLoaders): unknown ids are absent from `items`. */
  getDeployments: defineRpc('mt.qry.monitoring.GetDeployments', z.object({ deploymentIds: batchOf('deploymentIds') }), z.object({ items: z.array(DeploymentView) })),
  /** The monitors of the deployments asked for. */
  getMonitors: defineRpc('mt.qry.monitoring.GetMonitors', z.object({ deploymentIds: batchOf('deploymentIds') }), z.object({ items: z.array(MonitorView) })),
  getAlerts: defineRpc('mt.qry.monitoring.GetAlerts', z.object({ alertIds: batchOf('alertIds') }), z.object({ items: z.array(AlertView) })),
  getRetrains: defineRpc('mt.qry.monitoring.GetRetrains', z.object({ retrainIds: batchOf('retrainIds') }), z.object({ items: z.array(RetrainView) })),
  /** Newest first. */
  listDeployments: defineRpc('mt.qry.monitoring.ListDeployments', ListDeploymentsRequest, z.object({ items: z.array(DeploymentView), pageInfo: PageInfo })),
  /** Of one deployment, newest window first. */
  listDriftMeasurements: defineRpc('mt.qry.monitoring.ListDriftMeasurements', ListMeasurementsRequest, z.object({ items: z.array(DriftMeasurementView), pageInfo: PageInfo })),
  /** Of one deployment, newest window first. */
  listPerformanceMeasurements: defineRpc(
    'mt.qry.monitoring.ListPerformanceMeasurements',
    ListMeasurementsRequest,
    z.object({ items: z.array(PerformanceMeasurementView), pageInfo: PageInfo }),
  ),
  /** Newest first. */
  listAlerts: defineRpc('mt.qry.monitoring.ListAlerts', ListAlertsRequest, z.object({ items: z.array(AlertView), pageInfo: PageInfo })),
  /** Newest first. */
  listRetrains: defineRpc('mt.qry.monitoring.ListRetrains', ListRetrainsRequest, z.object({ items: z.array(RetrainView), pageInfo: PageInfo })),
} as const;
