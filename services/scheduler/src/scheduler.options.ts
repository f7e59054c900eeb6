/**
 * Timings of the scheduler's own loops. They are not installation settings (config.ts holds
 * those: heartbeat, lease, working-dir roots, log bound, trial limit); tests and benchmarks
 * shorten them.
 */
export interface SchedulerOptions {
  /** Placement runs at least this often on the leader (default 250 ms), and at once when woken. */
  placementIntervalMs: number;
  /** How often the leader looks for agents and assignments whose lease ran out (default 1 s, at most a quarter of the lease). */
  livenessCheckMs: number;
  /** How often a replica that is not the leader tries to take the leadership lock (default 1 s). */
  leadershipRetryMs: number;
  /** First pause of the reactor after a failed call to another service (doubling up to 32x; default 500 ms). */
  reactorRetryMs: number;
  /** Appends in flight at once when placement assigns many jobs (default 16). */
  assignConcurrency: number;
}

export const SCHEDULER_OPTIONS = Symbol('SCHEDULER_OPTIONS');

export function schedulerOptions(leaseMs: number, given: Partial<SchedulerOptions> = {}): SchedulerOptions {
  return {
    placementIntervalMs: given.placementIntervalMs ?? 250,
    livenessCheckMs: given.livenessCheckMs ?? Math.max(50, Math.min(1_000, Math.floor(leaseMs / 4))),
    leadershipRetryMs: given.leadershipRetryMs ?? 1_000,
    reactorRetryMs: given.reactorRetryMs ?? 500,
    assignConcurrency: given.assignConcurrency ?? 16,
  };
}
