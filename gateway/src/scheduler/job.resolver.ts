import { Needs, NeedsInProject } from '../access/policy';
import { Logger } from '@nestjs/common';
import { Args, Context, ID, Info, Int, Mutation, Parent, Query, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import type { BufferedIterator } from '@modeltrail/messaging';
import { jobStream, MAX_LOG_PAGE, NotFoundError, parseWith, type RpcRequest, schedulerRpc, z } from '@modeltrail/contracts';
import { parseId } from '../common/ids';
import { present } from '../common/input';
import { PageArgs, pageRequest, toPage } from '../common/page';
import type { GatewayContext } from '../context/gateway-context';
import { Experiment, Project, Run, toExperiment, toProject, toRun } from '../experiments/experiment.types';
import { BatchingStream, JobTelemetry, MAX_REPLAY_LAST } from './job-telemetry';

/** The most items one jobProgressBatches message holds. */
const MAX_BATCH_ITEMS = 5_000;
import { CancelJobInput, ChangeJobPriorityInput, JobFilter, JobUpdatesFilter, SubmitJobInput, toJobSpec } from './scheduler.inputs';
import {
  Agent,
  Job,
  JobConnection,
  JobProgressBatch,
  JobProgressItem,
  JobStatusChange,
  LogLineConnection,
  QueueConnection,
  QueueEntry,
  Sweep,
  toAgent,
  toJob,
  toLogLine,
  toQueueEntry,
  toSweep,
} from './scheduler.types';

const replayLastSchema = z.object({
  replayLast: z.number().int().min(0, 'must not be negative').max(MAX_REPLAY_LAST, `must be at most ${MAX_REPLAY_LAST} items`),
});

@Resolver(() => Job)
export class JobResolver {
  private readonly logger = new Logger(JobResolver.name);

  constructor(private readonly telemetry: JobTelemetry) {}

  @Needs('VIEWER', ['job', 'id'])
  @Query(() => Job, { nullable: true, description: 'A job by id (NOT_FOUND when there is none).' })
  async job(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Job> {
    return toJob(await ctx.loaders.jobs.load(parseId(id, 'id')));
  }

  @NeedsInProject('VIEWER', 'filter.projectId')
  @Query(() => JobConnection, { description: 'Jobs matching a filter, newest first.' })
  async jobs(@Args('filter', { type: () => JobFilter, nullable: true }) filter: JobFilter | null, @Args() page: PageArgs, @Context() ctx: GatewayContext): Promise<JobConnection> {
    const reply = await ctx.rpc.query(schedulerRpc.listJobs, { filter: present(filter ?? {}), ...pageRequest(page) } as RpcRequest<typeof schedulerRpc.listJobs>);
    for (const item of reply.items) ctx.loaders.jobs.prime(item.jobId, item);
    return toPage(reply, toJob);
  }

  @NeedsInProject('VIEWER', 'projectId')
  @Query(() => QueueConnection, { description: 'Pending jobs in placement order, each with its position and why it waits.' })
  async queue(
    @Args('projectId', { type: () => ID, nullable: true, description: "Only this project's jobs (positions stay those of the whole queue)." }) projectId: string | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<QueueConnection> {
    const reply = await ctx.rpc.query(schedulerRpc.getQueue, { ...(projectId ? { projectId } : {}), ...pageRequest(page) });
    return { ...toPage(reply, toQueueEntry), totalPending: reply.totalPending };
  }

  @Needs('CONTRIBUTOR', [['experiment', 'input.experimentId'], ['run', 'input.runId']], ['datasetVersion', 'input.datasetVersions.*.datasetVersionId'])
  @Mutation(() => Job, { description: 'Queues a training job: its command runs on an agent that fits its resources, training into a run.' })
  async submitJob(@Args('input') input: SubmitJobInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Job> {
    const request = toJobSpec(input) as RpcRequest<typeof schedulerRpc.submitJob>;
    return this.primed(ctx, await ctx.rpc.command(schedulerRpc.submitJob, request, ctx.commandIdFor(info)));
  }

  @Needs('CONTRIBUTOR', ['job', 'input.jobId'])
  @Mutation(() => Job, { description: 'Cancels a job: a queued one at once, a running one by stopping its process (SIGTERM, grace, SIGKILL).' })
  async cancelJob(@Args('input') input: CancelJobInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Job> {
    return this.primed(ctx, await ctx.rpc.command(schedulerRpc.cancelJob, { jobId: input.jobId, reason: input.reason }, ctx.commandIdFor(info)));
  }

  @Needs('CONTRIBUTOR', ['job', 'input.jobId'])
  @Mutation(() => Job, { description: "Changes a queued job's priority." })
  async changeJobPriority(@Args('input') input: ChangeJobPriorityInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Job> {
    return this.primed(ctx, await ctx.rpc.command(schedulerRpc.changeJobPriority, { jobId: input.jobId, priority: input.priority }, ctx.commandIdFor(info)));
  }

  @Needs('VIEWER', ['job', 'jobId'])
  @Subscription(() => JobProgressItem, {
    description: `A job's live progress in the order stored: metric points, output lines and status changes. With replayLast N (0 to ${MAX_REPLAY_LAST}), the last N items kept first, then live ones. NOT_FOUND for an unknown job.`,
    resolve: (item: JobProgressItem, _args: unknown, ctx: GatewayContext) => eventOf(item, ctx),
  })
  async jobProgress(
    @Args('jobId', { type: () => ID }) jobId: string,
    @Args('replayLast', { type: () => Int, defaultValue: 0, description: `Items from before the subscription to deliver first, 0 to ${MAX_REPLAY_LAST}.` }) replayLast: number,
    @Context() ctx: GatewayContext,
  ): Promise<AsyncIterableIterator<JobProgressItem>> {
    return this.followJob(jobId, replayLast, ctx);
  }

  /** The job's progress items (checked: a known job, a bounded replay), able to hand over what is buffered. */
  private async followJob(jobId: string, replayLast: number, ctx: GatewayContext): Promise<AsyncIterableIterator<JobProgressItem> & BufferedIterator<JobProgressItem>> {
    const id = parseId(jobId, 'jobId');
    const { replayLast: count } = parseWith(replayLastSchema, { replayLast }, 'argument replayLast');
    // Follow first, so that nothing published between the check and the consumer is lost.
    const stream = await this.telemetry.follow(id, count);
    try {
      await ensureJobExists(ctx, id);
    } catch (error) {
      await stream.return?.();
      throw error;
    }
    return stream;
  }

  @Needs('VIEWER', ['job', 'jobId'])
  @Subscription(() => JobProgressBatch, {
    description: `jobProgress in batches: each message holds the items that arrived together (up to ${MAX_BATCH_ITEMS}), for charts and jobs that log thousands of points a second. Same order, replay and errors as jobProgress.`,
    resolve: (batch: JobProgressBatch, _args: unknown, ctx: GatewayContext) => eventOf(batch, ctx),
  })
  async jobProgressBatches(
    @Args('jobId', { type: () => ID }) jobId: string,
    @Args('replayLast', { type: () => Int, defaultValue: 0, description: `Items from before the subscription to deliver first, 0 to ${MAX_REPLAY_LAST}.` }) replayLast: number,
    @Context() ctx: GatewayContext,
  ): Promise<AsyncIterableIterator<JobProgressBatch>> {
    const items = await this.followJob(jobId, replayLast, ctx);
    const batches = new BatchingStream(items, MAX_BATCH_ITEMS);
    const id = parseId(jobId, 'jobId');
    const stream: AsyncIterableIterator<JobProgressBatch> = {
      next: async () => {
        const next = await batches.next();
        return next.done ? { done: true, value: undefined } : { done: false, value: { jobId: id, items: next.value } };
      },
      return: async () => {
        await batches.return();
        return { done: true, value: undefined };
      },
      throw: async (error?: unknown) => {
        await batches.return();
        throw error;
      },
      [Symbol.asyncIterator]: () => stream,
    };
    return stream;
  }

  @NeedsInProject('VIEWER', 'filter.projectId')
  @Subscription(() => JobStatusChange, {
    description: 'State changes of jobs as the scheduler records them (every job, or those the filter names). Live only: a job\'s earlier changes are in jobProgress(replayLast).',
    resolve: (change: JobStatusChange, _args: unknown, ctx: GatewayContext) => eventOf(change, ctx),
  })
  async jobUpdates(@Args('filter', { type: () => JobUpdatesFilter, nullable: true }) filter: JobUpdatesFilter | null, @Context() ctx: GatewayContext): Promise<AsyncIterableIterator<JobStatusChange>> {
    const jobId = filter?.jobId ? parseId(filter.jobId, 'filter.jobId') : null;
    const projectId = filter?.projectId ? parseId(filter.projectId, 'filter.projectId') : null;
    const status = filter?.status ?? null;
    const projects = new ProjectsOfJobs(ctx);
    return this.telemetry.statusChanges(jobId, async (change) => {
      if (status !== null && change.status !== status) return false;
      if (projectId === null) return true;
      try {
        return (await projects.of(change.jobId)) === projectId;
      } catch (error) {
        this.logger.warn(`jobUpdates: the project of job ${change.jobId} is unknown (${error instanceof Error ? error.message : String(error)}); its change is not delivered`);
        return false;
      }
    });
  }

  @ResolveField(() => Run, { nullable: true, description: 'The run the job trains into.' })
  async run(@Parent() job: Job, @Context() ctx: GatewayContext): Promise<Run> {
    return toRun(await ctx.loaders.runs.load(job.runId));
  }

  @ResolveField(() => Agent, { nullable: true, description: 'The agent holding the job, or the one that ran it last.' })
  async agent(@Parent() job: Job, @Context() ctx: GatewayContext): Promise<Agent | null> {
    return job.agentId ? toAgent(await ctx.loaders.agents.load(job.agentId)) : null;
  }

  @ResolveField(() => Sweep, { nullable: true, description: 'The sweep whose trial this job runs.' })
  async sweep(@Parent() job: Job, @Context() ctx: GatewayContext): Promise<Sweep | null> {
    return job.sweepId ? toSweep(await ctx.loaders.sweeps.load(job.sweepId)) : null;
  }

  @ResolveField(() => Experiment)
  async experiment(@Parent() job: Job, @Context() ctx: GatewayContext): Promise<Experiment> {
    return toExperiment(await ctx.loaders.experiments.load(job.experimentId));
  }

  @ResolveField(() => Project)
  async project(@Parent() job: Job, @Context() ctx: GatewayContext): Promise<Project> {
    return toProject(await ctx.loaders.projects.load(job.projectId));
  }

  @ResolveField(() => LogLineConnection, { description: 'Output lines the scheduler stored, in order (older lines beyond its bound are dropped first).' })
  async logs(
    @Parent() job: Job,
    @Args('first', { type: () => Int, defaultValue: 1_000, description: `Lines per page, 1 to ${MAX_LOG_PAGE}.` }) first: number,
    @Args('after', { type: () => String, nullable: true, description: 'The endCursor of the previous page.' }) after: string | null,
    @Args('attempt', { type: () => Int, nullable: true, description: 'The attempt whose lines to read; the latest when absent.' }) attempt: number | null,
    @Context() ctx: GatewayContext,
  ): Promise<LogLineConnection> {
    const reply = await ctx.rpc.query(schedulerRpc.getJobLogs, { jobId: job.id, first, ...(after ? { after } : {}), ...(attempt !== null && attempt !== undefined ? { attempt } : {}) });
    return toPage(reply, toLogLine);
  }

  private primed(ctx: GatewayContext, view: Parameters<typeof toJob>[0]): Job {
    ctx.loaders.jobs.prime(view.jobId, view);
    return toJob(view);
  }
}

@Resolver(() => QueueEntry)
export class QueueEntryResolver {
  @ResolveField(() => Job)
  async job(@Parent() entry: QueueEntry, @Context() ctx: GatewayContext): Promise<Job> {
    return toJob(await ctx.loaders.jobs.load(entry.jobId));
  }
}

@Resolver(() => JobStatusChange)
export class JobStatusChangeResolver {
  @ResolveField(() => Job, { nullable: true, description: "The job now (it may have changed again since); null with NOT_FOUND while the scheduler's read model has not caught up." })
  async job(@Parent() change: JobStatusChange, @Context() ctx: GatewayContext): Promise<Job> {
    return toJob(await ctx.loaders.jobs.load(change.jobId));
  }
}

/** A subscription's event, resolved with fresh lookups (its context outlives every event). */
function eventOf<T>(event: T, ctx: GatewayContext): T {
  ctx.loaders.clearAll();
  return event;
}

/**
 * A job exists when the scheduler's read model has it — or, when the read model has not caught
 * up with a job just submitted, when its stream does.
 */
async function ensureJobExists(ctx: GatewayContext, jobId: string): Promise<void> {
  try {
    await ctx.loaders.jobs.load(jobId);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    if ((await ctx.store.streamRevision(jobStream(jobId))) === 'no_stream') throw error;
  } finally {
    ctx.loaders.jobs.clear(jobId);
  }
}

/** How many jobs' projects a jobUpdates subscription remembers. */
const KNOWN_PROJECTS = 10_000;

/**
 * The project of each job a jobUpdates subscription sees (a job never changes project), bounded:
 * asked of the scheduler (the jobs DataLoader), else read from the job's first event, for a job
 * the read model does not have yet.
 */
class ProjectsOfJobs {
  private readonly known = new Map<string, string>();

  constructor(private readonly ctx: GatewayContext) {}

  async of(jobId: string): Promise<string | null> {
    const cached = this.known.get(jobId);
    if (cached !== undefined) return cached;
    const projectId = await this.lookUp(jobId);
    if (projectId === null) return null;
    if (this.known.size >= KNOWN_PROJECTS) this.known.delete(this.known.keys().next().value!);
    this.known.set(jobId, projectId);
    return projectId;
  }

  private async lookUp(jobId: string): Promise<string | null> {
    // The subscription's loaders live as long as it does: keep nothing in them.
    try {
      return (await this.ctx.loaders.jobs.load(jobId)).projectId;
    } catch (error) {
      const [first] = await this.ctx.store.readStream(jobStream(jobId), { maxCount: 1 });
      if (!first) {
        if (error instanceof NotFoundError) return null;
        throw error;
      }
      const projectId = (first.data as { projectId?: unknown }).projectId;
      return typeof projectId === 'string' ? projectId : null;
    } finally {
      this.ctx.loaders.jobs.clear(jobId);
    }
  }
}
