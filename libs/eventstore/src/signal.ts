/** A wake-up signal with a version, so a notification between a read and a wait is never lost. */
export class ChangeSignal {
  private version = 0;
  private waiters = new Set<() => void>();

  get current(): number {
    return this.version;
  }

  notify(): void {
    this.version += 1;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves when the version moves past `seen`, or after `timeoutMs`. */
  wait(seen: number, timeoutMs: number): Promise<void> {
    if (this.version !== seen) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }
}

/**
 * A position that only moves forward, and promises that resolve once it reaches a value: how
 * followers of the store (relay, projections) let callers await "caught up to p" without sleeping.
 */
export class PositionWatch {
  private value = 0;
  private readonly waiters = new Set<{ position: number; resolve: () => void }>();

  constructor(private readonly describe: () => string) {}

  get current(): number {
    return this.value;
  }

  /** Sets the position (also backwards, after a rebuild) and wakes the waiters it satisfies. */
  set(position: number): void {
    this.value = position;
    for (const waiter of [...this.waiters]) {
      if (position >= waiter.position) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Resolves once the position is at least `position`; rejects after `timeoutMs`. */
  reach(position: number, timeoutMs = 10_000): Promise<void> {
    if (this.value >= position) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.describe()} is at ${this.value}, not ${position}, after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

/** A pause between retries that `interrupt()` ends at once, so that stopping never waits out a back-off. */
export class RetryPause {
  private wake: (() => void) | undefined;

  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  interrupt(): void {
    this.wake?.();
  }
}
