import { ChangeSignal } from './signal';
import type { AllSubscription, RecordedEvent } from './types';

export interface PollingSubscriptionOptions {
  /** Exclusive start position. */
  fromPosition: number;
  batchSize: number;
  /** Fallback re-read interval when no change notification arrives. */
  pollIntervalMs: number;
}

/**
 * Catch-up-then-live subscription over any store that can read "events after position p" in
 * position order and whose readers can never see a later position before an earlier one
 * (gap safety is the adapter's duty). It reads in batches until it reaches the head, then
 * waits for a change notification (or the poll interval) and reads again.
 */
export class PollingAllSubscription implements AllSubscription {
  readonly caughtUp: Promise<void>;
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (error: unknown) => void;
  private closed = false;
  private started = false;
  private readonly closeSignal = new ChangeSignal();

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
    if (this.started) throw new Error('a subscription can be iterated only once');
    this.started = true;
    return this.run();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closeSignal.notify();
    this.changes.notify();
    this.onClose();
  }

  private async *run(): AsyncGenerator<RecordedEvent> {
    let last = this.options.fromPosition;
    try {
      while (!this.closed) {
        const seen = this.changes.current;
        const batch = await this.readAfter(last, this.options.batchSize);
        for (const event of batch) {
          if (this.closed) return;
          if (event.position <= last) continue; // defensive: never deliver twice
          last = event.position;
          yield event;
        }
        if (batch.length < this.options.batchSize) {
          this.resolveCaughtUp();
          if (this.closed) return;
          await this.changes.wait(seen, this.options.pollIntervalMs);
        }
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
