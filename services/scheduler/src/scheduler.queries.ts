import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { FilterQuery, MikroORM } from '@mikro-orm/postgresql';
import { NotFoundError, type QueueEntry, type RpcReply, schedulerRpc, ValidationError, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
import { decodeTimeCursor, encodeTimeCursor, READ_MODEL_ORM } from '@modeltrail/readmodel';
import { CLOCK, type Clock } from './clock';
import { decodeLogCursor, encodeLogCursor, JobLogStore } from './job/job-log.store';
import { placeJobs } from './placement/placement';
import { placementInput } from './placement/placement.input';
import { type JobRow, JobRowSchema } from './read-model/scheduler.entities';
import { jobView, SchedulerReader } from './read-model/scheduler.reader';
import { SchedulerViews } from './read-model/scheduler.views';

type Req<K extends keyof typeof schedulerRpc> = z.output<(typeof schedulerRpc)[K]['request']>;
type Reply<K extends keyof typeof schedulerRpc> = RpcReply<(typeof schedulerRpc)[K]>;

/** Request/reply queries answered from the scheduler's read model and log table. */
@Controller()
export class SchedulerQueries {
  constructor(
    @Inject(READ_MODEL_ORM) private readonly orm: MikroORM,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reader: SchedulerReader,
    private readonly views: SchedulerViews,
    private readonly logs: JobLogStore,
  ) {}

  @RpcPattern(schedulerRpc.getJobs)
  async getJobs(@Payload() req: Req<'getJobs'>): Promise<Reply<'getJobs'>> {
    return { items: await this.views.jobs(req.jobIds) };
  }

  @RpcPattern(schedulerRpc.getAgents)
  async getAgents(@Payload() req: Req<'getAgents'>): Promise<Reply<'getAgents'>> {
    return { items: await this.views.agents(req.agentIds) };
  }

  @RpcPattern(schedulerRpc.getSweeps)
  async getSweeps(@Payload() req: Req<'getSweeps'>): Promise<Reply<'getSweeps'>> {
    return { items: await this.views.sweeps(req.sweepIds) };
  }

  /** Newest first (queued time, then job id). */
  @RpcPattern(schedulerRpc.listJobs)
  async listJobs(@Payload() req: Req<'listJobs'>): Promise<Reply<'listJobs'>> {
    const where: FilterQuery<JobRow> = {};
    const { status, projectId, experimentId, agentId, sweepId, runId } = req.filter;
    if (status) where.status = status;
    if (projectId) where.projectId = projectId;
    if (experimentId) where.experimentId = experimentId;
    if (agentId) where.agentId = agentId;
    if (sweepId) where.sweepId = sweepId;
    if (runId) where.runId = runId;
    if (req.after) {
      const { at, id } = decodeTimeCursor(req.after);
      where.$or = [{ queuedAt: { $lt: at } }, { queuedAt: at, jobId: { $gt: id } }];
    }
    const rows = await this.orm.em.fork().find(JobRowSchema, where, { orderBy: { queuedAt: 'desc', jobId: 'asc' }, limit: req.first + 1 });
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return { items: page.map(jobView), pageInfo: { endCursor: last ? encodeTimeCursor(last.queuedAt, last.jobId) : null, hasNextPage: rows.length > req.first } };
  }

  /**
   * The waiting jobs in placement order, each with its position and why it waits, computed now
   * by the placement function from the read model (the leader's next pass decides the same way).
   * Jobs that fit right now are about to be assigned and are not listed; `totalPending` counts
   * every queued job (of the project, when one is named).
   */
  @RpcPattern(schedulerRpc.getQueue)
  async getQueue(@Payload() req: Req<'getQueue'>): Promise<Reply<'getQueue'>> {
    const { pending, agents, held } = await this.reader.placementSnapshot();
    const { waiting } = placeJobs(placementInput(pending, agents, held, this.clock.now()));
    const byId = new Map(pending.map((job) => [job.jobId, job]));
    const entries: QueueEntry[] = waiting
      .map((w) => ({ w, job: byId.get(w.jobId)! }))
      .filter(({ job }) => !req.projectId || job.projectId === req.projectId)
      .map(({ w, job }) => ({
        jobId: job.jobId,
        projectId: job.projectId,
        position: w.position,
        priority: job.priority,
        attempt: job.attempt,
        queuedAt: job.queuedAt,
        notBefore: job.notBefore,
        resources: job.resources as QueueEntry['resources'],
        reasonCode: w.reasonCode,
        reason: w.reason,
      }));
    const afterPosition = req.after ? decodePositionCursor(req.after) : 0;
    const rest = entries.filter((e) => e.position > afterPosition);
    const page = rest.slice(0, req.first);
    const last = page[page.length - 1];
    return {
      items: page,
      pageInfo: { endCursor: last ? encodePositionCursor(last.position) : null, hasNextPage: rest.length > req.first },
      totalPending: req.projectId ? pending.filter((job) => job.projectId === req.projectId).length : pending.length,
    };
  }

  /** By host name, then agent id. */
  @RpcPattern(schedulerRpc.listAgents)
  async listAgents(@Payload() req: Req<'listAgents'>): Promise<Reply<'listAgents'>> {
    const rows = await this.reader.agentPage(req.status, req.after ? decodeHostCursor(req.after) : null, req.first + 1);
    const page = rows.slice(0, req.first);
    const items = await this.views.agentsOf(page);
    const last = page[page.length - 1];
    return { items, pageInfo: { endCursor: last ? encodeHostCursor(last.hostname, last.agentId) : null, hasNextPage: rows.length > req.first } };
  }

  /** In seq order; the job's latest attempt unless one is named. */
  @RpcPattern(schedulerRpc.getJobLogs)
  async getJobLogs(@Payload() req: Req<'getJobLogs'>): Promise<Reply<'getJobLogs'>> {
    const [job] = await this.views.jobs([req.jobId]);
    if (!job) throw new NotFoundError(`job ${req.jobId} does not exist`, { jobId: req.jobId });
    const cursor = req.after ? decodeLogCursor(req.after) : null;
    const attempt = req.attempt ?? cursor?.attempt ?? job.attempt;
    if (cursor && cursor.attempt !== attempt) throw new ValidationError(`cursor "${req.after}" belongs to attempt ${cursor.attempt}, not ${attempt}`, { field: 'after' });
    const { items, hasNextPage } = await this.logs.page(req.jobId, attempt, cursor?.seq ?? null, req.first);
    const last = items[items.length - 1];
    return { items, pageInfo: { endCursor: last ? encodeLogCursor(attempt, last.seq) : cursor ? req.after! : null, hasNextPage } };
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function encodePositionCursor(position: number): string {
  return Buffer.from(`queue|${position}`, 'utf8').toString('base64url');
}

function decodePositionCursor(cursor: string): number {
  const [tag, position] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (tag !== 'queue' || !/^\d+$/.test(position ?? '')) throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
  return Number(position);
}

function encodeHostCursor(hostname: string, agentId: string): string {
  return Buffer.from(JSON.stringify([hostname, agentId]), 'utf8').toString('base64url');
}

function decodeHostCursor(cursor: string): { hostname: string; agentId: string } {
  try {
    const [hostname, agentId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof hostname === 'string' && typeof agentId === 'string' && UUID.test(agentId)) return { hostname, agentId };
  } catch {
    // falls through to the error
  }
  throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
}
