import { jobRunId } from '@modeltrail/contracts';
import type { Projection, RecordedOf, TableProjection } from '@modeltrail/readmodel';
import { type AgentRow, agentsTable, type JobRow, jobsTable, type SweepRow, sweepsTable, type SweepTrialRow, sweepTrialsTable } from './scheduler.entities';

const JOB_EVENTS = [
  'scheduler.JobQueued.v1',
  'scheduler.JobAssigned.v1',
  'scheduler.JobStarted.v1',
  'scheduler.JobSucceeded.v1',
  'scheduler.JobFailed.v1',
  'scheduler.JobCancelRequested.v1',
  'scheduler.JobCancelled.v1',
  'scheduler.JobTimedOut.v1',
  'scheduler.JobLost.v1',
  'scheduler.JobRequeued.v1',
  'scheduler.JobPriorityChanged.v1',
  'scheduler.StaleReportRefused.v1',
] as const;
const AGENT_EVENTS = ['scheduler.AgentRegistered.v1', 'scheduler.AgentDrainRequested.v1', 'scheduler.AgentResumed.v1', 'scheduler.AgentLost.v1', 'scheduler.AgentStopped.v1'] as const;
const SWEEP_EVENTS = ['scheduler.SweepSubmitted.v1', 'scheduler.SweepTrialQueued.v1', 'scheduler.SweepTrialFinished.v1', 'scheduler.SweepCompleted.v1', 'scheduler.SweepCancelled.v1'] as const;

export type JobRecorded = RecordedOf<(typeof JOB_EVENTS)[number]>;
export type AgentRecorded = RecordedOf<(typeof AGENT_EVENTS)[number]>;
export type SweepRecorded = RecordedOf<(typeof SWEEP_EVENTS)[number]>;
export type SchedulerRecorded = JobRecorded | AgentRecorded | SweepRecorded;

const jobTypes = new Set<string>(JOB_EVENTS);
const agentTypes = new Set<string>(AGENT_EVENTS);
const sweepTypes = new Set<string>(SWEEP_EVENTS);
const isJobEvent = (e: SchedulerRecorded): e is JobRecorded => jobTypes.has(e.type);
const isAgentEvent = (e: SchedulerRecorded): e is AgentRecorded => agentTypes.has(e.type);
const isSweepEvent = (e: SchedulerRecorded): e is SweepRecorded => sweepTypes.has(e.type);

const date = (iso: string) => new Date(iso);

/** A job's row after one of its events (pure). */
export function evolveJob(row: JobRow | undefined, event: JobRecorded): JobRow {
  const moved = { revision: event.revision, position: event.position };
  if (event.type === 'scheduler.JobQueued.v1') {
    if (row) throw new Error(`job ${row.jobId} is already queued`);
    const d = event.data;
    return {
      jobId: d.jobId,
      status: 'QUEUED',
      projectId: d.projectId,
      experimentId: d.experimentId,
      runId: d.runId,
      startsRun: d.newRun !== null,
      sweepId: d.sweep?.sweepId ?? null,
      trial: d.sweep?.trial ?? null,
      command: d.command,
      env: d.env,
      workingDir: d.workingDir,
      resources: d.resources,
      priority: d.priority,
      maxRetries: d.maxRetries,
      timeoutSeconds: d.timeoutSeconds,
      cancelGraceSeconds: d.cancelGraceSeconds,
      attempt: 1,
      lostCount: 0,
      fencingToken: null,
      agentId: null,
      gpus: [],
      leaseExpiresAt: null,
      pid: null,
      exitCode: null,
      signal: null,
      reason: null,
      cancelRequestedAt: null,
      cancelReason: null,
      queuedAt: date(d.queuedAt),
      notBefore: null,
      assignedAt: null,
      startedAt: null,
      endedAt: null,
      durationMs: null,
      staleReportsRefused: 0,
      submittedBy: event.metadata.actor,
      ...moved,
    };
  }
  if (!row) throw new Error(`${event.type} at ${event.position}: job ${event.data.jobId} has no row`);
  switch (event.type) {
    case 'scheduler.JobAssigned.v1': {
      const d = event.data;
      return {
        ...row,
        status: 'ASSIGNED',
        agentId: d.agentId,
        gpus: d.gpus,
        fencingToken: d.fencingToken,
        leaseExpiresAt: date(d.leaseExpiresAt),
        attempt: d.attempt,
        assignedAt: date(d.assignedAt),
        notBefore: null,
        pid: null,
        startedAt: null,
        exitCode: null,
        signal: null,
        cancelRequestedAt: null,
        cancelReason: null,
        ...moved,
      };
    }
    case 'scheduler.JobStarted.v1':
      return { ...row, status: 'RUNNING', pid: event.data.pid, startedAt: date(event.data.startedAt), ...moved };
    case 'scheduler.JobCancelRequested.v1':
      return { ...row, cancelRequestedAt: date(event.data.requestedAt), cancelReason: event.data.reason, ...moved };
    case 'scheduler.JobSucceeded.v1':
    case 'scheduler.JobFailed.v1':
    case 'scheduler.JobCancelled.v1':
    case 'scheduler.JobTimedOut.v1': {
      const d = event.data;
      const status = event.type === 'scheduler.JobSucceeded.v1' ? 'SUCCEEDED' : event.type === 'scheduler.JobFailed.v1' ? 'FAILED' : event.type === 'scheduler.JobCancelled.v1' ? 'CANCELLED' : 'TIMED_OUT';
      const reason = 'reason' in d ? d.reason : null;
      const cancel = event.type === 'scheduler.JobCancelled.v1' ? { cancelRequestedAt: row.cancelRequestedAt ?? date(d.endedAt), cancelReason: row.cancelReason ?? event.data.reason } : {};
      return {
        ...row,
        status,
        agentId: d.agentId ?? row.agentId,
        exitCode: d.exitCode,
        signal: d.signal,
        durationMs: d.durationMs,
        reason,
        endedAt: date(d.endedAt),
        leaseExpiresAt: null,
        ...cancel,
        ...moved,
      };
    }
    case 'scheduler.JobLost.v1':
      return { ...row, status: 'LOST', lostCount: row.lostCount + 1, reason: event.data.reason, leaseExpiresAt: null, ...moved };
    case 'scheduler.JobRequeued.v1':
      return {
        ...row,
        status: 'QUEUED',
        attempt: event.data.attempt,
        notBefore: date(event.data.notBefore),
        reason: event.data.reason,
        gpus: [],
        leaseExpiresAt: null,
        pid: null,
        assignedAt: null,
        startedAt: null,
        cancelRequestedAt: null,
        cancelReason: null,
        ...moved,
      };
    case 'scheduler.JobPriorityChanged.v1':
      return { ...row, priority: event.data.priority, ...moved };
    case 'scheduler.StaleReportRefused.v1':
      return { ...row, staleReportsRefused: row.staleReportsRefused + 1, ...moved };
    default: {
      const unknown: never = event;
      throw new Error(`scheduler projection cannot apply ${(unknown as JobRecorded).type} to a job`);
    }
  }
}

/** An agent's row after one of its events (pure); the status follows the agent decider's rule. */
export function evolveAgent(row: AgentRow | undefined, event: AgentRecorded): AgentRow {
  const moved = { revision: event.revision, position: event.position };
  if (event.type === 'scheduler.AgentRegistered.v1') {
    const d = event.data;
    const draining = row?.draining ?? false;
    return {
      agentId: d.agentId,
      sessionId: d.sessionId,
      status: draining ? 'DRAINING' : 'ACTIVE',
      hostname: d.hostname,
      labels: d.labels,
      gpus: d.gpus,
      cpus: d.cpus,
      memoryMb: d.memoryMb,
      gpuProbe: d.gpuProbe,
      agentVersion: d.agentVersion,
      draining,
      drainReason: row?.drainReason ?? null,
      lostReason: null,
      registeredAt: date(d.registeredAt),
      ...moved,
    };
  }
  if (!row) throw new Error(`${event.type} at ${event.position}: agent ${event.data.agentId} has no row`);
  const online = row.status === 'ACTIVE' || row.status === 'DRAINING';
  switch (event.type) {
    case 'scheduler.AgentDrainRequested.v1':
      return { ...row, draining: true, drainReason: event.data.reason, status: online ? 'DRAINING' : row.status, ...moved };
    case 'scheduler.AgentResumed.v1':
      return { ...row, draining: false, drainReason: null, status: online ? 'ACTIVE' : row.status, ...moved };
    case 'scheduler.AgentLost.v1':
      return { ...row, status: 'LOST', lostReason: event.data.reason, ...moved };
    case 'scheduler.AgentStopped.v1':
      return { ...row, status: 'STOPPED', ...moved };
    default: {
      const unknown: never = event;
      throw new Error(`scheduler projection cannot apply ${(unknown as AgentRecorded).type} to an agent`);
    }
  }
}

/** A sweep's row after one of its events (pure). Trials are rows of their own (`evolveSweepTrial`). */
export function evolveSweep(row: SweepRow | undefined, event: SweepRecorded): SweepRow {
  const moved = { revision: event.revision, position: event.position };
  if (event.type === 'scheduler.SweepSubmitted.v1') {
    if (row) throw new Error(`sweep ${row.sweepId} is already submitted`);
    const d = event.data;
    return {
      sweepId: d.sweepId,
      experimentId: d.experimentId,
      projectId: d.projectId,
      status: 'RUNNING',
      strategy: d.strategy,
      space: d.space,
      maxTrials: d.maxTrials,
      maxConcurrent: d.maxConcurrent,
      seed: d.seed,
      objective: d.objective,
      jobTemplate: d.jobTemplate,
      trialsFinished: 0,
      best: null,
      cancelReason: null,
      submittedAt: date(d.submittedAt),
      endedAt: null,
      submittedBy: event.metadata.actor,
      ...moved,
    };
  }
  if (!row) throw new Error(`${event.type} at ${event.position}: sweep ${event.data.sweepId} has no row`);
  const own = event;
  switch (own.type) {
    case 'scheduler.SweepTrialQueued.v1':
      return { ...row, ...moved };
    case 'scheduler.SweepTrialFinished.v1':
      return { ...row, trialsFinished: row.trialsFinished + 1, ...moved };
    case 'scheduler.SweepCompleted.v1':
      return { ...row, status: 'COMPLETED', best: own.data.best, endedAt: date(own.data.completedAt), ...moved };
    case 'scheduler.SweepCancelled.v1':
      return { ...row, status: 'CANCELLED', cancelReason: own.data.reason, endedAt: date(own.data.cancelledAt), ...moved };
    default: {
      const unknown: never = own;
      throw new Error(`scheduler projection cannot apply ${(unknown as SweepRecorded).type} to a sweep`);
    }
  }
}

export function evolveSweepTrial(row: SweepTrialRow | undefined, event: RecordedOf<'scheduler.SweepTrialQueued.v1' | 'scheduler.SweepTrialFinished.v1'>): SweepTrialRow {
  if (event.type === 'scheduler.SweepTrialQueued.v1') {
    if (row) throw new Error(`trial ${row.trial} of sweep ${row.sweepId} is already queued`);
    const { sweepId, trial, jobId, params, queuedAt } = event.data;
    return { sweepId, trial, jobId, runId: jobRunId(jobId), params, outcome: null, objectiveValue: null, queuedAt: date(queuedAt), finishedAt: null, position: event.position };
  }
  if (!row) throw new Error(`${event.type} at ${event.position}: trial ${event.data.trial} of sweep ${event.data.sweepId} has no row`);
  const { outcome, objectiveValue, runId, finishedAt } = event.data;
  return { ...row, runId, outcome, objectiveValue, finishedAt: date(finishedAt), position: event.position };
}

const jobs: TableProjection<SchedulerRecorded, JobRow, 'jobId'> = {
  table: jobsTable,
  keyOf: (event) => (isJobEvent(event) ? { jobId: event.data.jobId } : undefined),
  evolve: (row, event) => (isJobEvent(event) ? evolveJob(row, event) : row),
};

const agents: TableProjection<SchedulerRecorded, AgentRow, 'agentId'> = {
  table: agentsTable,
  keyOf: (event) => (isAgentEvent(event) ? { agentId: event.data.agentId } : undefined),
  evolve: (row, event) => (isAgentEvent(event) ? evolveAgent(row, event) : row),
};

const sweeps: TableProjection<SchedulerRecorded, SweepRow, 'sweepId'> = {
  table: sweepsTable,
  keyOf: (event) => (isSweepEvent(event) ? { sweepId: event.data.sweepId } : undefined),
  evolve: (row, event) => (isSweepEvent(event) ? evolveSweep(row, event) : row),
};

const isTrialEvent = (e: SchedulerRecorded): e is RecordedOf<'scheduler.SweepTrialQueued.v1' | 'scheduler.SweepTrialFinished.v1'> =>
  e.type === 'scheduler.SweepTrialQueued.v1' || e.type === 'scheduler.SweepTrialFinished.v1';

const sweepTrials: TableProjection<SchedulerRecorded, SweepTrialRow, 'sweepId' | 'trial'> = {
  table: sweepTrialsTable,
  keyOf: (event) => (isTrialEvent(event) ? { sweepId: event.data.sweepId, trial: event.data.trial } : undefined),
  evolve: (row, event) => (isTrialEvent(event) ? evolveSweepTrial(row, event) : row),
};

/**
 * Keeps `jobs`, `agents`, `sweeps` and `sweep_trials` in step with the scheduler's streams.
 * What depends on several aggregates (the GPUs a job holds on its agent, a trial's job status,
 * an agent's last heartbeat) is joined when queried, so every row follows its own stream only.
 */
export const schedulerProjection: Projection<SchedulerRecorded> = {
  name: 'scheduler.read-model.v1',
  handles: new Set<string>([...JOB_EVENTS, ...AGENT_EVENTS, ...SWEEP_EVENTS]),
  tables: [jobs, agents, sweeps, sweepTrials],
};
