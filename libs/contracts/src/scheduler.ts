import { posix } from 'node:path';
import { PageInfo, PageRequest } from './datasets';
import { ValidationError } from './errors';
import { DatasetRole, MetricKey, OptimizationDirection, ParamKey, Params, ParamValue } from './experiments';
import { nameBasedUuid } from './ids';
import { defineRpc } from './rpc';
import { uuid as uuidSchema, z } from './schema';

/**
 * Contracts of the `scheduler` context (docs/architecture.md: Bounded contexts, Training jobs and agents): training jobs placed on GPU agents,
 * the agents themselves, and hyper-parameter sweeps that queue one job per trial.
 *
 * A job's command is an argv list, never a shell line: the agent executes it without a shell,
 * so `"; rm -rf /"` inside it is one literal argument. A job trains into a run: an existing one
 * (`runId`) or one the scheduler starts through the experiments service (`experimentId`, with
 * the run id `jobRunId(jobId)`).
 */

const uuid = uuidSchema();
const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time, e.g. 2026-11-22T12:00:00.000Z' });
const wholeNumber = (what: string) => z.number({ message: `must be a whole number of ${what}` }).int(`must be a whole number of ${what}`);

// ---------------------------------------------------------------------------------------------
// Ids and streams
// ---------------------------------------------------------------------------------------------

/** Namespaces of the ids the scheduler derives. Never change one: ids would move. */
export const SCHEDULER_ID_NAMESPACES = {
  /** The run a job starts when it names an experiment, from the job id. */
  jobRun: 'cc8a54ba-5aad-4faa-8fa2-2c81d03d86cd',
  /** The job of a sweep's trial, from the sweep id and the trial index. */
  sweepTrialJob: '151605f1-dfc5-4b4e-a0f7-5c63bf5a43cb',
  /** An agent id from its host name, for agents not configured with one. */
  agentHost: '5b8a7d8f-0a47-451d-9088-8e79e16f0c2b',
} as const;

/** The id of the run the scheduler starts for a job that names an experiment (stable across retries). */
export function jobRunId(jobId: string): string {
  return nameBasedUuid(SCHEDULER_ID_NAMESPACES.jobRun, jobId.toLowerCase());
}

/** The job id of trial `trial` (0-based) of a sweep: queuing a trial twice names the same job. */
export function sweepTrialJobId(sweepId: string, trial: number): string {
  return nameBasedUuid(SCHEDULER_ID_NAMESPACES.sweepTrialJob, `${sweepId.toLowerCase()}/${trial}`);
}

/** A stable agent id for a host, for agents whose configuration names none. */
export function agentIdForHost(hostname: string): string {
  return nameBasedUuid(SCHEDULER_ID_NAMESPACES.agentHost, hostname.trim().toLowerCase());
}

export const jobStream = (jobId: string) => `job-${jobId}`;
/** Where the scheduler records that it could not queue a requested job (`RetrainJobRefused`); one event at most. */
export const jobRefusalStream = (jobId: string) => `job-refusal-${jobId}`;
export const agentStream = (agentId: string) => `agent-${agentId}`;
export const sweepStream = (sweepId: string) => `sweep-${sweepId}`;

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

/**
 * QUEUED -> ASSIGNED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED | TIMED_OUT.
 * LOST is the end of an attempt, not of a job: JobLost is always appended together with what
 * follows it (JobRequeued -> QUEUED, or JobFailed once the retries are used up, or JobCancelled
 * when a cancel was pending), so a stored job never rests in LOST.
 */
export const JOB_STATUSES = ['QUEUED', 'ASSIGNED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'LOST'] as const;
export const JobStatus = z.enum(JOB_STATUSES, { message: `must be one of ${JOB_STATUSES.join(', ')}` });
export type JobStatus = z.output<typeof JobStatus>;
export const JOB_END_STATUSES: ReadonlyArray<JobStatus> = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

/** What an agent reports at the end of a job's process. */
export const JOB_OUTCOMES = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
export const JobOutcome = z.enum(JOB_OUTCOMES, { message: `must be one of ${JOB_OUTCOMES.join(', ')}` });
export type JobOutcome = z.output<typeof JobOutcome>;

export const AGENT_STATUSES = ['ACTIVE', 'DRAINING', 'LOST', 'STOPPED'] as const;
export const AgentStatus = z.enum(AGENT_STATUSES, { message: `must be one of ${AGENT_STATUSES.join(', ')}` });
export type AgentStatus = z.output<typeof AgentStatus>;

export const GPU_STATUSES = ['AVAILABLE', 'BUSY_EXTERNAL', 'UNKNOWN'] as const;
export const GpuStatus = z.enum(GPU_STATUSES, { message: `must be one of ${GPU_STATUSES.join(', ')}` });
export type GpuStatus = z.output<typeof GpuStatus>;

export const GPU_PROBE_STATUSES = ['OK', 'TIMEOUT', 'ERROR', 'ABSENT', 'MIG_PARTIAL'] as const;
export const GpuProbeStatus = z.enum(GPU_PROBE_STATUSES, { message: `must be one of ${GPU_PROBE_STATUSES.join(', ')}` });
export type GpuProbeStatus = z.output<typeof GpuProbeStatus>;

export const SWEEP_STRATEGIES = ['GRID', 'RANDOM'] as const;
export const SweepStrategy = z.enum(SWEEP_STRATEGIES, { message: `must be one of ${SWEEP_STRATEGIES.join(', ')}` });
export type SweepStrategy = z.output<typeof SweepStrategy>;

export const SWEEP_STATUSES = ['RUNNING', 'COMPLETED', 'CANCELLED'] as const;
export const SweepStatus = z.enum(SWEEP_STATUSES, { message: `must be one of ${SWEEP_STATUSES.join(', ')}` });
export type SweepStatus = z.output<typeof SweepStatus>;

export const LOG_STREAMS = ['stdout', 'stderr'] as const;
export const LogStream = z.enum(LOG_STREAMS, { message: 'must be stdout or stderr' });
export type LogStream = z.output<typeof LogStream>;

/** Why a pending job is not placed (placement order, `GetQueue`). */
export const QUEUE_REASON_CODES = ['BACKING_OFF', 'WAITING_FOR_CAPACITY', 'NEVER_FITS'] as const;
export const QueueReasonCode = z.enum(QUEUE_REASON_CODES);
export type QueueReasonCode = z.output<typeof QueueReasonCode>;

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

export const JOB_LIMITS = {
  argvElements: 1_024,
  /** Linux refuses a single argument longer than 128 KiB (MAX_ARG_STRLEN). */
  argChars: 131_072,
  /** The whole argv; far under ARG_MAX, so that the environment fits too. */
  argvChars: 262_144,
  envVars: 256,
  envNameChars: 256,
  envValueChars: 32_768,
  workingDirChars: 4_096,
  gpus: 64,
  gpuMemoryMb: 1_048_576,
  cpus: 1_024,
  memoryMb: 16_777_216,
  labels: 64,
  labelKeyChars: 128,
  labelValueChars: 256,
  priority: 1_000,
  maxRetries: 10,
  /** 30 days. */
  timeoutSeconds: 2_592_000,
  cancelGraceSeconds: 600,
  reasonChars: 4_000,
} as const;

export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_CANCEL_GRACE_SECONDS = 10;

/** Backoff before attempt `lostCount + 1` after the `lostCount`-th loss: 5 s, 10 s, 20 s ... capped at 5 min. */
export const REQUEUE_BACKOFF = { baseMs: 5_000, capMs: 300_000 } as const;
export function requeueBackoffMs(lostCount: number): number {
  return Math.min(REQUEUE_BACKOFF.baseMs * 2 ** Math.max(0, lostCount - 1), REQUEUE_BACKOFF.capMs);
}

export const SWEEP_LIMITS = {
  /** The hard ceiling; an installation configures its own trial limit at or under it. */
  trials: 10_000,
  parameters: 50,
  valuesPerParameter: 1_000,
  maxConcurrent: 100,
} as const;
export const DEFAULT_SWEEP_TRIAL_LIMIT = 1_000;

// ---------------------------------------------------------------------------------------------
// Job spec: command, environment, working directory, resources
// ---------------------------------------------------------------------------------------------

const ARGV_RULE = 'must be a list of arguments (argv), e.g. ["python", "train.py", "--lr", "0.01"]; a shell string is not accepted (to use a shell on purpose, pass ["sh", "-c", "..."])';

/**
 * The command as argv: the agent executes `argv[0]` with the other elements as its arguments,
 * with no shell, so no element is ever interpreted (`"; rm -rf /"` is one literal argument).
 */
export const JobArgv = z
  .array(z.string({ message: 'every argument must be a string' }), { message: ARGV_RULE })
  .min(1, 'must hold at least the program to run, e.g. ["python", "train.py"]')
  .max(JOB_LIMITS.argvElements, `must hold at most ${JOB_LIMITS.argvElements} arguments`)
  .superRefine((argv, ctx) => {
    if (argv.length > 0 && argv[0].trim() === '') ctx.addIssue({ code: 'custom', path: [0], message: 'the program (the first element) must not be empty' });
    let total = 0;
    argv.forEach((arg, index) => {
      total += arg.length;
      if (arg.includes('\u0000')) ctx.addIssue({ code: 'custom', path: [index], message: 'an argument must not contain a NUL character' });
      if (arg.length > JOB_LIMITS.argChars) ctx.addIssue({ code: 'custom', path: [index], message: `an argument must be at most ${JOB_LIMITS.argChars} characters` });
    });
    if (total > JOB_LIMITS.argvChars) ctx.addIssue({ code: 'custom', path: [], message: `the arguments together must be at most ${JOB_LIMITS.argvChars} characters` });
  });

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables the agent sets itself (run id, job id, telemetry subject ...). */
export const RESERVED_ENV_PREFIX = 'MODELTRAIL_';
/** Set by the agent to the job's GPUs: a job setting it could reach GPUs it was not given. */
export const AGENT_SET_ENV_NAMES: ReadonlyArray<string> = ['CUDA_VISIBLE_DEVICES'];

/** Environment variables of the job's process, added to the agent's base environment. */
export const JobEnv = z.record(z.string(), z.string({ message: 'must be a string' }), { message: 'must be an object of variable names to string values' }).superRefine((env, ctx) => {
  const names = Object.keys(env);
  if (names.length > JOB_LIMITS.envVars) ctx.addIssue({ code: 'custom', path: [], message: `must hold at most ${JOB_LIMITS.envVars} variables` });
  for (const name of names) {
    if (!ENV_NAME_PATTERN.test(name) || name.length > JOB_LIMITS.envNameChars) {
      ctx.addIssue({ code: 'custom', path: [name], message: `variable name ${JSON.stringify(name.slice(0, 80))} must be letters, digits and underscores, not starting with a digit (at most ${JOB_LIMITS.envNameChars} characters)` });
    } else if (name.toUpperCase().startsWith(RESERVED_ENV_PREFIX)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `${name} is refused: the agent sets the ${RESERVED_ENV_PREFIX}* variables itself` });
    } else if (AGENT_SET_ENV_NAMES.includes(name.toUpperCase())) {
      ctx.addIssue({ code: 'custom', path: [name], message: `${name} is refused: the agent sets it to the GPUs the job is given` });
    }
    const value = env[name];
    if (typeof value === 'string' && value.includes('\u0000')) ctx.addIssue({ code: 'custom', path: [name], message: 'a value must not contain a NUL character' });
    if (typeof value === 'string' && value.length > JOB_LIMITS.envValueChars) ctx.addIssue({ code: 'custom', path: [name], message: `a value must be at most ${JOB_LIMITS.envValueChars} characters` });
  }
});
export type JobEnv = z.output<typeof JobEnv>;

/** An absolute path; whether it is under an allowed root is `checkWorkingDir`'s question (it needs configuration). */
export const WorkingDir = z
  .string({ message: 'must be an absolute path' })
  .min(1, 'must be an absolute path')
  .max(JOB_LIMITS.workingDirChars, `must be at most ${JOB_LIMITS.workingDirChars} characters`)
  .refine((dir) => dir.startsWith('/'), 'must be an absolute path (starting with /)')
  .refine((dir) => !dir.includes('\u0000'), 'must not contain a NUL character');

/**
 * The working directory resolved (`..` and `.` and repeated slashes removed) when it lies under
 * one of `allowedRoots` (or is one), else a ValidationError naming the resolved path. Symbolic
 * links cannot be resolved without the file system: the agent checks the real path again
 * before it starts the process.
 */
export function checkWorkingDir(dir: string, allowedRoots: ReadonlyArray<string>): string {
  if (!dir.startsWith('/')) throw new ValidationError(`workingDir ${JSON.stringify(dir)} must be an absolute path`, { field: 'workingDir' });
  const resolved = posix.resolve(dir);
  const roots = allowedRoots.filter((root) => root.startsWith('/')).map((root) => posix.resolve(root));
  if (roots.length === 0) throw new ValidationError(`workingDir ${resolved} is refused: this installation allows no working directories`, { field: 'workingDir' });
  const inside = roots.some((root) => root === '/' || resolved === root || resolved.startsWith(`${root}/`));
  if (!inside) {
    const shown = resolved === dir ? resolved : `${JSON.stringify(dir)} resolves to ${resolved}, which is`;
    throw new ValidationError(`workingDir ${shown} outside the allowed roots ${roots.join(', ')}`, { field: 'workingDir', resolved, allowedRoots: roots });
  }
  return resolved;
}

export const LABEL_KEY_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;

/** Labels of an agent (`gpu: a100`, `zone: eu-1`) and those a job requires (each must be equal on the agent). */
export const Labels = z.record(z.string(), z.string({ message: 'label values must be strings' }), { message: 'must be an object of label names to string values' }).superRefine((labels, ctx) => {
  const keys = Object.keys(labels);
  if (keys.length > JOB_LIMITS.labels) ctx.addIssue({ code: 'custom', path: [], message: `must hold at most ${JOB_LIMITS.labels} labels` });
  for (const key of keys) {
    if (!LABEL_KEY_PATTERN.test(key) || key.length > JOB_LIMITS.labelKeyChars) {
      ctx.addIssue({ code: 'custom', path: [key], message: `label name ${JSON.stringify(key.slice(0, 80))} must be 1 to ${JOB_LIMITS.labelKeyChars} letters, digits, dots, dashes, underscores and slashes, starting and ending with a letter or digit` });
    }
    const value = labels[key];
    if (typeof value === 'string' && (value.length > JOB_LIMITS.labelValueChars || /[\u0000-\u001f]/.test(value))) {
      ctx.addIssue({ code: 'custom', path: [key], message: `a label value must be at most ${JOB_LIMITS.labelValueChars} characters without control characters` });
    }
  }
});
export type Labels = z.output<typeof Labels>;

/** What a job needs from one agent. `gpuMemoryMb` is per GPU; 0 takes any GPU. */
export const JobResources = z
  .object({
    gpus: wholeNumber('GPUs').min(0, 'must not be negative').max(JOB_LIMITS.gpus, `must be at most ${JOB_LIMITS.gpus}`).default(0),
    gpuMemoryMb: wholeNumber('MB').min(0, 'must not be negative').max(JOB_LIMITS.gpuMemoryMb, `must be at most ${JOB_LIMITS.gpuMemoryMb}`).default(0),
    cpus: z.number({ message: 'must be a number of CPUs' }).gt(0, 'must be more than 0').max(JOB_LIMITS.cpus, `must be at most ${JOB_LIMITS.cpus}`).default(1),
    memoryMb: wholeNumber('MB').gt(0, 'must be more than 0').max(JOB_LIMITS.memoryMb, `must be at most ${JOB_LIMITS.memoryMb}`).default(1_024),
    labels: Labels.default({}),
  })
  .superRefine((r, ctx) => {
    if (r.gpus === 0 && r.gpuMemoryMb > 0) ctx.addIssue({ code: 'custom', path: ['gpuMemoryMb'], message: 'is memory per GPU: it needs gpus > 0 (set gpus, or leave gpuMemoryMb at 0)' });
  });
export type JobResources = z.output<typeof JobResources>;

export const JobPriority = wholeNumber('priority points')
  .min(-JOB_LIMITS.priority, `must be between -${JOB_LIMITS.priority} and ${JOB_LIMITS.priority}`)
  .max(JOB_LIMITS.priority, `must be between -${JOB_LIMITS.priority} and ${JOB_LIMITS.priority}`);
export const MaxRetries = wholeNumber('retries').min(0, 'must not be negative').max(JOB_LIMITS.maxRetries, `must be at most ${JOB_LIMITS.maxRetries}`);
export const TimeoutSeconds = wholeNumber('seconds').min(1, 'must be at least 1 second').max(JOB_LIMITS.timeoutSeconds, `must be at most ${JOB_LIMITS.timeoutSeconds} seconds (30 days)`);
export const CancelGraceSeconds = wholeNumber('seconds').min(0, 'must not be negative').max(JOB_LIMITS.cancelGraceSeconds, `must be at most ${JOB_LIMITS.cancelGraceSeconds} seconds`);
export const Reason = z.string().trim().min(1, 'must say why').max(JOB_LIMITS.reasonChars, `must be at most ${JOB_LIMITS.reasonChars} characters`);
/** A fencing token: 1 for a job's first assignment, one more for each later one. */
export const FencingToken = z.number({ message: 'must be the fencing token of the assignment' }).int('must be a whole number').min(1, 'must be at least 1');
/** `SIGKILL`, `SIGTERM` ... as the agent's process library names them. */
export const SignalName = z.string().regex(/^SIG[A-Z0-9]+$/, 'must be a signal name such as SIGTERM or SIGKILL');
export const ExitCode = z.number({ message: 'must be a whole number' }).int('must be a whole number').min(-255, 'must be between -255 and 255').max(255, 'must be between -255 and 255');

/** A GPU's (or MIG instance's) UUID as nvidia-smi prints it: the agent puts these into CUDA_VISIBLE_DEVICES. */
export const GpuUuid = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9-]+$/, 'must be a GPU UUID as nvidia-smi prints it (letters, digits and dashes), e.g. GPU-5f2c...');
export const JobGpu = z.object({ index: z.number().int().nonnegative(), uuid: GpuUuid });
export type JobGpu = z.output<typeof JobGpu>;

export const JobDatasetVersion = z.object({ datasetVersionId: uuid, role: DatasetRole });
export const JobDatasetVersions = z
  .array(JobDatasetVersion)
  .max(50, 'must hold at most 50 dataset versions')
  .superRefine((versions, ctx) => {
    const seen = new Set<string>();
    versions.forEach((v, index) => {
      if (seen.has(v.datasetVersionId)) ctx.addIssue({ code: 'custom', message: `dataset version ${v.datasetVersionId} is listed more than once`, path: [index, 'datasetVersionId'] });
      seen.add(v.datasetVersionId);
    });
  });

/** The run a job starts (null in JobQueued when the job trains into an existing run). */
export const NewRunSpec = z.object({ params: Params, datasetVersions: z.array(JobDatasetVersion) });
export type NewRunSpec = z.output<typeof NewRunSpec>;

export const SweepTrialRef = z.object({ sweepId: uuid, trial: z.number().int().nonnegative() });
export type SweepTrialRef = z.output<typeof SweepTrialRef>;

/** A job's spec as JobQueued records it (and as a sweep's job template holds it). */
const JobSpecFields = {
  command: JobArgv,
  env: JobEnv,
  workingDir: WorkingDir.nullable(),
  resources: JobResources,
  priority: JobPriority,
  maxRetries: MaxRetries,
  timeoutSeconds: TimeoutSeconds.nullable(),
  cancelGraceSeconds: CancelGraceSeconds,
};

// ---------------------------------------------------------------------------------------------
// Agents: capacity
// ---------------------------------------------------------------------------------------------

export const AgentGpu = z.object({
  index: wholeNumber('GPU index').min(0, 'must not be negative').max(1_023, 'must be at most 1023'),
  uuid: GpuUuid,
  name: z.string().trim().max(256, 'must be at most 256 characters'),
  memoryMb: wholeNumber('MB').min(0, 'must not be negative').max(JOB_LIMITS.gpuMemoryMb, `must be at most ${JOB_LIMITS.gpuMemoryMb}`),
  status: GpuStatus,
});
export type AgentGpu = z.output<typeof AgentGpu>;
export const AgentGpus = z
  .array(AgentGpu)
  .max(256, 'must hold at most 256 GPUs')
  .superRefine((gpus, ctx) => {
    const indexes = new Set<number>();
    const uuids = new Set<string>();
    gpus.forEach((gpu, i) => {
      if (indexes.has(gpu.index)) ctx.addIssue({ code: 'custom', path: [i, 'index'], message: `GPU index ${gpu.index} is listed more than once` });
      if (uuids.has(gpu.uuid)) ctx.addIssue({ code: 'custom', path: [i, 'uuid'], message: `GPU ${gpu.uuid} is listed more than once` });
      indexes.add(gpu.index);
      uuids.add(gpu.uuid);
    });
  });

/** How GPU detection went: a CPU-only node reports ABSENT; a probe that hung reports TIMEOUT. */
export const GpuProbe = z.object({ status: GpuProbeStatus, message: z.string().max(4_000, 'must be at most 4000 characters').default('') });
export type GpuProbe = z.output<typeof GpuProbe>;

export const Hostname = z.string().trim().min(1, 'must not be empty').max(253, 'must be at most 253 characters');

// ---------------------------------------------------------------------------------------------
// Sweeps: parameter spaces
// ---------------------------------------------------------------------------------------------

/** A range to draw from (RANDOM only): uniform, or log-uniform with `log`; `int` draws whole numbers. */
export const SweepRange = z
  .object({
    min: z.number({ message: 'must be a finite number' }),
    max: z.number({ message: 'must be a finite number' }),
    log: z.boolean().default(false),
    int: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    if (r.min > r.max) ctx.addIssue({ code: 'custom', path: ['max'], message: `must not be less than min (${r.min})` });
    if (r.log && r.min <= 0) ctx.addIssue({ code: 'custom', path: ['min'], message: 'a log range needs min > 0' });
    if (r.int && Math.ceil(r.min) > Math.floor(r.max)) ctx.addIssue({ code: 'custom', path: ['max'], message: `an int range needs a whole number between min and max (${r.min} .. ${r.max})` });
  });
export type SweepRange = z.output<typeof SweepRange>;

/** One parameter of a space: exactly one of `values` (GRID or RANDOM) and `range` (RANDOM). */
export const SweepParameter = z
  .object({
    values: z
      .array(ParamValue)
      .min(1, 'must list at least one value')
      .max(SWEEP_LIMITS.valuesPerParameter, `must list at most ${SWEEP_LIMITS.valuesPerParameter} values`)
      .nullable()
      .default(null),
    range: SweepRange.nullable().default(null),
  })
  .superRefine((p, ctx) => {
    if ((p.values === null) === (p.range === null)) ctx.addIssue({ code: 'custom', path: [], message: 'must give either values (a list) or a range {min, max, log?, int?}, not both and not neither' });
  });
export type SweepParameter = z.output<typeof SweepParameter>;

/**
 * Parameter name -> values or range. Expansion goes through the names in sorted order (never the
 * order the object was written in, which a JSONB column does not keep), so a stored space expands
 * to the same trials everywhere.
 */
export const SweepSpace = z.record(ParamKey, SweepParameter, { message: 'must be an object of parameter names to { values } or { range }' }).superRefine((space, ctx) => {
  const count = Object.keys(space).length;
  if (count === 0) ctx.addIssue({ code: 'custom', path: [], message: 'must define at least one parameter' });
  if (count > SWEEP_LIMITS.parameters) ctx.addIssue({ code: 'custom', path: [], message: `must define at most ${SWEEP_LIMITS.parameters} parameters` });
});
export type SweepSpace = z.output<typeof SweepSpace>;

/** What a sweep optimises; `source` says whether it was given or taken from the project's success criteria. */
export const SweepObjective = z.object({ metric: MetricKey, direction: OptimizationDirection, source: z.enum(['GIVEN', 'PROJECT']) });
export type SweepObjective = z.output<typeof SweepObjective>;

/** What every trial's job shares; the trial's params are laid over `params`. */
export const SweepJobTemplate = z.object({ ...JobSpecFields, params: Params, datasetVersions: z.array(JobDatasetVersion) });
export type SweepJobTemplate = z.output<typeof SweepJobTemplate>;

export const SweepBest = z.object({ trial: z.number().int().nonnegative(), jobId: uuid, runId: uuid, value: z.number() });
export type SweepBest = z.output<typeof SweepBest>;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export const JobQueuedV1 = z.object({
  jobId: uuid,
  projectId: uuid,
  experimentId: uuid,
  runId: uuid,
  /** The run the scheduler starts (with `runId`) before the job runs; null: the job trains into the existing run `runId`. */
  newRun: NewRunSpec.nullable(),
  ...JobSpecFields,
  sweep: SweepTrialRef.nullable(),
  queuedAt: z.iso.datetime(),
});
export const JobAssignedV1 = z.object({
  jobId: uuid,
  agentId: uuid,
  gpus: z.array(JobGpu),
  fencingToken: FencingToken,
  /** Until the first heartbeat renews it (renewals are not events: see the job decider). */
  leaseExpiresAt: z.iso.datetime(),
  attempt: z.number().int().min(1),
  assignedAt: z.iso.datetime(),
});
export const JobStartedV1 = z.object({ jobId: uuid, agentId: uuid, fencingToken: FencingToken, pid: z.number().int().positive(), startedAt: z.iso.datetime() });
const EndFields = {
  jobId: uuid,
  /** The agent that reported the end; null when the scheduler ended the job itself (no agent held it). */
  agentId: uuid.nullable(),
  fencingToken: FencingToken.nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  /** As the agent measured the process; null when no process ran. */
  durationMs: z.number().int().nonnegative().nullable(),
  endedAt: z.iso.datetime(),
};
export const JobSucceededV1 = z.object({ ...EndFields, agentId: uuid, fencingToken: FencingToken });
export const JobFailedV1 = z.object({ ...EndFields, reason: z.string().min(1) });
export const JobCancelRequestedV1 = z.object({ jobId: uuid, reason: z.string().min(1), requestedAt: z.iso.datetime() });
export const JobCancelledV1 = z.object({
  ...EndFields,
  reason: z.string().min(1),
  /** The process never ran (cancelled while queued, or the agent had not started it). */
  neverStarted: z.boolean(),
});
export const JobTimedOutV1 = z.object({ ...EndFields, agentId: uuid, fencingToken: FencingToken, timeoutSeconds: z.number().int().positive().nullable(), reason: z.string().min(1) });
export const JobLostV1 = z.object({ jobId: uuid, agentId: uuid, fencingToken: FencingToken, attempt: z.number().int().min(1), reason: z.string().min(1), lostAt: z.iso.datetime() });
export const JobRequeuedV1 = z.object({
  jobId: uuid,
  /** The attempt the job is queued for (2 after the first loss). */
  attempt: z.number().int().min(2),
  /** Not placed before this time (backoff). */
  notBefore: z.iso.datetime(),
  reason: z.string().min(1),
  requeuedAt: z.iso.datetime(),
});
export const JobPriorityChangedV1 = z.object({ jobId: uuid, priority: JobPriority, previousPriority: JobPriority, changedAt: z.iso.datetime() });
/** What a refused report said. */
export const StaleReport = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('STARTED'), pid: z.number().int().positive() }),
  z.object({ kind: z.literal('FINISHED'), outcome: JobOutcome, exitCode: z.number().int().nullable(), signal: z.string().nullable() }),
  /** Log lines sent under the stale token (the first refused batch; the agent stops sending then). */
  z.object({ kind: z.literal('LOGS'), lines: z.number().int().positive() }),
  /** A heartbeat still listing the job under the stale token (recorded once per agent and token). */
  z.object({ kind: z.literal('HEARTBEAT') }),
]);
export type StaleReport = z.output<typeof StaleReport>;
/**
 * A report from an agent whose fencing token is not the job's current one (a lost agent that
 * came back, a foreign agent): recorded for the audit, changing nothing else, so a job never
 * counts twice.
 */
export const StaleReportRefusedV1 = z.object({
  jobId: uuid,
  agentId: uuid,
  staleToken: z.number().int(),
  /** The token of the agent holding the job now; null when no agent holds it. */
  currentToken: FencingToken.nullable(),
  currentAgentId: uuid.nullable(),
  reported: StaleReport,
  reason: z.string().min(1),
  refusedAt: z.iso.datetime(),
});

export const AgentRegisteredV1 = z.object({
  agentId: uuid,
  /** Chosen by the agent process when it starts: a restart is a new session. */
  sessionId: uuid,
  hostname: z.string(),
  labels: Labels,
  gpus: z.array(AgentGpu),
  cpus: z.number().positive(),
  memoryMb: z.number().int().positive(),
  gpuProbe: GpuProbe,
  agentVersion: z.string(),
  registeredAt: z.iso.datetime(),
});
export const AgentDrainRequestedV1 = z.object({ agentId: uuid, reason: z.string(), requestedAt: z.iso.datetime() });
export const AgentResumedV1 = z.object({ agentId: uuid, resumedAt: z.iso.datetime() });
export const AgentLostV1 = z.object({ agentId: uuid, sessionId: uuid, reason: z.string().min(1), lastSeenAt: z.iso.datetime().nullable(), lostAt: z.iso.datetime() });
export const AgentStoppedV1 = z.object({ agentId: uuid, sessionId: uuid, reason: z.string(), stoppedAt: z.iso.datetime() });

export const SweepSubmittedV1 = z.object({
  sweepId: uuid,
  experimentId: uuid,
  projectId: uuid,
  strategy: SweepStrategy,
  space: SweepSpace,
  /** Trials the sweep runs: the grid's size, or the random draws asked for. */
  maxTrials: z.number().int().positive(),
  maxConcurrent: z.number().int().positive(),
  /** Seeds the random draws (and nothing in a grid). */
  seed: z.number().int().nonnegative(),
  objective: SweepObjective,
  jobTemplate: SweepJobTemplate,
  submittedAt: z.iso.datetime(),
});
export const SweepTrialQueuedV1 = z.object({ sweepId: uuid, trial: z.number().int().nonnegative(), params: Params, jobId: uuid, queuedAt: z.iso.datetime() });
export const SweepTrialFinishedV1 = z.object({
  sweepId: uuid,
  trial: z.number().int().nonnegative(),
  jobId: uuid,
  runId: uuid,
  outcome: JobOutcome,
  /** The objective metric of the run at its end; null when the run has none (or did not succeed). */
  objectiveValue: z.number().nullable(),
  finishedAt: z.iso.datetime(),
});
export const SweepCompletedV1 = z.object({
  sweepId: uuid,
  /** Best succeeded trial by the objective (ties: the lower trial); null when none has a value. */
  best: SweepBest.nullable(),
  trialsSucceeded: z.number().int().nonnegative(),
  trialsFailed: z.number().int().nonnegative(),
  completedAt: z.iso.datetime(),
});
export const SweepCancelledV1 = z.object({
  sweepId: uuid,
  reason: z.string().min(1),
  /** Trial jobs queued or running at the cancel: the service cancels each. */
  openJobIds: z.array(uuid),
  cancelledAt: z.iso.datetime(),
});

/** Why a refused request could not become a job: the error code of the refusal. */
export const JOB_REFUSAL_CODES = ['VALIDATION', 'NOT_FOUND', 'CONFLICT', 'FORBIDDEN'] as const;
export const JobRefusalCode = z.enum(JOB_REFUSAL_CODES);
export type JobRefusalCode = z.output<typeof JobRefusalCode>;

/**
 * A retraining's job (`monitoring.RetrainRequested.v1`, its causation) that the scheduler
 * cannot queue, for good: its experiment or a dataset version is gone, its working directory is
 * outside the allowed roots, its template breaks a job rule. Recorded on
 * `jobRefusalStream(jobId)` so that the retraining's outcome is in the store, not only in a log.
 */
export const RetrainJobRefusedV1 = z.object({
  jobId: uuid,
  retrainId: uuid,
  experimentId: uuid,
  code: JobRefusalCode,
  reason: z.string().min(1),
  refusedAt: z.iso.datetime(),
});
export type RetrainJobRefusedV1 = z.output<typeof RetrainJobRefusedV1>;

export const schedulerEvents = {
  'scheduler.JobQueued.v1': JobQueuedV1,
  'scheduler.JobAssigned.v1': JobAssignedV1,
  'scheduler.JobStarted.v1': JobStartedV1,
  'scheduler.JobSucceeded.v1': JobSucceededV1,
  'scheduler.JobFailed.v1': JobFailedV1,
  'scheduler.JobCancelRequested.v1': JobCancelRequestedV1,
  'scheduler.JobCancelled.v1': JobCancelledV1,
  'scheduler.JobTimedOut.v1': JobTimedOutV1,
  'scheduler.JobLost.v1': JobLostV1,
  'scheduler.JobRequeued.v1': JobRequeuedV1,
  'scheduler.JobPriorityChanged.v1': JobPriorityChangedV1,
  'scheduler.StaleReportRefused.v1': StaleReportRefusedV1,
  'scheduler.AgentRegistered.v1': AgentRegisteredV1,
  'scheduler.AgentDrainRequested.v1': AgentDrainRequestedV1,
  'scheduler.AgentResumed.v1': AgentResumedV1,
  'scheduler.AgentLost.v1': AgentLostV1,
  'scheduler.AgentStopped.v1': AgentStoppedV1,
  'scheduler.SweepSubmitted.v1': SweepSubmittedV1,
  'scheduler.SweepTrialQueued.v1': SweepTrialQueuedV1,
  'scheduler.SweepTrialFinished.v1': SweepTrialFinishedV1,
  'scheduler.SweepCompleted.v1': SweepCompletedV1,
  'scheduler.SweepCancelled.v1': SweepCancelledV1,
  'scheduler.RetrainJobRefused.v1': RetrainJobRefusedV1,
} as const;

// ---------------------------------------------------------------------------------------------
// Views (what the read model answers; every field a GraphQL API shows)
// ---------------------------------------------------------------------------------------------

export const JobView = z.object({
  jobId: uuid,
  status: JobStatus,
  projectId: uuid,
  experimentId: uuid,
  runId: uuid,
  /** Whether the scheduler starts the run (else the job trains into an existing one). */
  startsRun: z.boolean(),
  sweepId: uuid.nullable(),
  trial: z.number().int().nonnegative().nullable(),
  command: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  workingDir: z.string().nullable(),
  resources: JobResources,
  priority: z.number().int(),
  maxRetries: z.number().int(),
  timeoutSeconds: z.number().int().nullable(),
  cancelGraceSeconds: z.number().int(),
  /** 1 for the first placement; one more after each requeue. */
  attempt: z.number().int().min(1),
  /** Times an agent was lost while holding the job. */
  lostCount: z.number().int().nonnegative(),
  /** The latest token handed out; null before the first assignment. */
  fencingToken: z.number().int().nullable(),
  /** The agent holding the job now, or the one that ran it last. */
  agentId: uuid.nullable(),
  gpus: z.array(JobGpu),
  leaseExpiresAt: z.iso.datetime().nullable(),
  pid: z.number().int().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  /** Why it failed, was cancelled, timed out, or was last requeued. */
  reason: z.string().nullable(),
  cancelRequestedAt: z.iso.datetime().nullable(),
  cancelReason: z.string().nullable(),
  queuedAt: z.iso.datetime(),
  /** Backoff after a loss: not placed before this time. */
  notBefore: z.iso.datetime().nullable(),
  assignedAt: z.iso.datetime().nullable(),
  startedAt: z.iso.datetime().nullable(),
  endedAt: z.iso.datetime().nullable(),
  durationMs: z.number().int().nonnegative().nullable(),
  /** Stale reports refused so far. */
  staleReportsRefused: z.number().int().nonnegative(),
  submittedBy: z.string(),
  revision: z.number().int(),
});
export type JobView = z.output<typeof JobView>;

export const AgentGpuView = AgentGpu.extend({ jobId: uuid.nullable() });
export const AgentView = z.object({
  agentId: uuid,
  sessionId: uuid,
  status: AgentStatus,
  hostname: z.string(),
  labels: z.record(z.string(), z.string()),
  gpus: z.array(AgentGpuView),
  cpus: z.number(),
  memoryMb: z.number().int(),
  cpusAllocated: z.number(),
  memoryMbAllocated: z.number().int(),
  gpuProbe: GpuProbe,
  agentVersion: z.string(),
  runningJobIds: z.array(uuid),
  drainReason: z.string().nullable(),
  lostReason: z.string().nullable(),
  registeredAt: z.iso.datetime(),
  /** Last heartbeat (kept in memory by the service, not in the event store); null when none since the service started. */
  lastSeenAt: z.iso.datetime().nullable(),
  revision: z.number().int(),
});
export type AgentView = z.output<typeof AgentView>;

export const SweepTrialView = z.object({
  trial: z.number().int().nonnegative(),
  jobId: uuid,
  runId: uuid,
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  /** The trial job's status while it is open, its outcome once finished. */
  status: JobStatus,
  objectiveValue: z.number().nullable(),
  queuedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
});
export const SweepView = z.object({
  sweepId: uuid,
  experimentId: uuid,
  projectId: uuid,
  status: SweepStatus,
  strategy: SweepStrategy,
  space: SweepSpace,
  maxTrials: z.number().int(),
  maxConcurrent: z.number().int(),
  seed: z.number().int(),
  objective: SweepObjective,
  jobTemplate: SweepJobTemplate,
  /** Queued so far, in trial order. */
  trials: z.array(SweepTrialView),
  trialsFinished: z.number().int().nonnegative(),
  best: SweepBest.nullable(),
  cancelReason: z.string().nullable(),
  submittedAt: z.iso.datetime(),
  endedAt: z.iso.datetime().nullable(),
  submittedBy: z.string(),
  revision: z.number().int(),
});
export type SweepView = z.output<typeof SweepView>;

/** A pending job in placement order (`GetQueue`). */
export const QueueEntry = z.object({
  jobId: uuid,
  projectId: uuid,
  /** 1-based rank among the jobs left waiting, in placement order. */
  position: z.number().int().min(1),
  priority: z.number().int(),
  attempt: z.number().int().min(1),
  queuedAt: z.iso.datetime(),
  notBefore: z.iso.datetime().nullable(),
  resources: JobResources,
  reasonCode: QueueReasonCode,
  /** For a person: "insufficient free GPUs: needs 4, at most 2 free on any agent; 3 jobs ahead". */
  reason: z.string(),
});
export type QueueEntry = z.output<typeof QueueEntry>;

export const MAX_LOG_LINE_CHARS = 16_384;
export const LogLine = z.object({
  jobId: uuid,
  attempt: z.number().int().min(1),
  /** Per job and attempt, from 0, as the agent numbered the lines. */
  seq: z.number().int().nonnegative(),
  stream: LogStream,
  time: z.iso.datetime(),
  line: z.string(),
});
export type LogLine = z.output<typeof LogLine>;

// ---------------------------------------------------------------------------------------------
// Live telemetry: `subjects.jobTelemetry(jobId, 'metrics' | 'logs' | 'status')`
// ---------------------------------------------------------------------------------------------

const ProgressBase = { seq: z.number().int().nonnegative(), at: z.iso.datetime() };
/** One item of a job's live progress. `seq` is its publisher's own numbering (the agent numbers output, the scheduler status changes); subscribers get items in the telemetry stream's order. */
export const JobProgressItem = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('METRIC'), ...ProgressBase, key: MetricKey, value: z.number(), step: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('LOG'), ...ProgressBase, stream: LogStream, line: z.string() }),
  z.object({
    kind: z.literal('STATUS'),
    ...ProgressBase,
    status: JobStatus,
    attempt: z.number().int().min(1),
    agentId: uuid.nullable(),
    exitCode: z.number().int().nullable(),
    reason: z.string().nullable(),
  }),
]);
export type JobProgressItem = z.output<typeof JobProgressItem>;
/** The item kind each telemetry subject carries. */
export const JOB_TELEMETRY_ITEM_KIND = { metrics: 'METRIC', logs: 'LOG', status: 'STATUS' } as const;
const TELEMETRY_SUBJECT_KINDS = ['metrics', 'logs', 'status'] as const;
/** A message on a job telemetry subject: a batch of items of that subject's kind, in its publisher's order. */
export const JobTelemetryMessage = z
  .object({ jobId: uuid, kind: z.enum(TELEMETRY_SUBJECT_KINDS), items: z.array(JobProgressItem).min(1) })
  .superRefine((m, ctx) => {
    m.items.forEach((item, index) => {
      if (item.kind !== JOB_TELEMETRY_ITEM_KIND[m.kind]) ctx.addIssue({ code: 'custom', path: ['items', index, 'kind'], message: `a ${m.kind} message carries ${JOB_TELEMETRY_ITEM_KIND[m.kind]} items only` });
    });
  });
export type JobTelemetryMessage = z.output<typeof JobTelemetryMessage>;

// ---------------------------------------------------------------------------------------------
// Requests and replies
// ---------------------------------------------------------------------------------------------

const JobSpecRequestFields = {
  command: JobArgv,
  env: JobEnv.default({}),
  /** Must lie under one of the installation's allowed roots (`checkWorkingDir`). */
  workingDir: WorkingDir.nullable().default(null),
  resources: JobResources.default({ gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} }),
  /** Higher first. */
  priority: JobPriority.default(0),
  /** Requeues after the agent running it was lost; then the job fails. */
  maxRetries: MaxRetries.default(DEFAULT_MAX_RETRIES),
  timeoutSeconds: TimeoutSeconds.nullable().default(null),
  /** Between SIGTERM and SIGKILL on a cancel or a timeout. */
  cancelGraceSeconds: CancelGraceSeconds.default(DEFAULT_CANCEL_GRACE_SECONDS),
};

/**
 * A job trains into an existing run (`runId`) or into a new run of `experimentId` that the
 * scheduler starts with `params` and `datasetVersions` (its id is `jobRunId(jobId)`).
 */
export const SubmitJobRequest = z
  .object({
    /** Chosen by the caller when the job must have a known id; otherwise derived from the Mt-Command-Id. */
    jobId: uuid.optional(),
    runId: uuid.optional(),
    experimentId: uuid.optional(),
    params: Params.default({}),
    datasetVersions: JobDatasetVersions.default([]),
    ...JobSpecRequestFields,
  })
  .superRefine((r, ctx) => {
    if (r.runId !== undefined && r.experimentId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['runId'], message: 'give either runId (an existing run) or experimentId (a new run), not both' });
    } else if (r.runId === undefined && r.experimentId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['experimentId'], message: 'is required unless runId names an existing run to train into' });
    }
    if (r.runId !== undefined && Object.keys(r.params).length > 0) ctx.addIssue({ code: 'custom', path: ['params'], message: 'belong to a new run: an existing run (runId) already has its params' });
    if (r.runId !== undefined && r.datasetVersions.length > 0) ctx.addIssue({ code: 'custom', path: ['datasetVersions'], message: 'belong to a new run: an existing run (runId) already has its dataset versions' });
  });
export type SubmitJobRequest = z.output<typeof SubmitJobRequest>;

export const CancelJobRequest = z.object({ jobId: uuid, reason: Reason });
export const ChangeJobPriorityRequest = z.object({ jobId: uuid, priority: JobPriority });

export const SubmitSweepRequest = z
  .object({
    sweepId: uuid.optional(),
    experimentId: uuid,
    strategy: SweepStrategy,
    space: SweepSpace,
    /** RANDOM: the draws (required). GRID: may be left out; when given it must cover the whole grid. */
    maxTrials: z.number().int('must be a whole number').min(1, 'must be at least 1').max(SWEEP_LIMITS.trials, `must be at most ${SWEEP_LIMITS.trials}`).optional(),
    maxConcurrent: z.number().int('must be a whole number').min(1, 'must be at least 1').max(SWEEP_LIMITS.maxConcurrent, `must be at most ${SWEEP_LIMITS.maxConcurrent}`).default(4),
    /** Chosen by the service (and recorded) when absent. */
    seed: z.number().int('must be a whole number').min(0, 'must be between 0 and 4294967295').max(0xffff_ffff, 'must be between 0 and 4294967295').optional(),
    /** Absent: the project's first success criterion; a metric without a direction takes the direction of the project's criterion for it. */
    objective: z.object({ metric: MetricKey, direction: OptimizationDirection.optional() }).optional(),
    /** Fixed params of every trial (the space's params are laid over them). */
    params: Params.default({}),
    datasetVersions: JobDatasetVersions.default([]),
    ...JobSpecRequestFields,
  })
  .superRefine((r, ctx) => {
    if (r.strategy === 'RANDOM' && r.maxTrials === undefined) ctx.addIssue({ code: 'custom', path: ['maxTrials'], message: 'is required for a RANDOM sweep (the number of draws)' });
    if (r.strategy === 'GRID') {
      for (const [name, p] of Object.entries(r.space)) {
        if (p.range !== null) ctx.addIssue({ code: 'custom', path: ['space', name], message: `a GRID sweep needs a list of values for ${name}; ranges are for RANDOM sweeps` });
      }
    }
    const fixed = Object.keys(r.space).filter((name) => name in r.params);
    if (fixed.length) ctx.addIssue({ code: 'custom', path: ['params'], message: `${fixed.join(', ')} ${fixed.length === 1 ? 'is' : 'are'} both fixed and swept: keep each in one place` });
  });
export type SubmitSweepRequest = z.output<typeof SubmitSweepRequest>;
export const CancelSweepRequest = z.object({ sweepId: uuid, reason: Reason });

export const DrainAgentRequest = z.object({ agentId: uuid, reason: z.string().trim().max(JOB_LIMITS.reasonChars).default('') });
export const ResumeAgentRequest = z.object({ agentId: uuid });
/** An agent stopping cleanly: its session ends now (STOPPED), instead of after its lease (LOST). */
export const StopAgentRequest = z.object({ agentId: uuid, sessionId: uuid, reason: z.string().trim().max(JOB_LIMITS.reasonChars, `must be at most ${JOB_LIMITS.reasonChars} characters`).default('') });

export const RegisterAgentRequest = z.object({
  agentId: uuid,
  /** A fresh id each time the agent process starts. */
  sessionId: uuid,
  hostname: Hostname,
  labels: Labels.default({}),
  gpus: AgentGpus.default([]),
  cpus: z.number({ message: 'must be a number of CPUs' }).gt(0, 'must be more than 0').max(100_000, 'must be at most 100000'),
  memoryMb: wholeNumber('MB').gt(0, 'must be more than 0').max(1_073_741_824, 'must be at most 1073741824'),
  gpuProbe: GpuProbe,
  agentVersion: z.string().trim().max(64, 'must be at most 64 characters').default(''),
  /** The operator says the session registered before under this id is gone (a crashed host), so this one replaces it at once. */
  replaceSession: z.boolean().default(false),
});
export const RegisterAgentReply = z.object({
  agent: AgentView,
  /** Renew before this time with a heartbeat. */
  leaseExpiresAt: z.iso.datetime(),
  heartbeatIntervalMs: z.number().int().positive(),
});

const AgentReportFields = { jobId: uuid, agentId: uuid, fencingToken: FencingToken };

export const AgentHeartbeatRequest = z.object({
  agentId: uuid,
  sessionId: uuid,
  /** Every job whose process the agent holds now, with the token it was assigned under. */
  running: z.array(z.object({ jobId: uuid, fencingToken: FencingToken, pid: z.number().int().positive().nullable() })).max(1_024),
  /** GPUs whose status changed since registration (a process outside the agent took one). */
  gpuStatus: z.array(z.object({ uuid: GpuUuid, status: GpuStatus })).max(256).default([]),
  /** Whether the agent takes new assignments now (false while it is stopping). */
  acceptAssignments: z.boolean().default(true),
});
/** A job handed to an agent: everything it needs to start the process. */
export const JobAssignment = z.object({
  jobId: uuid,
  runId: uuid,
  fencingToken: FencingToken,
  attempt: z.number().int().min(1),
  command: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  workingDir: z.string().nullable(),
  gpus: z.array(JobGpu),
  timeoutSeconds: z.number().int().nullable(),
  cancelGraceSeconds: z.number().int(),
  leaseExpiresAt: z.iso.datetime(),
});
export type JobAssignment = z.output<typeof JobAssignment>;
export const AgentHeartbeatReply = z.object({
  /** The agent's lease (and that of every job it holds) now runs to this time. */
  leaseExpiresAt: z.iso.datetime(),
  /** Stop these processes (SIGTERM, grace, SIGKILL on the process group) and report CANCELLED. */
  cancel: z.array(z.object({ jobId: uuid, fencingToken: FencingToken, reason: z.string(), graceSeconds: z.number().int().nonnegative() })),
  /** Processes the agent no longer owns (their token is stale): kill them, report nothing. */
  abandon: z.array(z.object({ jobId: uuid, fencingToken: z.number().int(), reason: z.string() })),
  assignments: z.array(JobAssignment),
  /** The scheduler does not know this session (it was declared lost, or replaced): register again. */
  reregister: z.boolean(),
});

export const ReportJobStartedRequest = z.object({ ...AgentReportFields, pid: z.number({ message: 'must be the process id' }).int('must be a whole number').positive('must be positive') });
export const ReportJobFinishedRequest = z
  .object({
    ...AgentReportFields,
    outcome: JobOutcome,
    exitCode: ExitCode.nullable().default(null),
    signal: SignalName.nullable().default(null),
    durationMs: z.number().int('must be a whole number of milliseconds').nonnegative('must not be negative').nullable().default(null),
    reason: z.string().trim().max(JOB_LIMITS.reasonChars, `must be at most ${JOB_LIMITS.reasonChars} characters`).nullable().default(null),
  })
  .superRefine((r, ctx) => {
    if (r.outcome === 'SUCCEEDED' && r.exitCode !== 0) ctx.addIssue({ code: 'custom', path: ['exitCode'], message: 'must be 0 for a SUCCEEDED outcome' });
    if (r.outcome === 'FAILED' && r.exitCode === null && r.signal === null && !r.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a FAILED outcome needs an exitCode, a signal or a reason' });
  });
export type ReportJobFinishedRequest = z.output<typeof ReportJobFinishedRequest>;

export const MAX_LOG_LINES_PER_CALL = 1_000;
export const AppendJobLogsRequest = z.object({
  ...AgentReportFields,
  lines: z
    .array(
      z.object({
        seq: z.number({ message: 'must be a whole number' }).int('must be a whole number').nonnegative('must not be negative'),
        stream: LogStream,
        time: isoTime,
        line: z.string().max(MAX_LOG_LINE_CHARS, `must be at most ${MAX_LOG_LINE_CHARS} characters (the agent splits longer lines)`),
      }),
    )
    .min(1, 'must hold at least one line')
    .max(MAX_LOG_LINES_PER_CALL, `must hold at most ${MAX_LOG_LINES_PER_CALL} lines per call`),
});
export const AppendJobLogsReply = z.object({
  jobId: uuid,
  /** Lines stored by this call (a resent line with a seq already stored is not stored again). */
  accepted: z.number().int().nonnegative(),
  /** The highest seq stored for the job's attempt. */
  lastSeq: z.number().int().nonnegative().nullable(),
});

export const JobFilter = z.object({
  status: JobStatus.optional(),
  projectId: uuid.optional(),
  experimentId: uuid.optional(),
  agentId: uuid.optional(),
  sweepId: uuid.optional(),
  /** The job that trains (or trained) into this run: the job that started it, or jobs sent into it. */
  runId: uuid.optional(),
});
export const ListJobsRequest = PageRequest.extend({ filter: JobFilter.default({}) });
export const GetQueueRequest = PageRequest.extend({ projectId: uuid.optional() });
export const GetQueueReply = z.object({ items: z.array(QueueEntry), pageInfo: PageInfo, totalPending: z.number().int().nonnegative() });
export const ListAgentsRequest = PageRequest.extend({ status: AgentStatus.optional() });

export const MAX_LOG_PAGE = 5_000;
export const GetJobLogsRequest = z.object({
  jobId: uuid,
  /** The attempt whose lines to read; the latest when absent. */
  attempt: z.number().int().min(1).optional(),
  first: z.number().int().min(1, 'must be at least 1').max(MAX_LOG_PAGE, `must be at most ${MAX_LOG_PAGE}`).default(1_000),
  after: z.string().min(1).optional(),
});

// ---------------------------------------------------------------------------------------------
// RPC definitions
// ---------------------------------------------------------------------------------------------

const batchOf = (field: string) => z.array(uuid).min(1, `${field} must name at least one id`).max(500, `${field} must name at most 500 ids`);

/** Requests an agent makes with its own credential (an AGENT API key). */
const AGENT_CALLABLE = { callers: ['agent'] } as const;

export const schedulerRpc = {
  submitJob: defineRpc('mt.cmd.scheduler.SubmitJob', SubmitJobRequest, JobView),
  cancelJob: defineRpc('mt.cmd.scheduler.CancelJob', CancelJobRequest, JobView),
  changeJobPriority: defineRpc('mt.cmd.scheduler.ChangeJobPriority', ChangeJobPriorityRequest, JobView),
  submitSweep: defineRpc('mt.cmd.scheduler.SubmitSweep', SubmitSweepRequest, SweepView),
  cancelSweep: defineRpc('mt.cmd.scheduler.CancelSweep', CancelSweepRequest, SweepView),
  drainAgent: defineRpc('mt.cmd.scheduler.DrainAgent', DrainAgentRequest, AgentView),
  resumeAgent: defineRpc('mt.cmd.scheduler.ResumeAgent', ResumeAgentRequest, AgentView),

  /** Agent-facing: every report after registration carries the agent id and the job's fencing token. */
  registerAgent: defineRpc('mt.cmd.scheduler.RegisterAgent', RegisterAgentRequest, RegisterAgentReply, AGENT_CALLABLE),
  agentHeartbeat: defineRpc('mt.cmd.scheduler.AgentHeartbeat', AgentHeartbeatRequest, AgentHeartbeatReply, AGENT_CALLABLE),
  /** The agent's last word when it stops cleanly; jobs it still held are requeued at once. */
  stopAgent: defineRpc('mt.cmd.scheduler.StopAgent', StopAgentRequest, AgentView, AGENT_CALLABLE),
  reportJobStarted: defineRpc('mt.cmd.scheduler.ReportJobStarted', ReportJobStartedRequest, JobView, AGENT_CALLABLE),
  reportJobFinished: defineRpc('mt.cmd.scheduler.ReportJobFinished', ReportJobFinishedRequest, JobView, AGENT_CALLABLE),
  appendJobLogs: defineRpc('mt.cmd.scheduler.AppendJobLogs', AppendJobLogsRequest, AppendJobLogsReply, AGENT_CALLABLE),

  /** Batch lookups (the gateway's DataLoaders): unknown ids are absent from `items`. */
  getJobs: defineRpc('mt.qry.scheduler.GetJobs', z.object({ jobIds: batchOf('jobIds') }), z.object({ items: z.array(JobView) })),
  getAgents: defineRpc('mt.qry.scheduler.GetAgents', z.object({ agentIds: batchOf('agentIds') }), z.object({ items: z.array(AgentView) })),
  getSweeps: defineRpc('mt.qry.scheduler.GetSweeps', z.object({ sweepIds: batchOf('sweepIds') }), z.object({ items: z.array(SweepView) })),
  /** Newest first. */
  listJobs: defineRpc('mt.qry.scheduler.ListJobs', ListJobsRequest, z.object({ items: z.array(JobView), pageInfo: PageInfo })),
  /** Pending jobs in placement order, each with its position and why it waits. */
  getQueue: defineRpc('mt.qry.scheduler.GetQueue', GetQueueRequest, GetQueueReply),
  /** By host name. */
  listAgents: defineRpc('mt.qry.scheduler.ListAgents', ListAgentsRequest, z.object({ items: z.array(AgentView), pageInfo: PageInfo })),
  /** In seq order. */
  getJobLogs: defineRpc('mt.qry.scheduler.GetJobLogs', GetJobLogsRequest, z.object({ items: z.array(LogLine), pageInfo: PageInfo })),
} as const;
