import { randomUUID } from 'node:crypto';
import { agentIdOfPrincipal, ForbiddenError, type MessageHeaders, schedulerRpc } from '@modeltrail/contracts';
import type { RpcClient } from '@modeltrail/messaging';

/** Injection token of the AgentAssignments port. */
export const AGENT_ASSIGNMENTS = Symbol('AGENT_ASSIGNMENTS');

/** Which jobs an agent holds now: the port through which an agent's logging is checked. */
export interface AgentAssignments {
  /** Whether one of `jobIds` is assigned to (or running on) `agentId` now. */
  holdsAny(agentId: string, jobIds: ReadonlyArray<string>): Promise<boolean>;
}

/** The tag that marks the run a scheduler job started (the scheduler's `job:<jobId>`). */
export const JOB_TAG_PREFIX = 'job:';

/**
 * Asks the scheduler (`mt.qry.scheduler.GetJobs`, as `service:experiments`). A positive answer
 * is kept a few seconds (an agent logs metrics every second); a negative one is not kept.
 */
export class SchedulerAgentAssignments implements AgentAssignments {
  private readonly held = new Map<string, number>();

  constructor(
    private readonly rpc: Pick<RpcClient, 'request'>,
    private readonly options: { cacheMs?: number; now?: () => number; actor?: string } = {},
  ) {}

  async holdsAny(agentId: string, jobIds: ReadonlyArray<string>): Promise<boolean> {
    const now = (this.options.now ?? Date.now)();
    const key = `${agentId}/${[...jobIds].sort().join(',')}`;
    const until = this.held.get(key);
    if (until !== undefined && until > now) return true;
    const { items } = await this.rpc.request(schedulerRpc.getJobs, { jobIds: [...jobIds] }, { headers: { actor: this.options.actor ?? 'service:experiments', correlationId: randomUUID() } });
    const holds = items.some((job) => (job.status === 'ASSIGNED' || job.status === 'RUNNING') && job.agentId !== null && job.agentId.toLowerCase() === agentId.toLowerCase());
    if (holds) {
      if (this.held.size >= 10_000) this.held.clear();
      this.held.set(key, now + (this.options.cacheMs ?? 5_000));
    } else {
      this.held.delete(key);
    }
    return holds;
  }
}

/**
 * An agent logs only into the run of a job it holds now: the run's tags must name a job
 * (`job:<jobId>`) assigned to that agent. A platform process (a signed user or service actor)
 * is not limited here. FORBIDDEN otherwise, before anything is stored.
 */
export async function assertAgentMayLogInto(assignments: AgentAssignments, headers: MessageHeaders, runId: string, tags: ReadonlyArray<string>): Promise<void> {
  const agentId = agentIdOfPrincipal(headers.actor);
  if (agentId === null) return;
  const jobIds = tags.filter((tag) => tag.startsWith(JOB_TAG_PREFIX)).map((tag) => tag.slice(JOB_TAG_PREFIX.length)).filter((id) => /^[0-9a-fA-F-]{36}$/.test(id));
  if (jobIds.length === 0) throw new ForbiddenError(`agent ${agentId} may not log into run ${runId}: it is not the run of a scheduler job`, { runId, agentId });
  if (!(await assignments.holdsAny(agentId, jobIds.slice(0, 100)))) {
    throw new ForbiddenError(`agent ${agentId} may not log into run ${runId}: its job is not assigned to this agent`, { runId, agentId });
  }
}
