import { Args, Context, ID, Info, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { accessRpc, datasetsRpc, DefineProjectRequest, experimentsRpc, ID_NAMESPACES, nameBasedUuid, NotFoundError, parseWith, projectIdFor, streamId } from '@modeltrail/contracts';
import { parseId } from '../common/ids';
import { PageArgs, pageRequest, toPage } from '../common/page';
import type { GatewayContext } from '../context/gateway-context';
import { present } from '../common/input';
import { DatasetConnection, DatasetStatusEnum, toDataset } from '../datasets/dataset.types';
import { CreateExperimentInput, DefineProjectInput, RunOrder, toRunOrder } from './experiment.inputs';
import { Experiment, ExperimentConnection, Project, ProjectConnection, RunConnection, TaskTypeEnum, toExperiment, toProject, toRun } from './experiment.types';
import { Anyone, CheckedInResolver, Needs, NeedsInProject } from '../access/policy';

type Values<E> = E[keyof E];

@Resolver(() => Project)
export class ProjectResolver {
  @Needs('VIEWER', ['project', 'id'])
  @Query(() => Project, { nullable: true, description: 'A project by id (NOT_FOUND when there is none).' })
  async project(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Project> {
    return toProject(await ctx.loaders.projects.load(parseId(id, 'id')));
  }

  @Anyone('lists only the projects the caller has a role in')
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

  @CheckedInResolver('anyone may define a new project and becomes its ADMIN; redefining an existing one needs ADMIN in it')
  @Mutation(() => Project, { description: 'Defines a project: the problem, the task type, the target and the success criteria.' })
  async defineProject(@Args('input') input: DefineProjectInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Project> {
    const request = { ...present(input), name: input.name, problem: input.problem, taskType: input.taskType };
    // A new project makes its definer its ADMIN; redefining one that exists needs ADMIN in it.
    const projectId = projectIdFor(input.name);
    const existed = await ctx.loaders.projects.load(projectId).then(
      () => true,
      (error: unknown) => {
        if (error instanceof NotFoundError) return false;
        throw error;
      },
    );
    if (existed) ctx.access.require('ADMIN', projectId, `defineProject of the existing project "${input.name}"`);
    const commandId = ctx.commandIdFor(info);
    if (!existed && !ctx.access.platformAdmin) {
      // The definer's ADMIN role first, so that a project never exists without an admin; the request
      // is checked here first, so that a definition the service would refuse grants nothing. A retry
      // grants nothing twice (same role) and defines the project.
      parseWith(DefineProjectRequest, request, 'defineProject input');
      await ctx.rpc.command(accessRpc.grantRole, { scope: projectId, principal: ctx.user, role: 'ADMIN' }, nameBasedUuid(ID_NAMESPACES.idempotencyKey, `${commandId}\nadmin of the project`));
      ctx.access.granted(projectId, 'ADMIN');
    }
    return toProject(await ctx.rpc.command(experimentsRpc.defineProject, request, commandId));
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
  @Needs('VIEWER', ['experiment', 'id'])
  @Query(() => Experiment, { nullable: true, description: 'An experiment by id (NOT_FOUND when there is none).' })
  async experiment(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Experiment> {
    return toExperiment(await ctx.loaders.experiments.load(parseId(id, 'id')));
  }

  @NeedsInProject('VIEWER', 'projectId')
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

  @NeedsInProject('CONTRIBUTOR', 'input.projectId')
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
