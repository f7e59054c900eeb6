import {
  ConflictError,
  type JobEnv,
  type JobGpu,
  type JobOutcome,
  type JobResources,
  jobStream,
  type NewRunSpec,
  NotFoundError,
  requeueBackoffMs,
  type RunStatus,
  type StaleReport,
  type SweepTrialRef,
  type TypedEvent,
  ValidationError,
} from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The TrainingJob aggregate (stream `job-<uuid>`): one training command, queued, placed on an
 * agent's GPUs, run, and ended exactly once.
 *
 *   QUEUED --JobAssigned--> ASSIGNED --JobStarted--> RUNNING --> SUCCEEDED | FAILED | CANCELLED | TIMED_OUT
 *
 * Fencing. Each assignment hands out a fencing token one higher than the job's previous one
 * (1, 2, 3 ... across requeues). Everything an agent says about a job (started, finished,
 * heartbeat, logs) carries its agent id and that token; only the agent holding the job now,
 * with the token it was given, is heard. A stale or foreign report is not an error thrown
 * away: `decide` answers it with a `StaleReportRefused` event, so the refusal is on the job's
 * stream for the audit and nothing else changes (a job never counts twice). The handler
 * appends it and then answers the agent with `staleReportError(event)` (CONFLICT). A report
 * from the right holder after the job ended says nothing new (`[]`), or, if it contradicts the
 * recorded end, is a ConflictError.
 *
 * Leases and heartbeats. JobAssigned records the first lease (`leaseExpiresAt`). Heartbeats
 * renew the agent's lease, and with it that of every job the agent holds, but they are not
 * events: one per agent every few seconds would flood the store and say nothing an auditor
 * needs. The service keeps agent liveness in memory (and the read model's `lastSeenAt`); only
 * the outcome is recorded: when an agent's lease runs out, or an agent never takes up an
 * assignment before its first lease ends, the service sends `MarkJobLost` for each job it
 * held. For heartbeats and log lines the handler asks `agentInstruction` / `checkFencing`,
 * which read the same state without appending anything.
 *
 * Loss. LOST ends an attempt, not the job. `MarkJobLost` (and an agent reporting CANCELLED for
 * a job nobody asked to cancel: it stopped the process itself, say while shutting down) decides
 * JobLost together with its consequence, in one append:
 *   - a cancel was pending            -> JobLost, JobCancelled (nobody asked for a rerun)
 *   - losses so far <= maxRetries     -> JobLost, JobRequeued(attempt + 1, notBefore = now + backoff)
 *   - losses so far >  maxRetries     -> JobLost, JobFailed("lost N times ...")
 * So a stored job never rests in LOST; the backoff is 5 s * 2^(losses-1), capped at 5 min.
 * A requeue revokes the lost agent's token: when that agent comes back, its reports are stale.
 *
 * Cancel. A queued job is cancelled at once (JobCancelled, it never starts). An assigned or
 * running job gets JobCancelRequested; the agent learns of it in its heartbeat reply, stops the
 * process group (SIGTERM, grace, SIGKILL) and reports CANCELLED, which records JobCancelled
 * (`neverStarted` when it had not started the process). A finished job cannot be cancelled
 * (ConflictError naming its end state); a cancelled one is already what was asked (`[]`). An
 * assignment decided on a job cancelled meanwhile is refused: a queued job's cancel is
 * immediate, so the assignment finds it CANCELLED.
 */

export type JobRun =
  /** Train into an existing run; `found` is that run as the experiments service has it, null when it does not exist. */
  | { kind: 'EXISTING'; runId: string; found: { experimentId: string; projectId: string; status: RunStatus } | null }
  /** Start a new run `runId` (the handler derives it with `jobRunId`) in the experiment; `experiment` is null when it does not exist. */
  | { kind: 'NEW'; runId: string; experimentId: string; experiment: { projectId: string } | null; params: NewRunSpec['params']; datasetVersions: NewRunSpec['datasetVersions'] };

export type JobCommand =
  | {
      type: 'SubmitJob';
      jobId: string;
      run: JobRun;
      command: string[];
      env: JobEnv;
      workingDir: string | null;
      resources: JobResources;
      priority: number;
      maxRetries: number;
      timeoutSeconds: number | null;
      cancelGraceSeconds: number;
      sweep: SweepTrialRef | null;
      at: string;
    }
  /** From placement: the GPUs chosen on the agent; the decider numbers the token and sets the lease. */
  | { type: 'AssignJob'; jobId: string; agentId: string; gpus: JobGpu[]; leaseSeconds: number; at: string }
  | { type: 'ReportJobStarted'; jobId: string; agentId: string; fencingToken: number; pid: number; at: string }
  | {
      type: 'ReportJobFinished';
      jobId: string;
      agentId: string;
      fencingToken: number;
      outcome: JobOutcome;
      exitCode: number | null;
      signal: string | null;
      durationMs: number | null;
      reason: string | null;
      at: string;
    }
  | { type: 'CancelJob'; jobId: string; reason: string; at: string }
  /** From the service's liveness monitor: the agent holding the job under `fencingToken` is gone. */
  | { type: 'MarkJobLost'; jobId: string; agentId: string; fencingToken: number; reason: string; at: string }
  /** A heartbeat or log batch under a token that is not the holder's: recorded, nothing else changes. */
  | { type: 'RecordStaleReport'; jobId: string; agentId: string; fencingToken: number; reported: Extract<StaleReport, { kind: 'LOGS' | 'HEARTBEAT' }>; at: string }
  | { type: 'ChangeJobPriority'; jobId: string; priority: number; at: string };

export type JobEvent = TypedEvent<
  | 'scheduler.JobQueued.v1'
  | 'scheduler.JobAssigned.v1'
  | 'scheduler.JobStarted.v1'
  | 'scheduler.JobSucceeded.v1'
  | 'scheduler.JobFailed.v1'
  | 'scheduler.JobCancelRequested.v1'
  | 'scheduler.JobCancelled.v1'
  | 'scheduler.JobTimedOut.v1'
  | 'scheduler.JobLost.v1'
  | 'scheduler.JobRequeued.v1'
  | 'scheduler.JobPriorityChanged.v1'
  | 'scheduler.StaleReportRefused.v1'
>;

export type StaleReportRefused = Extract<JobEvent, { type: 'scheduler.StaleReportRefused.v1' }>;

export interface JobFacts {
  jobId: string;
  projectId: string;
  experimentId: string;
  runId: string;
  newRun: NewRunSpec | null;
  command: string[];
  env: JobEnv;
  workingDir: string | null;
  resources: JobResources;
  priority: number;
  maxRetries: number;
  timeoutSeconds: number | null;
  cancelGraceSeconds: number;
  sweep: SweepTrialRef | null;
  queuedAt: string;
  /** 1 until the first requeue. */
  attempt: number;
  lostCount: number;
  /** The latest token handed out; 0 before the first assignment. */
  lastFencingToken: number;
  staleReportsRefused: number;
}

export interface Holding {
  agentId: string;
  fencingToken: number;
  gpus: JobGpu[];
  leaseExpiresAt: string;
  assignedAt: string;
  cancelRequest: { reason: string; at: string } | null;
}

export type JobEndStatus = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

export type JobState =
  | { status: 'None' }
  | ({ status: 'QUEUED'; notBefore: string | null } & JobFacts)
  | ({ status: 'ASSIGNED' } & JobFacts & Holding)
  | ({ status: 'RUNNING'; pid: number; startedAt: string } & JobFacts & Holding)
  /** Only between JobLost and the event appended with it. */
  | ({ status: 'LOST'; cancelRequest: { reason: string; at: string } | null } & JobFacts)
  | ({
      status: JobEndStatus;
      /** The holder whose report ended the job; null when the scheduler ended it (cancelled while queued, lost too often). */
      endedBy: { agentId: string; fencingToken: number } | null;
      endedAt: string;
      reason: string | null;
    } & JobFacts);

type Held = Extract<JobState, { status: 'ASSIGNED' | 'RUNNING' }>;
type Existing = Exclude<JobState, { status: 'None' }>;

export { jobStream };

const END_STATUSES: ReadonlyArray<JobState['status']> = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
const isEnded = (state: JobState): state is Extract<JobState, { status: JobEndStatus }> => END_STATUSES.includes(state.status);
const isHeld = (state: JobState): state is Held => state.status === 'ASSIGNED' || state.status === 'RUNNING';

export const jobDecider: Decider<JobCommand, JobEvent, JobState> = {
  initialState: () => ({ status: 'None' }),

  decide(command, state) {
    switch (command.type) {
      case 'SubmitJob':
        return submit(command, state);
      case 'AssignJob':
        return assign(command, requireJob(state, command.jobId));
      case 'ReportJobStarted': {
        const job = requireJob(state, command.jobId);
        const stale = checkFencing(job, command.agentId, command.fencingToken);
        if (stale) return [refusal(job, command.agentId, command.fencingToken, { kind: 'STARTED', pid: command.pid }, stale, command.at)];
        if (job.status === 'ASSIGNED') {
          return [{ type: 'scheduler.JobStarted.v1', data: { jobId: job.jobId, agentId: job.agentId, fencingToken: job.fencingToken, pid: command.pid, startedAt: command.at } }];
        }
        if (job.status === 'RUNNING') {
          if (job.pid === command.pid) return [];
          throw new ConflictError(`job ${job.jobId} already started with pid ${job.pid}: a start with pid ${command.pid} is refused`, { jobId: job.jobId, pid: job.pid });
        }
        // The holder's start report arriving after its end report: nothing to add.
        return [];
      }
      case 'ReportJobFinished':
        return finish(command, requireJob(state, command.jobId));
      case 'CancelJob': {
        const job = requireJob(state, command.jobId);
        if (job.status === 'QUEUED' || job.status === 'LOST') {
          return [cancelled(job.jobId, null, command.reason, true, command.at)];
        }
        if (isHeld(job)) {
          if (job.cancelRequest) return [];
          return [{ type: 'scheduler.JobCancelRequested.v1', data: { jobId: job.jobId, reason: command.reason, requestedAt: command.at } }];
        }
        if (job.status === 'CANCELLED') return [];
        throw new ConflictError(`job ${job.jobId} has already ended (${job.status}): it cannot be cancelled`, { jobId: job.jobId, status: job.status });
      }
      case 'RecordStaleReport': {
        const job = requireJob(state, command.jobId);
        const stale = checkFencing(job, command.agentId, command.fencingToken);
        return stale ? [refusal(job, command.agentId, command.fencingToken, command.reported, stale, command.at)] : [];
      }
      case 'MarkJobLost': {
        const job = requireJob(state, command.jobId);
        // A monitor acting on an old view: the job already moved on (ended, requeued, reassigned).
        if (!isHeld(job) || job.agentId !== command.agentId || job.fencingToken !== command.fencingToken) return [];
        return lose(job, command.reason, command.at);
      }
      case 'ChangeJobPriority': {
        const job = requireJob(state, command.jobId);
        if (isEnded(job)) throw new ConflictError(`job ${job.jobId} has already ended (${job.status}): its priority can no longer change`, { jobId: job.jobId, status: job.status });
        if (job.priority === command.priority) return [];
        return [{ type: 'scheduler.JobPriorityChanged.v1', data: { jobId: job.jobId, priority: command.priority, previousPriority: job.priority, changedAt: command.at } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'scheduler.JobQueued.v1': {
        const { queuedAt, ...spec } = event.data;
        return { status: 'QUEUED', ...spec, queuedAt, notBefore: null, attempt: 1, lostCount: 0, lastFencingToken: 0, staleReportsRefused: 0 };
      }
      case 'scheduler.JobAssigned.v1': {
        if (state.status === 'None') return state;
        const { agentId, gpus, fencingToken, leaseExpiresAt, attempt, assignedAt } = event.data;
        return { status: 'ASSIGNED', ...factsOf(state), attempt, lastFencingToken: fencingToken, agentId, fencingToken, gpus, leaseExpiresAt, assignedAt, cancelRequest: null };
      }
      case 'scheduler.JobStarted.v1':
        return state.status === 'ASSIGNED' ? { ...state, status: 'RUNNING', pid: event.data.pid, startedAt: event.data.startedAt } : state;
      case 'scheduler.JobCancelRequested.v1':
        return isHeld(state) ? { ...state, cancelRequest: { reason: event.data.reason, at: event.data.requestedAt } } : state;
      case 'scheduler.JobSucceeded.v1':
        return ended(state, 'SUCCEEDED', event.data, null);
      case 'scheduler.JobFailed.v1':
        return ended(state, 'FAILED', event.data, event.data.reason);
      case 'scheduler.JobCancelled.v1':
        return ended(state, 'CANCELLED', event.data, event.data.reason);
      case 'scheduler.JobTimedOut.v1':
        return ended(state, 'TIMED_OUT', event.data, event.data.reason);
      case 'scheduler.JobLost.v1': {
        if (state.status === 'None') return state;
        return { status: 'LOST', ...factsOf(state), lostCount: state.lostCount + 1, cancelRequest: isHeld(state) ? state.cancelRequest : null };
      }
      case 'scheduler.JobRequeued.v1':
        return state.status === 'None' ? state : { status: 'QUEUED', ...factsOf(state), attempt: event.data.attempt, notBefore: event.data.notBefore };
      case 'scheduler.JobPriorityChanged.v1':
        return state.status === 'None' ? state : { ...state, priority: event.data.priority };
      case 'scheduler.StaleReportRefused.v1':
        return state.status === 'None' ? state : { ...state, staleReportsRefused: state.staleReportsRefused + 1 };
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Fencing, for the decider and for the handlers of heartbeats and log lines
// ---------------------------------------------------------------------------------------------

/**
 * Null when `agentId` with `fencingToken` is the job's holder (the agent it is assigned to now,
 * or the one whose report ended it); otherwise why the report is stale.
 */
export function checkFencing(state: JobState, agentId: string, fencingToken: number): string | null {
  if (state.status === 'None') return `job does not exist`;
  const holder = holderOf(state);
  if (holder && holder.agentId === agentId && holder.fencingToken === fencingToken) return null;
  if (fencingToken > state.lastFencingToken) return `token ${fencingToken} was never issued for job ${state.jobId} (the latest is ${state.lastFencingToken || 'none'})`;
  if (holder && holder.fencingToken === fencingToken) return `token ${fencingToken} of job ${state.jobId} belongs to agent ${holder.agentId}, not to agent ${agentId}`;
  if (holder) return `token ${fencingToken} is stale: job ${state.jobId} is held by agent ${holder.agentId} with token ${holder.fencingToken}`;
  if (state.status === 'QUEUED' && state.lostCount > 0) return `token ${fencingToken} was revoked: job ${state.jobId} was lost and is queued again for attempt ${state.attempt}`;
  if (isEnded(state)) return `no agent holds job ${state.jobId}: it ended ${state.status} without an agent's report`;
  return `no agent holds job ${state.jobId} now (it is ${state.status})`;
}

export type AgentInstruction = { kind: 'KEEP' } | { kind: 'CANCEL'; reason: string; graceSeconds: number } | { kind: 'ABANDON'; reason: string };

/**
 * What a heartbeat reply tells the agent about a job it says it runs under `fencingToken`:
 * keep running it, stop it because a cancel was requested, or abandon it (kill it and report
 * nothing) because it is no longer the agent's to run. Heartbeats append nothing.
 */
export function agentInstruction(state: JobState, agentId: string, fencingToken: number): AgentInstruction {
  const stale = checkFencing(state, agentId, fencingToken);
  if (stale) return { kind: 'ABANDON', reason: stale };
  if (isHeld(state)) return state.cancelRequest ? { kind: 'CANCEL', reason: state.cancelRequest.reason, graceSeconds: state.cancelGraceSeconds } : { kind: 'KEEP' };
  return { kind: 'ABANDON', reason: `the job has already ended (${state.status})` };
}

/** The error the handler answers a refused report with, after appending the refusal. */
export function staleReportError(event: StaleReportRefused): ConflictError {
  const { jobId, agentId, staleToken, currentToken, currentAgentId, reason } = event.data;
  return new ConflictError(`report from agent ${agentId} on job ${jobId} refused: ${reason}`, { jobId, agentId, staleToken, currentToken, currentAgentId });
}

// ---------------------------------------------------------------------------------------------

function submit(command: Extract<JobCommand, { type: 'SubmitJob' }>, state: JobState): JobEvent[] {
  if (state.status !== 'None') throw new ConflictError(`job ${command.jobId} already exists (queued ${state.queuedAt})`, { jobId: command.jobId });
  let run: { experimentId: string; projectId: string; newRun: NewRunSpec | null };
  if (command.run.kind === 'EXISTING') {
    const found = command.run.found;
    if (!found) throw new NotFoundError(`run ${command.run.runId} does not exist`, { runId: command.run.runId });
    if (found.status !== 'Running') {
      throw new ConflictError(`run ${command.run.runId} is ${found.status.toLowerCase()}: a job cannot train into it (submit with experimentId to start a new run)`, { runId: command.run.runId, status: found.status });
    }
    run = { experimentId: found.experimentId, projectId: found.projectId, newRun: null };
  } else {
    if (!command.run.experiment) throw new NotFoundError(`experiment ${command.run.experimentId} does not exist`, { experimentId: command.run.experimentId });
    run = { experimentId: command.run.experimentId, projectId: command.run.experiment.projectId, newRun: { params: command.run.params, datasetVersions: command.run.datasetVersions } };
  }
  const { jobId, command: argv, env, workingDir, resources, priority, maxRetries, timeoutSeconds, cancelGraceSeconds, sweep, at } = command;
  return [
    {
      type: 'scheduler.JobQueued.v1',
      data: { jobId, projectId: run.projectId, experimentId: run.experimentId, runId: command.run.runId, newRun: run.newRun, command: argv, env, workingDir, resources, priority, maxRetries, timeoutSeconds, cancelGraceSeconds, sweep, queuedAt: at },
    },
  ];
}

function assign(command: Extract<JobCommand, { type: 'AssignJob' }>, job: Existing): JobEvent[] {
  if (isHeld(job)) {
    if (job.agentId === command.agentId && sameGpus(job.gpus, command.gpus)) return [];
    throw new ConflictError(`job ${job.jobId} is already assigned to agent ${job.agentId} (token ${job.fencingToken})`, { jobId: job.jobId, agentId: job.agentId });
  }
  if (job.status !== 'QUEUED') throw new ConflictError(`job ${job.jobId} is ${job.status}: it cannot be assigned`, { jobId: job.jobId, status: job.status });
  if (job.notBefore !== null && Date.parse(command.at) < Date.parse(job.notBefore)) {
    throw new ConflictError(`job ${job.jobId} is backing off until ${job.notBefore} after a lost attempt: it cannot be assigned before`, { jobId: job.jobId, notBefore: job.notBefore });
  }
  if (command.gpus.length !== job.resources.gpus) {
    throw new ValidationError(`job ${job.jobId} needs ${job.resources.gpus} GPU${job.resources.gpus === 1 ? '' : 's'}; the assignment gives ${command.gpus.length}`, { jobId: job.jobId });
  }
  if (new Set(command.gpus.map((g) => g.uuid)).size !== command.gpus.length) throw new ValidationError(`the assignment of job ${job.jobId} gives a GPU twice`, { jobId: job.jobId });
  if (!(command.leaseSeconds > 0)) throw new ValidationError(`the lease of an assignment must be positive, got ${command.leaseSeconds} s`, { jobId: job.jobId });
  return [
    {
      type: 'scheduler.JobAssigned.v1',
      data: {
        jobId: job.jobId,
        agentId: command.agentId,
        gpus: [...command.gpus].sort((a, b) => a.index - b.index),
        fencingToken: job.lastFencingToken + 1,
        leaseExpiresAt: plusMs(command.at, command.leaseSeconds * 1_000),
        attempt: job.attempt,
        assignedAt: command.at,
      },
    },
  ];
}

function finish(command: Extract<JobCommand, { type: 'ReportJobFinished' }>, job: Existing): JobEvent[] {
  const { agentId, fencingToken, outcome, exitCode, signal, durationMs, at } = command;
  const stale = checkFencing(job, agentId, fencingToken);
  if (stale) return [refusal(job, agentId, fencingToken, { kind: 'FINISHED', outcome, exitCode, signal }, stale, at)];
  if (isEnded(job)) {
    if (job.status === outcome) return [];
    throw new ConflictError(`job ${job.jobId} has already ended (${job.status}): the report of ${outcome} is refused`, { jobId: job.jobId, status: job.status, reported: outcome });
  }
  if (!isHeld(job)) throw new Error(`job ${job.jobId} in ${job.status} has a holder`); // checkFencing passes only for a holder
  const end = { jobId: job.jobId, agentId, fencingToken, exitCode, signal, durationMs, endedAt: at };
  switch (outcome) {
    case 'SUCCEEDED':
      return [{ type: 'scheduler.JobSucceeded.v1', data: end }];
    case 'FAILED':
      return [{ type: 'scheduler.JobFailed.v1', data: { ...end, reason: command.reason || describeExit(exitCode, signal) } }];
    case 'TIMED_OUT': {
      const limit = job.timeoutSeconds === null ? 'its time limit' : `${job.timeoutSeconds} s`;
      return [{ type: 'scheduler.JobTimedOut.v1', data: { ...end, timeoutSeconds: job.timeoutSeconds, reason: command.reason || `ran past ${limit} and was stopped` } }];
    }
    case 'CANCELLED': {
      if (job.cancelRequest) {
        const neverStarted = job.status === 'ASSIGNED' && exitCode === null && signal === null;
        return [{ type: 'scheduler.JobCancelled.v1', data: { ...end, reason: job.cancelRequest.reason, neverStarted } }];
      }
      // Stopped by the agent on its own (a shutdown): an interrupted attempt, like a loss.
      return lose(job, `agent ${agentId} stopped the job without a cancel request${command.reason ? `: ${command.reason}` : ''}`, at);
    }
    default: {
      const unknown: never = outcome;
      throw new Error(`unknown outcome ${String(unknown)}`);
    }
  }
}

/** JobLost with what follows it (see the header): cancelled, requeued with backoff, or failed. */
function lose(job: Held, reason: string, at: string): JobEvent[] {
  const lostCount = job.lostCount + 1;
  const lost: JobEvent = { type: 'scheduler.JobLost.v1', data: { jobId: job.jobId, agentId: job.agentId, fencingToken: job.fencingToken, attempt: job.attempt, reason, lostAt: at } };
  if (job.cancelRequest) {
    return [lost, cancelled(job.jobId, null, `${job.cancelRequest.reason} (agent ${job.agentId} was lost before it confirmed the process had stopped)`, job.status === 'ASSIGNED', at)];
  }
  if (lostCount > job.maxRetries) {
    const times = lostCount === 1 ? 'once' : `${lostCount} times`;
    return [
      lost,
      {
        type: 'scheduler.JobFailed.v1',
        data: { jobId: job.jobId, agentId: null, fencingToken: null, exitCode: null, signal: null, durationMs: null, reason: `lost ${times} (maxRetries ${job.maxRetries}); last: ${reason}`, endedAt: at },
      },
    ];
  }
  return [
    lost,
    {
      type: 'scheduler.JobRequeued.v1',
      data: { jobId: job.jobId, attempt: job.attempt + 1, notBefore: plusMs(at, requeueBackoffMs(lostCount)), reason: `attempt ${job.attempt} lost: ${reason}`, requeuedAt: at },
    },
  ];
}

function cancelled(jobId: string, by: { agentId: string; fencingToken: number } | null, reason: string, neverStarted: boolean, at: string): JobEvent {
  return {
    type: 'scheduler.JobCancelled.v1',
    data: { jobId, agentId: by?.agentId ?? null, fencingToken: by?.fencingToken ?? null, exitCode: null, signal: null, durationMs: null, reason, neverStarted, endedAt: at },
  };
}

function refusal(job: Existing, agentId: string, staleToken: number, reported: StaleReport, reason: string, at: string): StaleReportRefused {
  const holder = holderOf(job);
  return {
    type: 'scheduler.StaleReportRefused.v1',
    data: { jobId: job.jobId, agentId, staleToken, currentToken: holder?.fencingToken ?? null, currentAgentId: holder?.agentId ?? null, reported, reason, refusedAt: at },
  };
}

function holderOf(state: Existing): { agentId: string; fencingToken: number } | null {
  if (isHeld(state)) return { agentId: state.agentId, fencingToken: state.fencingToken };
  if (isEnded(state)) return state.endedBy;
  return null;
}

function requireJob(state: JobState, jobId: string): Existing {
  if (state.status === 'None') throw new NotFoundError(`job ${jobId} does not exist`, { jobId });
  return state;
}

function factsOf(state: Existing): JobFacts {
  const { jobId, projectId, experimentId, runId, newRun, command, env, workingDir, resources, priority, maxRetries, timeoutSeconds, cancelGraceSeconds, sweep, queuedAt, attempt, lostCount, lastFencingToken, staleReportsRefused } =
    state;
  return { jobId, projectId, experimentId, runId, newRun, command, env, workingDir, resources, priority, maxRetries, timeoutSeconds, cancelGraceSeconds, sweep, queuedAt, attempt, lostCount, lastFencingToken, staleReportsRefused };
}

function ended(state: JobState, status: JobEndStatus, data: { agentId: string | null; fencingToken: number | null; endedAt: string }, reason: string | null): JobState {
  if (state.status === 'None') return state;
  const endedBy = data.agentId !== null && data.fencingToken !== null ? { agentId: data.agentId, fencingToken: data.fencingToken } : null;
  return { status, ...factsOf(state), endedBy, endedAt: data.endedAt, reason };
}

function sameGpus(a: JobGpu[], b: JobGpu[]): boolean {
  const key = (gpus: JobGpu[]) => gpus.map((g) => g.uuid).sort().join(',');
  return key(a) === key(b);
}

function describeExit(exitCode: number | null, signal: string | null): string {
  if (signal) return `killed by ${signal}`;
  if (exitCode !== null) return `exited with code ${exitCode}`;
  return 'failed';
}

function plusMs(at: string, ms: number): string {
  return new Date(Date.parse(at) + ms).toISOString();
}
