import { Logger } from '@nestjs/common';
import { type BusJetStream, DEFAULT_JOB_TELEMETRY_PREFIX, type MessageBus, ensureTelemetryStream, publishJobTelemetry } from '@modeltrail/messaging';
import { type JobProgressItem, type JobStatus, withNamespace } from '@modeltrail/contracts';
import type { RecordedEvent } from '@modeltrail/eventstore';
import type { JobEvent, JobState } from '../job/job.decider';

type StatusItem = Extract<JobProgressItem, { kind: 'STATUS' }>;

/**
 * Publishes a STATUS item on a job's telemetry subject after every state change the scheduler
 * appends (queued, assigned, started, cancel requested, ended, lost, requeued), so a live view
 * follows a job without polling. `seq` is the event's revision in the job's stream: the
 * scheduler's own numbering of the job's status changes.
 *
 * Publishing does not hold up the command: one connection sends messages in order and
 * JetStream stores them in that order, so the acks are awaited in the background (a failed
 * publish is logged; the event store stays the record).
 */
export class JobStatusPublisher {
  private readonly logger = new Logger('JobStatus');
  private readonly js: BusJetStream;
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    nc: MessageBus,
    private readonly prefix: string,
  ) {
    this.js = nc.jetstream();
  }

  /** Creates the telemetry stream when it is missing (every publisher does at start). */
  static async create(nc: MessageBus, streamName: string, namespace: string | undefined, replicas?: number): Promise<JobStatusPublisher> {
    const prefix = withNamespace(namespace, DEFAULT_JOB_TELEMETRY_PREFIX);
    await ensureTelemetryStream(await nc.jetstreamManager(), { streamName, subjectPrefix: prefix, replicas });
    return new JobStatusPublisher(nc, prefix);
  }

  /** STATUS items for the job events just appended (`state`: the job after all of them). */
  publish(events: ReadonlyArray<RecordedEvent>, state: JobState): void {
    if (events.length === 0 || state.status === 'None') return;
    const items = events.flatMap((event) => statusItems(event as RecordedEvent & JobEvent, state));
    if (items.length === 0) return;
    const sent = publishJobTelemetry(this.js, this.prefix, state.jobId, 'status', items).catch((error: unknown) =>
      this.logger.warn(`status of job ${state.jobId} not published: ${error instanceof Error ? error.message : String(error)}`),
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  /** Waits for the publishes in flight (shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}

/** The STATUS item an appended job event stands for (none for a priority change or a refused report). */
export function statusItems(event: { type: string; data: unknown; revision: number; metadata: { occurredAt: string } } & JobEvent, state: Exclude<JobState, { status: 'None' }>): StatusItem[] {
  const item = (status: JobStatus, attempt: number, agentId: string | null, at: string, exitCode: number | null = null, reason: string | null = null): StatusItem[] => [
    { kind: 'STATUS', seq: event.revision, at, status, attempt, agentId, exitCode, reason },
  ];
  const holder = state.status === 'ASSIGNED' || state.status === 'RUNNING' ? state.agentId : null;
  switch (event.type) {
    case 'scheduler.JobQueued.v1':
      return item('QUEUED', 1, null, event.data.queuedAt);
    case 'scheduler.JobAssigned.v1':
      return item('ASSIGNED', event.data.attempt, event.data.agentId, event.data.assignedAt);
    case 'scheduler.JobStarted.v1':
      return item('RUNNING', state.attempt, event.data.agentId, event.data.startedAt);
    case 'scheduler.JobCancelRequested.v1':
      return item(state.status === 'RUNNING' ? 'RUNNING' : 'ASSIGNED', state.attempt, holder, event.data.requestedAt, null, `cancel requested: ${event.data.reason}`);
    case 'scheduler.JobSucceeded.v1':
      return item('SUCCEEDED', state.attempt, event.data.agentId, event.data.endedAt, event.data.exitCode);
    case 'scheduler.JobFailed.v1':
      return item('FAILED', state.attempt, event.data.agentId, event.data.endedAt, event.data.exitCode, event.data.reason);
    case 'scheduler.JobCancelled.v1':
      return item('CANCELLED', state.attempt, event.data.agentId, event.data.endedAt, event.data.exitCode, event.data.reason);
    case 'scheduler.JobTimedOut.v1':
      return item('TIMED_OUT', state.attempt, event.data.agentId, event.data.endedAt, event.data.exitCode, event.data.reason);
    case 'scheduler.JobLost.v1':
      return item('LOST', event.data.attempt, event.data.agentId, event.data.lostAt, null, event.data.reason);
    case 'scheduler.JobRequeued.v1':
      return item('QUEUED', event.data.attempt, null, event.data.requeuedAt, null, event.data.reason);
    case 'scheduler.JobPriorityChanged.v1':
    case 'scheduler.StaleReportRefused.v1':
      return [];
    default: {
      const unknown: never = event;
      throw new Error(`unknown job event ${(unknown as JobEvent).type}`);
    }
  }
}
