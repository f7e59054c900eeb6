import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { JOB_TELEMETRY_ITEM_KIND, JobProgressItem as JobProgressContract, JobTelemetryMessage, UnavailableError, withNamespace } from '@modeltrail/contracts';
import { decodeJson, DEFAULT_JOB_TELEMETRY_PREFIX, followJobTelemetry, isJetStreamNotFound, type JobTelemetryKind } from '@modeltrail/messaging';
import { GATEWAY_NATS } from '../experiments/run-telemetry';
import { type JobProgressItem, type JobStatusChange, toProgressItem } from './scheduler.types';

/** The most items a jobProgress subscriber may ask to replay. */
export const MAX_REPLAY_LAST = 10_000;

/** Whether a status change goes to a subscriber (may look the job up). */
export type StatusChangeFilter = (change: JobStatusChange) => boolean | Promise<boolean>;

/**
 * Live progress of training jobs, read from the telemetry stream (`config.telemetryStream`,
 * subjects `<namespace>.mt.telemetry.job.<jobId>.<metrics|logs|status>`), which the scheduler
 * (status changes) and the agents (log lines, metric points) publish to.
 */
@Injectable()
export class JobTelemetry {
  private readonly logger = new Logger(JobTelemetry.name);

  constructor(
    @Inject(GATEWAY_NATS) private readonly nc: NatsConnection,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get prefix(): string {
    return withNamespace(this.config.natsNamespace, DEFAULT_JOB_TELEMETRY_PREFIX);
  }

  /**
   * A job's items in the stream's order: the last `replayLast` stored before the call, then live
   * ones. The consumer exists when this resolves; `return()` stops it.
   */
  async follow(jobId: string, replayLast: number): Promise<AsyncIterableIterator<JobProgressItem>> {
    const streamName = this.config.telemetryStream;
    let items: AsyncIterableIterator<{ seq: number; item: JobProgressContract }>;
    try {
      items = await followJobTelemetry(this.nc, {
        streamName,
        subjectPrefix: this.prefix,
        jobId,
        replayLast,
        decode: (raw, kind) => this.decodeItem(jobId, raw, kind),
      });
    } catch (error) {
      if (isJetStreamNotFound(error)) {
        throw new UnavailableError(`job telemetry is unavailable: the stream ${streamName} does not exist (the scheduler creates it when it starts)`, { stream: streamName });
      }
      throw error;
    }
    return new MappedStream(items, ({ item }) => toProgressItem(jobId, item));
  }

  /**
   * State changes of every job (or of one), as the scheduler publishes them: a core NATS
   * subscription on `<prefix>.*.status` (core subscribers receive what JetStream stores, too),
   * live only. Subscribed when this resolves; `return()` unsubscribes.
   */
  async statusChanges(jobId: string | null, filter: StatusChangeFilter): Promise<JobStatusStream> {
    const subscription = this.nc.subscribe(`${this.prefix}.${jobId ?? '*'}.status`);
    await this.nc.flush();
    return new JobStatusStream(subscription, filter, this.logger);
  }

  private decodeItem(jobId: string, raw: unknown, kind: JobTelemetryKind): { seq: number; item: JobProgressContract } | null {
    const parsed = JobProgressContract.safeParse(raw);
    if (!parsed.success || parsed.data.kind !== JOB_TELEMETRY_ITEM_KIND[kind]) {
      this.logger.warn(`skipped a malformed ${kind} item of job ${jobId}`);
      return null;
    }
    return { seq: parsed.data.seq, item: parsed.data };
  }
}

/**
 * Another stream's items in batches: each batch is the next item and every item already waiting
 * behind it (a telemetry message's worth, or more when the subscriber is behind), at most `max`.
 * A subscriber of a fast job then gets one message per stored batch instead of one per point.
 */
export class BatchingStream<T> implements AsyncIterableIterator<T[]> {
  private pending: Promise<IteratorResult<T>> | null = null;

  constructor(
    private readonly source: AsyncIterableIterator<T>,
    private readonly max: number,
  ) {}

  async next(): Promise<IteratorResult<T[]>> {
    const first = await this.take();
    if (first.done) return { done: true, value: undefined };
    const batch = [first.value];
    while (batch.length < this.max) {
      // An item already waiting resolves before a macrotask does; anything slower waits for the next batch.
      const next = this.take();
      const ready = await Promise.race([next.then((r) => ({ r })), new Promise<null>((resolve) => setImmediate(() => resolve(null)))]);
      if (ready === null) {
        this.pending = next;
        break;
      }
      if (ready.r.done) {
        this.pending = Promise.resolve(ready.r);
        break;
      }
      batch.push(ready.r.value);
    }
    return { done: false, value: batch };
  }

  async return(): Promise<IteratorResult<T[]>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<T[]>> {
    await this.source.return?.();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T[]> {
    return this;
  }

  private take(): Promise<IteratorResult<T>> {
    const pending = this.pending;
    this.pending = null;
    return pending ?? this.source.next();
  }
}

/** Another stream's items, mapped; ending it ends the source. */
class MappedStream<S, T> implements AsyncIterableIterator<T> {
  constructor(
    private readonly source: AsyncIterableIterator<S>,
    private readonly map: (item: S) => T,
  ) {}

  async next(): Promise<IteratorResult<T>> {
    const next = await this.source.next();
    return next.done ? { done: true, value: undefined } : { done: false, value: this.map(next.value) };
  }

  async return(): Promise<IteratorResult<T>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<T>> {
    await this.source.return?.();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** Status changes in the order received, those the filter keeps; a malformed message is logged and skipped. */
export class JobStatusStream implements AsyncIterableIterator<JobStatusChange> {
  private readonly messages: AsyncIterator<Msg>;
  private readonly ready: JobStatusChange[] = [];

  constructor(
    private readonly subscription: Subscription,
    private readonly filter: StatusChangeFilter,
    private readonly logger: Logger,
  ) {
    this.messages = subscription[Symbol.asyncIterator]();
  }

  async next(): Promise<IteratorResult<JobStatusChange>> {
    for (;;) {
      const change = this.ready.shift();
      if (change) {
        if (await this.filter(change)) return { done: false, value: change };
        continue;
      }
      const message = await this.messages.next();
      if (message.done) return { done: true, value: undefined };
      this.ready.push(...this.decode(message.value));
    }
  }

  /** The client went away (or the subscription ended): stop receiving from NATS at once. */
  async return(): Promise<IteratorResult<JobStatusChange>> {
    this.close();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<JobStatusChange>> {
    this.close();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<JobStatusChange> {
    return this;
  }

  private close(): void {
    this.ready.length = 0;
    if (!this.subscription.isClosed()) this.subscription.unsubscribe();
  }

  private decode(message: Msg): JobStatusChange[] {
    let body: unknown;
    try {
      body = decodeJson(message.data);
    } catch {
      body = undefined;
    }
    const parsed = JobTelemetryMessage.safeParse(body);
    const subjectJobId = message.subject.split('.').at(-2);
    if (!parsed.success || parsed.data.kind !== 'status' || parsed.data.jobId !== subjectJobId) {
      this.logger.warn(`skipped a malformed status message on ${message.subject}`);
      return [];
    }
    const changes: JobStatusChange[] = [];
    for (const item of parsed.data.items) if (item.kind === 'STATUS') changes.push(toProgressItem(parsed.data.jobId, item) as JobStatusChange);
    return changes;
  }
}
