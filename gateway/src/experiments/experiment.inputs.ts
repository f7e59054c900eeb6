import { Field, Float, ID, InputType, Int } from '@nestjs/graphql';
import { present } from '../common/input';
import { DateTimeScalar, JSONScalar } from '../common/scalars';
import { ComparisonOpEnum, DatasetRoleEnum, OptimizationDirectionEnum, RunOrderFieldEnum, RunStatusEnum, SortDirectionEnum, TaskTypeEnum } from './experiment.types';

type Values<E> = E[keyof E];

@InputType()
export class SuccessCriterionInput {
  @Field()
  metric!: string;

  @Field(() => Float)
  threshold!: number;

  @Field(() => OptimizationDirectionEnum)
  direction!: Values<typeof OptimizationDirectionEnum>;
}

@InputType({ description: 'Project names are unique, whatever their case.' })
export class DefineProjectInput {
  @Field()
  name!: string;

  @Field({ description: 'The problem statement, in a few sentences.' })
  problem!: string;

  @Field(() => TaskTypeEnum)
  taskType!: Values<typeof TaskTypeEnum>;

  @Field(() => String, { nullable: true, description: 'The variable to predict; required except for CLUSTERING and OTHER.' })
  target?: string | null;

  @Field(() => [SuccessCriterionInput], { nullable: true })
  successCriteria?: SuccessCriterionInput[] | null;
}

@InputType({ description: 'Experiment names are unique within a project.' })
export class CreateExperimentInput {
  @Field(() => ID)
  projectId!: string;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@InputType()
export class RunDatasetVersionInput {
  @Field(() => ID)
  datasetVersionId!: string;

  @Field(() => DatasetRoleEnum)
  role!: Values<typeof DatasetRoleEnum>;
}

@InputType()
export class CodeRefInput {
  @Field()
  repository!: string;

  @Field()
  commit!: string;

  @Field(() => String, { nullable: true })
  path?: string | null;
}

@InputType()
export class StartRunInput {
  @Field(() => ID, { nullable: true, description: 'A run id chosen by the caller; otherwise one is derived from the Idempotency-Key, or made up.' })
  runId?: string | null;

  @Field(() => ID)
  experimentId!: string;

  @Field(() => JSONScalar, { nullable: true, description: 'An object of parameter name to value (string, finite number or boolean).' })
  params?: unknown;

  @Field(() => [RunDatasetVersionInput], { nullable: true })
  datasetVersions?: RunDatasetVersionInput[] | null;

  @Field(() => CodeRefInput, { nullable: true })
  codeRef?: CodeRefInput | null;

  @Field(() => [String], { nullable: true })
  tags?: string[] | null;
}

@InputType()
export class MetricPointInput {
  @Field({ description: 'accuracy, val/loss, f1 macro: letters, digits, spaces and _ - . /' })
  key!: string;

  @Field(() => Float)
  value!: number;

  @Field(() => Int, { nullable: true, description: 'Default 0.' })
  step?: number | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Default: when the service receives the point.' })
  timestamp?: string | null;
}

@InputType()
export class LogMetricsInput {
  @Field(() => ID)
  runId!: string;

  @Field(() => [MetricPointInput], { description: 'At most 10,000 points per call.' })
  points!: MetricPointInput[];
}

@InputType({ description: 'Parameters are immutable: a key the run has with the same value is nothing new, with another value it is a CONFLICT.' })
export class LogParamsInput {
  @Field(() => ID)
  runId!: string;

  @Field(() => JSONScalar, { description: 'An object of parameter name to value (string, finite number or boolean); at least one, and at most 200 per run in all.' })
  params!: unknown;
}

@InputType()
export class LogArtifactInput {
  @Field(() => ID)
  runId!: string;

  @Field()
  name!: string;

  @Field()
  uri!: string;

  @Field({ description: 'SHA-256 of the bytes.' })
  digest!: string;

  @Field(() => Float, { description: 'Bytes.' })
  size!: number;
}

@InputType()
export class CompleteRunInput {
  @Field(() => ID)
  runId!: string;
}

@InputType()
export class FailRunInput {
  @Field(() => ID)
  runId!: string;

  @Field()
  reason!: string;
}

@InputType({ description: 'A condition on a parameter: compared as numbers when both sides are numeric, else as strings. Runs without the parameter never match.' })
export class ParamFilterInput {
  @Field()
  key!: string;

  @Field(() => ComparisonOpEnum)
  op!: Values<typeof ComparisonOpEnum>;

  @Field(() => JSONScalar, { description: 'A string, number or boolean.' })
  value!: unknown;
}

@InputType({ description: 'A condition on the latest value of a metric. Runs without the metric never match.' })
export class MetricFilterInput {
  @Field()
  key!: string;

  @Field(() => ComparisonOpEnum)
  op!: Values<typeof ComparisonOpEnum>;

  @Field(() => Float)
  value!: number;
}

@InputType()
export class RunFilter {
  @Field(() => ID, { nullable: true })
  experimentId?: string | null;

  @Field(() => ID, { nullable: true })
  projectId?: string | null;

  @Field(() => RunStatusEnum, { nullable: true })
  status?: Values<typeof RunStatusEnum> | null;

  @Field(() => [ParamFilterInput], { nullable: true })
  params?: ParamFilterInput[] | null;

  @Field(() => [MetricFilterInput], { nullable: true })
  metrics?: MetricFilterInput[] | null;

  @Field(() => [String], { nullable: true, description: 'Runs carrying every one of these tags.' })
  tags?: string[] | null;
}

@InputType({ description: 'Runs without a value for the field come last either way; ties are broken by run id.' })
export class RunOrder {
  @Field(() => RunOrderFieldEnum)
  field!: Values<typeof RunOrderFieldEnum>;

  @Field(() => String, { nullable: true, description: 'The metric or parameter, for METRIC and PARAM.' })
  key?: string | null;

  @Field(() => SortDirectionEnum, { defaultValue: 'DESC' })
  direction!: Values<typeof SortDirectionEnum>;
}

/** The contract's ordering; the service checks that METRIC and PARAM name a key. */
export function toRunOrder(order: RunOrder): { field: RunOrder['field']; direction: RunOrder['direction']; key?: string } {
  return order.key ? { field: order.field, direction: order.direction, key: order.key } : { field: order.field, direction: order.direction };
}

/** The contract's run filter from the GraphQL one (absent rather than null). */
export function toRunFilter(filter: RunFilter): Record<string, unknown> {
  const { params, metrics, ...rest } = present(filter);
  return {
    ...rest,
    params: (params ?? []).map((p) => ({ key: p.key, op: p.op, value: p.value })),
    metrics: (metrics ?? []).map((m) => ({ key: m.key, op: m.op, value: m.value })),
  };
}
