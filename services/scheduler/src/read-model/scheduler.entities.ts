import { BigIntType, EntitySchema } from '@mikro-orm/postgresql';
import type {
  AgentGpu,
  AgentStatus,
  GpuProbe,
  JobGpu,
  JobOutcome,
  JobResources,
  JobStatus,
  Params,
  SweepBest,
  SweepJobTemplate,
  SweepObjective,
  SweepSpace,
  SweepStatus,
  SweepStrategy,
} from '@modeltrail/contracts';
import type { TableSpec } from '@modeltrail/readmodel';

/** Read-model rows of the scheduler service (tables in its schema; see scheduler.migrations.ts). */

export interface JobRow {
  jobId: string;
  status: JobStatus;
  projectId: string;
  experimentId: string;
  runId: string;
  startsRun: boolean;
  sweepId: string | null;
  trial: number | null;
  command: string[];
  env: Record<string, string>;
  workingDir: string | null;
  resources: JobResources;
  priority: number;
  maxRetries: number;
  timeoutSeconds: number | null;
  cancelGraceSeconds: number;
  attempt: number;
  lostCount: number;
  fencingToken: number | null;
  agentId: string | null;
  gpus: JobGpu[];
  leaseExpiresAt: Date | null;
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  reason: string | null;
  cancelRequestedAt: Date | null;
  cancelReason: string | null;
  queuedAt: Date;
  notBefore: Date | null;
  assignedAt: Date | null;
  startedAt: Date | null;
  endedAt: Date | null;
  durationMs: number | null;
  staleReportsRefused: number;
  submittedBy: string;
  revision: number;
  position: number;
}

export const JobRowSchema = new EntitySchema<JobRow>({
  name: 'JobRow',
  tableName: 'jobs',
  properties: {
    jobId: { type: 'uuid', primary: true },
    status: { type: 'text' },
    projectId: { type: 'uuid' },
    experimentId: { type: 'uuid' },
    runId: { type: 'uuid' },
    startsRun: { type: 'boolean' },
    sweepId: { type: 'uuid', nullable: true },
    trial: { type: 'integer', nullable: true },
    command: { type: 'json' },
    env: { type: 'json' },
    workingDir: { type: 'text', nullable: true },
    resources: { type: 'json' },
    priority: { type: 'integer' },
    maxRetries: { type: 'integer' },
    timeoutSeconds: { type: 'integer', nullable: true },
    cancelGraceSeconds: { type: 'integer' },
    attempt: { type: 'integer' },
    lostCount: { type: 'integer' },
    fencingToken: { type: 'integer', nullable: true },
    agentId: { type: 'uuid', nullable: true },
    gpus: { type: 'json' },
    leaseExpiresAt: { type: 'Date', nullable: true },
    pid: { type: 'integer', nullable: true },
    exitCode: { type: 'integer', nullable: true },
    signal: { type: 'text', nullable: true },
    reason: { type: 'text', nullable: true },
    cancelRequestedAt: { type: 'Date', nullable: true },
    cancelReason: { type: 'text', nullable: true },
    queuedAt: { type: 'Date' },
    notBefore: { type: 'Date', nullable: true },
    assignedAt: { type: 'Date', nullable: true },
    startedAt: { type: 'Date', nullable: true },
    endedAt: { type: 'Date', nullable: true },
    durationMs: { type: new BigIntType('number'), nullable: true },
    staleReportsRefused: { type: 'integer' },
    submittedBy: { type: 'text' },
    revision: { type: new BigIntType('number') },
    position: { type: new BigIntType('number') },
  },
});

export interface AgentRow {
  agentId: string;
  sessionId: string;
  status: AgentStatus;
  hostname: string;
  labels: Record<string, string>;
  gpus: AgentGpu[];
  cpus: number;
  memoryMb: number;
  gpuProbe: GpuProbe;
  agentVersion: string;
  draining: boolean;
  drainReason: string | null;
  lostReason: string | null;
  registeredAt: Date;
  revision: number;
  position: number;
}

export const AgentRowSchema = new EntitySchema<AgentRow>({
  name: 'AgentRow',
  tableName: 'agents',
  properties: {
    agentId: { type: 'uuid', primary: true },
    sessionId: { type: 'uuid' },
    status: { type: 'text' },
    hostname: { type: 'text' },
    labels: { type: 'json' },
    gpus: { type: 'json' },
    cpus: { type: 'double' },
    memoryMb: { type: new BigIntType('number') },
    gpuProbe: { type: 'json' },
    agentVersion: { type: 'text' },
    draining: { type: 'boolean' },
    drainReason: { type: 'text', nullable: true },
    lostReason: { type: 'text', nullable: true },
    registeredAt: { type: 'Date' },
    revision: { type: new BigIntType('number') },
    position: { type: new BigIntType('number') },
  },
});

export interface SweepRow {
  sweepId: string;
  experimentId: string;
  projectId: string;
  status: SweepStatus;
  strategy: SweepStrategy;
  space: SweepSpace;
  maxTrials: number;
  maxConcurrent: number;
  seed: number;
  objective: SweepObjective;
  jobTemplate: SweepJobTemplate;
  trialsFinished: number;
  best: SweepBest | null;
  cancelReason: string | null;
  submittedAt: Date;
  endedAt: Date | null;
  submittedBy: string;
  revision: number;
  position: number;
}

export const SweepRowSchema = new EntitySchema<SweepRow>({
  name: 'SweepRow',
  tableName: 'sweeps',
  properties: {
    sweepId: { type: 'uuid', primary: true },
    experimentId: { type: 'uuid' },
    projectId: { type: 'uuid' },
    status: { type: 'text' },
    strategy: { type: 'text' },
    space: { type: 'json' },
    maxTrials: { type: 'integer' },
    maxConcurrent: { type: 'integer' },
    seed: { type: new BigIntType('number') },
    objective: { type: 'json' },
    jobTemplate: { type: 'json' },
    trialsFinished: { type: 'integer' },
    best: { type: 'json', nullable: true },
    cancelReason: { type: 'text', nullable: true },
    submittedAt: { type: 'Date' },
    endedAt: { type: 'Date', nullable: true },
    submittedBy: { type: 'text' },
    revision: { type: new BigIntType('number') },
    position: { type: new BigIntType('number') },
  },
});

export interface SweepTrialRow {
  sweepId: string;
  trial: number;
  jobId: string;
  runId: string;
  params: Params;
  outcome: JobOutcome | null;
  objectiveValue: number | null;
  queuedAt: Date;
  finishedAt: Date | null;
  position: number;
}

export const SweepTrialRowSchema = new EntitySchema<SweepTrialRow>({
  name: 'SweepTrialRow',
  tableName: 'sweep_trials',
  properties: {
    sweepId: { type: 'uuid', primary: true },
    trial: { type: 'integer', primary: true },
    jobId: { type: 'uuid' },
    runId: { type: 'uuid' },
    params: { type: 'json' },
    outcome: { type: 'text', nullable: true },
    objectiveValue: { type: 'double', nullable: true },
    queuedAt: { type: 'Date' },
    finishedAt: { type: 'Date', nullable: true },
    position: { type: new BigIntType('number') },
  },
});

export const schedulerEntities = [JobRowSchema, AgentRowSchema, SweepRowSchema, SweepTrialRowSchema];

/** The tables as the projection writes them. */
export const jobsTable: TableSpec<JobRow, 'jobId'> = {
  name: 'jobs',
  key: ['jobId'],
  columns: {
    jobId: 'uuid',
    status: 'text',
    projectId: 'uuid',
    experimentId: 'uuid',
    runId: 'uuid',
    startsRun: 'boolean',
    sweepId: 'uuid',
    trial: 'integer',
    command: 'jsonb',
    env: 'jsonb',
    workingDir: 'text',
    resources: 'jsonb',
    priority: 'integer',
    maxRetries: 'integer',
    timeoutSeconds: 'integer',
    cancelGraceSeconds: 'integer',
    attempt: 'integer',
    lostCount: 'integer',
    fencingToken: 'integer',
    agentId: 'uuid',
    gpus: 'jsonb',
    leaseExpiresAt: 'timestamptz',
    pid: 'integer',
    exitCode: 'integer',
    signal: 'text',
    reason: 'text',
    cancelRequestedAt: 'timestamptz',
    cancelReason: 'text',
    queuedAt: 'timestamptz',
    notBefore: 'timestamptz',
    assignedAt: 'timestamptz',
    startedAt: 'timestamptz',
    endedAt: 'timestamptz',
    durationMs: 'bigint',
    staleReportsRefused: 'integer',
    submittedBy: 'text',
    revision: 'bigint',
    position: 'bigint',
  },
};

export const agentsTable: TableSpec<AgentRow, 'agentId'> = {
  name: 'agents',
  key: ['agentId'],
  columns: {
    agentId: 'uuid',
    sessionId: 'uuid',
    status: 'text',
    hostname: 'text',
    labels: 'jsonb',
    gpus: 'jsonb',
    cpus: 'double precision',
    memoryMb: 'bigint',
    gpuProbe: 'jsonb',
    agentVersion: 'text',
    draining: 'boolean',
    drainReason: 'text',
    lostReason: 'text',
    registeredAt: 'timestamptz',
    revision: 'bigint',
    position: 'bigint',
  },
};

export const sweepsTable: TableSpec<SweepRow, 'sweepId'> = {
  name: 'sweeps',
  key: ['sweepId'],
  columns: {
    sweepId: 'uuid',
    experimentId: 'uuid',
    projectId: 'uuid',
    status: 'text',
    strategy: 'text',
    space: 'jsonb',
    maxTrials: 'integer',
    maxConcurrent: 'integer',
    seed: 'bigint',
    objective: 'jsonb',
    jobTemplate: 'jsonb',
    trialsFinished: 'integer',
    best: 'jsonb',
    cancelReason: 'text',
    submittedAt: 'timestamptz',
    endedAt: 'timestamptz',
    submittedBy: 'text',
    revision: 'bigint',
    position: 'bigint',
  },
};

export const sweepTrialsTable: TableSpec<SweepTrialRow, 'sweepId' | 'trial'> = {
  name: 'sweep_trials',
  key: ['sweepId', 'trial'],
  columns: {
    sweepId: 'uuid',
    trial: 'integer',
    jobId: 'uuid',
    runId: 'uuid',
    params: 'jsonb',
    outcome: 'text',
    objectiveValue: 'double precision',
    queuedAt: 'timestamptz',
    finishedAt: 'timestamptz',
    position: 'bigint',
  },
};
