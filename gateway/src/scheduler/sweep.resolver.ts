import { Args, Context, ID, Info, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { type RpcRequest, schedulerRpc } from '@modeltrail/contracts';
import { parseId } from '../common/ids';
import type { GatewayContext } from '../context/gateway-context';
import { Experiment, Project, Run, toExperiment, toProject, toRun } from '../experiments/experiment.types';
import { CancelSweepInput, SubmitSweepInput, toJobSpec, toObjective } from './scheduler.inputs';
import { Job, Sweep, SweepBest, SweepTrial, toJob, toSweep } from './scheduler.types';
import { Needs } from '../access/policy';

@Resolver(() => Sweep)
export class SweepResolver {
  @Needs('VIEWER', ['sweep', 'id'])
  @Query(() => Sweep, { nullable: true, description: 'A sweep by id (NOT_FOUND when there is none).' })
  async sweep(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Sweep> {
    return toSweep(await ctx.loaders.sweeps.load(parseId(id, 'id')));
  }

  @Needs('CONTRIBUTOR', ['experiment', 'input.experimentId'], ['datasetVersion', 'input.datasetVersions.*.datasetVersionId'])
  @Mutation(() => Sweep, { description: 'Starts a hyper-parameter sweep over an experiment: one job per trial, a few at a time.' })
  async submitSweep(@Args('input') input: SubmitSweepInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Sweep> {
    const request = { ...toJobSpec(input), ...(input.objective ? { objective: toObjective(input.objective) } : {}) } as RpcRequest<typeof schedulerRpc.submitSweep>;
    return toSweep(await ctx.rpc.command(schedulerRpc.submitSweep, request, ctx.commandIdFor(info)));
  }

  @Needs('CONTRIBUTOR', ['sweep', 'input.sweepId'])
  @Mutation(() => Sweep, { description: 'Cancels a sweep and every trial job still queued or running.' })
  async cancelSweep(@Args('input') input: CancelSweepInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Sweep> {
    return toSweep(await ctx.rpc.command(schedulerRpc.cancelSweep, { sweepId: input.sweepId, reason: input.reason }, ctx.commandIdFor(info)));
  }

  @ResolveField(() => Experiment)
  async experiment(@Parent() sweep: Sweep, @Context() ctx: GatewayContext): Promise<Experiment> {
    return toExperiment(await ctx.loaders.experiments.load(sweep.experimentId));
  }

  @ResolveField(() => Project)
  async project(@Parent() sweep: Sweep, @Context() ctx: GatewayContext): Promise<Project> {
    return toProject(await ctx.loaders.projects.load(sweep.projectId));
  }

  @ResolveField(() => SweepTrial, { nullable: true, description: 'The trial of `best`, with its params and job.' })
  bestTrial(@Parent() sweep: Sweep): SweepTrial | null {
    return sweep.best ? (sweep.trials.find((trial) => trial.trial === sweep.best!.trial) ?? null) : null;
  }
}

@Resolver(() => SweepTrial)
export class SweepTrialResolver {
  @ResolveField(() => Job)
  async job(@Parent() trial: SweepTrial, @Context() ctx: GatewayContext): Promise<Job> {
    return toJob(await ctx.loaders.jobs.load(trial.jobId));
  }

  @ResolveField(() => Run, { nullable: true })
  async run(@Parent() trial: SweepTrial, @Context() ctx: GatewayContext): Promise<Run> {
    return toRun(await ctx.loaders.runs.load(trial.runId));
  }
}

@Resolver(() => SweepBest)
export class SweepBestResolver {
  @ResolveField(() => Job)
  async job(@Parent() best: SweepBest, @Context() ctx: GatewayContext): Promise<Job> {
    return toJob(await ctx.loaders.jobs.load(best.jobId));
  }

  @ResolveField(() => Run, { nullable: true })
  async run(@Parent() best: SweepBest, @Context() ctx: GatewayContext): Promise<Run> {
    return toRun(await ctx.loaders.runs.load(best.runId));
  }
}
