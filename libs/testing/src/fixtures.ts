import { jobRunId, type JobView } from '@modeltrail/contracts';

/**
 * A JobView with every field filled, as the scheduler answers for a job just queued (one GPU,
 * into its own new run): test doubles of the scheduler give the fields their test is about.
 */
export function jobViewOf(fields: Partial<JobView> & Pick<JobView, 'jobId' | 'projectId' | 'experimentId' | 'queuedAt'>): JobView {
  return {
    status: 'QUEUED',
    runId: jobRunId(fields.jobId),
    startsRun: true,
    sweepId: null,
    trial: null,
    command: ['python', 'train.py'],
    env: {},
    workingDir: null,
    resources: { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} },
    priority: 0,
    maxRetries: 2,
    timeoutSeconds: null,
    cancelGraceSeconds: 10,
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
    notBefore: null,
    assignedAt: null,
    startedAt: null,
    endedAt: null,
    durationMs: null,
    staleReportsRefused: 0,
    submittedBy: 'ada@example.com',
    revision: 0,
    ...fields,
  };
}
