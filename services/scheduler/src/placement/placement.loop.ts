import { Logger } from '@nestjs/common';
import type { Subscription } from 'nats';
import { ModelTrailError } from '@modeltrail/contracts';
import type { EventStore } from '@modeltrail/eventstore';
import type { ProjectionRunner } from '@modeltrail/readmodel';
import type { Clock } from '../clock';
import type { JobCommands } from '../job/job.commands';
import { type LeaderDuty, mapConcurrent } from '../leadership/leader-duty';
import type { SchedulerReader } from '../read-model/scheduler.reader';
import type { SchedulerOptions } from '../scheduler.options';
import type { SchedulerSignals } from '../signals';
import { type PlacementResult, placeJobs } from './placement';
import { placementInput } from './placement.input';

/** The actor of what the scheduler decides on its own. */
export const SCHEDULER_ACTOR = 'system:scheduler';

export interface PlacementStats {
  /** Placement passes run since the loop started. */
  passes: number;
  /** JobAssigned appended. */
  assigned: number;
  /** Assignments the job decider refused (the job moved on since the snapshot). */
  refused: number;
  /** Time spent in passes, in milliseconds. */
  busyMs: number;
  /** The last pass: how many jobs waited after it, and when it ran. */
  lastWaiting: number;
  lastRunAt: string | null;
}

/**
 * Placement on the leader: on a short tick, and at once when kicked (a job queued or ended, an
 * agent registered, resumed or heartbeating with freed capacity). A pass reads the read model,
 * calls `placeJobs`, and appends JobAssigned for each decision through the job decider (with
 * the expected revision: an assignment refused because the job moved on is skipped). Then it
 * waits until the read model shows its assignments and wakes the agents, whose heartbeat
 * replies carry them.
 *
 * A GPU is never given twice: a pass starts only once the read model reflects every assignment
 * of earlier passes (their GPUs are then held by ASSIGNED or RUNNING rows), and within a pass
 * `placeJobs` gives each GPU once. Passes never overlap; kicks during a pass run one more.
 */
export class PlacementLoop implements LeaderDuty {
  readonly name = 'placement';
  private readonly logger = new Logger('Placement');
  private active = false;
  private timer: NodeJS.Timeout | undefined;
  private kicks: Subscription | undefined;
  private current: Promise<void> | undefined;
  private again = false;
  /** The position of this leader's last assignment: the next pass waits for the read model to reach it. */
  private assignedThrough = 0;
  private result: PlacementResult | null = null;
  readonly stats: PlacementStats = { passes: 0, assigned: 0, refused: 0, busyMs: 0, lastWaiting: 0, lastRunAt: null };

  constructor(
    private readonly store: EventStore,
    private readonly runners: ReadonlyArray<ProjectionRunner>,
    private readonly reader: SchedulerReader,
    private readonly jobs: JobCommands,
    private readonly signals: SchedulerSignals,
    private readonly clock: Clock,
    private readonly options: SchedulerOptions,
    private readonly leaseMs: number,
  ) {}

  async start(): Promise<void> {
    // Assignments of an earlier leader must be in the read model before the first pass.
    this.assignedThrough = await this.store.headPosition();
    this.active = true;
    this.kicks = this.signals.onKick(() => this.trigger());
    this.timer = setInterval(() => this.trigger(), this.options.placementIntervalMs);
    this.trigger();
  }

  async stop(): Promise<void> {
    this.active = false;
    clearInterval(this.timer);
    this.kicks?.unsubscribe();
    await this.current;
  }

  /** Runs a pass now, or one more after the pass in progress. */
  trigger(): void {
    if (!this.active) return;
    if (this.current) {
      this.again = true;
      return;
    }
    this.current = (async () => {
      do {
        this.again = false;
        await this.pass().catch((error: unknown) => this.logger.error(`placement pass failed: ${error instanceof Error ? error.message : String(error)}`));
      } while (this.again && this.active);
    })().finally(() => (this.current = undefined));
  }

  /** Resolves after a whole pass that started after the call (tests and benchmarks). */
  async settle(): Promise<void> {
    while (this.current) await this.current;
    this.trigger();
    await this.current;
  }

  /** What the last pass left waiting, in placement order. */
  get lastResult(): PlacementResult | null {
    return this.result;
  }

  private async pass(): Promise<void> {
    const started = performance.now();
    try {
      await Promise.all(this.runners.map((runner) => runner.waitFor(this.assignedThrough, 5_000)));
    } catch {
      this.logger.warn(`placement waits: the read model has not reached position ${this.assignedThrough} yet`);
      return;
    }
    const { pending, agents, held } = await this.reader.placementSnapshot();
    const now = this.clock.now();
    const result = placeJobs(placementInput(pending, agents, held, now));
    const leaseSeconds = this.leaseMs / 1_000;
    const done = await mapConcurrent(result.assignments, this.options.assignConcurrency, async (a) => {
      // Leadership lost during the pass: the next leader places from the read model it waits for.
      if (!this.active) return null;
      try {
        const appended = await this.jobs.handle(a.jobId, { type: 'AssignJob', jobId: a.jobId, agentId: a.agentId, gpus: a.gpus, leaseSeconds, at: now }, { actor: SCHEDULER_ACTOR, correlationId: a.jobId });
        return appended.events.length > 0 ? { agentId: a.agentId, position: appended.position ?? 0 } : null;
      } catch (error) {
        if (!(error instanceof ModelTrailError)) throw error;
        return null;
      }
    });
    const made = done.filter((d): d is { agentId: string; position: number } => d !== null);
    this.stats.assigned += made.length;
    this.stats.refused += done.length - made.length;
    this.stats.passes += 1;
    this.stats.lastWaiting = result.waiting.length;
    this.stats.lastRunAt = now;
    this.result = result;
    if (made.length > 0) {
      this.assignedThrough = Math.max(this.assignedThrough, ...made.map((m) => m.position));
      // The agent's heartbeat reply reads its assignments from the read model: wake it once they are there.
      await Promise.all(this.runners.map((runner) => runner.waitFor(this.assignedThrough, 5_000))).catch(() => undefined);
      for (const agentId of new Set(made.map((m) => m.agentId))) this.signals.wakeAgent(agentId);
    }
    this.stats.busyMs += performance.now() - started;
  }
}
