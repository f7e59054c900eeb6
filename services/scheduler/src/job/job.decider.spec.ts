import { ConflictError, NotFoundError, platformEventCatalog, ValidationError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { agentInstruction, checkFencing, type JobCommand, jobDecider, type JobEvent, type JobState, staleReportError, type StaleReportRefused } from './job.decider';

const jobId = '1f1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const runId = '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const experimentId = '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const agentA = 'a0000000-0000-4000-8000-00000000000a';
const agentB = 'b0000000-0000-4000-8000-00000000000b';
const t0 = '2026-11-22T10:00:00.000Z';
const t1 = '2026-11-22T10:01:00.000Z';
const t2 = '2026-11-22T10:02:00.000Z';
const t3 = '2026-11-22T10:03:00.000Z';
const gpus = [
  { index: 0, uuid: 'GPU-aaa' },
  { index: 1, uuid: 'GPU-bbb' },
];
const resources = { gpus: 2, gpuMemoryMb: 40_000, cpus: 8, memoryMb: 64_000, labels: { gpu: 'a100' } };

const submit: Extract<JobCommand, { type: 'SubmitJob' }> = {
  type: 'SubmitJob',
  jobId,
  run: { kind: 'NEW', runId, experimentId, experiment: { projectId }, params: { lr: 0.01 }, datasetVersions: [] },
  command: ['python', 'train.py', '--lr', '0.01'],
  env: { WANDB_MODE: 'offline' },
  workingDir: '/data/churn',
  resources,
  priority: 5,
  maxRetries: 2,
  timeoutSeconds: 3_600,
  cancelGraceSeconds: 10,
  sweep: null,
  at: t0,
};
const queued: JobEvent = {
  type: 'scheduler.JobQueued.v1',
  data: {
    jobId,
    projectId,
    experimentId,
    runId,
    newRun: { params: { lr: 0.01 }, datasetVersions: [] },
    command: ['python', 'train.py', '--lr', '0.01'],
    env: { WANDB_MODE: 'offline' },
    workingDir: '/data/churn',
    resources,
    priority: 5,
    maxRetries: 2,
    timeoutSeconds: 3_600,
    cancelGraceSeconds: 10,
    sweep: null,
    queuedAt: t0,
  },
};
const assign = (at = t1, agentId = agentA): JobCommand => ({ type: 'AssignJob', jobId, agentId, gpus: [gpus[1], gpus[0]], leaseSeconds: 30, at });
const assigned = (fencingToken = 1, attempt = 1, at = t1, agentId = agentA): JobEvent => ({
  type: 'scheduler.JobAssigned.v1',
  data: { jobId, agentId, gpus, fencingToken, leaseExpiresAt: new Date(Date.parse(at) + 30_000).toISOString(), attempt, assignedAt: at },
});
const started = (fencingToken = 1, agentId = agentA): JobEvent => ({ type: 'scheduler.JobStarted.v1', data: { jobId, agentId, fencingToken, pid: 4242, startedAt: t2 } });
const reportStarted = (fencingToken = 1, agentId = agentA): JobCommand => ({ type: 'ReportJobStarted', jobId, agentId, fencingToken, pid: 4242, at: t2 });
const finish = (outcome: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT', extra: Partial<Extract<JobCommand, { type: 'ReportJobFinished' }>> = {}): JobCommand => ({
  type: 'ReportJobFinished',
  jobId,
  agentId: agentA,
  fencingToken: 1,
  outcome,
  exitCode: outcome === 'SUCCEEDED' ? 0 : null,
  signal: null,
  durationMs: 60_000,
  reason: null,
  at: t3,
  ...extra,
});
const succeeded: JobEvent = { type: 'scheduler.JobSucceeded.v1', data: { jobId, agentId: agentA, fencingToken: 1, exitCode: 0, signal: null, durationMs: 60_000, endedAt: t3 } };
const lost = (fencingToken = 1, attempt = 1, agentId = agentA, at = t2, reason = 'no heartbeat for 30 s'): JobEvent => ({
  type: 'scheduler.JobLost.v1',
  data: { jobId, agentId, fencingToken, attempt, reason, lostAt: at },
});
const requeued = (attempt: number, notBefore: string, at = t2, reason = `attempt ${attempt - 1} lost: no heartbeat for 30 s`): JobEvent => ({
  type: 'scheduler.JobRequeued.v1',
  data: { jobId, attempt, notBefore, reason, requeuedAt: at },
});
const cancelRequested: JobEvent = { type: 'scheduler.JobCancelRequested.v1', data: { jobId, reason: 'wrong dataset', requestedAt: t2 } };
const markLost = (fencingToken = 1, agentId = agentA, at = t2): JobCommand => ({ type: 'MarkJobLost', jobId, agentId, fencingToken, reason: 'no heartbeat for 30 s', at });

const fold = (events: JobEvent[]): JobState => events.reduce((s, e) => jobDecider.evolve(s, e), jobDecider.initialState());

describe('Job decider', () => {
  const spec = deciderSpec(jobDecider);

  describe('submit', () => {
    it('queues a job that starts a new run, recording run, experiment and project', () => {
      spec.given([]).when(submit).then([queued]);
    });

    it('queues a job into an existing running run', () => {
      const existing: JobCommand = { ...submit, run: { kind: 'EXISTING', runId, found: { experimentId, projectId, status: 'Running' } } };
      const data = { ...(queued.data as object), newRun: null };
      spec.given([]).when(existing).then([{ type: 'scheduler.JobQueued.v1', data } as JobEvent]);
    });

    it('refuses a missing experiment or run, an ended run, and a second submit', () => {
      spec.given([]).when({ ...submit, run: { ...submit.run, experiment: null } as never }).thenThrows(NotFoundError, `experiment ${experimentId} does not exist`);
      spec.given([]).when({ ...submit, run: { kind: 'EXISTING', runId, found: null } }).thenThrows(NotFoundError, `run ${runId} does not exist`);
      spec
        .given([])
        .when({ ...submit, run: { kind: 'EXISTING', runId, found: { experimentId, projectId, status: 'Completed' } } })
        .thenThrows(ConflictError, `run ${runId} is completed: a job cannot train into it`);
      spec.given([queued]).when(submit).thenThrows(ConflictError, `job ${jobId} already exists`);
    });
  });

  describe('assignment and fencing tokens', () => {
    it('assigns with the GPUs sorted, fencing token 1, a lease and attempt 1', () => {
      spec.given([queued]).when(assign()).then([assigned(1)]);
    });

    it('numbers tokens on from the last one after a requeue', () => {
      const notBefore = '2026-11-22T10:02:05.000Z';
      spec
        .given([queued, assigned(1), lost(1), requeued(2, notBefore)])
        .when(assign(t3, agentB))
        .then([assigned(2, 2, t3, agentB)]);
    });

    it('refuses an assignment during the backoff', () => {
      const notBefore = '2026-11-22T10:02:05.000Z';
      spec
        .given([queued, assigned(1), lost(1), requeued(2, notBefore)])
        .when(assign('2026-11-22T10:02:01.000Z', agentB))
        .thenThrows(ConflictError, `job ${jobId} is backing off until ${notBefore} after a lost attempt`);
    });

    it('refuses the wrong number of GPUs, a GPU twice, and a job held by another agent', () => {
      spec.given([queued]).when({ type: 'AssignJob', jobId, agentId: agentA, gpus: [gpus[0]], leaseSeconds: 30, at: t1 }).thenThrows(ValidationError, `job ${jobId} needs 2 GPUs; the assignment gives 1`);
      spec.given([queued]).when({ type: 'AssignJob', jobId, agentId: agentA, gpus: [gpus[0], gpus[0]], leaseSeconds: 30, at: t1 }).thenThrows(ValidationError, /gives a GPU twice/);
      spec.given([queued, assigned(1)]).when(assign(t2, agentB)).thenThrows(ConflictError, `job ${jobId} is already assigned to agent ${agentA} (token 1)`);
      spec.given([queued, assigned(1)]).when(assign(t2, agentA)).thenNothingHappens();
    });

    it('refuses an assignment decided on a job that was cancelled meanwhile', () => {
      const cancelledWhileQueued: JobEvent = {
        type: 'scheduler.JobCancelled.v1',
        data: { jobId, agentId: null, fencingToken: null, exitCode: null, signal: null, durationMs: null, reason: 'not needed', neverStarted: true, endedAt: t1 },
      };
      spec.given([queued, cancelledWhileQueued]).when(assign(t2)).thenThrows(ConflictError, `job ${jobId} is CANCELLED: it cannot be assigned`);
    });

    it('refuses anything on a job that does not exist', () => {
      spec.given([]).when(assign()).thenThrows(NotFoundError, `job ${jobId} does not exist`);
      spec.given([]).when(reportStarted()).thenThrows(NotFoundError);
      spec.given([]).when({ type: 'CancelJob', jobId, reason: 'x', at: t1 }).thenThrows(NotFoundError);
    });
  });

  describe('reports from agents', () => {
    it('records the start from the holder once; a different pid is refused', () => {
      spec.given([queued, assigned(1)]).when(reportStarted()).then([started()]);
      spec.given([queued, assigned(1), started()]).when(reportStarted()).thenNothingHappens();
      spec.given([queued, assigned(1), started()]).when({ ...reportStarted(), pid: 7 } as JobCommand).thenThrows(ConflictError, `job ${jobId} already started with pid 4242`);
    });

    it('records each end state from the holder', () => {
      spec.given([queued, assigned(1), started()]).when(finish('SUCCEEDED')).then([succeeded]);
      spec
        .given([queued, assigned(1), started()])
        .when(finish('FAILED', { exitCode: 137, signal: 'SIGKILL' }))
        .then([{ type: 'scheduler.JobFailed.v1', data: { jobId, agentId: agentA, fencingToken: 1, exitCode: 137, signal: 'SIGKILL', durationMs: 60_000, reason: 'killed by SIGKILL', endedAt: t3 } }]);
      spec
        .given([queued, assigned(1), started()])
        .when(finish('FAILED', { exitCode: 2, reason: 'CUDA out of memory' }))
        .then([{ type: 'scheduler.JobFailed.v1', data: { jobId, agentId: agentA, fencingToken: 1, exitCode: 2, signal: null, durationMs: 60_000, reason: 'CUDA out of memory', endedAt: t3 } }]);
      spec
        .given([queued, assigned(1), started()])
        .when(finish('TIMED_OUT', { signal: 'SIGKILL' }))
        .then([
          {
            type: 'scheduler.JobTimedOut.v1',
            data: { jobId, agentId: agentA, fencingToken: 1, exitCode: null, signal: 'SIGKILL', durationMs: 60_000, timeoutSeconds: 3_600, reason: 'ran past 3600 s and was stopped', endedAt: t3 },
          },
        ]);
    });

    it('takes a repeated end report as done, and refuses one that contradicts the recorded end', () => {
      spec.given([queued, assigned(1), started(), succeeded]).when(finish('SUCCEEDED')).thenNothingHappens();
      spec.given([queued, assigned(1), started(), succeeded]).when(finish('FAILED', { exitCode: 1 })).thenThrows(ConflictError, `job ${jobId} has already ended (SUCCEEDED): the report of FAILED is refused`);
      spec.given([queued, assigned(1), started(), succeeded]).when(reportStarted()).thenNothingHappens();
    });

    it('refuses a report with a stale token with a record of what was reported, the stale and the current token', () => {
      const notBefore = '2026-11-22T10:02:05.000Z';
      const history = [queued, assigned(1), lost(1), requeued(2, notBefore), assigned(2, 2, t3, agentB), started(2, agentB)];
      const refused: StaleReportRefused = {
        type: 'scheduler.StaleReportRefused.v1',
        data: {
          jobId,
          agentId: agentA,
          staleToken: 1,
          currentToken: 2,
          currentAgentId: agentB,
          reported: { kind: 'FINISHED', outcome: 'SUCCEEDED', exitCode: 0, signal: null },
          reason: `token 1 is stale: job ${jobId} is held by agent ${agentB} with token 2`,
          refusedAt: t3,
        },
      };
      spec.given(history).when(finish('SUCCEEDED')).then([refused]);
      // The refusal changes nothing but the count: the job still runs on agent B.
      const after = fold([...history, refused]);
      expect(after).toMatchObject({ status: 'RUNNING', agentId: agentB, fencingToken: 2, staleReportsRefused: 1 });
      expect(staleReportError(refused)).toBeInstanceOf(ConflictError);
      expect(staleReportError(refused).message).toBe(`report from agent ${agentA} on job ${jobId} refused: token 1 is stale: job ${jobId} is held by agent ${agentB} with token 2`);
    });

    it('records log lines and heartbeats under a stale token, and nothing for the holder', () => {
      const notBefore = '2026-11-22T10:02:05.000Z';
      const history = [queued, assigned(1), lost(1), requeued(2, notBefore), assigned(2, 2, t3, agentB), started(2, agentB)];
      const record = (agentId: string, fencingToken: number, reported: { kind: 'LOGS'; lines: number } | { kind: 'HEARTBEAT' }): JobCommand => ({ type: 'RecordStaleReport', jobId, agentId, fencingToken, reported, at: t3 });
      spec
        .given(history)
        .when(record(agentA, 1, { kind: 'LOGS', lines: 12 }))
        .then([
          {
            type: 'scheduler.StaleReportRefused.v1',
            data: { jobId, agentId: agentA, staleToken: 1, currentToken: 2, currentAgentId: agentB, reported: { kind: 'LOGS', lines: 12 }, reason: `token 1 is stale: job ${jobId} is held by agent ${agentB} with token 2`, refusedAt: t3 },
          },
        ]);
      spec.given(history).when(record(agentB, 2, { kind: 'HEARTBEAT' })).thenNothingHappens();
    });

    it('refuses a revoked token while the job waits to be placed again, a foreign agent, and a token never issued', () => {
      const notBefore = '2026-11-22T10:02:05.000Z';
      spec
        .given([queued, assigned(1), lost(1), requeued(2, notBefore)])
        .when(reportStarted(1))
        .then([
          {
            type: 'scheduler.StaleReportRefused.v1',
            data: {
              jobId,
              agentId: agentA,
              staleToken: 1,
              currentToken: null,
              currentAgentId: null,
              reported: { kind: 'STARTED', pid: 4242 },
              reason: `token 1 was revoked: job ${jobId} was lost and is queued again for attempt 2`,
              refusedAt: t2,
            },
          },
        ]);
      expect(checkFencing(fold([queued, assigned(1)]), agentB, 1)).toBe(`token 1 of job ${jobId} belongs to agent ${agentA}, not to agent ${agentB}`);
      expect(checkFencing(fold([queued, assigned(1)]), agentA, 9)).toBe(`token 9 was never issued for job ${jobId} (the latest is 1)`);
      expect(checkFencing(fold([queued]), agentA, 1)).toBe(`token 1 was never issued for job ${jobId} (the latest is none)`);
      expect(checkFencing(fold([queued, assigned(1)]), agentA, 1)).toBeNull();
    });

    it('tells a heartbeat what to do with each job: keep, cancel, abandon', () => {
      expect(agentInstruction(fold([queued, assigned(1), started()]), agentA, 1)).toEqual({ kind: 'KEEP' });
      expect(agentInstruction(fold([queued, assigned(1), started(), cancelRequested]), agentA, 1)).toEqual({ kind: 'CANCEL', reason: 'wrong dataset', graceSeconds: 10 });
      expect(agentInstruction(fold([queued, assigned(1), started()]), agentB, 1)).toMatchObject({ kind: 'ABANDON' });
      expect(agentInstruction(fold([queued, assigned(1), started(), succeeded]), agentA, 1)).toEqual({ kind: 'ABANDON', reason: 'the job has already ended (SUCCEEDED)' });
    });
  });

  describe('cancel', () => {
    const cancelJob: JobCommand = { type: 'CancelJob', jobId, reason: 'wrong dataset', at: t2 };

    it('cancels a queued job at once: it never starts', () => {
      spec
        .given([queued])
        .when(cancelJob)
        .then([
          {
            type: 'scheduler.JobCancelled.v1',
            data: { jobId, agentId: null, fencingToken: null, exitCode: null, signal: null, durationMs: null, reason: 'wrong dataset', neverStarted: true, endedAt: t2 },
          },
        ]);
    });

    it('asks the agent to stop an assigned or running job, once', () => {
      spec.given([queued, assigned(1)]).when(cancelJob).then([cancelRequested]);
      spec.given([queued, assigned(1), started()]).when(cancelJob).then([cancelRequested]);
      spec.given([queued, assigned(1), started(), cancelRequested]).when(cancelJob).thenNothingHappens();
    });

    it('records the cancel when the agent confirms the process group is gone, or that it never started it', () => {
      spec
        .given([queued, assigned(1), started(), cancelRequested])
        .when(finish('CANCELLED', { signal: 'SIGTERM' }))
        .then([
          {
            type: 'scheduler.JobCancelled.v1',
            data: { jobId, agentId: agentA, fencingToken: 1, exitCode: null, signal: 'SIGTERM', durationMs: 60_000, reason: 'wrong dataset', neverStarted: false, endedAt: t3 },
          },
        ]);
      spec
        .given([queued, assigned(1), cancelRequested])
        .when(finish('CANCELLED', { durationMs: null }))
        .then([
          {
            type: 'scheduler.JobCancelled.v1',
            data: { jobId, agentId: agentA, fencingToken: 1, exitCode: null, signal: null, durationMs: null, reason: 'wrong dataset', neverStarted: true, endedAt: t3 },
          },
        ]);
    });

    it('lets a job that finished before the kill keep its real end', () => {
      spec.given([queued, assigned(1), started(), cancelRequested]).when(finish('SUCCEEDED')).then([succeeded]);
    });

    it('refuses to cancel a finished job, naming its end state; a cancelled one is already cancelled', () => {
      spec.given([queued, assigned(1), started(), succeeded]).when(cancelJob).thenThrows(ConflictError, `job ${jobId} has already ended (SUCCEEDED): it cannot be cancelled`);
      const timedOut: JobEvent = {
        type: 'scheduler.JobTimedOut.v1',
        data: { jobId, agentId: agentA, fencingToken: 1, exitCode: null, signal: 'SIGKILL', durationMs: 1, timeoutSeconds: 3_600, reason: 'x', endedAt: t3 },
      };
      spec.given([queued, assigned(1), started(), timedOut]).when(cancelJob).thenThrows(ConflictError, /already ended \(TIMED_OUT\)/);
      const cancelled = jobDecider.decide(cancelJob, fold([queued]));
      spec.given([queued, ...cancelled]).when(cancelJob).thenNothingHappens();
    });
  });

  describe('loss, requeue and retries', () => {
    it('requeues a lost job with backoff 5 s * 2^(losses-1)', () => {
      spec.given([queued, assigned(1), started()]).when(markLost()).then([lost(1), requeued(2, '2026-11-22T10:02:05.000Z')]);
      const second = [queued, assigned(1), lost(1), requeued(2, '2026-11-22T10:02:05.000Z'), assigned(2, 2, t3, agentB)];
      spec
        .given(second)
        .when(markLost(2, agentB, t3))
        .then([lost(2, 2, agentB, t3), requeued(3, '2026-11-22T10:03:10.000Z', t3, 'attempt 2 lost: no heartbeat for 30 s')]);
    });

    it('fails the job once it was lost more than maxRetries times, saying how often', () => {
      const history = [
        queued,
        assigned(1),
        lost(1),
        requeued(2, '2026-11-22T10:02:05.000Z'),
        assigned(2, 2, t3, agentB),
        lost(2, 2, agentB, t3),
        requeued(3, '2026-11-22T10:03:10.000Z', t3),
        assigned(3, 3, '2026-11-22T10:04:00.000Z', agentA),
      ];
      const at = '2026-11-22T10:05:00.000Z';
      spec
        .given(history)
        .when(markLost(3, agentA, at))
        .then([
          lost(3, 3, agentA, at),
          {
            type: 'scheduler.JobFailed.v1',
            data: { jobId, agentId: null, fencingToken: null, exitCode: null, signal: null, durationMs: null, reason: 'lost 3 times (maxRetries 2); last: no heartbeat for 30 s', endedAt: at },
          },
        ]);
      expect(fold([...history, ...jobDecider.decide(markLost(3, agentA, at), fold(history))])).toMatchObject({ status: 'FAILED', lostCount: 3, endedBy: null });
    });

    it('fails at the first loss with maxRetries 0', () => {
      const noRetries = { ...queued, data: { ...(queued.data as object), maxRetries: 0 } } as JobEvent;
      spec.given([noRetries, assigned(1)]).when(markLost()).then([lost(1), expect.objectContaining({ type: 'scheduler.JobFailed.v1', data: expect.objectContaining({ reason: 'lost once (maxRetries 0); last: no heartbeat for 30 s' }) })]);
    });

    it('cancels instead of requeuing when a cancel was pending', () => {
      spec
        .given([queued, assigned(1), started(), cancelRequested])
        .when(markLost(1, agentA, t3))
        .then([
          lost(1, 1, agentA, t3),
          {
            type: 'scheduler.JobCancelled.v1',
            data: { jobId, agentId: null, fencingToken: null, exitCode: null, signal: null, durationMs: null, reason: `wrong dataset (agent ${agentA} was lost before it confirmed the process had stopped)`, neverStarted: false, endedAt: t3 },
          },
        ]);
    });

    it('ignores a loss for a holder the job no longer has', () => {
      spec.given([queued]).when(markLost()).thenNothingHappens();
      spec.given([queued, assigned(1), started(), succeeded]).when(markLost()).thenNothingHappens();
      spec.given([queued, assigned(1), lost(1), requeued(2, '2026-11-22T10:02:05.000Z'), assigned(2, 2, t3, agentB)]).when(markLost(1)).thenNothingHappens();
    });

    it('treats a CANCELLED report nobody asked for as an interrupted attempt', () => {
      spec
        .given([queued, assigned(1), started()])
        .when(finish('CANCELLED', { signal: 'SIGTERM', reason: 'agent shutting down' }))
        .then([
          lost(1, 1, agentA, t3, `agent ${agentA} stopped the job without a cancel request: agent shutting down`),
          requeued(2, '2026-11-22T10:03:05.000Z', t3, `attempt 1 lost: agent ${agentA} stopped the job without a cancel request: agent shutting down`),
        ]);
    });

    it('never rests in LOST: the state after the pair is QUEUED with the next attempt', () => {
      expect(fold([queued, assigned(1), lost(1), requeued(2, '2026-11-22T10:02:05.000Z')])).toMatchObject({ status: 'QUEUED', attempt: 2, lostCount: 1, lastFencingToken: 1, notBefore: '2026-11-22T10:02:05.000Z' });
    });
  });

  describe('priority', () => {
    it('changes the priority of an open job; the same priority is nothing new; an ended job refuses', () => {
      spec.given([queued]).when({ type: 'ChangeJobPriority', jobId, priority: 9, at: t1 }).then([{ type: 'scheduler.JobPriorityChanged.v1', data: { jobId, priority: 9, previousPriority: 5, changedAt: t1 } }]);
      spec.given([queued]).when({ type: 'ChangeJobPriority', jobId, priority: 5, at: t1 }).thenNothingHappens();
      spec.given([queued, assigned(1), started(), succeeded]).when({ type: 'ChangeJobPriority', jobId, priority: 9, at: t3 }).thenThrows(ConflictError, /already ended \(SUCCEEDED\)/);
    });
  });

  it('decides events that fit their schemas in the event catalog', () => {
    const catalog = platformEventCatalog();
    const history = [queued, assigned(1), started(), cancelRequested, ...jobDecider.decide(finish('CANCELLED'), fold([queued, assigned(1), started(), cancelRequested]))];
    const more = [lost(1), requeued(2, '2026-11-22T10:02:05.000Z'), succeeded, ...jobDecider.decide(finish('SUCCEEDED', { agentId: agentB }), fold([queued, assigned(1)]))];
    for (const event of [...history, ...more]) expect(() => catalog.validate(event.type, event.data)).not.toThrow();
  });
});
