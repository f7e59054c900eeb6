import { Logger } from '@nestjs/common';
import { agentStream, ModelTrailError } from '@modeltrail/contracts';
import type { Clock } from '../clock';
import type { JobCommands } from '../job/job.commands';
import type { LeaderDuty } from '../leadership/leader-duty';
import { SCHEDULER_ACTOR } from '../placement/placement.loop';
import type { SchedulerReader } from '../read-model/scheduler.reader';
import type { AgentCommands } from './agent.handlers';
import type { LivenessTable } from './liveness';

/**
 * The leader's judge of leases. Every `checkMs`:
 *   - an online agent not heard of for a lease (its last heartbeat here or in `agent_heartbeats`,
 *     its registration, or this leader's start, whichever is latest) is lost: AgentLost on its
 *     stream, then MarkJobLost for every job it holds, which the job decider turns into a
 *     requeue with backoff, or a failure once the retries are used up;
 *   - a held job whose agent is no longer online is lost;
 *   - an assignment no heartbeat has mentioned (with its token) for a lease since it was made
 *     is lost too: the agent never took it up, or dropped it.
 * A new leader gives everything one lease from its own start before judging it, so a restart
 * of the scheduler (or a change of leader) loses no live agent. With the default 15 s lease and
 * 1 s checks, a dead agent's jobs are requeued within about 16 s of its last heartbeat.
 */
export class LivenessMonitor implements LeaderDuty {
  readonly name = 'liveness';
  private readonly logger = new Logger('Liveness');
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private sinceMs = 0;
  private active = false;
  private checkedAt: string | null = null;

  constructor(
    private readonly reader: SchedulerReader,
    private readonly liveness: LivenessTable,
    private readonly agents: AgentCommands,
    private readonly jobs: JobCommands,
    private readonly clock: Clock,
    private readonly leaseMs: number,
    private readonly checkMs: number,
  ) {}

  async start(since: string): Promise<void> {
    this.sinceMs = Date.parse(since);
    this.active = true;
    this.timer = setInterval(() => {
      if (!this.current && this.active) this.current = this.check().finally(() => (this.current = undefined));
    }, this.checkMs);
  }

  async stop(): Promise<void> {
    this.active = false;
    clearInterval(this.timer);
    await this.current;
  }

  /** When the last pass started (null before the first). */
  get lastCheckedAt(): string | null {
    return this.checkedAt;
  }

  /** One pass over agents and held jobs. */
  async check(): Promise<void> {
    try {
      await this.judge();
    } catch (error) {
      this.logger.error(`liveness check failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async judge(): Promise<void> {
    const at = this.clock.now();
    const nowMs = Date.parse(at);
    this.checkedAt = at;
    const [agents, heartbeats, leases] = await Promise.all([this.reader.agentRows(), this.reader.heartbeats(), this.reader.heldLeases()]);
    const online = new Map(agents.filter((a) => a.status === 'ACTIVE' || a.status === 'DRAINING').map((a) => [a.agentId, a]));
    const lostNow = new Map<string, string>();

    for (const agent of online.values()) {
      const stored = heartbeats.get(agent.agentId);
      const heard = [this.liveness.lastSeen(agent.agentId, agent.sessionId)?.getTime(), stored && stored.sessionId === agent.sessionId ? stored.lastSeenAt.getTime() : undefined].filter(
        (t): t is number => t !== undefined,
      );
      const lastSeen = heard.length ? Math.max(...heard) : null;
      const judgedFrom = Math.max(lastSeen ?? 0, agent.registeredAt.getTime(), this.sinceMs);
      if (nowMs - judgedFrom < this.leaseMs) continue;
      const reason = `no heartbeat for ${Math.round((nowMs - judgedFrom) / 1_000)} s (lease ${this.leaseMs / 1_000} s)`;
      const lastSeenAt = lastSeen === null ? null : new Date(lastSeen).toISOString();
      try {
        await this.agents.handle(agentStream(agent.agentId), { type: 'MarkAgentLost', agentId: agent.agentId, sessionId: agent.sessionId, lastSeenAt, reason, at }, { actor: SCHEDULER_ACTOR, correlationId: agent.agentId });
        lostNow.set(agent.agentId, reason);
        this.logger.warn(`agent ${agent.agentId} (${agent.hostname}) lost: ${reason}`);
      } catch (error) {
        if (!(error instanceof ModelTrailError)) throw error;
      }
    }

    for (const lease of leases) {
      const agentLost = lostNow.get(lease.agentId);
      let reason: string | null = null;
      if (agentLost) reason = `agent ${lease.agentId} was lost: ${agentLost}`;
      else if (!online.has(lease.agentId)) reason = `agent ${lease.agentId} is no longer online`;
      else {
        const stored = heartbeats.get(lease.agentId);
        const mentioned = [
          this.liveness.mentionedAt(lease.jobId, lease.fencingToken)?.getTime(),
          stored && stored.running.some((r) => r.jobId === lease.jobId && r.fencingToken === lease.fencingToken) ? stored.lastSeenAt.getTime() : undefined,
        ].filter((t): t is number => t !== undefined);
        const judgedFrom = Math.max(...mentioned, lease.assignedAt.getTime(), this.sinceMs);
        if (nowMs - judgedFrom >= this.leaseMs) {
          reason = mentioned.length
            ? `agent ${lease.agentId} stopped reporting the job ${Math.round((nowMs - judgedFrom) / 1_000)} s ago (lease ${this.leaseMs / 1_000} s)`
            : `agent ${lease.agentId} did not take up the assignment within its lease (${this.leaseMs / 1_000} s)`;
        }
      }
      if (!reason) continue;
      try {
        await this.jobs.handle(
          lease.jobId,
          { type: 'MarkJobLost', jobId: lease.jobId, agentId: lease.agentId, fencingToken: lease.fencingToken, reason, at },
          { actor: SCHEDULER_ACTOR, correlationId: lease.jobId },
        );
      } catch (error) {
        if (!(error instanceof ModelTrailError)) throw error;
      }
    }
  }
}
