/**
 * Items sent in order, in batches, one batch in flight at a time: a job's log lines to the
 * scheduler, its telemetry items to JetStream.
 *
 * A batch goes out when `maxItems` items (or about `maxBytes`) wait, or `flushMs` after the
 * first waiting item arrived; while a batch is in flight, what arrives waits for the next one.
 * `send` does its own retrying: when it rejects, that batch is dropped and counted. At most
 * `maxBuffered` items wait; more are dropped (counted), never reordered.
 */

export interface SerialBatcherOptions<T> {
  send: (items: T[]) => Promise<void>;
  /** Rough bytes of an item on the wire. */
  sizeOf: (item: T) => number;
  maxItems: number;
  maxBytes: number;
  flushMs: number;
  maxBuffered: number;
  /** Items dropped and why (a batch whose send failed, or a full buffer). */
  onDrop?: (count: number, reason: string) => void;
}

export class SerialBatcher<T> {
  private queue: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private discarded = false;

  constructor(private readonly options: SerialBatcherOptions<T>) {}

  get buffered(): number {
    return this.queue.length;
  }

  add(item: T): void {
    if (this.discarded) return;
    if (this.queue.length >= this.options.maxBuffered) {
      this.options.onDrop?.(1, `more than ${this.options.maxBuffered} items were waiting to be sent`);
      return;
    }
    this.queue.push(item);
    if (this.queue.length >= this.options.maxItems) void this.pump();
    else if (this.timer === null && this.pumping === null) this.timer = setTimeout(() => void this.pump(), this.options.flushMs);
  }

  /** Sends everything waiting now; resolves once it is sent (or dropped). */
  async flush(): Promise<void> {
    while (!this.discarded && (this.queue.length > 0 || this.pumping !== null)) await this.pump();
  }

  /** Drops everything waiting and sends nothing more (a batch in flight still ends). */
  discard(): void {
    this.discarded = true;
    this.queue = [];
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private pump(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pumping === null) {
      this.pumping = this.drain().finally(() => {
        this.pumping = null;
        if (!this.discarded && this.queue.length > 0 && this.timer === null) this.timer = setTimeout(() => void this.pump(), this.options.flushMs);
      });
    }
    return this.pumping;
  }

  private async drain(): Promise<void> {
    while (!this.discarded && this.queue.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < this.queue.length && count < this.options.maxItems) {
        bytes += this.options.sizeOf(this.queue[count]);
        if (bytes > this.options.maxBytes && count > 0) break;
        count += 1;
      }
      const batch = this.queue.splice(0, count);
      try {
        await this.options.send(batch);
      } catch (error) {
        this.options.onDrop?.(batch.length, error instanceof Error ? error.message : String(error));
      }
    }
  }
}
