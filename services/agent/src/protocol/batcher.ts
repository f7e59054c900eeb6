import { randomUUID } from 'node:crypto';
import { MAX_METRIC_POINTS_PER_CALL, type MetricPointInput } from '@modeltrail/contracts';

/**
 * Gathers a run's metric points into LogMetrics calls.
 *
 * A call goes out when `maxPoints` points (or about `maxBatchBytes` of them) are waiting, or
 * `maxDelayMs` after the oldest waiting point arrived, whichever comes first. One call is in
 * flight at a time and points leave in the order they arrived, so the service stores them in
 * the order the job wrote them.
 *
 * Each batch has an id (`batchId`, the same on every attempt): the adapter sends it as the
 * call's Mt-Command-Id, so a retried batch the service already stored is not stored twice.
 * A call that fails is retried with the same points, first in line, after `retryDelayMs`
 * (doubling up to 10 s), up to `maxAttempts` attempts; then those points are dropped and
 * reported through `onDrop`. Memory is bounded: at most `maxBufferedPoints` wait; points that
 * arrive beyond that (the service is down, or slower than the job) are dropped and reported,
 * never reordered.
 */

export interface MetricBatcherOptions {
  /** Sends one batch (the experiments service's LogMetrics for the run); rejects on failure. */
  logMetrics: (points: MetricPointInput[], batch: MetricBatchInfo) => Promise<void>;
  /** Prefix of batch ids. Default: a random UUID per batcher. */
  batchIdPrefix?: string;
  /** Points per call. Default 1000; at most the contracts' MAX_METRIC_POINTS_PER_CALL. */
  maxPoints?: number;
  /** Rough size per call (JSON of the points), to stay well inside a NATS message. Default 256 KiB. */
  maxBatchBytes?: number;
  /** Longest a point waits before a call carries it (plus the time of calls before it). Default 1000 ms. */
  maxDelayMs?: number;
  /** Points that may wait; more are dropped. Default 100,000. */
  maxBufferedPoints?: number;
  /** Attempts per batch. Default 5. */
  maxAttempts?: number;
  /** Wait before the first retry; doubles up to 10 s. Default 500 ms. */
  retryDelayMs?: number;
  /** Points dropped, how many and why (buffer full, or a batch that failed every attempt). */
  onDrop?: (drop: { count: number; reason: string }) => void;
}

export interface MetricBatchInfo {
  /** `<prefix>-<n>`, n = 1, 2, ...: stable across the attempts of one batch. */
  batchId: string;
  /** 1 for the first attempt. */
  attempt: number;
}

export interface MetricBatcherStats {
  sentPoints: number;
  droppedPoints: number;
  calls: number;
  failedCalls: number;
  bufferedPoints: number;
}

const MAX_RETRY_DELAY_MS = 10_000;
/** Bytes a point adds to a call besides its key: value, step, timestamp and JSON punctuation. */
const POINT_OVERHEAD_BYTES = 80;

export class MetricBatcher {
  private readonly maxPoints: number;
  private readonly maxBatchBytes: number;
  private readonly maxDelayMs: number;
  private readonly maxBufferedPoints: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private queue: MetricPointInput[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Send everything waiting, even a partial batch (the delay passed, or a flush). */
  private due = false;
  private pumping: Promise<void> | null = null;
  private closed = false;
  private readonly counts = { sentPoints: 0, droppedPoints: 0, calls: 0, failedCalls: 0 };
  private readonly batchIdPrefix: string;
  private batches = 0;

  constructor(private readonly options: MetricBatcherOptions) {
    this.maxPoints = positiveInt('maxPoints', options.maxPoints ?? 1_000);
    if (this.maxPoints > MAX_METRIC_POINTS_PER_CALL) throw new Error(`maxPoints must be at most ${MAX_METRIC_POINTS_PER_CALL} (points per LogMetrics call)`);
    this.maxBatchBytes = positiveInt('maxBatchBytes', options.maxBatchBytes ?? 256 * 1024);
    this.maxDelayMs = nonNegative('maxDelayMs', options.maxDelayMs ?? 1_000);
    this.maxBufferedPoints = positiveInt('maxBufferedPoints', options.maxBufferedPoints ?? 100_000);
    this.maxAttempts = positiveInt('maxAttempts', options.maxAttempts ?? 5);
    this.retryDelayMs = nonNegative('retryDelayMs', options.retryDelayMs ?? 500);
    this.batchIdPrefix = options.batchIdPrefix ?? randomUUID();
  }

  /** Points waiting (including a batch in flight). */
  get buffered(): number {
    return this.queue.length - this.head;
  }

  stats(): MetricBatcherStats {
    return { ...this.counts, bufferedPoints: this.buffered };
  }

  /** Queues points (in order); never waits. Throws after `close`. */
  add(points: readonly MetricPointInput[]): void {
    if (this.closed) throw new Error('the metric batcher is closed');
    if (points.length === 0) return;
    const room = Math.max(0, this.maxBufferedPoints - this.buffered);
    const accepted = points.length <= room ? points : points.slice(0, room);
    for (const point of accepted) this.queue.push(point);
    if (accepted.length < points.length) this.drop(points.length - accepted.length, `more than ${this.maxBufferedPoints} points were waiting to be sent`);
    if (this.buffered >= this.maxPoints) this.pump();
    else if (this.timer === null && this.buffered > 0) this.armTimer();
  }

  /** Sends everything waiting now; resolves when it is sent (or dropped). */
  async flush(): Promise<void> {
    while (this.buffered > 0 || this.pumping !== null) {
      this.due = true;
      await this.pump();
    }
  }

  /** Flushes, then refuses further points. */
  async close(): Promise<MetricBatcherStats> {
    this.closed = true;
    await this.flush();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    return this.stats();
  }

  private armTimer(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.due = true;
      void this.pump();
    }, this.maxDelayMs);
  }

  private pump(): Promise<void> {
    if (this.pumping === null) {
      this.pumping = this.sendWhileReady().finally(() => {
        this.pumping = null;
        if (this.buffered >= this.maxPoints || (this.due && this.buffered > 0)) void this.pump();
        else if (this.buffered > 0 && this.timer === null) this.armTimer();
      });
    }
    return this.pumping;
  }

  private async sendWhileReady(): Promise<void> {
    while (this.buffered >= this.maxPoints || (this.due && this.buffered > 0)) {
      const count = this.nextBatchSize();
      const batch = this.queue.slice(this.head, this.head + count);
      if (count === this.buffered) {
        // This call empties the queue: points arriving from now on start a new delay.
        this.due = false;
        if (this.timer !== null) clearTimeout(this.timer);
        this.timer = null;
      }
      const sent = await this.send(batch);
      this.head += count;
      if (sent) this.counts.sentPoints += count;
      else this.drop(count, `LogMetrics failed ${this.maxAttempts} times`);
      this.compact();
    }
    this.due = false;
  }

  private nextBatchSize(): number {
    const end = Math.min(this.queue.length, this.head + this.maxPoints);
    let bytes = 0;
    let i = this.head;
    for (; i < end; i++) {
      bytes += this.queue[i].key.length + POINT_OVERHEAD_BYTES;
      if (bytes > this.maxBatchBytes && i > this.head) break;
    }
    return i - this.head;
  }

  private async send(batch: MetricPointInput[]): Promise<boolean> {
    let delay = this.retryDelayMs;
    this.batches += 1;
    const batchId = `${this.batchIdPrefix}-${this.batches}`;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      this.counts.calls += 1;
      try {
        await this.options.logMetrics(batch, { batchId, attempt });
        return true;
      } catch {
        this.counts.failedCalls += 1;
        if (attempt === this.maxAttempts) return false;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
    return false;
  }

  private drop(count: number, reason: string): void {
    this.counts.droppedPoints += count;
    this.options.onDrop?.({ count, reason });
  }

  private compact(): void {
    if (this.head > 4_096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a whole number of at least 1, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got ${value}`);
  return value;
}
