import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Msg, Subscription } from 'nats';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { JOB_TELEMETRY_ITEM_KIND, JobProgressItem as JobProgressContract, JobTelemetryMessage, UnavailableError, withNamespace } from '@modeltrail/contracts';
import { type BufferedIterator, decodeJson, DEFAULT_JOB_TELEMETRY_PREFIX, followJobTelemetry, isJetStreamNotFound, type JobTelemetryKind, type MessageBus } from '@modeltrail/messaging';
import { GATEWAY_NATS } from '../experiments/run-telemetry';
import { Follower } from '../common/follower';
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
    @Inject(GATEWAY_NATS) private readonly nc: MessageBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get prefix(): string {
    return withNamespace(this.config.natsNamespace, DEFAULT_JOB_TELEMETRY_PREFIX);
  }

  /**
   * A job's items in the stream's order: the last `replayLast` stored before the call, then live
   * ones. The consumer exists when this resolves; `return()` stops it.
   */
  async follow(jobId: string, replayLast: number): Promise<AsyncIterableIterator<JobProgressItem> & BufferedIterator<JobProgressItem>> {
    if (replayLast === 0) return this.followLive(jobId);
    return new MappedStream(await this.consume(jobId, replayLast), ({ item }) => toProgressItem(jobId, item));
  }

  /** Live followers of a job share one consumer (a popular job's chart is one read, not one per viewer). */
  private readonly feeds = new Map<string, Promise<LiveFeed<JobProgressItem>>>();

  private async followLive(jobId: string): Promise<Follower<JobProgressItem>> {
    for (;;) {
      let feed = this.feeds.get(jobId);
      if (!feed) {
        feed = this.consume(jobId, 0).then((items) => new LiveFeed(new MappedStream(items, ({ item }) => toProgressItem(jobId, item)), () => this.feeds.delete(jobId)));
        this.feeds.set(jobId, feed);
        feed.catch(() => this.feeds.delete(jobId));
      }
      const follower = (await feed).follow();
      // A feed whose last follower just left is closing: start a new one.
      if (follower) return follower;
      if (this.feeds.get(jobId) === feed) this.feeds.delete(jobId);
    }
  }

  private async consume(jobId: string, replayLast: number): Promise<AsyncIterableIterator<{ seq: number; item: JobProgressContract }> & BufferedIterator<{ seq: number; item: JobProgressContract }>> {
    const streamName = this.config.telemetryStream;
    try {
      return await followJobTelemetry(this.nc, {
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
  constructor(
    private readonly source: AsyncIterableIterator<T> & BufferedIterator<T>,
    private readonly max: number,
  ) {}

  async next(): Promise<IteratorResult<T[]>> {
    const first = await this.source.next();
    if (first.done) return { done: true, value: undefined };
    return { done: false, value: [first.value, ...this.source.takeBuffered(this.max - 1)] };
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
}

/** Items a follower of a shared feed may have waiting before it is dropped as too slow. */
const MAX_FOLLOWER_BACKLOG = 200_000;

/**
 * One source read once and handed to every follower, each with its own queue. A follower that
 * falls `MAX_FOLLOWER_BACKLOG` items behind is ended with an error (it would hold memory for
 * ever); when the last follower leaves, the source is stopped.
 */
class LiveFeed<T> {
  private readonly followers = new Set<Follower<T>>();
  private closed = false;

  constructor(
    private readonly source: AsyncIterableIterator<T> & BufferedIterator<T>,
    private readonly onClose: () => void,
  ) {
    void this.pump();
  }

  /** A new follower, or null when the feed is closing. */
  follow(): Follower<T> | null {
    if (this.closed) return null;
    const follower = new Follower<T>(() => this.leave(follower));
    this.followers.add(follower);
    return follower;
  }

  private leave(follower: Follower<T>): void {
    this.followers.delete(follower);
    if (this.followers.size === 0) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    void this.source.return?.();
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const next = await this.source.next();
        if (next.done) break;
        // Everything already received goes out in one go, so a follower sees a message's items together.
        const items = [next.value, ...this.source.takeBuffered(Number.MAX_SAFE_INTEGER)];
        for (const follower of this.followers) {
          if (follower.backlog + items.length > MAX_FOLLOWER_BACKLOG) follower.fail(new UnavailableError(`this subscriber fell ${MAX_FOLLOWER_BACKLOG} items behind the job's progress; subscribe again`, {}));
          else for (const item of items) follower.push(item);
        }
      }
      for (const follower of this.followers) follower.end();
    } catch (error) {
      for (const follower of this.followers) follower.fail(error);
    } finally {
      this.close();
    }
  }
}

/** Another stream's items, mapped; ending it ends the source. */
class MappedStream<S, T> implements AsyncIterableIterator<T>, BufferedIterator<T> {
  constructor(
    private readonly source: AsyncIterableIterator<S> & BufferedIterator<S>,
    private readonly map: (item: S) => T,
  ) {}

  takeBuffered(max: number): T[] {
    return this.source.takeBuffered(max).map(this.map);
  }

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
