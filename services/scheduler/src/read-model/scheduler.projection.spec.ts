import type { EventMap } from '@modeltrail/contracts';
import { jobRunId } from '@modeltrail/contracts';
import type { RecordedOf } from '@modeltrail/readmodel';
import { evolveAgent, evolveJob, evolveSweep, evolveSweepTrial } from './scheduler.projection';
import type { AgentRow, JobRow } from './scheduler.entities';

const jobId = '1f1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const runId = '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const experimentId = '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const agentId = 'a0000000-0000-4000-8000-00000000000a';
const sessionId = 'c0000000-0000-4000-8000-00000000000c';
const sweepId = '5e5e5e5e-2d7a-4a53-9a51-0c2b0b8e9d11';

let position = 0;
function recorded<K extends keyof EventMap>(type: K, data: EventMap[K], revision = 0, actor = 'ada@example.com'): RecordedOf<K> {
  position += 1;
  return { id: `e${position}`, stream: 's', revision, position, type, data, metadata: { actor, correlationId: 'c', causationId: null, occurredAt: '2026-11-22T12:00:00.000Z', prevHash: '', hash: '' } } as unknown as RecordedOf<K>;
}

const resources = { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} };
const queued = () =>
  recorded('scheduler.JobQueued.v1', {
    jobId,
    projectId,
    experimentId,
    runId,
    newRun: { params: {}, datasetVersions: [] },
    command: ['python', 'train.py'],
    env: {},
    workingDir: null,
    resources,
    priority: 0,
    maxRetries: 2,
    timeoutSeconds: null,
    cancelGraceSeconds: 10,
    sweep: { sweepId, trial: 3 },
    queuedAt: '2026-11-22T12:00:00.000Z',
  });

describe('scheduler projection', () => {
  it('follows a job through assignment, loss, requeue and its end', () => {
    let row: JobRow = evolveJob(undefined, queued());
    expect(row).toMatchObject({ status: 'QUEUED', startsRun: true, sweepId, trial: 3, attempt: 1, gpus: [], submittedBy: 'ada@example.com', revision: 0 });
    const gpus = [{ index: 0, uuid: 'GPU-a' }];
    row = evolveJob(row, recorded('scheduler.JobAssigned.v1', { jobId, agentId, gpus, fencingToken: 1, leaseExpiresAt: '2026-11-22T12:00:15.000Z', attempt: 1, assignedAt: '2026-11-22T12:00:00.000Z' }, 1));
    expect(row).toMatchObject({ status: 'ASSIGNED', agentId, gpus, fencingToken: 1, revision: 1 });
    row = evolveJob(row, recorded('scheduler.JobLost.v1', { jobId, agentId, fencingToken: 1, attempt: 1, reason: 'no heartbeat', lostAt: '2026-11-22T12:00:20.000Z' }, 2));
    expect(row).toMatchObject({ status: 'LOST', lostCount: 1 });
    row = evolveJob(row, recorded('scheduler.JobRequeued.v1', { jobId, attempt: 2, notBefore: '2026-11-22T12:00:25.000Z', reason: 'attempt 1 lost: no heartbeat', requeuedAt: '2026-11-22T12:00:20.000Z' }, 3));
    expect(row).toMatchObject({ status: 'QUEUED', attempt: 2, gpus: [], agentId, notBefore: new Date('2026-11-22T12:00:25.000Z'), reason: 'attempt 1 lost: no heartbeat' });
    row = evolveJob(row, recorded('scheduler.StaleReportRefused.v1', { jobId, agentId, staleToken: 1, currentToken: null, currentAgentId: null, reported: { kind: 'STARTED', pid: 1 }, reason: 'revoked', refusedAt: '2026-11-22T12:00:21.000Z' }, 4));
    expect(row.staleReportsRefused).toBe(1);
    row = evolveJob(row, recorded('scheduler.JobFailed.v1', { jobId, agentId: null, fencingToken: null, exitCode: null, signal: null, durationMs: null, reason: 'lost too often', endedAt: '2026-11-22T12:01:00.000Z' }, 5));
    expect(row).toMatchObject({ status: 'FAILED', reason: 'lost too often', agentId, endedAt: new Date('2026-11-22T12:01:00.000Z'), revision: 5 });
  });

  it('records a cancel while queued as its own request', () => {
    const row = evolveJob(evolveJob(undefined, queued()), recorded('scheduler.JobCancelled.v1', { jobId, agentId: null, fencingToken: null, exitCode: null, signal: null, durationMs: null, reason: 'not needed', neverStarted: true, endedAt: '2026-11-22T12:00:05.000Z' }, 1));
    expect(row).toMatchObject({ status: 'CANCELLED', cancelReason: 'not needed', cancelRequestedAt: new Date('2026-11-22T12:00:05.000Z') });
  });

  it('refuses an event for a job it has no row of (the batch then retries instead of writing something wrong)', () => {
    expect(() => evolveJob(undefined, recorded('scheduler.JobStarted.v1', { jobId, agentId, fencingToken: 1, pid: 7, startedAt: '2026-11-22T12:00:00.000Z' }))).toThrow(/has no row/);
  });

  it('keeps an agent draining across a new session and derives its status like the agent decider', () => {
    const registered = (session: string) =>
      recorded('scheduler.AgentRegistered.v1', {
        agentId,
        sessionId: session,
        hostname: 'gpu-1',
        labels: {},
        gpus: [],
        cpus: 8,
        memoryMb: 1_000,
        gpuProbe: { status: 'ABSENT', message: '' },
        agentVersion: '1',
        registeredAt: '2026-11-22T12:00:00.000Z',
      });
    let row: AgentRow = evolveAgent(undefined, registered(sessionId));
    row = evolveAgent(row, recorded('scheduler.AgentDrainRequested.v1', { agentId, reason: 'maintenance', requestedAt: '2026-11-22T12:00:01.000Z' }));
    expect(row).toMatchObject({ status: 'DRAINING', draining: true, drainReason: 'maintenance' });
    row = evolveAgent(row, recorded('scheduler.AgentLost.v1', { agentId, sessionId, reason: 'no heartbeat', lastSeenAt: null, lostAt: '2026-11-22T12:00:30.000Z' }));
    expect(row).toMatchObject({ status: 'LOST', lostReason: 'no heartbeat' });
    row = evolveAgent(row, recorded('scheduler.AgentRegistered.v1', { ...(registered('d0000000-0000-4000-8000-00000000000d').data as EventMap['scheduler.AgentRegistered.v1']) }));
    expect(row).toMatchObject({ status: 'DRAINING', lostReason: null, sessionId: 'd0000000-0000-4000-8000-00000000000d' });
    row = evolveAgent(row, recorded('scheduler.AgentResumed.v1', { agentId, resumedAt: '2026-11-22T12:01:00.000Z' }));
    expect(row).toMatchObject({ status: 'ACTIVE', draining: false, drainReason: null });
  });

  it('counts finished trials and records the best one at completion', () => {
    const trialJob = '2f1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
    const trialQueued = recorded('scheduler.SweepTrialQueued.v1', { sweepId, trial: 0, params: { lr: 0.1 }, jobId: trialJob, queuedAt: '2026-11-22T12:00:00.000Z' });
    let trial = evolveSweepTrial(undefined, trialQueued);
    expect(trial).toMatchObject({ trial: 0, jobId: trialJob, runId: jobRunId(trialJob), outcome: null });
    const finished = recorded('scheduler.SweepTrialFinished.v1', { sweepId, trial: 0, jobId: trialJob, runId: jobRunId(trialJob), outcome: 'SUCCEEDED', objectiveValue: 0.9, finishedAt: '2026-11-22T12:05:00.000Z' });
    trial = evolveSweepTrial(trial, finished);
    expect(trial).toMatchObject({ outcome: 'SUCCEEDED', objectiveValue: 0.9 });

    const submitted = recorded('scheduler.SweepSubmitted.v1', {
      sweepId,
      experimentId,
      projectId,
      strategy: 'GRID',
      space: { lr: { values: [0.1], range: null } },
      maxTrials: 1,
      maxConcurrent: 1,
      seed: 4_000_000_000,
      objective: { metric: 'accuracy', direction: 'MAXIMIZE', source: 'GIVEN' },
      jobTemplate: { command: ['x'], env: {}, workingDir: null, resources, priority: 0, maxRetries: 0, timeoutSeconds: null, cancelGraceSeconds: 10, params: {}, datasetVersions: [] },
      submittedAt: '2026-11-22T12:00:00.000Z',
    });
    let sweep = evolveSweep(undefined, submitted);
    sweep = evolveSweep(sweep, trialQueued);
    sweep = evolveSweep(sweep, finished);
    const best = { trial: 0, jobId: trialJob, runId: jobRunId(trialJob), value: 0.9 };
    sweep = evolveSweep(sweep, recorded('scheduler.SweepCompleted.v1', { sweepId, best, trialsSucceeded: 1, trialsFailed: 0, completedAt: '2026-11-22T12:05:00.000Z' }));
    expect(sweep).toMatchObject({ status: 'COMPLETED', trialsFinished: 1, best, seed: 4_000_000_000, endedAt: new Date('2026-11-22T12:05:00.000Z') });
  });
});
