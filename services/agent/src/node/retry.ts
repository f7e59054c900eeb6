import { setTimeout as sleep } from 'node:timers/promises';
import { ModelTrailError } from '@modeltrail/contracts';

/**
 * Retrying the agent's requests to the platform. A report (job started, log lines, job finished)
 * carries a command id that stays the same across its attempts, so a retry after a timeout whose
 * first attempt did arrive is recorded once.
 *
 * Retried: UNAVAILABLE (timeouts, no responders, a NATS connection that is down or draining),
 * INTERNAL (a fault on the other side, often passing), and errors that are not the platform's
 * typed errors (a JetStream publish that failed). Not retried: VALIDATION, NOT_FOUND, CONFLICT,
 * FORBIDDEN, UNAUTHENTICATED: the answer will not change.
 */

export interface RetryOptions {
  /** Ends the retrying: the call in progress is awaited, then AgentStoppedError is thrown. */
  signal: AbortSignal;
  /** Wait before the first retry; doubles up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Attempts in all; unlimited when absent. */
  maxAttempts?: number;
  /** Called before each wait, with the error of the attempt that failed (for a rate-limited log line). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const DEFAULT_RETRY = { initialDelayMs: 250, maxDelayMs: 10_000 } as const;

/** Thrown by withRetries when its signal ended the retrying. */
export class AgentStoppedError extends Error {
  constructor(what: string) {
    super(`${what}: the agent is stopping`);
    this.name = 'AgentStoppedError';
  }
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof AgentStoppedError) return false;
  if (error instanceof ModelTrailError) return error.code === 'UNAVAILABLE' || error.code === 'INTERNAL';
  return true;
}

/** Calls `call` until it succeeds, fails with an error that is not retryable, runs out of attempts, or `signal` ends it. */
export async function withRetries<T>(what: string, call: () => Promise<T>, options: RetryOptions): Promise<T> {
  let delay = options.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    if (options.signal.aborted) throw new AgentStoppedError(what);
    try {
      return await call();
    } catch (error) {
      if (!isRetryable(error) || (options.maxAttempts !== undefined && attempt >= options.maxAttempts)) throw error;
      if (options.signal.aborted) throw new AgentStoppedError(what);
      options.onRetry?.(error, attempt, delay);
      try {
        await sleep(delay, undefined, { signal: options.signal });
      } catch {
        throw new AgentStoppedError(what);
      }
      delay = Math.min(delay * 2, options.maxDelayMs);
    }
  }
}

/** A log line at most every `everyMs` per key, with the count of the ones held back. */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly write: (message: string) => void,
    private readonly everyMs = 10_000,
  ) {}

  note(key: string, message: string): void {
    const now = Date.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.everyMs) {
      entry.held += 1;
      return;
    }
    const held = entry?.held ?? 0;
    this.last.set(key, { at: now, held: 0 });
    this.write(held > 0 ? `${message} (and ${held} more like it)` : message);
  }

  /** Forgets a key (the trouble is over), so the next note about it is written at once. */
  clear(key: string): void {
    this.last.delete(key);
  }
}

export function describeError(error: unknown): string {
  if (error instanceof ModelTrailError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
