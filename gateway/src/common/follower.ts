import type { BufferedIterator } from '@modeltrail/messaging';

/**
 * One subscriber's queue of a shared live feed (a job's progress, alerts): the feed pushes
 * items, ends it or fails it; the subscriber reads them as an async iterator (and may take what
 * is already buffered at once). Leaving, by `return()` or by failing, calls `onLeave`, so the
 * feed can stop its source when its last follower goes.
 */
export class Follower<T> implements AsyncIterableIterator<T>, BufferedIterator<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private failing: ((error: unknown) => void) | null = null;
  private ended = false;
  private error: unknown = undefined;

  constructor(private readonly onLeave: () => void) {}

  get backlog(): number {
    return this.items.length - this.head;
  }

  takeBuffered(max: number): T[] {
    const taken = this.items.slice(this.head, this.head + max);
    this.head += taken.length;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
    return taken;
  }

  push(item: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failing = null;
      resolve({ done: false, value: item });
      return;
    }
    this.items.push(item);
  }

  end(): void {
    this.ended = true;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failing = null;
      resolve({ done: true, value: undefined });
    }
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.onLeave();
    if (this.failing) {
      const reject = this.failing;
      this.waiting = this.failing = null;
      reject(error);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++];
      if (this.head > 1_024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failing = reject;
    });
  }

  async return(): Promise<IteratorResult<T>> {
    if (!this.ended) {
      this.ended = true;
      this.onLeave();
    }
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failing = null;
      resolve({ done: true, value: undefined });
    }
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<T>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
