import { Field, Float, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { COMPARISON_OPS, DATASET_ROLES, OPTIMIZATION_DIRECTIONS, RUN_ORDER_FIELDS, RUN_STATUSES, SortDirection as SortDirectionSchema, TASK_TYPES } from '@modeltrail/contracts';
import { enumOf } from '../common/ids';
import { Connection } from '../common/page';
import { DateTimeScalar, JSONScalar } from '../common/scalars';
import type { ExperimentReply, ProjectReply, RunReply } from '../context/loaders';

export const TaskTypeEnum = enumOf(TASK_TYPES);
registerEnumType(TaskTypeEnum, { name: 'TaskType' });
export const OptimizationDirectionEnum = enumOf(OPTIMIZATION_DIRECTIONS);
registerEnumType(OptimizationDirectionEnum, { name: 'OptimizationDirection' });
export const DatasetRoleEnum = enumOf(DATASET_ROLES);
registerEnumType(DatasetRoleEnum, { name: 'DatasetRole' });
export const RunStatusEnum = enumOf(RUN_STATUSES);
registerEnumType(RunStatusEnum, { name: 'RunStatus' });
export const ComparisonOpEnum = enumOf(COMPARISON_OPS);
registerEnumType(ComparisonOpEnum, { name: 'ComparisonOp' });
export const RunOrderFieldEnum = enumOf(RUN_ORDER_FIELDS);
registerEnumType(RunOrderFieldEnum, { name: 'RunOrderField', description: 'METRIC orders by the latest value of the metric named by `key`; PARAM by the parameter named by `key`.' });
export const SortDirectionEnum = enumOf(SortDirectionSchema.options);
registerEnumType(SortDirectionEnum, { name: 'SortDirection' });

@ObjectType({ description: '`accuracy >= 0.9` is { metric: "accuracy", threshold: 0.9, direction: MAXIMIZE }.' })
export class SuccessCriterion {
  @Field()
  metric!: string;

  @Field(() => Float)
  threshold!: number;

  @Field(() => OptimizationDirectionEnum)
  direction!: string;
}

@ObjectType({ description: 'A problem definition: what is predicted, and what counts as success.' })
export class Project {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  problem!: string;

  @Field(() => TaskTypeEnum)
  taskType!: string;

  @Field(() => String, { nullable: true, description: 'The variable to predict; null for CLUSTERING and OTHER.' })
  target!: string | null;

  @Field(() => [SuccessCriterion])
  successCriteria!: SuccessCriterion[];

  @Field(() => DateTimeScalar)
  definedAt!: string;

  /** Known when the project came from a query; a command's reply lacks it (read from the stream). */
  definedBy?: string;
}

@ObjectType()
export class ProjectConnection extends Connection(Project) {}

@ObjectType({ description: 'A line of inquiry within a project; its runs are the attempts.' })
export class Experiment {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  description!: string;

  @Field(() => DateTimeScalar)
  createdAt!: string;

  /** Resolved as `project`. */
  projectId!: string;
  createdBy?: string;
}

@ObjectType()
export class ExperimentConnection extends Connection(Experiment) {}

@ObjectType({ description: 'Where the code of a run comes from.' })
export class CodeRef {
  @Field()
  repository!: string;

  @Field()
  commit!: string;

  @Field(() => String, { nullable: true, description: 'Entry point or sub-directory inside the repository.' })
  path!: string | null;
}

@ObjectType({ description: 'A metric of a run at its end. `last` is the point with the highest step (then the latest timestamp).' })
export class MetricSummary {
  @Field()
  key!: string;

  @Field(() => Float)
  last!: number;

  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;

  @Field(() => Int)
  count!: number;

  @Field(() => Int)
  lastStep!: number;
}

@ObjectType({ description: 'The latest logged value of a metric (highest step, then latest timestamp) with its running min, max and count.' })
export class LatestMetric {
  @Field()
  key!: string;

  @Field(() => Float)
  value!: number;

  @Field(() => Int)
  step!: number;

  @Field(() => DateTimeScalar)
  timestamp!: string;

  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: 'One logged value of a metric.' })
export class MetricPoint {
  @Field()
  key!: string;

  @Field(() => Float)
  value!: number;

  @Field(() => Int)
  step!: number;

  @Field(() => DateTimeScalar)
  timestamp!: string;
}

@ObjectType({ description: 'A file a run produced.' })
export class Artifact {
  @Field()
  name!: string;

  @Field()
  uri!: string;

  @Field({ description: 'SHA-256 of the bytes, lower-case hexadecimal.' })
  digest!: string;

  @Field(() => Float, { description: 'Bytes.' })
  size!: number;

  @Field(() => DateTimeScalar)
  loggedAt!: string;

  @Field()
  loggedBy!: string;

  /** Resolved as `run`. */
  runId!: string;
}

@ObjectType({ description: 'A dataset version a run used, and in which role.' })
export class RunDatasetVersion {
  @Field(() => DatasetRoleEnum)
  role!: string;

  /** Resolved as `datasetVersion`. */
  datasetVersionId!: string;
}

@ObjectType({ description: 'One training attempt: its parameters, data, code, metrics and artifacts.' })
export class Run {
  @Field(() => ID)
  id!: string;

  @Field(() => RunStatusEnum)
  status!: string;

  @Field(() => JSONScalar, { description: 'Parameter name to value (string, number or boolean).' })
  params!: Record<string, string | number | boolean>;

  @Field(() => CodeRef, { nullable: true })
  codeRef!: CodeRef | null;

  @Field(() => [RunDatasetVersion])
  datasetVersions!: RunDatasetVersion[];

  @Field(() => [String])
  tags!: string[];

  @Field(() => DateTimeScalar)
  startedAt!: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the run completed or failed.' })
  endedAt!: string | null;

  @Field(() => String, { nullable: true })
  failureReason!: string | null;

  @Field(() => [MetricSummary], { nullable: true, description: 'The metrics summary recorded when the run ended; null while it runs.' })
  summary!: MetricSummary[] | null;

  /** Resolved as `experiment` and `project`. */
  experimentId!: string;
  projectId!: string;
  /** Known when the run came from a query; a command's reply lacks them. */
  startedBy?: string;
  latestMetrics?: LatestMetric[];
}

@ObjectType()
export class RunConnection extends Connection(Run) {}

@ObjectType({ description: 'What logMetrics stored.' })
export class LogMetricsResult {
  @Field(() => ID)
  runId!: string;

  @Field(() => Int, { description: 'Points stored by this call (0 when the call was a retry of one already recorded).' })
  accepted!: number;

  @Field({ description: 'The call was recorded before (same Idempotency-Key): nothing was stored again.' })
  alreadyRecorded!: boolean;
}

@ObjectType()
export class SeriesPoint {
  @Field(() => Int)
  step!: number;

  @Field(() => Float)
  value!: number;

  @Field(() => DateTimeScalar)
  timestamp!: string;
}

@ObjectType({ description: "One run's series of a metric." })
export class RunSeries {
  @Field(() => Int, { description: 'Points stored; `points` holds all of them unless `sampled`.' })
  count!: number;

  @Field({ description: 'The series was thinned evenly (first and last points kept).' })
  sampled!: boolean;

  @Field(() => [SeriesPoint])
  points!: SeriesPoint[];

  @Field(() => LatestMetric, { nullable: true })
  latest!: LatestMetric | null;

  /** Resolved as `run`. */
  runId!: string;
}

@ObjectType()
export class MetricComparison {
  @Field()
  key!: string;

  @Field(() => [RunSeries], { description: 'One per run, in the order of `runs`; a run without the metric has count 0.' })
  series!: RunSeries[];
}

@ObjectType()
export class RunParamValue {
  @Field(() => JSONScalar, { nullable: true, description: 'Null when the run has no such parameter.' })
  value!: string | number | boolean | null;

  /** Resolved as `run`. */
  runId!: string;
}

@ObjectType({ description: 'A parameter whose value is not the same in every run.' })
export class DifferingParam {
  @Field()
  key!: string;

  @Field(() => [RunParamValue])
  values!: RunParamValue[];
}

@ObjectType({ description: 'A parameter every run has with the same value.' })
export class CommonParam {
  @Field()
  key!: string;

  @Field(() => JSONScalar)
  value!: string | number | boolean;
}

@ObjectType()
export class RunComparison {
  @Field(() => [Run], { description: 'In the order asked for.' })
  runs!: Run[];

  @Field(() => [DifferingParam])
  differingParams!: DifferingParam[];

  @Field(() => [CommonParam])
  commonParams!: CommonParam[];

  @Field(() => [MetricComparison])
  metrics!: MetricComparison[];
}

export function toProject(reply: ProjectReply | (Omit<ProjectReply, 'definedBy'> & { definedBy?: string })): Project {
  const project: Project = {
    id: reply.projectId,
    name: reply.name,
    problem: reply.problem,
    taskType: reply.taskType,
    target: reply.target,
    successCriteria: reply.successCriteria,
    definedAt: reply.definedAt,
  };
  if (reply.definedBy !== undefined) project.definedBy = reply.definedBy;
  return project;
}

export function toExperiment(reply: ExperimentReply | (Omit<ExperimentReply, 'createdBy'> & { createdBy?: string })): Experiment {
  const experiment: Experiment = { id: reply.experimentId, projectId: reply.projectId, name: reply.name, description: reply.description, createdAt: reply.createdAt };
  if (reply.createdBy !== undefined) experiment.createdBy = reply.createdBy;
  return experiment;
}

export function toRun(reply: RunReply | (Omit<RunReply, 'startedBy' | 'latestMetrics'> & Partial<Pick<RunReply, 'startedBy' | 'latestMetrics'>>)): Run {
  const run: Run = {
    id: reply.runId,
    experimentId: reply.experimentId,
    projectId: reply.projectId,
    status: reply.status,
    params: reply.params,
    codeRef: reply.codeRef,
    datasetVersions: reply.datasetVersions.map((v) => ({ datasetVersionId: v.datasetVersionId, role: v.role })),
    tags: reply.tags,
    startedAt: reply.startedAt,
    endedAt: reply.endedAt,
    failureReason: reply.failureReason,
    summary: reply.summary,
  };
  if (reply.startedBy !== undefined) run.startedBy = reply.startedBy;
  if (reply.latestMetrics !== undefined) run.latestMetrics = reply.latestMetrics;
  return run;
}
