import { Field, Float, ID, InputType, Int } from '@nestjs/graphql';
import { present } from '../common/input';
import { JSONScalar } from '../common/scalars';
import { RunDatasetVersionInput } from '../experiments/experiment.inputs';
import { OptimizationDirectionEnum } from '../experiments/experiment.types';
import { JobStatusEnum, SweepStrategyEnum } from './scheduler.types';

type Values<E> = E[keyof E];

@InputType({ description: 'What a job needs from one agent; a field left out takes the default.' })
export class JobResourcesInput {
  @Field(() => Int, { nullable: true, description: 'Default 0.' })
  gpus?: number | null;

  @Field(() => Int, { nullable: true, description: 'Memory per GPU; default 0 (any GPU). Needs gpus > 0.' })
  gpuMemoryMb?: number | null;

  @Field(() => Float, { nullable: true, description: 'Default 1.' })
  cpus?: number | null;

  @Field(() => Int, { nullable: true, description: 'Default 1024.' })
  memoryMb?: number | null;

  @Field(() => JSONScalar, { nullable: true, description: 'Labels the agent must carry with these values, e.g. { "gpu": "a100" }.' })
  labels?: unknown;
}

/** Fields a job and a sweep's job template share. */
@InputType({ isAbstract: true })
abstract class JobSpecInput {
  @Field(() => [String], {
    description: 'The program and its arguments (argv), e.g. ["python", "train.py", "--lr", "0.01"]: executed without a shell, so every element is one literal argument. To use a shell on purpose: ["sh", "-c", "..."].',
  })
  command!: string[];

  @Field(() => JSONScalar, { nullable: true, description: 'Environment variables, an object of name to string value; MODELTRAIL_* and CUDA_VISIBLE_DEVICES are set by the agent and refused.' })
  env?: unknown;

  @Field(() => String, { nullable: true, description: "An absolute path under one of the installation's allowed roots." })
  workingDir?: string | null;

  @Field(() => JobResourcesInput, { nullable: true })
  resources?: JobResourcesInput | null;

  @Field(() => Int, { nullable: true, description: '-1000 to 1000, higher placed first; default 0.' })
  priority?: number | null;

  @Field(() => Int, { nullable: true, description: 'Requeues after a lost agent, 0 to 10; default 2.' })
  maxRetries?: number | null;

  @Field(() => Int, { nullable: true, description: 'The process is stopped after this long (at most 30 days); none by default.' })
  timeoutSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: 'Between SIGTERM and SIGKILL on a cancel or timeout, 0 to 600; default 10.' })
  cancelGraceSeconds?: number | null;

  @Field(() => JSONScalar, { nullable: true, description: 'Parameters of the new run: an object of name to string, finite number or boolean.' })
  params?: unknown;

  @Field(() => [RunDatasetVersionInput], { nullable: true, description: 'Dataset versions the new run uses.' })
  datasetVersions?: RunDatasetVersionInput[] | null;
}

@InputType({ description: 'A job trains into an existing run (runId) or a new run of experimentId that the scheduler starts with params and datasetVersions.' })
export class SubmitJobInput extends JobSpecInput {
  @Field(() => ID, { nullable: true, description: 'A job id chosen by the caller; otherwise one is derived from the Idempotency-Key, or made up.' })
  jobId?: string | null;

  @Field(() => ID, { nullable: true, description: 'An existing run to train into (then no params or datasetVersions).' })
  runId?: string | null;

  @Field(() => ID, { nullable: true, description: 'The experiment of a new run.' })
  experimentId?: string | null;
}

@InputType()
export class CancelJobInput {
  @Field(() => ID)
  jobId!: string;

  @Field()
  reason!: string;
}

@InputType()
export class ChangeJobPriorityInput {
  @Field(() => ID)
  jobId!: string;

  @Field(() => Int, { description: '-1000 to 1000.' })
  priority!: number;
}

@InputType({ description: 'The metric a sweep optimises; without a direction, the direction of the project\'s criterion for it.' })
export class SweepObjectiveInput {
  @Field()
  metric!: string;

  @Field(() => OptimizationDirectionEnum, { nullable: true })
  direction?: Values<typeof OptimizationDirectionEnum> | null;
}

@InputType({ description: "A sweep queues one job per trial of the space; the trial's params are laid over params." })
export class SubmitSweepInput extends JobSpecInput {
  @Field(() => ID, { nullable: true, description: 'A sweep id chosen by the caller; otherwise one is derived from the Idempotency-Key, or made up.' })
  sweepId?: string | null;

  @Field(() => ID)
  experimentId!: string;

  @Field(() => SweepStrategyEnum)
  strategy!: Values<typeof SweepStrategyEnum>;

  @Field(() => JSONScalar, { description: 'Parameter name to { values: [...] } (GRID or RANDOM) or { range: { min, max, log?, int? } } (RANDOM).' })
  space!: unknown;

  @Field(() => Int, { nullable: true, description: 'RANDOM: the draws (required). GRID: when given, it must cover the whole grid.' })
  maxTrials?: number | null;

  @Field(() => Int, { nullable: true, description: 'Trials running at once, 1 to 100; default 4.' })
  maxConcurrent?: number | null;

  @Field(() => Float, { nullable: true, description: 'Seeds the random draws (0 to 4294967295); chosen and recorded when absent.' })
  seed?: number | null;

  @Field(() => SweepObjectiveInput, { nullable: true, description: "Default: the project's first success criterion." })
  objective?: SweepObjectiveInput | null;
}

@InputType()
export class CancelSweepInput {
  @Field(() => ID)
  sweepId!: string;

  @Field()
  reason!: string;
}

@InputType()
export class DrainAgentInput {
  @Field(() => ID)
  agentId!: string;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@InputType()
export class ResumeAgentInput {
  @Field(() => ID)
  agentId!: string;
}

@InputType()
export class JobFilter {
  @Field(() => JobStatusEnum, { nullable: true })
  status?: Values<typeof JobStatusEnum> | null;

  @Field(() => ID, { nullable: true })
  projectId?: string | null;

  @Field(() => ID, { nullable: true })
  experimentId?: string | null;

  @Field(() => ID, { nullable: true })
  agentId?: string | null;

  @Field(() => ID, { nullable: true })
  sweepId?: string | null;

  @Field(() => ID, { nullable: true, description: 'The job that trained this run (a retraining queues a job into a new run).' })
  runId?: string | null;
}

@InputType({ description: 'Which state changes jobUpdates delivers; every condition given must hold.' })
export class JobUpdatesFilter {
  @Field(() => ID, { nullable: true })
  jobId?: string | null;

  @Field(() => ID, { nullable: true })
  projectId?: string | null;

  @Field(() => JobStatusEnum, { nullable: true, description: 'The status changed to.' })
  status?: Values<typeof JobStatusEnum> | null;
}

/**
 * The contract's job spec fields from the GraphQL input: what the client left out stays out
 * (the contract's defaults apply), JSON values pass as given (the scheduler validates them).
 */
export function toJobSpec(input: JobSpecInput): Record<string, unknown> {
  const { resources, datasetVersions, ...rest } = present(input);
  return {
    ...rest,
    command: input.command,
    ...(resources ? { resources: present(resources) } : {}),
    ...(datasetVersions ? { datasetVersions: datasetVersions.map((v) => ({ datasetVersionId: v.datasetVersionId, role: v.role })) } : {}),
  };
}

/** The contract's sweep objective (absent direction: the project's). */
export function toObjective(objective: SweepObjectiveInput): { metric: string; direction?: string } {
  return objective.direction ? { metric: objective.metric, direction: objective.direction } : { metric: objective.metric };
}
