import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  ConflictError,
  jobRefusalStream,
  type JobOutcome,
  type JobRefusalCode,
  type MessageHeaders,
  ModelTrailError,
  NotFoundError,
  parseWith,
  type RetrainRequestedV1,
  schedulerRpc,
  sweepStream,
  ValidationError,
} from '@modeltrail/contracts';
import { deterministicEventId } from '@modeltrail/decider';
import { type AllSubscription, type EventStore, PositionWatch, type RecordedEvent } from '@modeltrail/eventstore';
import { ident } from '@modeltrail/postgres';
import type { Clock } from '../clock';
import type { ExperimentsClient } from '../experiments.client';
import type { JobCommands } from '../job/job.commands';
import { startJobRun } from '../job/job-run';
import { submitJob } from '../job/job-submit';
import { type LeaderDuty, mapConcurrent } from '../leadership/leader-duty';
import { SCHEDULER_ACTOR } from '../placement/placement.loop';
import type { SweepCommands } from '../sweep/sweep.handlers';
import { trialJob } from '../sweep/sweep.decider';

const REACTOR_NAME = 'scheduler.reactor.v1';
const END_EVENTS: Record<string, JobOutcome> = {
  'scheduler.JobSucceeded.v1': 'SUCCEEDED',
  'scheduler.JobFailed.v1': 'FAILED',
  'scheduler.JobCancelled.v1': 'CANCELLED',
  'scheduler.JobTimedOut.v1': 'TIMED_OUT',
};
const RETRAIN_REQUESTED = 'monitoring.RetrainRequested.v1';
const HANDLED = new Set([...Object.keys(END_EVENTS), 'scheduler.SweepTrialQueued.v1', 'scheduler.SweepCancelled.v1', RETRAIN_REQUESTED]);
/** Events handled at once at most (different jobs and sweeps; one sweep's events go in order). */
const CONCURRENCY = 8;
const BATCH = 256;
/** The longest reason experiments' FailRun takes. */
const MAX_REASON = 4_000;

/**
 * The scheduler's reactions to its own events, on the leader, from a checkpoint
 * (`reactor_checkpoints`), so nothing is lost across crashes and changes of leader:
 *   - a job ended: its run is completed (SUCCEEDED) or failed (FAILED, TIMED_OUT, CANCELLED, and
 *     LOST for the last time, which ends as FAILED) through the experiments service, and, for a
 *     sweep's trial, the trial is recorded with the objective read from the run's latest metrics
 *     (the sweep then queues the next trial, or completes with its best one);
 *   - a sweep queued a trial: the trial's job is submitted (its run started first);
 *   - a sweep was cancelled: its open trial jobs are cancelled;
 *   - monitoring requested a retraining: its job is submitted as SubmitJob would (a new run of
 *     the template's experiment with its params and dataset versions), as the job id the
 *     request names, under the request's actor (the approver, or monitoring's own actor for an
 *     automatic retraining: the job says who asked for it, the causation says why), with the
 *     request as the JobQueued event's causation. A job that cannot be queued for good (the
 *     experiment or a dataset version is gone, the working directory is outside the allowed
 *     roots) is recorded as RetrainJobRefused, so the retraining's outcome is in the store for
 *     monitoring and the audit, and the reactor moves on.
 *
 * Every call carries an Mt-Command-Id derived from the event's id, so a reaction repeated
 * after a crash (the checkpoint moves after a batch is handled) changes nothing twice. A call
 * that fails for want of the other service is retried, backing off, until it succeeds; one the
 * other side refuses for good (the run already ended otherwise, it does not exist) is logged
 * and passed over: retrying would never change the answer.
 */
export class SchedulerReactor implements LeaderDuty {
  readonly name = 'reactor';
  private readonly logger = new Logger('Reactor');
  private readonly s: string;
  private subscription: AllSubscription | undefined;
  private running: Promise<void> | undefined;
  private active = false;
  private readonly pause = new Pauses();
  private readonly reached = new PositionWatch(() => 'the scheduler reactor');

  constructor(
    private readonly store: EventStore,
    private readonly pool: Pool,
    schema: string,
    private readonly jobs: JobCommands,
    private readonly sweeps: SweepCommands,
    private readonly experiments: ExperimentsClient,
    private readonly clock: Clock,
    private readonly retryMs: number,
    private readonly workingDirRoots: ReadonlyArray<string>,
  ) {
    this.s = ident(schema);
  }

  async start(): Promise<void> {
    const { rows } = await this.pool.query<{ position: string }>(`SELECT position FROM ${this.s}.reactor_checkpoints WHERE name = $1`, [REACTOR_NAME]);
    this.reached.set(rows.length ? Number(rows[0].position) : 0);
    this.lastSaved = this.reached.current;
    this.active = true;
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.active = false;
    this.pause.interrupt();
    await this.subscription?.close();
    await this.running;
    this.running = undefined;
  }

  /** The position up to which every reaction has been made. */
  get checkpoint(): number {
    return this.reached.current;
  }

  /** Resolves once the reactions to every event up to `position` are made (tests). */
  waitFor(position: number, timeoutMs = 10_000): Promise<void> {
    return this.reached.reach(position, timeoutMs);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.active) {
      const subscription = this.store.subscribeToAll({ fromPosition: this.reached.current });
      this.subscription = subscription;
      try {
        for await (const batch of subscription.batches({ maxSize: BATCH })) {
          if (!this.active) break;
          const events = batch.filter((e) => HANDLED.has(e.type));
          if (events.length > 0) await this.react(events);
          if (!this.active) break;
          await this.advance(batch[batch.length - 1].position, events.length > 0);
          failures = 0;
        }
      } catch (error) {
        if (!this.active) break;
        failures += 1;
        this.logger.error(`reactor failed, retrying: ${error instanceof Error ? error.message : String(error)}`);
        await this.pause.wait(this.retryMs * 2 ** Math.min(failures - 1, 5));
      } finally {
        await subscription.close();
      }
    }
  }

  private lastSaved = 0;

  /** Moves the checkpoint; written when reactions were made (or every so often while only passing over events). */
  private async advance(position: number, reacted: boolean): Promise<void> {
    if (reacted || position - this.lastSaved > 5_000) {
      await this.pool.query(
        `INSERT INTO ${this.s}.reactor_checkpoints (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = GREATEST(${this.s}.reactor_checkpoints.position, EXCLUDED.position), updated_at = now()`,
        [REACTOR_NAME, position],
      );
      this.lastSaved = position;
    }
    this.reached.set(Math.max(position, this.reached.current));
  }

  /** Events of one sweep (or of one job) in order; different ones side by side. */
  private async react(events: ReadonlyArray<RecordedEvent>): Promise<void> {
    const groups = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      const data = event.data as { sweepId?: string; jobId?: string };
      const key = data.sweepId ?? event.stream;
      groups.set(key, [...(groups.get(key) ?? []), event]);
    }
    await mapConcurrent([...groups.values()], CONCURRENCY, async (group) => {
      for (const event of group) await this.reactTo(event);
    });
  }

  /** One reaction, retried until it is made or refused for good (or the reactor stops). */
  private async reactTo(event: RecordedEvent): Promise<void> {
    for (let failures = 0; this.active; failures++) {
      try {
        await this.handle(event);
        return;
      } catch (error) {
        if (isFinal(error)) {
          this.logger.warn(`${event.type} at ${event.position}: ${(error as Error).message}; passed over`);
          return;
        }
        if (failures === 0 || failures % 10 === 0) this.logger.warn(`${event.type} at ${event.position}: ${error instanceof Error ? error.message : String(error)}; retrying`);
        await this.pause.wait(this.retryMs * 2 ** Math.min(failures, 5));
      }
    }
  }

  private async handle(event: RecordedEvent): Promise<void> {
    const headers = (what: string): MessageHeaders => ({ actor: SCHEDULER_ACTOR, correlationId: event.metadata.correlationId, causationId: event.id, commandId: `${event.id}:${what}` });
    const outcome = END_EVENTS[event.type];
    if (outcome) return this.jobEnded(event as RecordedEvent<string, { jobId: string; reason?: string }>, outcome, headers);
    if (event.type === 'scheduler.SweepTrialQueued.v1') return this.trialQueued(event as RecordedEvent<string, { sweepId: string; trial: number; jobId: string; params: Record<string, string | number | boolean> }>, headers);
    if (event.type === 'scheduler.SweepCancelled.v1') return this.sweepCancelled(event as RecordedEvent<string, { sweepId: string; reason: string; openJobIds: string[] }>, headers);
    if (event.type === RETRAIN_REQUESTED) return this.retrainRequested(event as RecordedEvent<string, RetrainRequestedV1>);
  }

  /**
   * Queues a retraining's job once: a job that exists already (this request handled before a
   * crash, or the id taken otherwise) or a refusal already recorded ends it here; the submit's
   * command id comes from the request, so a repeat of it appends nothing either.
   */
  private async retrainRequested(event: RecordedEvent<string, RetrainRequestedV1>): Promise<void> {
    const { retrainId, job } = event.data;
    const existing = await this.jobs.load(job.jobId);
    if (existing.state.status !== 'None') return;
    if ((await this.store.streamRevision(jobRefusalStream(job.jobId))) !== 'no_stream') return;
    const headers: MessageHeaders = { actor: event.metadata.actor, correlationId: event.metadata.correlationId, causationId: event.id, commandId: `${event.id}:retrain-job` };
    const at = this.clock.now();
    try {
      const { jobId: _jobId, ...template } = job;
      const request = parseWith(schedulerRpc.submitJob.request, template, `the job of retraining ${retrainId}`);
      await submitJob({ jobs: this.jobs, experiments: this.experiments, workingDirRoots: this.workingDirRoots }, job.jobId, request, headers, at);
    } catch (error) {
      if (!isFinal(error)) throw error;
      // Queued meanwhile by another request naming the same job (handled side by side): not refused.
      if ((await this.jobs.load(job.jobId)).state.status !== 'None') return;
      const reason = `the job of retraining ${retrainId} cannot be queued: ${(error as Error).message}`;
      this.logger.warn(`${reason} (job ${job.jobId})`);
      const stream = jobRefusalStream(job.jobId);
      // A final error carries one of the refusal codes (see isFinal).
      const code = (error as ModelTrailError).code as JobRefusalCode;
      await this.store.append(
        stream,
        [
          {
            id: deterministicEventId(headers.commandId!, stream, 0),
            type: 'scheduler.RetrainJobRefused.v1',
            data: { jobId: job.jobId, retrainId, experimentId: job.experimentId, code, reason: clip(reason), refusedAt: at },
            metadata: { actor: SCHEDULER_ACTOR, correlationId: headers.correlationId, causationId: event.id },
          },
        ],
        { expectedRevision: 'no_stream' },
      );
    }
  }

  private async jobEnded(event: RecordedEvent<string, { jobId: string; reason?: string }>, outcome: JobOutcome, headers: (what: string) => MessageHeaders): Promise<void> {
    // The job as of its end (kept on the leader, which usually appended it; else read).
    const job = await this.jobs.stateAt(event.data.jobId, event.revision);
    if (job.status === 'None') return;
    try {
      if (outcome === 'SUCCEEDED') await this.experiments.completeRun({ runId: job.runId }, headers('complete-run'));
      else {
        const reason = `job ${job.jobId} ${outcome.replace('_', ' ').toLowerCase()}: ${event.data.reason ?? 'no reason given'}`;
        await this.experiments.failRun({ runId: job.runId, reason: clip(reason) }, headers('fail-run'));
      }
    } catch (error) {
      // Already ended otherwise, or gone: the job's end is recorded all the same.
      if (!isFinal(error)) throw error;
      this.logger.warn(`run ${job.runId} of job ${job.jobId} not closed: ${(error as Error).message}`);
    }
    if (!job.sweep) return;
    const { state: sweep } = await this.sweeps.load(sweepStream(job.sweep.sweepId));
    if (sweep.status === 'None') return;
    let objectiveValue: number | null = null;
    if (outcome === 'SUCCEEDED') {
      const { items } = await this.experiments.getRuns({ runIds: [job.runId] }, headers('objective'));
      const metric = items[0]?.latestMetrics.find((m) => m.key === sweep.objective.metric);
      objectiveValue = metric ? metric.value : null;
    }
    await this.sweeps.handle(
      sweepStream(job.sweep.sweepId),
      { type: 'RecordTrialFinished', sweepId: job.sweep.sweepId, trial: job.sweep.trial, jobId: job.jobId, runId: job.runId, outcome, objectiveValue, at: this.clock.now() },
      context(headers('trial-finished')),
    );
  }

  private async trialQueued(event: RecordedEvent<string, { sweepId: string; trial: number; jobId: string; params: Record<string, string | number | boolean> }>, headers: (what: string) => MessageHeaders): Promise<void> {
    const { sweepId, trial, jobId, params } = event.data;
    const { state: sweep } = await this.sweeps.load(sweepStream(sweepId));
    if (sweep.status !== 'RUNNING') return; // cancelled before its job was submitted
    const existing = await this.jobs.load(jobId);
    if (existing.state.status !== 'None') return;
    const at = this.clock.now();
    const command = trialJob(sweep, { trial, jobId, params }, at);
    if (command.run.kind !== 'NEW') return;
    const run = command.run;
    try {
      const started = await startJobRun(this.experiments, { jobId, runId: run.runId, experimentId: run.experimentId, params: run.params, datasetVersions: run.datasetVersions, sweepId }, headers('start-run'));
      await this.jobs.handle(jobId, { ...command, run: { ...run, experiment: { projectId: started.projectId } } }, context(headers('submit')));
    } catch (error) {
      if (!isFinal(error)) throw error;
      // The trial cannot run (its experiment or a dataset version is gone): recorded as failed, so the sweep goes on.
      this.logger.warn(`trial ${trial} of sweep ${sweepId} cannot be queued: ${(error as Error).message}`);
      await this.sweeps.handle(sweepStream(sweepId), { type: 'RecordTrialFinished', sweepId, trial, jobId, runId: run.runId, outcome: 'FAILED', objectiveValue: null, at }, context(headers('trial-refused')));
    }
  }

  private async sweepCancelled(event: RecordedEvent<string, { sweepId: string; reason: string; openJobIds: string[] }>, headers: (what: string) => MessageHeaders): Promise<void> {
    const at = this.clock.now();
    for (const jobId of event.data.openJobIds) {
      try {
        await this.jobs.handle(jobId, { type: 'CancelJob', jobId, reason: `sweep ${event.data.sweepId} cancelled: ${event.data.reason}`, at }, context(headers(`cancel:${jobId}`)));
      } catch (error) {
        if (!isFinal(error)) throw error;
      }
    }
  }
}

/** Pauses between retries that `interrupt()` ends at once, all of them (several reactions may be backing off). */
class Pauses {
  private readonly wakes = new Set<() => void>();

  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakes.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakes.add(done);
    });
  }

  interrupt(): void {
    for (const wake of [...this.wakes]) wake();
  }
}

function context(headers: MessageHeaders) {
  return { actor: headers.actor, correlationId: headers.correlationId, causationId: headers.causationId ?? null, commandId: headers.commandId };
}

function clip(reason: string): string {
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
}

/** A refusal that retrying cannot change. */
function isFinal(error: unknown): boolean {
  return error instanceof ConflictError || error instanceof NotFoundError || error instanceof ValidationError || (error instanceof ModelTrailError && error.code === 'FORBIDDEN');
}
