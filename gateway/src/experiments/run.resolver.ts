import { Args, Context, ID, Info, Int, Mutation, Parent, Query, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { experimentsRpc, NotFoundError, type RpcRequest, streamId } from '@modeltrail/contracts';
import { parseId, parseIds } from '../common/ids';
import { present } from '../common/input';
import { PageArgs, pageRequest, toPage } from '../common/page';
import type { GatewayContext } from '../context/gateway-context';
import { DatasetVersion, toDatasetVersion } from '../datasets/dataset.types';
import { CompleteRunInput, FailRunInput, LogArtifactInput, LogMetricsInput, LogParamsInput, RunFilter, RunOrder, StartRunInput, toRunFilter, toRunOrder } from './experiment.inputs';
import {
  Artifact,
  Experiment,
  LatestMetric,
  LogMetricsResult,
  MetricPoint,
  Project,
  Run,
  RunComparison,
  RunConnection,
  RunDatasetVersion,
  RunParamValue,
  RunSeries,
  toExperiment,
  toProject,
  toRun,
} from './experiment.types';
import { RunTelemetry } from './run-telemetry';
import { Needs, NeedsInProject } from '../access/policy';

type ListRuns = RpcRequest<typeof experimentsRpc.listRuns>;

@Resolver(() => Run)
export class RunResolver {
  constructor(private readonly telemetry: RunTelemetry) {}

  @Needs('VIEWER', ['run', 'id'])
  @Query(() => Run, { nullable: true, description: 'A run by id (NOT_FOUND when there is none).' })
  async run(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Run> {
    return toRun(await ctx.loaders.runs.load(parseId(id, 'id')));
  }

  @NeedsInProject('VIEWER', 'filter.projectId')
  @Query(() => RunConnection, { description: 'Runs matching a filter, newest first unless ordered otherwise.' })
  async runs(
    @Args('filter', { type: () => RunFilter, nullable: true }) filter: RunFilter | null,
    @Args('orderBy', { type: () => RunOrder, nullable: true }) orderBy: RunOrder | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<RunConnection> {
    const request = { ...(filter ? { filter: toRunFilter(filter) } : {}), ...(orderBy ? { orderBy: toRunOrder(orderBy) } : {}), ...pageRequest(page) } as ListRuns;
    const reply = await ctx.rpc.query(experimentsRpc.listRuns, request);
    for (const item of reply.items) ctx.loaders.runs.prime(item.runId, item);
    return toPage(reply, toRun);
  }

  @Needs('VIEWER', ['run', 'ids.*'])
  @Query(() => RunComparison, { description: 'Runs side by side: the parameters that differ, those in common, and each metric as series (long series thinned).' })
  async compareRuns(
    @Args('ids', { type: () => [ID] }) ids: string[],
    @Args('keys', { type: () => [String], nullable: true, description: 'Metrics to compare; every metric of any of the runs when absent.' }) keys: string[] | null,
    @Args('maxPointsPerSeries', { type: () => Int, nullable: true, description: 'Default 500.' }) maxPointsPerSeries: number | null,
    @Context() ctx: GatewayContext,
  ): Promise<RunComparison> {
    const reply = await ctx.rpc.query(experimentsRpc.compareRuns, {
      runIds: parseIds(ids, 'ids'),
      ...(keys ? { keys } : {}),
      ...(maxPointsPerSeries !== null && maxPointsPerSeries !== undefined ? { maxPointsPerSeries } : {}),
    });
    for (const run of reply.runs) ctx.loaders.runs.prime(run.runId, run);
    return {
      runs: reply.runs.map(toRun),
      differingParams: reply.params.differing.map((param) => ({ key: param.key, values: param.values.map((v) => ({ runId: v.runId, value: v.value })) })),
      commonParams: reply.params.common,
      metrics: reply.metrics.map((metric) => ({
        key: metric.key,
        series: metric.series.map((s) => ({ runId: s.runId, count: s.count, sampled: s.sampled, points: s.points, latest: s.latest })),
      })),
    };
  }

  @Needs('CONTRIBUTOR', ['experiment', 'input.experimentId'], ['datasetVersion', 'input.datasetVersions.*.datasetVersionId'])
  @Mutation(() => Run, { description: 'Starts a run of an experiment with its parameters, data and code.' })
  async startRun(@Args('input') input: StartRunInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Run> {
    const request = {
      ...present(input),
      experimentId: input.experimentId,
      ...(input.datasetVersions ? { datasetVersions: input.datasetVersions.map((v) => ({ datasetVersionId: v.datasetVersionId, role: v.role })) } : {}),
      ...(input.codeRef ? { codeRef: { ...present(input.codeRef), repository: input.codeRef.repository, commit: input.codeRef.commit } } : {}),
    } as RpcRequest<typeof experimentsRpc.startRun>;
    return toRun(await ctx.rpc.command(experimentsRpc.startRun, request, ctx.commandIdFor(info)));
  }

  @Needs('CONTRIBUTOR', ['run', 'input.runId'])
  @Mutation(() => LogMetricsResult, { description: 'Logs metric points of a running run; subscribers of runMetrics receive them.' })
  async logMetrics(@Args('input') input: LogMetricsInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<LogMetricsResult> {
    const points = input.points.map((point) => ({ ...present(point), key: point.key, value: point.value }));
    return ctx.rpc.command(experimentsRpc.logMetrics, { runId: input.runId, points }, ctx.commandIdFor(info));
  }

  @Needs('CONTRIBUTOR', ['run', 'input.runId'])
  @Mutation(() => Run, { description: 'Adds parameters to a running run (a training script reports them as it goes); a parameter it has already cannot change.' })
  async logParams(@Args('input') input: LogParamsInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Run> {
    const request = { runId: input.runId, params: input.params } as RpcRequest<typeof experimentsRpc.logParams>;
    return toRun(await ctx.rpc.command(experimentsRpc.logParams, request, ctx.commandIdFor(info)));
  }

  @Needs('CONTRIBUTOR', ['run', 'input.runId'])
  @Mutation(() => Artifact, { description: 'Records a file a run produced, with its digest.' })
  async logArtifact(@Args('input') input: LogArtifactInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Artifact> {
    const reply = await ctx.rpc.command(experimentsRpc.logArtifact, { runId: input.runId, name: input.name, uri: input.uri, digest: input.digest, size: input.size }, ctx.commandIdFor(info));
    return { ...reply, loggedBy: ctx.user };
  }

  @Needs('CONTRIBUTOR', ['run', 'input.runId'])
  @Mutation(() => Run, { description: 'Ends a run as completed; its metrics summary is recorded.' })
  async completeRun(@Args('input') input: CompleteRunInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Run> {
    return toRun(await ctx.rpc.command(experimentsRpc.completeRun, { runId: input.runId }, ctx.commandIdFor(info)));
  }

  @Needs('CONTRIBUTOR', ['run', 'input.runId'])
  @Mutation(() => Run, { description: 'Ends a run as failed, saying why.' })
  async failRun(@Args('input') input: FailRunInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Run> {
    return toRun(await ctx.rpc.command(experimentsRpc.failRun, { runId: input.runId, reason: input.reason }, ctx.commandIdFor(info)));
  }

  @Needs('VIEWER', ['run', 'runId'])
  @Subscription(() => [MetricPoint], {
    description:
      'Metric points of a run as they are logged: each message is the batch of points one logMetrics call stored, in the order logged (a very large batch comes as several messages). Live only: earlier points are in Run.metrics.',
    resolve: (points: MetricPoint[]) => points,
  })
  async runMetrics(@Args('runId', { type: () => ID }) runId: string, @Context() ctx: GatewayContext): Promise<AsyncIterableIterator<MetricPoint[]>> {
    const id = parseId(runId, 'runId');
    // Subscribe first, so that no point logged between the check and the subscription is lost.
    const stream = await this.telemetry.subscribe(id);
    try {
      await ensureRunExists(ctx, id);
    } catch (error) {
      await stream.return();
      throw error;
    }
    return stream;
  }

  @ResolveField(() => Experiment)
  async experiment(@Parent() run: Run, @Context() ctx: GatewayContext): Promise<Experiment> {
    return toExperiment(await ctx.loaders.experiments.load(run.experimentId));
  }

  @ResolveField(() => Project)
  async project(@Parent() run: Run, @Context() ctx: GatewayContext): Promise<Project> {
    return toProject(await ctx.loaders.projects.load(run.projectId));
  }

  @ResolveField(() => String, { description: 'Who started it.' })
  async startedBy(@Parent() run: Run, @Context() ctx: GatewayContext): Promise<string> {
    return run.startedBy ?? (await ctx.loaders.streamOrigins.load(streamId('run', run.id))).metadata.actor;
  }

  @ResolveField(() => [LatestMetric], { description: 'The latest value of each metric, sorted by key.' })
  async latestMetrics(@Parent() run: Run, @Context() ctx: GatewayContext): Promise<LatestMetric[]> {
    return run.latestMetrics ?? (await ctx.loaders.runs.load(run.id)).latestMetrics;
  }

  @ResolveField(() => [String], { description: 'The keys of every metric logged, sorted.' })
  async metricKeys(@Parent() run: Run, @Context() ctx: GatewayContext): Promise<string[]> {
    const latest = run.latestMetrics ?? (await ctx.loaders.runs.load(run.id)).latestMetrics;
    return latest.map((metric) => metric.key).sort();
  }

  @ResolveField(() => [MetricPoint], { description: 'Every logged point of one metric, by step then timestamp.' })
  async metrics(@Parent() run: Run, @Args('key') key: string, @Context() ctx: GatewayContext): Promise<MetricPoint[]> {
    const points: MetricPoint[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await ctx.rpc.query(experimentsRpc.getRunMetrics, { runId: run.id, key, ...(after ? { after } : {}) });
      for (const point of page.points) points.push({ key, ...point });
      if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return points;
      after = page.pageInfo.endCursor;
    }
  }

  @ResolveField(() => [Artifact], { description: 'Files the run produced, in the order they were logged.' })
  async artifacts(@Parent() run: Run, @Context() ctx: GatewayContext): Promise<Artifact[]> {
    return ctx.loaders.runArtifacts.load(run.id);
  }
}

/**
 * A run exists when the read model has it — or, when the read model has not caught up with a
 * run just started, when its stream does.
 */
async function ensureRunExists(ctx: GatewayContext, runId: string): Promise<void> {
  try {
    await ctx.loaders.runs.load(runId);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    if ((await ctx.store.streamRevision(streamId('run', runId))) === 'no_stream') throw error;
  }
}

@Resolver(() => RunDatasetVersion)
export class RunDatasetVersionResolver {
  @ResolveField(() => DatasetVersion)
  async datasetVersion(@Parent() used: RunDatasetVersion, @Context() ctx: GatewayContext): Promise<DatasetVersion> {
    return toDatasetVersion(await ctx.loaders.datasetVersions.load(used.datasetVersionId));
  }
}

@Resolver(() => Artifact)
export class ArtifactResolver {
  @ResolveField(() => Run)
  async run(@Parent() artifact: Artifact, @Context() ctx: GatewayContext): Promise<Run> {
    return toRun(await ctx.loaders.runs.load(artifact.runId));
  }
}

@Resolver(() => RunSeries)
export class RunSeriesResolver {
  @ResolveField(() => Run)
  async run(@Parent() series: RunSeries, @Context() ctx: GatewayContext): Promise<Run> {
    return toRun(await ctx.loaders.runs.load(series.runId));
  }
}

@Resolver(() => RunParamValue)
export class RunParamValueResolver {
  @ResolveField(() => Run)
  async run(@Parent() value: RunParamValue, @Context() ctx: GatewayContext): Promise<Run> {
    return toRun(await ctx.loaders.runs.load(value.runId));
  }
}
