import { agentStream, type AgentView, jobStream, type JobView, NotFoundError, sweepStream, type SweepView, UnavailableError } from '@modeltrail/contracts';
import type { EventStore } from '@modeltrail/eventstore';
import { findCaughtUp, type ProjectionRunner } from '@modeltrail/readmodel';
import type { LivenessTable } from '../agent/liveness';
import type { AgentRow } from './scheduler.entities';
import { jobView, type SchedulerReader } from './scheduler.reader';

/** How long a reply waits for the read model to show what its command appended. */
const REPLY_WAIT_MS = 10_000;

/**
 * Views as the service answers them: from the read model, once it reflects what the caller
 * just did. A command's reply waits for the position of its append; a lookup by id waits only
 * when an id has a stream but no row yet (created a moment ago), as `findCaughtUp` does.
 */
export class SchedulerViews {
  constructor(
    private readonly reader: SchedulerReader,
    private readonly store: EventStore,
    private readonly runners: ReadonlyArray<ProjectionRunner>,
    private readonly liveness: LivenessTable,
  ) {}

  /** Resolves once the read model reflects `position` (nothing to wait for without one). */
  async caughtUp(position: number | undefined, timeoutMs = REPLY_WAIT_MS): Promise<void> {
    if (!position) return;
    await Promise.all(this.runners.map((runner) => runner.waitFor(position, timeoutMs)));
  }

  async job(jobId: string, position?: number): Promise<JobView> {
    await this.replyWait(position);
    const [view] = await this.jobs([jobId]);
    if (!view) throw new NotFoundError(`job ${jobId} does not exist`, { jobId });
    return view;
  }

  async agent(agentId: string, position?: number): Promise<AgentView> {
    await this.replyWait(position);
    const [view] = await this.agents([agentId]);
    if (!view) throw new NotFoundError(`agent ${agentId} is not registered`, { agentId });
    return view;
  }

  async sweep(sweepId: string, position?: number): Promise<SweepView> {
    await this.replyWait(position);
    const [view] = await this.sweeps([sweepId]);
    if (!view) throw new NotFoundError(`sweep ${sweepId} does not exist`, { sweepId });
    return view;
  }

  jobs(jobIds: ReadonlyArray<string>): Promise<JobView[]> {
    return findCaughtUp({ ids: jobIds, find: () => this.reader.jobViews(jobIds), idOf: (v) => v.jobId, streamOf: jobStream, store: this.store, runners: this.runners });
  }

  async agents(agentIds: ReadonlyArray<string>): Promise<AgentView[]> {
    const rows = await findCaughtUp({ ids: agentIds, find: () => this.reader.agentRows(agentIds), idOf: (r) => r.agentId, streamOf: agentStream, store: this.store, runners: this.runners });
    return this.agentsOf(rows);
  }

  /** Views of agent rows already read. */
  agentsOf(rows: ReadonlyArray<AgentRow>): Promise<AgentView[]> {
    return this.reader.agentViews(rows, (agentId, sessionId) => this.liveness.lastSeen(agentId, sessionId));
  }

  async sweeps(sweepIds: ReadonlyArray<string>): Promise<SweepView[]> {
    const rows = await findCaughtUp({ ids: sweepIds, find: () => this.reader.sweepRows(sweepIds), idOf: (r) => r.sweepId, streamOf: sweepStream, store: this.store, runners: this.runners });
    return this.reader.sweepViews(rows);
  }

  private async replyWait(position: number | undefined): Promise<void> {
    try {
      await this.caughtUp(position);
    } catch {
      throw new UnavailableError(`the change was recorded (position ${position}) but the read model has not caught up yet: read it again shortly`, { position });
    }
  }
}

export { jobView };
