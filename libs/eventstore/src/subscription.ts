import { ChangeSignal } from './signal';
import type { AllSubscription, RecordedEvent, SubscriptionBatchOptions } from './types';

export interface PollingSubscriptionOptions {
  /** Exclusive start position. */
  fromPosition: number;
  /** Events per read when the caller asks for no other batch size. */
  batchSize: number;
  /** Fallback re-read interval when no change notification arrives. */
  pollIntervalMs: number;
}

/**
 * Catch-up-then-live subscription over any store that can read "events after position p" in
 * position order and whose readers can never see a later position before an earlier one
 * (gap safety is the adapter's duty). It reads pages until it reaches the head, then waits for
 * a change notification (or the poll interval) and reads again.
 *
 * While catching up, the next page is read while the caller handles the current one, so a
 * consumer that writes (a projection) and the read of the store overlap.
 */
export class PollingAllSubscription implements AllSubscription {
  readonly caughtUp: Promise<void>;
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (error: unknown) => void;
  private closed = false;
  private started = false;

  constructor(
    private readonly readAfter: (position: number, limit: number) => Promise<RecordedEvent[]>,
    private readonly changes: ChangeSignal,
    private readonly options: PollingSubscriptionOptions,
    private readonly onClose: () => void = () => undefined,
  ) {
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.resolveCaughtUp = resolve;
      this.rejectCaughtUp = reject;
    });
    // A caller that never awaits caughtUp must not see an unhandled rejection.
    this.caughtUp.catch(() => undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return eachEvent(this.batches(), () => this.closed);
  }

  batches(options: SubscriptionBatchOptions = {}): AsyncGenerator<RecordedEvent[]> {
    if (this.started) throw new Error('a subscription can be iterated only once');
    this.started = true;
    const limit = Math.max(1, Math.floor(options.maxSize ?? this.options.batchSize));
    return this.run(limit);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Wakes a wait for changes; the loop then sees `closed`.
    this.changes.notify();
    this.onClose();
  }

  private async *run(limit: number): AsyncGenerator<RecordedEvent[]> {
    let last = this.options.fromPosition;
    // The page after the one being handled, read ahead; `seen` is the change version before it was read.
    let ahead: { seen: number; page: Promise<RecordedEvent[]> } | undefined;
    const read = (after: number) => {
      const seen = this.changes.current;
      const page = this.readAfter(after, limit);
      // Read ahead and then abandoned by a close: its failure is nobody's to handle.
      page.catch(() => undefined);
      return { seen, page };
    };
    try {
      while (!this.closed) {
        const { seen, page } = ahead ?? read(last);
        ahead = undefined;
        const events = await page;
        if (this.closed) return;
        const full = events.length >= limit;
        // Defensive: never deliver twice.
        const fresh = events.filter((event) => event.position > last);
        if (fresh.length > 0) last = fresh[fresh.length - 1].position;
        if (full) ahead = read(last);
        if (fresh.length > 0) yield fresh;
        if (full) continue;
        // Caught up once the caller has taken everything up to the head it read.
        this.resolveCaughtUp();
        if (!this.closed) await this.changes.wait(seen, this.options.pollIntervalMs);
      }
    } catch (error) {
      this.rejectCaughtUp(error);
      throw error;
    } finally {
      this.resolveCaughtUp();
      this.closed = true;
      this.onClose();
    }
  }
}

/** The events of a batch iterator one by one (the per-event face of a subscription). */
export async function* eachEvent(batches: AsyncIterable<RecordedEvent[]>, closed: () => boolean): AsyncGenerator<RecordedEvent> {
  for await (const batch of batches) {
    for (const event of batch) {
      if (closed()) return;
      yield event;
    }
  }
}
