import { Logger } from '@nestjs/common';
import { acquireLeadership, type Leadership } from '@modeltrail/postgres';
import type { Clock } from '../clock';
import type { LeaderDuty } from './leader-duty';

/**
 * Which replica of the scheduler places jobs, judges leases and reacts to job ends: the one
 * holding a PostgreSQL session-level advisory lock (`acquireLeadership`) on a connection of its
 * own. The lock's name carries the event store and read-model schemas, so installations (and
 * test runs) sharing a database each have their own leader.
 *
 * Every replica answers commands and queries; the others try for the lock every
 * `retryMs`. The lock lives exactly as long as that connection: when it breaks, the leader
 * stops its duties at once (another replica may already hold the lock) and tries again. A
 * replica shutting down stops its duties first, then releases the lock, so the next leader
 * starts from everything it appended. A new leader waits for the read model to reflect the
 * whole store before placing, and gives every agent one lease from its own start before judging
 * it lost.
 */
export class SchedulerLeadership {
  private readonly logger = new Logger('Leadership');
  private readonly abort = new AbortController();
  private leadership: Leadership | undefined;
  private loop: Promise<void> | undefined;
  private leaderSince: string | null = null;
  private becameLeader: Array<() => void> = [];

  constructor(
    private readonly databaseUrl: string,
    readonly lockName: string,
    private readonly duties: ReadonlyArray<LeaderDuty>,
    private readonly clock: Clock,
    private readonly retryMs: number,
  ) {}

  /** Starts trying for the lock in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stops the duties and gives the lock up. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  get isLeader(): boolean {
    return this.leaderSince !== null;
  }

  /** When this replica became the leader; null while it is not. */
  get since(): string | null {
    return this.leaderSince;
  }

  /** Resolves once this replica leads (at once if it does). */
  whenLeader(): Promise<void> {
    if (this.leaderSince !== null) return Promise.resolve();
    return new Promise((resolve) => this.becameLeader.push(resolve));
  }

  private async run(): Promise<void> {
    const aborted = new Promise<void>((resolve) => this.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    while (!this.abort.signal.aborted) {
      try {
        this.leadership = await acquireLeadership(this.databaseUrl, this.lockName, { retryMs: this.retryMs, signal: this.abort.signal });
      } catch (error) {
        if (this.abort.signal.aborted) break;
        this.logger.error(`cannot try for leadership: ${error instanceof Error ? error.message : String(error)}`);
        await Promise.race([aborted, new Promise((r) => setTimeout(r, this.retryMs))]);
        continue;
      }
      const since = this.clock.now();
      const started: LeaderDuty[] = [];
      try {
        for (const duty of this.duties) {
          await duty.start(since);
          started.push(duty);
        }
        this.leaderSince = since;
        this.logger.log(`leading (${this.lockName}): ${this.duties.map((d) => d.name).join(', ')}`);
        for (const resolve of this.becameLeader.splice(0)) resolve();
        await Promise.race([this.leadership.lost, aborted]);
      } catch (error) {
        if (!this.abort.signal.aborted) this.logger.error(`leadership ended: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        this.leaderSince = null;
        for (const duty of started.reverse()) await duty.stop().catch((error: unknown) => this.logger.error(`${duty.name} did not stop cleanly: ${String(error)}`));
        await this.leadership.release().catch(() => undefined);
        this.leadership = undefined;
      }
    }
  }
}
