import { Args, Context, ID, Info, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { datasetsRpc, experimentsRpc, streamId } from '@modeltrail/contracts';
import { parseId } from '../common/ids';
import { PageArgs, pageRequest, toPage } from '../common/page';
import type { GatewayContext } from '../context/gateway-context';
import { present } from '../common/input';
import { DatasetConnection, DatasetStatusEnum, toDataset } from '../datasets/dataset.types';
import { CreateExperimentInput, DefineProjectInput, RunOrder, toRunOrder } from './experiment.inputs';
import { Experiment, ExperimentConnection, Project, ProjectConnection, RunConnection, TaskTypeEnum, toExperiment, toProject, toRun } from './experiment.types';

type Values<E> = E[keyof E];

@Resolver(() => Project)
export class ProjectResolver {
  @Query(() => Project, { nullable: true, description: 'A project by id (NOT_FOUND when there is none).' })
  async project(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Project> {
    return toProject(await ctx.loaders.projects.load(parseId(id, 'id')));
  }

  @Query(() => ProjectConnection, { description: 'Projects, oldest first.' })
  async projects(
    @Args('taskType', { type: () => TaskTypeEnum, nullable: true }) taskType: Values<typeof TaskTypeEnum> | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<ProjectConnection> {
    const reply = await ctx.rpc.query(experimentsRpc.listProjects, { ...(taskType ? { taskType } : {}), ...pageRequest(page) });
    for (const item of reply.items) ctx.loaders.projects.prime(item.projectId, item);
    return toPage(reply, toProject);
  }

  @Mutation(() => Project, { description: 'Defines a project: the problem, the task type, the target and the success criteria.' })
  async defineProject(@Args('input') input: DefineProjectInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Project> {
    const request = { ...present(input), name: input.name, problem: input.problem, taskType: input.taskType };
    return toProject(await ctx.rpc.command(experimentsRpc.defineProject, request, ctx.commandIdFor(info)));
  }

  @ResolveField(() => String, { description: 'Who defined it.' })
  async definedBy(@Parent() project: Project, @Context() ctx: GatewayContext): Promise<string> {
    return project.definedBy ?? (await ctx.loaders.streamOrigins.load(streamId('project', project.id))).metadata.actor;
  }

  @ResolveField(() => ExperimentConnection, { description: 'Experiments of the project, oldest first.' })
  async experiments(@Parent() project: Project, @Args() page: PageArgs, @Context() ctx: GatewayContext): Promise<ExperimentConnection> {
    const reply = await ctx.rpc.query(experimentsRpc.listExperiments, { projectId: project.id, ...pageRequest(page) });
    for (const item of reply.items) ctx.loaders.experiments.prime(item.experimentId, item);
    return toPage(reply, toExperiment);
  }

  @ResolveField(() => DatasetConnection, { description: 'Datasets of the project, oldest first.' })
  async datasets(
    @Parent() project: Project,
    @Args('status', { type: () => DatasetStatusEnum, nullable: true }) status: Values<typeof DatasetStatusEnum> | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<DatasetConnection> {
    const reply = await ctx.rpc.query(datasetsRpc.listDatasets, { projectId: project.id, ...(status ? { status } : {}), ...pageRequest(page) });
    for (const item of reply.items) ctx.loaders.datasets.prime(item.datasetId, item);
    return toPage(reply, toDataset);
  }
}

@Resolver(() => Experiment)
export class ExperimentResolver {
  @Query(() => Experiment, { nullable: true, description: 'An experiment by id (NOT_FOUND when there is none).' })
  async experiment(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Experiment> {
    return toExperiment(await ctx.loaders.experiments.load(parseId(id, 'id')));
  }

  @Query(() => ExperimentConnection, { description: 'Experiments, of one project or of all, oldest first.' })
  async experiments(
    @Args('projectId', { type: () => ID, nullable: true }) projectId: string | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<ExperimentConnection> {
    const reply = await ctx.rpc.query(experimentsRpc.listExperiments, { ...(projectId ? { projectId } : {}), ...pageRequest(page) });
    for (const item of reply.items) ctx.loaders.experiments.prime(item.experimentId, item);
    return toPage(reply, toExperiment);
  }

  @Mutation(() => Experiment)
  async createExperiment(@Args('input') input: CreateExperimentInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Experiment> {
    const request = { ...present(input), projectId: input.projectId, name: input.name };
    return toExperiment(await ctx.rpc.command(experimentsRpc.createExperiment, request, ctx.commandIdFor(info)));
  }

  @ResolveField(() => Project)
  async project(@Parent() experiment: Experiment, @Context() ctx: GatewayContext): Promise<Project> {
    return toProject(await ctx.loaders.projects.load(experiment.projectId));
  }

  @ResolveField(() => String, { description: 'Who created it.' })
  async createdBy(@Parent() experiment: Experiment, @Context() ctx: GatewayContext): Promise<string> {
    return experiment.createdBy ?? (await ctx.loaders.streamOrigins.load(streamId('experiment', experiment.id))).metadata.actor;
  }

  @ResolveField(() => RunConnection, { description: 'Runs of the experiment, newest first unless ordered otherwise.' })
  async runs(
    @Parent() experiment: Experiment,
    @Args('orderBy', { type: () => RunOrder, nullable: true }) orderBy: RunOrder | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<RunConnection> {
    const reply = await ctx.rpc.query(experimentsRpc.listRuns, { filter: { experimentId: experiment.id }, ...(orderBy ? { orderBy: toRunOrder(orderBy) } : {}), ...pageRequest(page) });
    for (const item of reply.items) ctx.loaders.runs.prime(item.runId, item);
    return toPage(reply, toRun);
  }
}
