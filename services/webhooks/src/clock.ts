/** Time enters the domain through commands; adapters take it from here so tests can fix it. */
export interface Clock {
  /** ISO-8601, millisecond precision. */
  now(): string;
}

export const CLOCK = Symbol('CLOCK');
export const systemClock: Clock = { now: () => new Date().toISOString() };
