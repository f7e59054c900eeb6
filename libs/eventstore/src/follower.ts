import { RetryPause } from './signal';
import type { AllSubscription, EventStore, RecordedEvent } from './types';

export interface StoreFollowerOptions {
  store: EventStore;
  /** The position to follow from (exclusive), read at every (re)subscription: what the caller has committed. */
  from: () => number;
  /** Handles one batch, in global order; a throw ends this subscription, and following resumes from `from()` after a pause. */
  apply: (batch: ReadonlyArray<RecordedEvent>) => Promise<void>;
  /** Events per batch at most. */
  batchSize: number;
  /**
   * Once live (a batch smaller than `batchSize`), how long to let events gather before taking
   * the next batch (0: none). While catching up the follower only yields to the event loop.
   */
  lingerMs?: number;
  /** Pause after a failure (default 1000 ms), doubling with each failure in a row up to 32x. */
  retryDelayMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Follows the whole store in batches for a consumer that keeps its own position (a projection,
 * the Merkle log): subscribes after `from()`, hands each batch to `apply`, and after a failure
 * backs off and subscribes again from wherever the consumer's committed position now is, so a
 * batch that failed is offered again, whole. Between batches it yields to the event loop, so
 * a long catch-up never queues the rest of the process behind it.
 */
export class StoreFollower {
  private subscription: AllSubscription | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly pause = new RetryPause();

  constructor(private readonly options: StoreFollowerOptions) {}

  get started(): boolean {
    return this.running !== undefined;
  }

  start(): void {
    if (this.running) throw new Error('the follower is already running');
    this.stopping = false;
    this.running = this.run();
  }

  /** Stops following; resolves once the batch in hand (if any) is done. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.pause.interrupt();
    await this.subscription?.close();
    await this.running;
    this.running = undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.follow(() => (failures = 0));
      } catch (error) {
        if (this.stopping) break;
        this.options.onError?.(error);
        failures += 1;
        // Backs off (up to 32x) so that a batch the consumer cannot take does not spin.
        await this.pause.wait((this.options.retryDelayMs ?? 1000) * 2 ** Math.min(failures - 1, 5));
      }
    }
  }

  private async follow(onProgress: () => void): Promise<void> {
    const subscription = this.options.store.subscribeToAll({ fromPosition: this.options.from() });
    this.subscription = subscription;
    try {
      const maxSize = this.options.batchSize;
      const lingerMs = this.options.lingerMs ?? 0;
      for await (const batch of subscription.batches({ maxSize })) {
        if (this.stopping) break;
        await this.options.apply(batch);
        onProgress();
        const live = batch.length < maxSize;
        await new Promise<void>((resolve) => (live && lingerMs > 0 ? setTimeout(resolve, lingerMs) : setImmediate(resolve)));
      }
    } finally {
      await subscription.close();
    }
  }
}
