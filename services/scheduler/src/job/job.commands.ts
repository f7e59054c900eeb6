import { CommandHandler, type CommandContext, type HandleResult } from '@modeltrail/decider';
import type { EventStore } from '@modeltrail/eventstore';
import type { SchedulerSignals } from '../signals';
import type { JobStatusPublisher } from '../telemetry/job-status.publisher';
import { type JobCommand, jobDecider, type JobEvent, type JobState, jobStream } from './job.decider';

/** Job states kept for heartbeats and log appends (read again from the store when stale). */
const KEPT_STATES = 50_000;

/**
 * The one way the service changes a job: the command loop over the job's stream (every
 * handler, the placement loop, the liveness monitor and the reactor share it, and with it the
 * kept states), followed by what every change needs: a STATUS item on the job's telemetry, a
 * kick of placement when the queue or the free capacity changed, and a wake-up of the agent
 * when it has a cancel to act on.
 *
 * Heartbeats and log appends only read a job (`stateAt`): from the kept state when it is at
 * least as new as the revision the caller knows of (the read model's), else from the store.
 */
export class JobCommands {
  private readonly handler: CommandHandler<JobCommand, JobEvent, JobState>;
  private readonly states = new Map<string, { state: JobState; revision: number }>();

  constructor(
    private readonly store: EventStore,
    private readonly status: JobStatusPublisher,
    private readonly signals: SchedulerSignals,
  ) {
    this.handler = new CommandHandler(store, jobDecider, { cachedStreams: 10_000 });
  }

  async handle(jobId: string, command: JobCommand, context: CommandContext): Promise<HandleResult<JobState>> {
    const result = await this.handler.handle(jobStream(jobId), command, context);
    if (result.revision !== 'no_stream') this.keep(jobId, result.state, result.revision);
    if (result.events.length > 0) this.changed(result.events as unknown as JobEvent[], result);
    return result;
  }

  /** The job's state from the store. */
  async load(jobId: string): Promise<{ state: JobState; revision: number | 'no_stream' }> {
    const loaded = await this.handler.load(jobStream(jobId));
    if (loaded.revision !== 'no_stream') this.keep(jobId, loaded.state, loaded.revision);
    return loaded;
  }

  /**
   * The job's state at `minRevision` or later: the kept one when it is that new, else the kept
   * one caught up from the store (or the whole stream read). `fresh` reads the store always.
   */
  async stateAt(jobId: string, minRevision: number, fresh = false): Promise<JobState> {
    const kept = this.states.get(jobId);
    if (kept && kept.revision >= minRevision && !fresh) return kept.state;
    const events = await this.store.readStream(jobStream(jobId), kept ? { fromRevision: kept.revision + 1 } : {});
    let state = kept?.state ?? jobDecider.initialState();
    for (const event of events) state = jobDecider.evolve(state, { type: event.type, data: event.data } as JobEvent);
    const revision = events.length ? events[events.length - 1].revision : kept?.revision;
    if (revision !== undefined) this.keep(jobId, state, revision);
    return state;
  }

  private keep(jobId: string, state: JobState, revision: number): void {
    const kept = this.states.get(jobId);
    if (kept && kept.revision > revision) return;
    this.states.delete(jobId);
    this.states.set(jobId, { state, revision });
    if (this.states.size > KEPT_STATES) this.states.delete(this.states.keys().next().value!);
  }

  private changed(events: JobEvent[], result: HandleResult<JobState>): void {
    this.status.publish(result.events, result.state);
    let kick = false;
    for (const event of events) {
      switch (event.type) {
        case 'scheduler.JobQueued.v1':
        case 'scheduler.JobRequeued.v1':
        case 'scheduler.JobSucceeded.v1':
        case 'scheduler.JobFailed.v1':
        case 'scheduler.JobCancelled.v1':
        case 'scheduler.JobTimedOut.v1':
        case 'scheduler.JobLost.v1':
        case 'scheduler.JobPriorityChanged.v1':
          kick = true;
          break;
        case 'scheduler.JobCancelRequested.v1': {
          const state = result.state;
          if (state.status === 'ASSIGNED' || state.status === 'RUNNING') this.signals.wakeAgent(state.agentId);
          break;
        }
        default:
          break;
      }
    }
    if (kick) this.signals.kickPlacement();
  }
}
