import { Field, Float, ID, Int, InterfaceType, ObjectType, registerEnumType } from '@nestjs/graphql';
import {
  AGENT_STATUSES,
  GPU_PROBE_STATUSES,
  GPU_STATUSES,
  JOB_STATUSES,
  LOG_STREAMS,
  type JobProgressItem as JobProgressContract,
  QUEUE_REASON_CODES,
  SWEEP_STATUSES,
  SWEEP_STRATEGIES,
} from '@modeltrail/contracts';
import { enumOf } from '../common/ids';
import { Connection, PageInfo } from '../common/page';
import { DateTimeScalar, JSONScalar } from '../common/scalars';
import type { AgentReply, JobReply, LogLineReply, QueueEntryReply, SweepReply } from '../context/loaders';
import { OptimizationDirectionEnum, RunDatasetVersion } from '../experiments/experiment.types';

export const JobStatusEnum = enumOf(JOB_STATUSES);
registerEnumType(JobStatusEnum, {
  name: 'JobStatus',
  description: 'QUEUED -> ASSIGNED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED | TIMED_OUT. LOST ends an attempt (the job is then requeued, failed or cancelled); a stored job never rests in LOST.',
});
export const AgentStatusEnum = enumOf(AGENT_STATUSES);
registerEnumType(AgentStatusEnum, { name: 'AgentStatus', description: 'DRAINING: takes no new jobs, finishes those it runs.' });
export const GpuStatusEnum = enumOf(GPU_STATUSES);
registerEnumType(GpuStatusEnum, { name: 'GpuStatus', description: 'BUSY_EXTERNAL: a process the agent did not start uses the GPU, so it is held back.' });
export const GpuProbeStatusEnum = enumOf(GPU_PROBE_STATUSES);
registerEnumType(GpuProbeStatusEnum, { name: 'GpuProbeStatus', description: 'How GPU detection went: ABSENT on a CPU-only node, TIMEOUT when nvidia-smi hung.' });
export const SweepStrategyEnum = enumOf(SWEEP_STRATEGIES);
registerEnumType(SweepStrategyEnum, { name: 'SweepStrategy' });
export const SweepStatusEnum = enumOf(SWEEP_STATUSES);
registerEnumType(SweepStatusEnum, { name: 'SweepStatus' });
export const LogStreamEnum = enumOf(LOG_STREAMS);
registerEnumType(LogStreamEnum, { name: 'LogStream' });
export const QueueReasonCodeEnum = enumOf(QUEUE_REASON_CODES);
registerEnumType(QueueReasonCodeEnum, {
  name: 'QueueReasonCode',
  description: 'Why a pending job waits: BACKING_OFF after a lost agent, WAITING_FOR_CAPACITY (it fits some agent, none has room now), NEVER_FITS (no registered agent could ever run it).',
});
export const SweepObjectiveSourceEnum = enumOf(['GIVEN', 'PROJECT'] as const);
registerEnumType(SweepObjectiveSourceEnum, { name: 'SweepObjectiveSource', description: 'GIVEN with the sweep, or taken from the project\'s success criteria.' });

@ObjectType({ description: 'What a job needs from one agent.' })
export class JobResources {
  @Field(() => Int)
  gpus!: number;

  @Field(() => Int, { description: 'Memory per GPU; 0 takes any GPU.' })
  gpuMemoryMb!: number;

  @Field(() => Float)
  cpus!: number;

  @Field(() => Int)
  memoryMb!: number;

  @Field(() => JSONScalar, { description: 'Labels the agent must carry, each with the same value (name to string).' })
  labels!: Record<string, string>;
}

@ObjectType({ description: 'A GPU given to a job.' })
export class JobGpu {
  @Field(() => Int)
  index!: number;

  @Field()
  uuid!: string;
}

@ObjectType({ description: 'A training job: its command, resources and place in the queue or on an agent, and the run it trains into.' })
export class Job {
  @Field(() => ID)
  id!: string;

  @Field(() => JobStatusEnum)
  status!: string;

  @Field(() => ID)
  projectId!: string;

  @Field(() => ID)
  experimentId!: string;

  @Field(() => ID, { description: 'The run the job trains into (also as `run`).' })
  runId!: string;

  @Field({ description: 'The scheduler started the run for the job (else it trains into an existing run).' })
  startsRun!: boolean;

  @Field(() => ID, { nullable: true, description: 'The sweep whose trial this is, if any (also as `sweep`).' })
  sweepId!: string | null;

  @Field(() => Int, { nullable: true, description: "The sweep trial's index, from 0." })
  trial!: number | null;

  @Field(() => [String], { description: 'The argv the agent executes without a shell: every element is one literal argument.' })
  command!: string[];

  @Field(() => JSONScalar, { description: 'Environment variables of the process (name to string).' })
  env!: Record<string, string>;

  @Field(() => String, { nullable: true })
  workingDir!: string | null;

  @Field(() => JobResources)
  resources!: JobResources;

  @Field(() => Int, { description: 'Higher is placed first.' })
  priority!: number;

  @Field(() => Int, { description: 'Requeues allowed after a lost agent.' })
  maxRetries!: number;

  @Field(() => Int, { nullable: true })
  timeoutSeconds!: number | null;

  @Field(() => Int, { description: 'Between SIGTERM and SIGKILL on a cancel or a timeout.' })
  cancelGraceSeconds!: number;

  @Field(() => Int, { description: '1 for the first placement; one more after each requeue.' })
  attempt!: number;

  @Field(() => Int, { description: 'Times an agent was lost while holding the job.' })
  lostCount!: number;

  @Field(() => Int, { nullable: true, description: 'The latest fencing token handed out; null before the first assignment.' })
  fencingToken!: number | null;

  @Field(() => ID, { nullable: true, description: 'The agent holding the job now, or the one that ran it last (also as `agent`).' })
  agentId!: string | null;

  @Field(() => [JobGpu])
  gpus!: JobGpu[];

  @Field(() => DateTimeScalar, { nullable: true })
  leaseExpiresAt!: string | null;

  @Field(() => Int, { nullable: true })
  pid!: number | null;

  @Field(() => Int, { nullable: true })
  exitCode!: number | null;

  @Field(() => String, { nullable: true, description: 'SIGTERM, SIGKILL ... when a signal ended the process.' })
  signal!: string | null;

  @Field(() => String, { nullable: true, description: 'Why it failed, was cancelled, timed out, or was last requeued.' })
  reason!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  cancelRequestedAt!: string | null;

  @Field(() => String, { nullable: true })
  cancelReason!: string | null;

  @Field(() => DateTimeScalar)
  queuedAt!: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Backoff after a loss: not placed before this time.' })
  notBefore!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  assignedAt!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  startedAt!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  endedAt!: string | null;

  @Field(() => Float, { nullable: true, description: 'Milliseconds the process ran, as the agent measured it.' })
  durationMs!: number | null;

  @Field(() => Int, { description: 'Reports refused because they carried a stale fencing token.' })
  staleReportsRefused!: number;

  @Field()
  submittedBy!: string;

  @Field(() => Int, { description: "Revision of the job's stream." })
  revision!: number;
}

@ObjectType()
export class JobConnection extends Connection(Job) {}

@ObjectType({ description: 'One line a job printed, as the scheduler stored it.' })
export class LogLine {
  @Field(() => Int)
  attempt!: number;

  @Field(() => Int, { description: 'Per job and attempt, from 0, as the agent numbered the lines.' })
  seq!: number;

  @Field(() => LogStreamEnum)
  stream!: string;

  @Field(() => DateTimeScalar)
  time!: string;

  @Field()
  line!: string;
}

@ObjectType()
export class LogLineConnection extends Connection(LogLine) {}

@ObjectType({ description: 'A pending job in placement order, and why it waits.' })
export class QueueEntry {
  @Field(() => ID, { description: 'Also as `job`.' })
  jobId!: string;

  @Field(() => ID)
  projectId!: string;

  @Field(() => Int, { description: '1-based rank among the jobs left waiting, in placement order.' })
  position!: number;

  @Field(() => Int)
  priority!: number;

  @Field(() => Int)
  attempt!: number;

  @Field(() => DateTimeScalar)
  queuedAt!: string;

  @Field(() => DateTimeScalar, { nullable: true })
  notBefore!: string | null;

  @Field(() => JobResources)
  resources!: JobResources;

  @Field(() => QueueReasonCodeEnum)
  reasonCode!: string;

  @Field({ description: 'For a person: "insufficient free GPUs: needs 4, at most 2 free on any agent; 3 jobs ahead".' })
  reason!: string;
}

@ObjectType({ description: 'Pending jobs in placement order.' })
export class QueueConnection {
  @Field(() => [QueueEntry])
  nodes!: QueueEntry[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'Jobs waiting in all (in the project, when one is given).' })
  totalPending!: number;
}

@ObjectType({ description: 'A GPU of an agent, and the job holding it.' })
export class AgentGpu {
  @Field(() => Int)
  index!: number;

  @Field()
  uuid!: string;

  @Field()
  name!: string;

  @Field(() => Int)
  memoryMb!: number;

  @Field(() => GpuStatusEnum)
  status!: string;

  @Field(() => ID, { nullable: true, description: 'The job holding the GPU (also as `job`); null when free.' })
  jobId!: string | null;
}

@ObjectType()
export class GpuProbe {
  @Field(() => GpuProbeStatusEnum)
  status!: string;

  @Field()
  message!: string;
}

@ObjectType({ description: 'A GPU node running the agent: its capacity, what it runs, and whether it is alive.' })
export class Agent {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: 'A fresh id each time the agent process starts.' })
  sessionId!: string;

  @Field(() => AgentStatusEnum)
  status!: string;

  @Field()
  hostname!: string;

  @Field(() => JSONScalar, { description: 'Label name to value.' })
  labels!: Record<string, string>;

  @Field(() => [AgentGpu])
  gpus!: AgentGpu[];

  @Field(() => Float)
  cpus!: number;

  @Field(() => Int)
  memoryMb!: number;

  @Field(() => Float)
  cpusAllocated!: number;

  @Field(() => Int)
  memoryMbAllocated!: number;

  @Field(() => GpuProbe)
  gpuProbe!: GpuProbe;

  @Field()
  agentVersion!: string;

  @Field(() => [ID], { description: 'Also as `runningJobs`.' })
  runningJobIds!: string[];

  @Field(() => String, { nullable: true })
  drainReason!: string | null;

  @Field(() => String, { nullable: true })
  lostReason!: string | null;

  @Field(() => DateTimeScalar)
  registeredAt!: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Last heartbeat; null when none since the scheduler started.' })
  lastSeenAt!: string | null;

  @Field(() => Int)
  revision!: number;
}

@ObjectType()
export class AgentConnection extends Connection(Agent) {}

@ObjectType({ description: 'What a sweep optimises.' })
export class SweepObjective {
  @Field()
  metric!: string;

  @Field(() => OptimizationDirectionEnum)
  direction!: string;

  @Field(() => SweepObjectiveSourceEnum)
  source!: string;
}

@ObjectType({ description: "What every trial's job shares; the trial's params are laid over `params`." })
export class SweepJobTemplate {
  @Field(() => [String])
  command!: string[];

  @Field(() => JSONScalar)
  env!: Record<string, string>;

  @Field(() => String, { nullable: true })
  workingDir!: string | null;

  @Field(() => JobResources)
  resources!: JobResources;

  @Field(() => Int)
  priority!: number;

  @Field(() => Int)
  maxRetries!: number;

  @Field(() => Int, { nullable: true })
  timeoutSeconds!: number | null;

  @Field(() => Int)
  cancelGraceSeconds!: number;

  @Field(() => JSONScalar)
  params!: Record<string, string | number | boolean>;

  @Field(() => [RunDatasetVersion])
  datasetVersions!: RunDatasetVersion[];
}

@ObjectType({ description: 'One trial of a sweep: its params and the job that runs it.' })
export class SweepTrial {
  @Field(() => Int, { description: 'From 0.' })
  trial!: number;

  @Field(() => ID, { description: 'Also as `job`.' })
  jobId!: string;

  @Field(() => ID, { description: 'Also as `run`.' })
  runId!: string;

  @Field(() => JSONScalar)
  params!: Record<string, string | number | boolean>;

  @Field(() => JobStatusEnum, { description: "The trial job's status while it is open, its outcome once finished." })
  status!: string;

  @Field(() => Float, { nullable: true, description: 'The objective metric of the run at its end.' })
  objectiveValue!: number | null;

  @Field(() => DateTimeScalar)
  queuedAt!: string;

  @Field(() => DateTimeScalar, { nullable: true })
  finishedAt!: string | null;
}

@ObjectType({ description: 'The best succeeded trial by the objective (ties: the lower trial).' })
export class SweepBest {
  @Field(() => Int)
  trial!: number;

  @Field(() => ID)
  jobId!: string;

  @Field(() => ID)
  runId!: string;

  @Field(() => Float)
  value!: number;
}

@ObjectType({ description: 'A hyper-parameter sweep: one job per trial, at most maxConcurrent at a time.' })
export class Sweep {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  experimentId!: string;

  @Field(() => ID)
  projectId!: string;

  @Field(() => SweepStatusEnum)
  status!: string;

  @Field(() => SweepStrategyEnum)
  strategy!: string;

  @Field(() => JSONScalar, { description: 'Parameter name to { values } or { range: { min, max, log, int } }.' })
  space!: unknown;

  @Field(() => Int)
  maxTrials!: number;

  @Field(() => Int)
  maxConcurrent!: number;

  @Field(() => Float, { description: 'Seeds the random draws (0 to 4294967295).' })
  seed!: number;

  @Field(() => SweepObjective)
  objective!: SweepObjective;

  @Field(() => SweepJobTemplate)
  jobTemplate!: SweepJobTemplate;

  @Field(() => [SweepTrial], { description: 'Queued so far, in trial order.' })
  trials!: SweepTrial[];

  @Field(() => Int)
  trialsFinished!: number;

  @Field(() => SweepBest, { nullable: true })
  best!: SweepBest | null;

  @Field(() => String, { nullable: true })
  cancelReason!: string | null;

  @Field(() => DateTimeScalar)
  submittedAt!: string;

  @Field(() => DateTimeScalar, { nullable: true })
  endedAt!: string | null;

  @Field()
  submittedBy!: string;

  @Field(() => Int)
  revision!: number;
}

// ---------------------------------------------------------------------------------------------
// Live progress (subscriptions)
// ---------------------------------------------------------------------------------------------

type ProgressKind = JobProgressContract['kind'];

@InterfaceType('JobProgressItem', {
  description: "One item of a job's live progress: JobMetric, JobLogLine or JobStatusChange, in the order the telemetry stream stored them.",
  resolveType: (item: { kind: ProgressKind }) => progressTypeName(item.kind),
})
export abstract class JobProgressItem {
  @Field(() => ID)
  jobId!: string;

  @Field(() => Int, { description: "Its publisher's own numbering (the agent numbers output, the scheduler status changes); it orders nothing across publishers." })
  seq!: number;

  @Field(() => DateTimeScalar)
  at!: string;

  kind!: ProgressKind;
}

@ObjectType({ description: "Items of a job's live progress that arrived together, in the order stored (jobProgressBatches)." })
export class JobProgressBatch {
  @Field(() => ID)
  jobId!: string;

  @Field(() => [JobProgressItem])
  items!: JobProgressItem[];
}

@ObjectType({ implements: () => [JobProgressItem], description: 'A metric point the training script reported.' })
export class JobMetric extends JobProgressItem {
  @Field()
  key!: string;

  @Field(() => Float)
  value!: number;

  @Field(() => Int)
  step!: number;
}

@ObjectType({ implements: () => [JobProgressItem], description: 'A line the job printed, as it came.' })
export class JobLogLine extends JobProgressItem {
  @Field(() => LogStreamEnum)
  stream!: string;

  @Field()
  line!: string;
}

@ObjectType({ implements: () => [JobProgressItem], description: 'A change of the job\'s state, as the scheduler recorded it.' })
export class JobStatusChange extends JobProgressItem {
  @Field(() => JobStatusEnum)
  status!: string;

  @Field(() => Int)
  attempt!: number;

  @Field(() => ID, { nullable: true })
  agentId!: string | null;

  @Field(() => Int, { nullable: true })
  exitCode!: number | null;

  @Field(() => String, { nullable: true })
  reason!: string | null;
}

function progressTypeName(kind: ProgressKind): string {
  switch (kind) {
    case 'METRIC':
      return 'JobMetric';
    case 'LOG':
      return 'JobLogLine';
    case 'STATUS':
      return 'JobStatusChange';
    default: {
      const unknownKind: never = kind;
      throw new Error(`unknown progress kind ${String(unknownKind)}`);
    }
  }
}

/** A contract progress item of a job as the GraphQL object of its kind. */
export function toProgressItem(jobId: string, item: JobProgressContract): JobProgressItem {
  return { jobId, ...item } as JobProgressItem;
}

// ---------------------------------------------------------------------------------------------
// Mapping the service's views
// ---------------------------------------------------------------------------------------------

export function toJob(view: JobReply): Job {
  const { jobId, ...rest } = view;
  return { id: jobId, ...rest, gpus: view.gpus.map((gpu) => ({ index: gpu.index, uuid: gpu.uuid })) };
}

export function toAgent(view: AgentReply): Agent {
  const { agentId, ...rest } = view;
  return { id: agentId, ...rest };
}

export function toSweep(view: SweepReply): Sweep {
  const { sweepId, ...rest } = view;
  return { id: sweepId, ...rest };
}

export function toQueueEntry(entry: QueueEntryReply): QueueEntry {
  return { ...entry };
}

export function toLogLine(line: LogLineReply): LogLine {
  return { attempt: line.attempt, seq: line.seq, stream: line.stream, time: line.time, line: line.line };
}
