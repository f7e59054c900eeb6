import { PageInfo, PageRequest, Sha256Digest } from './datasets';
import { ID_NAMESPACES, nameBasedUuid, normaliseName } from './ids';
import { defineRpc } from './rpc';
import { uuid as uuidSchema, z } from './schema';

/**
 * Contracts of the `experiments` context: projects (the problem definition), experiments, runs
 * with their params, dataset versions, artifacts and metrics.
 */

const uuid = uuidSchema();
const finite = (message = 'must be a finite number') => z.number({ message }).refine(Number.isFinite, message);
const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time, e.g. 2026-11-22T12:00:00.000Z' });

// ---------------------------------------------------------------------------------------------
// Ids of aggregates with a unique natural key
// ---------------------------------------------------------------------------------------------

/** Project id from its name: project names are unique (trimmed, case-insensitive). */
export function projectIdFor(name: string): string {
  return nameBasedUuid(ID_NAMESPACES.project, normaliseName(name));
}

/** Experiment id from its project and name: experiment names are unique within a project. */
export function experimentIdFor(projectId: string, name: string): string {
  return nameBasedUuid(ID_NAMESPACES.experiment, `${projectId.toLowerCase()}/${normaliseName(name)}`);
}

/** Run id of a StartRun that names none: derived from its command id, so a retried start is one run. */
export function runIdForCommand(commandId: string): string {
  return nameBasedUuid(ID_NAMESPACES.run, commandId);
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

export const TASK_TYPES = ['BINARY_CLASSIFICATION', 'MULTICLASS_CLASSIFICATION', 'REGRESSION', 'RANKING', 'FORECASTING', 'CLUSTERING', 'OTHER'] as const;
export const TaskType = z.enum(TASK_TYPES, { message: `must be one of ${TASK_TYPES.join(', ')}` });
export type TaskType = z.output<typeof TaskType>;
/** Task types that have no target variable; every other one needs a target. */
export const TASK_TYPES_WITHOUT_TARGET: ReadonlyArray<TaskType> = ['CLUSTERING', 'OTHER'];

export const OPTIMIZATION_DIRECTIONS = ['MAXIMIZE', 'MINIMIZE'] as const;
export const OptimizationDirection = z.enum(OPTIMIZATION_DIRECTIONS, { message: 'must be MAXIMIZE or MINIMIZE' });
export type OptimizationDirection = z.output<typeof OptimizationDirection>;

export const DATASET_ROLES = ['TRAIN', 'VALIDATION', 'TEST'] as const;
export const DatasetRole = z.enum(DATASET_ROLES, { message: `must be one of ${DATASET_ROLES.join(', ')}` });
export type DatasetRole = z.output<typeof DatasetRole>;

export const RUN_STATUSES = ['Running', 'Completed', 'Failed'] as const;
export const RunStatus = z.enum(RUN_STATUSES, { message: `must be one of ${RUN_STATUSES.join(', ')}` });
export type RunStatus = z.output<typeof RunStatus>;

const NAME_RULE = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;
const NAME_RULE_TEXT = 'must start with a letter or digit and use only letters, digits, spaces, dots, dashes and underscores';
export const ProjectName = z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters').regex(NAME_RULE, NAME_RULE_TEXT);
export const ExperimentName = ProjectName;

/** A metric name: `accuracy`, `val/loss`, `f1 macro`. */
export const METRIC_KEY_PATTERN = /^[A-Za-z0-9_\-./ ]+$/;
export const METRIC_KEY_RULE = 'must be 1 to 250 characters: letters, digits, spaces and _ - . /';
export const MetricKey = z.string().min(1, METRIC_KEY_RULE).max(250, METRIC_KEY_RULE).regex(METRIC_KEY_PATTERN, METRIC_KEY_RULE);

export const SuccessCriterion = z.object({
  metric: MetricKey,
  /** `accuracy >= 0.9` is `{ metric: 'accuracy', threshold: 0.9, direction: 'MAXIMIZE' }`. */
  threshold: finite(),
  direction: OptimizationDirection,
});
export type SuccessCriterion = z.output<typeof SuccessCriterion>;

/** A run parameter value: a string, a finite number or a boolean. */
export const ParamValue = z.union([z.string().max(5_000, 'must be at most 5000 characters'), finite(), z.boolean()], {
  message: 'must be a string, a finite number or a boolean',
});
export type ParamValue = z.output<typeof ParamValue>;
/** The most parameters a run holds: those it started with and those logged since, together. */
export const MAX_RUN_PARAMS = 200;
export const ParamKey = z.string().min(1, 'parameter names must not be empty').max(250, 'parameter names must be at most 250 characters');
export const Params = z
  .record(ParamKey, ParamValue)
  .refine((params) => Object.keys(params).length <= MAX_RUN_PARAMS, { message: `must hold at most ${MAX_RUN_PARAMS} parameters` });
export type Params = z.output<typeof Params>;

export const Tag = z.string().trim().min(1, 'tags must not be empty').max(100, 'tags must be at most 100 characters');
export const Tags = z
  .array(Tag)
  .max(100, 'must hold at most 100 tags')
  .transform((tags) => [...new Set(tags)]);

/** Where the code of a run comes from. */
export const CodeRef = z.object({
  repository: z.string().trim().min(1, 'must not be empty').max(2_048, 'must be at most 2048 characters'),
  commit: z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
  /** Entry point or sub-directory inside the repository. */
  path: z.string().trim().max(1_024, 'must be at most 1024 characters').nullable().default(null),
});
export type CodeRef = z.output<typeof CodeRef>;

export const RunDatasetVersion = z.object({ datasetVersionId: uuid, datasetId: uuid, role: DatasetRole });
export type RunDatasetVersion = z.output<typeof RunDatasetVersion>;

export const ArtifactName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .regex(/^[^\u0000-\u001f]+$/, 'must not contain control characters');

/** Summary of one metric of a run, at its end. "Last" is the point with the highest step (then the latest timestamp). */
export const MetricSummary = z.object({
  key: z.string(),
  last: z.number(),
  min: z.number(),
  max: z.number(),
  count: z.number().int().nonnegative(),
  lastStep: z.number().int().nonnegative(),
});
export type MetricSummary = z.output<typeof MetricSummary>;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export const ProjectDefinedV1 = z.object({
  projectId: uuid,
  name: ProjectName,
  problem: z.string(),
  taskType: TaskType,
  /** The variable to predict; null for task types without one (CLUSTERING, OTHER). */
  target: z.string().nullable(),
  successCriteria: z.array(SuccessCriterion),
  definedAt: z.iso.datetime(),
});
export const ExperimentCreatedV1 = z.object({
  experimentId: uuid,
  projectId: uuid,
  name: ExperimentName,
  description: z.string(),
  createdAt: z.iso.datetime(),
});
export const RunStartedV1 = z.object({
  runId: uuid,
  experimentId: uuid,
  projectId: uuid,
  params: Params,
  codeRef: CodeRef.nullable(),
  datasetVersions: z.array(RunDatasetVersion),
  tags: z.array(Tag),
  startedAt: z.iso.datetime(),
});
export const RunArtifactLoggedV1 = z.object({
  runId: uuid,
  name: ArtifactName,
  uri: z.string().min(1),
  digest: Sha256Digest,
  size: z.number().int().nonnegative(),
  loggedAt: z.iso.datetime(),
});
export const RunMetricsSummarizedV1 = z.object({
  runId: uuid,
  /** One entry per metric key, sorted by key. */
  metrics: z.array(MetricSummary),
  summarizedAt: z.iso.datetime(),
});
/** Parameters a running run reported after its start: only keys it did not have (params never change). */
export const RunParamsLoggedV1 = z.object({ runId: uuid, params: Params, loggedAt: z.iso.datetime() });
export const RunCompletedV1 = z.object({ runId: uuid, completedAt: z.iso.datetime() });
export const RunFailedV1 = z.object({ runId: uuid, reason: z.string().min(1), failedAt: z.iso.datetime() });

export const experimentsEvents = {
  'experiments.ProjectDefined.v1': ProjectDefinedV1,
  'experiments.ExperimentCreated.v1': ExperimentCreatedV1,
  'experiments.RunStarted.v1': RunStartedV1,
  'experiments.RunArtifactLogged.v1': RunArtifactLoggedV1,
  'experiments.RunParamsLogged.v1': RunParamsLoggedV1,
  'experiments.RunMetricsSummarized.v1': RunMetricsSummarizedV1,
  'experiments.RunCompleted.v1': RunCompletedV1,
  'experiments.RunFailed.v1': RunFailedV1,
} as const;

// ---------------------------------------------------------------------------------------------
// Metric points: the request of LogMetrics and the live telemetry message
// ---------------------------------------------------------------------------------------------

export const MAX_METRIC_POINTS_PER_CALL = 10_000;

/** A point as a caller sends it: `step` defaults to 0, `timestamp` to the time the service receives it. */
export interface MetricPointInput {
  key: string;
  value: number;
  step?: number;
  timestamp?: string;
}
/** A point after validation: the timestamp, when given, is normalised to UTC (`...Z`). */
export interface ValidatedMetricPoint {
  key: string;
  value: number;
  step: number;
  timestamp: string | null;
}

const MAX_REPORTED_POINT_ISSUES = 10;

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : `${value} (too large for a 64-bit float)`;
  return `a ${Array.isArray(value) ? 'list' : typeof value}`;
}

/** `YYYY-MM-DDTHH:MM:SS.mmmZ`, the form Date#toISOString() writes (and most clients send). */
const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two or four digits at `at` of a string CANONICAL_UTC matched, as a number. */
function digits(value: string, at: number, count: 2 | 4): number {
  let n = 0;
  for (let i = at; i < at + count; i++) n = n * 10 + value.charCodeAt(i) - 48;
  return n;
}

/**
 * Whether a string in CANONICAL_UTC form names a real moment (month 1-12, a day the month has in
 * the proleptic Gregorian calendar, hour below 24, minute and second below 60): exactly when
 * `new Date(Date.parse(value)).toISOString() === value`, which a spec checks, without building two
 * Dates per point (half the cost of checking a batch of 10,000).
 */
export function isCalendarTime(value: string): boolean {
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1])) return false;
  return digits(value, 11, 2) < 24 && digits(value, 14, 2) < 60 && digits(value, 17, 2) < 60;
}

/**
 * A point's timestamp in canonical UTC form, or null when it is not an ISO-8601 date-time.
 * A timestamp already in canonical form that reads back unchanged (which also proves a real
 * calendar date) skips the general parser: with 10,000 points a call, that parser was most of
 * the cost of checking a batch.
 */
function canonicalTimestamp(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  if (CANONICAL_UTC.test(value) && isCalendarTime(value)) return value;
  if (!isoTime.safeParse(value).success) return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString();
}

/**
 * Checks each point by hand so that a message names the point's index and metric key
 * (`points[3].value: value of metric "loss" must be a finite number, got the string "Infinity"`),
 * and so that a bad batch of 10,000 points reports its first few problems, not 10,000 of them.
 */
export const MetricPoints = z
  .array(z.unknown(), { message: 'must be a list of points' })
  .min(1, 'must hold at least one point')
  .max(MAX_METRIC_POINTS_PER_CALL, `must hold at most ${MAX_METRIC_POINTS_PER_CALL} points per call`)
  .transform((items, ctx): ValidatedMetricPoint[] => {
    const out: ValidatedMetricPoint[] = [];
    let problems = 0;
    const report = (path: Array<string | number>, message: string) => {
      problems += 1;
      if (problems <= MAX_REPORTED_POINT_ISSUES) ctx.issues.push({ code: 'custom', message, path, input: undefined });
    };
    items.forEach((item, index) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        report([index], `point ${index} must be an object { key, value, step?, timestamp? }`);
        return;
      }
      const raw = item as Record<string, unknown>;
      const key = raw.key;
      if (typeof key !== 'string' || !METRIC_KEY_PATTERN.test(key) || key.length > 250) {
        report([index, 'key'], `metric key ${METRIC_KEY_RULE}, got ${typeof key === 'string' ? JSON.stringify(key.slice(0, 60)) : describeValue(key)}`);
        return;
      }
      const value = raw.value;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        report([index, 'value'], `value of metric "${key}" must be a finite number, got ${describeValue(value)}`);
        return;
      }
      const step = raw.step ?? 0;
      if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
        report([index, 'step'], `step of metric "${key}" must be a non-negative whole number, got ${typeof step === 'number' ? String(step) : describeValue(step)}`);
        return;
      }
      let timestamp: string | null = null;
      if (raw.timestamp !== undefined && raw.timestamp !== null) {
        timestamp = canonicalTimestamp(raw.timestamp);
        if (timestamp === null) {
          report([index, 'timestamp'], `timestamp of metric "${key}" must be an ISO-8601 date-time, got ${describeValue(raw.timestamp)}`);
          return;
        }
      }
      out.push({ key, value, step, timestamp });
    });
    if (problems > MAX_REPORTED_POINT_ISSUES) {
      ctx.issues.push({ code: 'custom', message: `and ${problems - MAX_REPORTED_POINT_ISSUES} more bad points`, path: [], input: undefined });
    }
    return out;
  }) as unknown as z.ZodType<ValidatedMetricPoint[], MetricPointInput[]>;

/** A stored point. */
export const MetricPoint = z.object({ key: z.string(), value: z.number(), step: z.number().int().nonnegative(), timestamp: z.iso.datetime() });
export type MetricPoint = z.output<typeof MetricPoint>;

/**
 * Published on core NATS at `subjects.runTelemetry(runId)` (namespace applied) after each
 * LogMetrics call that stored new points, for live charts. Not replayable: the history is in
 * getRunMetrics.
 */
export const RunMetricsTelemetry = z.object({ runId: uuid, points: z.array(MetricPoint) });
export type RunMetricsTelemetry = z.output<typeof RunMetricsTelemetry>;

// ---------------------------------------------------------------------------------------------
// Requests and replies
// ---------------------------------------------------------------------------------------------

export const DefineProjectRequest = z.object({
  name: ProjectName,
  /** The problem statement, in a few sentences. */
  problem: z.string().trim().min(1, 'must describe the problem').max(10_000, 'must be at most 10000 characters'),
  taskType: TaskType,
  /** The variable to predict; required except for CLUSTERING and OTHER. */
  target: z.string().trim().max(256, 'must be at most 256 characters').nullable().optional(),
  successCriteria: z
    .array(SuccessCriterion)
    .max(50, 'must hold at most 50 criteria')
    .default([])
    .superRefine((criteria, ctx) => {
      const seen = new Set<string>();
      criteria.forEach((criterion, index) => {
        if (seen.has(criterion.metric)) ctx.addIssue({ code: 'custom', message: `metric "${criterion.metric}" has more than one criterion`, path: [index, 'metric'] });
        seen.add(criterion.metric);
      });
    }),
});
export const ProjectReply = z.object({
  projectId: uuid,
  name: z.string(),
  problem: z.string(),
  taskType: TaskType,
  target: z.string().nullable(),
  successCriteria: z.array(SuccessCriterion),
  definedAt: z.iso.datetime(),
  revision: z.number().int(),
});
export type ProjectReply = z.output<typeof ProjectReply>;
/** A project as the read model has it. */
export const ProjectView = ProjectReply.extend({ definedBy: z.string() });
export type ProjectView = z.output<typeof ProjectView>;

export const CreateExperimentRequest = z.object({
  projectId: uuid,
  name: ExperimentName,
  description: z.string().max(4_000, 'must be at most 4000 characters').default(''),
});
export const ExperimentReply = z.object({
  experimentId: uuid,
  projectId: uuid,
  name: z.string(),
  description: z.string(),
  createdAt: z.iso.datetime(),
  revision: z.number().int(),
});
export type ExperimentReply = z.output<typeof ExperimentReply>;
export const ExperimentView = ExperimentReply.extend({ createdBy: z.string() });
export type ExperimentView = z.output<typeof ExperimentView>;

export const StartRunRequest = z.object({
  /**
   * Chosen by the caller when the run must have a known id (a training job and its run);
   * otherwise derived from the Mt-Command-Id (a retried start is the same run), else random.
   */
  runId: uuid.optional(),
  experimentId: uuid,
  params: Params.default({}),
  datasetVersions: z
    .array(z.object({ datasetVersionId: uuid, role: DatasetRole }))
    .max(50, 'must hold at most 50 dataset versions')
    .default([])
    .superRefine((versions, ctx) => {
      const seen = new Set<string>();
      versions.forEach((v, index) => {
        if (seen.has(v.datasetVersionId)) ctx.addIssue({ code: 'custom', message: `dataset version ${v.datasetVersionId} is listed more than once`, path: [index, 'datasetVersionId'] });
        seen.add(v.datasetVersionId);
      });
    }),
  codeRef: CodeRef.nullable().default(null),
  tags: Tags.default([]),
});

const RunFields = {
  runId: uuid,
  experimentId: uuid,
  projectId: uuid,
  status: RunStatus,
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  codeRef: CodeRef.nullable(),
  datasetVersions: z.array(RunDatasetVersion),
  tags: z.array(z.string()),
  startedAt: z.iso.datetime(),
  /** When the run completed or failed. */
  endedAt: z.iso.datetime().nullable(),
  failureReason: z.string().nullable(),
  /** The metrics summary recorded when the run ended; null while it runs. */
  summary: z.array(MetricSummary).nullable(),
  revision: z.number().int(),
};
/** A run as its stream has it (replies of commands). */
export const RunReply = z.object(RunFields);
export type RunReply = z.output<typeof RunReply>;

/** Latest logged value of a metric (highest step, then latest timestamp) with its running min, max and count. */
export const LatestMetric = z.object({
  key: z.string(),
  value: z.number(),
  step: z.number().int().nonnegative(),
  timestamp: z.iso.datetime(),
  min: z.number(),
  max: z.number(),
  count: z.number().int().nonnegative(),
});
export type LatestMetric = z.output<typeof LatestMetric>;

/** A run as the read model has it: who started it, and the latest value of each metric (sorted by key). */
export const RunView = RunReply.extend({ startedBy: z.string(), latestMetrics: z.array(LatestMetric) });
export type RunView = z.output<typeof RunView>;

export const LogMetricsRequest = z.object({ runId: uuid, points: MetricPoints });
export const LogMetricsReply = z.object({
  runId: uuid,
  /** Points stored by this call (0 for a retried batch). */
  accepted: z.number().int().nonnegative(),
  /** The batch's Mt-Command-Id was recorded before: nothing was stored again. */
  alreadyRecorded: z.boolean(),
});

/**
 * Parameters a running script reports after the start. Parameters are immutable (as in MLflow):
 * a key the run has with the same value is nothing new, with another value it is a CONFLICT.
 */
export const LogParamsRequest = z.object({
  runId: uuid,
  params: Params.refine((params) => Object.keys(params).length >= 1, { message: 'must hold at least one parameter' }),
});

export const LogArtifactRequest = z.object({
  runId: uuid,
  name: ArtifactName,
  uri: z.string().trim().min(1, 'must not be empty').max(2_048, 'must be at most 2048 characters'),
  digest: Sha256Digest,
  size: z.number().int('must be a whole number of bytes').nonnegative('must not be negative'),
});
export const ArtifactView = z.object({
  runId: uuid,
  name: z.string(),
  uri: z.string(),
  digest: z.string(),
  size: z.number().int().nonnegative(),
  loggedAt: z.iso.datetime(),
  loggedBy: z.string(),
});
export type ArtifactView = z.output<typeof ArtifactView>;
export const ArtifactReply = ArtifactView.omit({ loggedBy: true });
export type ArtifactReply = z.output<typeof ArtifactReply>;

export const CompleteRunRequest = z.object({ runId: uuid });
export const FailRunRequest = z.object({ runId: uuid, reason: z.string().trim().min(1, 'must say why the run failed').max(4_000, 'must be at most 4000 characters') });

// -- listRuns --------------------------------------------------------------------------------

export const COMPARISON_OPS = ['EQ', 'NE', 'GT', 'GTE', 'LT', 'LTE'] as const;
export const ComparisonOp = z.enum(COMPARISON_OPS, { message: `must be one of ${COMPARISON_OPS.join(', ')}` });
export type ComparisonOp = z.output<typeof ComparisonOp>;

/**
 * A parameter condition: compared as numbers when the run's value and `value` are both numeric
 * (a number, or a string that reads as one), else as strings. Runs without the parameter never match.
 */
export const ParamFilter = z.object({ key: ParamKey, op: ComparisonOp, value: z.union([z.string().max(5_000), finite(), z.boolean()], { message: 'must be a string, a finite number or a boolean' }) });
/** A metric condition on the latest logged value. Runs without the metric never match. */
export const MetricFilter = z.object({ key: MetricKey, op: ComparisonOp, value: finite() });

export const RunFilter = z.object({
  experimentId: uuid.optional(),
  projectId: uuid.optional(),
  status: RunStatus.optional(),
  params: z.array(ParamFilter).max(20, 'must hold at most 20 conditions').default([]),
  metrics: z.array(MetricFilter).max(20, 'must hold at most 20 conditions').default([]),
  /** Runs carrying every one of these tags. */
  tags: z.array(Tag).max(20, 'must hold at most 20 tags').optional(),
});

export const RUN_ORDER_FIELDS = ['STARTED_AT', 'ENDED_AT', 'METRIC', 'PARAM'] as const;
export const RunOrderField = z.enum(RUN_ORDER_FIELDS, { message: `must be one of ${RUN_ORDER_FIELDS.join(', ')}` });
export const SortDirection = z.enum(['ASC', 'DESC'], { message: 'must be ASC or DESC' });
/** Runs without a value for the sort field come last in either direction; ties are broken by run id. */
export const RunOrderBy = z
  .object({ field: RunOrderField, key: z.string().min(1).max(250).optional(), direction: SortDirection.default('DESC') })
  .refine((o) => (o.field === 'METRIC' || o.field === 'PARAM') === (o.key !== undefined), {
    message: 'a METRIC or PARAM ordering needs the key of the metric or parameter (and the others take none)',
    path: ['key'],
  });

export const ListRunsRequest = PageRequest.extend({
  filter: RunFilter.default({ params: [], metrics: [] }),
  orderBy: RunOrderBy.default({ field: 'STARTED_AT', direction: 'DESC' }),
});
export const ListRunsReply = z.object({ items: z.array(RunView), pageInfo: PageInfo });

// -- compareRuns, metrics series -------------------------------------------------------------

export const CompareRunsRequest = z.object({
  runIds: z
    .array(uuid)
    .min(2, 'must name at least 2 runs')
    .max(20, 'must name at most 20 runs')
    .refine((ids) => new Set(ids).size === ids.length, 'must not name a run twice'),
  /** Metrics to compare; when absent, the metrics any of the runs has (the first 100 by name). */
  keys: z.array(MetricKey).min(1).max(100).optional(),
  /**
   * Points per series at most; a longer series is thinned evenly (its first and last points
   * kept). The whole reply also keeps under 8,000 points, so many series get fewer each.
   */
  maxPointsPerSeries: z.number().int().min(2).max(5_000).default(500),
});
export const SeriesPoint = z.object({ step: z.number().int().nonnegative(), value: z.number(), timestamp: z.iso.datetime() });
export type SeriesPoint = z.output<typeof SeriesPoint>;
export const CompareRunsReply = z.object({
  /** In the order of the request. */
  runs: z.array(RunView),
  params: z.object({
    /** Parameters whose value is not the same in every run (a run without it has null). */
    differing: z.array(z.object({ key: z.string(), values: z.array(z.object({ runId: uuid, value: z.union([z.string(), z.number(), z.boolean()]).nullable() })) })),
    /** Parameters every run has with the same value. */
    common: z.array(z.object({ key: z.string(), value: z.union([z.string(), z.number(), z.boolean()]) })),
  }),
  metrics: z.array(
    z.object({
      key: z.string(),
      /** One per run, in the order of `runs`; a run without the metric has count 0 and no points. */
      series: z.array(
        z.object({
          runId: uuid,
          /** Points stored; `points` holds all of them unless `sampled`. */
          count: z.number().int().nonnegative(),
          sampled: z.boolean(),
          points: z.array(SeriesPoint),
          latest: LatestMetric.nullable(),
        }),
      ),
    }),
  ),
});
export type CompareRunsReply = z.output<typeof CompareRunsReply>;

/** Max points per getRunMetrics page (a reply must fit in one NATS message). */
export const MAX_SERIES_PAGE = 5_000;
export const GetRunMetricsRequest = z.object({
  runId: uuid,
  key: MetricKey,
  first: z.number().int().min(1, 'must be at least 1').max(MAX_SERIES_PAGE, `must be at most ${MAX_SERIES_PAGE}`).default(MAX_SERIES_PAGE),
  after: z.string().min(1).optional(),
});
export const GetRunMetricsReply = z.object({
  runId: uuid,
  key: z.string(),
  /** Ordered by step, then timestamp. */
  points: z.array(SeriesPoint),
  pageInfo: PageInfo,
  /** Every metric key the run has, sorted. */
  keys: z.array(z.string()),
});

// ---------------------------------------------------------------------------------------------
// RPC definitions
// ---------------------------------------------------------------------------------------------

const batchOf = (field: string) => z.array(uuid).min(1, `${field} must name at least one id`).max(500, `${field} must name at most 500 ids`);

export const experimentsRpc = {
  defineProject: defineRpc('mt.cmd.experiments.DefineProject', DefineProjectRequest, ProjectReply),
  createExperiment: defineRpc('mt.cmd.experiments.CreateExperiment', CreateExperimentRequest, ExperimentReply),
  startRun: defineRpc('mt.cmd.experiments.StartRun', StartRunRequest, RunReply),
  /** An agent may log into the run of a job it holds (its own credential, see RpcDefinition.callers). */
  logMetrics: defineRpc('mt.cmd.experiments.LogMetrics', LogMetricsRequest, LogMetricsReply, { callers: ['agent'] }),
  logParams: defineRpc('mt.cmd.experiments.LogParams', LogParamsRequest, RunReply, { callers: ['agent'] }),
  logArtifact: defineRpc('mt.cmd.experiments.LogArtifact', LogArtifactRequest, ArtifactReply, { callers: ['agent'] }),
  completeRun: defineRpc('mt.cmd.experiments.CompleteRun', CompleteRunRequest, RunReply),
  failRun: defineRpc('mt.cmd.experiments.FailRun', FailRunRequest, RunReply),

  /** Batch lookups (the gateway's DataLoaders): unknown ids are absent from `items`. */
  getProjects: defineRpc('mt.qry.experiments.GetProjects', z.object({ projectIds: batchOf('projectIds') }), z.object({ items: z.array(ProjectView) })),
  getExperiments: defineRpc('mt.qry.experiments.GetExperiments', z.object({ experimentIds: batchOf('experimentIds') }), z.object({ items: z.array(ExperimentView) })),
  getRuns: defineRpc('mt.qry.experiments.GetRuns', z.object({ runIds: batchOf('runIds') }), z.object({ items: z.array(RunView) })),

  /** Oldest first. */
  listProjects: defineRpc('mt.qry.experiments.ListProjects', PageRequest.extend({ taskType: TaskType.optional() }), z.object({ items: z.array(ProjectView), pageInfo: PageInfo })),
  /** Oldest first. */
  listExperiments: defineRpc('mt.qry.experiments.ListExperiments', PageRequest.extend({ projectId: uuid.optional() }), z.object({ items: z.array(ExperimentView), pageInfo: PageInfo })),
  listRuns: defineRpc('mt.qry.experiments.ListRuns', ListRunsRequest, ListRunsReply),
  compareRuns: defineRpc('mt.qry.experiments.CompareRuns', CompareRunsRequest, CompareRunsReply),
  getRunMetrics: defineRpc('mt.qry.experiments.GetRunMetrics', GetRunMetricsRequest, GetRunMetricsReply),
  /** In the order they were logged. */
  /** Artifacts of the runs asked for (a batch, for the gateway's DataLoader), in logging order; unknown runs have none. */
  listRunArtifacts: defineRpc(
    'mt.qry.experiments.ListRunArtifacts',
    z.object({ runIds: z.array(uuid).min(1, 'must name at least one run').max(500) }),
    z.object({ items: z.array(ArtifactView) }),
  ),
} as const;
