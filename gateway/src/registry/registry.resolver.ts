import { Needs, NeedsInProject } from '../access/policy';
import { Args, Context, Float, ID, Info, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { registryRpc, type RpcRequest } from '@modeltrail/contracts';
import { parseId } from '../common/ids';
import { present } from '../common/input';
import { PageArgs, pageRequest, toPage } from '../common/page';
import { DateTimeScalar } from '../common/scalars';
import type { GatewayContext } from '../context/gateway-context';
import { Experiment, Project, Run, toExperiment, toProject, toRun } from '../experiments/experiment.types';
import {
  ApprovePromotionInput,
  ArchiveModelVersionInput,
  CreateModelVersionInput,
  ModelFilter,
  PromotionRequestFilter,
  RegisterModelInput,
  RejectPromotionInput,
  RequestPromotionInput,
  toModelCard,
  UpdateModelCardInput,
} from './registry.inputs';
import { registryLoaders } from './registry.loaders';
import {
  AliasAssignment,
  AliasHolder,
  Model,
  ModelConnection,
  ModelVersion,
  ModelVersionConnection,
  ModelVersionStatusEnum,
  PromotionRequest,
  PromotionRequestConnection,
  PromotionStatusEnum,
  toAliasAssignment,
  toModel,
  toModelVersion,
  toPromotionRequest,
} from './registry.types';

type Values<E> = E[keyof E];

@Resolver(() => Model)
export class ModelResolver {
  @Needs('VIEWER', ['model', 'id'])
  @Query(() => Model, { nullable: true, description: 'A registered model by id (NOT_FOUND when there is none).' })
  async model(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Model> {
    return toModel(await registryLoaders(ctx).models.load(parseId(id, 'id')));
  }

  @NeedsInProject('VIEWER', 'filter.projectId')
  @Query(() => ModelConnection, { description: 'Registered models, of one project or of all, oldest first.' })
  async models(@Args('filter', { type: () => ModelFilter, nullable: true }) filter: ModelFilter | null, @Args() page: PageArgs, @Context() ctx: GatewayContext): Promise<ModelConnection> {
    const reply = await ctx.rpc.query(registryRpc.listModels, { ...present(filter ?? {}), ...pageRequest(page) } as RpcRequest<typeof registryRpc.listModels>);
    for (const item of reply.items) registryLoaders(ctx).models.prime(item.modelId, item);
    return toPage(reply, toModel);
  }

  @NeedsInProject('CONTRIBUTOR', 'input.projectId')
  @Mutation(() => Model, { description: 'Registers a model in a project; its name is unique within the project.' })
  async registerModel(@Args('input') input: RegisterModelInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Model> {
    const request = { projectId: input.projectId, name: input.name, ...(input.description != null ? { description: input.description } : {}) };
    const view = await ctx.rpc.command(registryRpc.registerModel, request, ctx.commandIdFor(info));
    registryLoaders(ctx).models.prime(view.modelId, view);
    return toModel(view);
  }

  @ResolveField(() => Project)
  async project(@Parent() model: Model, @Context() ctx: GatewayContext): Promise<Project> {
    return toProject(await ctx.loaders.projects.load(model.projectId));
  }

  @ResolveField(() => [AliasHolder], { description: 'Its aliases now, by name.' })
  aliases(@Parent() model: Model): AliasHolder[] {
    return model.holders;
  }

  @ResolveField(() => AliasAssignment, {
    nullable: true,
    description: 'Which version held the alias at a moment (a time, or a global event position; now when neither): null before its first assignment.',
  })
  async alias(
    @Parent() model: Model,
    @Args('name') name: string,
    @Args('asOf', { type: () => DateTimeScalar, nullable: true }) asOf: string | null,
    @Args('asOfPosition', { type: () => Float, nullable: true }) asOfPosition: number | null,
    @Context() ctx: GatewayContext,
  ): Promise<AliasAssignment | null> {
    const reply = await ctx.rpc.query(registryRpc.getAlias, { modelId: model.id, alias: name, ...(asOf ? { asOf } : {}), ...(asOfPosition !== null && asOfPosition !== undefined ? { asOfPosition } : {}) });
    if (reply.version) registryLoaders(ctx).modelVersions.prime(reply.version.modelVersionId, reply.version);
    return reply.assignment ? toAliasAssignment(reply.assignment) : null;
  }

  @ResolveField(() => [AliasAssignment], { description: 'Every move of the alias, newest first.' })
  async aliasHistory(@Parent() model: Model, @Args('alias') alias: string, @Context() ctx: GatewayContext): Promise<AliasAssignment[]> {
    return (await ctx.rpc.query(registryRpc.aliasHistory, { modelId: model.id, alias })).items.map(toAliasAssignment);
  }

  @ResolveField(() => ModelVersionConnection, { description: 'Its versions, newest first.' })
  async versions(
    @Parent() model: Model,
    @Args('status', { type: () => ModelVersionStatusEnum, nullable: true }) status: Values<typeof ModelVersionStatusEnum> | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<ModelVersionConnection> {
    const reply = await ctx.rpc.query(registryRpc.listModelVersions, { modelId: model.id, ...(status ? { status } : {}), ...pageRequest(page) });
    for (const item of reply.items) registryLoaders(ctx).modelVersions.prime(item.modelVersionId, item);
    return toPage(reply, toModelVersion);
  }

  @ResolveField(() => PromotionRequestConnection, { description: 'Promotion requests of its versions, newest first.' })
  async promotionRequests(
    @Parent() model: Model,
    @Args('status', { type: () => PromotionStatusEnum, nullable: true }) status: Values<typeof PromotionStatusEnum> | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<PromotionRequestConnection> {
    const reply = await ctx.rpc.query(registryRpc.listPromotionRequests, { filter: { modelId: model.id, ...(status ? { status } : {}) }, ...pageRequest(page) });
    return toPage(reply, toPromotionRequest);
  }
}

@Resolver(() => ModelVersion)
export class ModelVersionResolver {
  @Needs('VIEWER', ['modelVersion', 'id'])
  @Query(() => ModelVersion, { nullable: true, description: 'A model version by id (NOT_FOUND when there is none).' })
  async modelVersion(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<ModelVersion> {
    return toModelVersion(await registryLoaders(ctx).modelVersions.load(parseId(id, 'id')));
  }

  @Needs('CONTRIBUTOR', ['model', 'input.modelId'], ['run', 'input.runId'])
  @Mutation(() => ModelVersion, {
    description: "Creates the next version of a model from a completed run of its project: the run's artifact (by name) with its digest, its metrics summary, params, code and dataset versions, with a signature and a model card.",
  })
  async createModelVersion(@Args('input') input: CreateModelVersionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<ModelVersion> {
    const card = toModelCard(input.modelCard);
    const request = { modelId: input.modelId, runId: input.runId, artifactName: input.artifactName, signature: input.signature, ...(card ? { modelCard: card } : {}) } as RpcRequest<typeof registryRpc.createModelVersion>;
    return this.primed(ctx, await ctx.rpc.command(registryRpc.createModelVersion, request, ctx.commandIdFor(info)));
  }

  @Needs('CONTRIBUTOR', ['modelVersion', 'input.modelVersionId'])
  @Mutation(() => ModelVersion, { description: "Replaces a version's model card (fields left out become empty)." })
  async updateModelCard(@Args('input') input: UpdateModelCardInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<ModelVersion> {
    const request = { modelVersionId: input.modelVersionId, modelCard: toModelCard(input.modelCard) ?? {} } as RpcRequest<typeof registryRpc.updateModelCard>;
    return this.primed(ctx, await ctx.rpc.command(registryRpc.updateModelCard, request, ctx.commandIdFor(info)));
  }

  @Needs('CONTRIBUTOR', ['modelVersion', 'input.modelVersionId'])
  @Mutation(() => ModelVersion, { description: 'Archives a version: it can no longer be promoted. Refused while it holds an alias.' })
  async archiveModelVersion(@Args('input') input: ArchiveModelVersionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<ModelVersion> {
    return this.primed(ctx, await ctx.rpc.command(registryRpc.archiveModelVersion, { modelVersionId: input.modelVersionId, reason: input.reason }, ctx.commandIdFor(info)));
  }

  @ResolveField(() => Model)
  async model(@Parent() version: ModelVersion, @Context() ctx: GatewayContext): Promise<Model> {
    return toModel(await registryLoaders(ctx).models.load(version.modelId));
  }

  @ResolveField(() => Run, { description: 'The run the version was made from.' })
  async run(@Parent() version: ModelVersion, @Context() ctx: GatewayContext): Promise<Run> {
    return toRun(await ctx.loaders.runs.load(version.runId));
  }

  @ResolveField(() => Experiment)
  async experiment(@Parent() version: ModelVersion, @Context() ctx: GatewayContext): Promise<Experiment> {
    return toExperiment(await ctx.loaders.experiments.load(version.experimentId));
  }

  @ResolveField(() => Project)
  async project(@Parent() version: ModelVersion, @Context() ctx: GatewayContext): Promise<Project> {
    return toProject(await ctx.loaders.projects.load(version.projectId));
  }

  @ResolveField(() => PromotionRequestConnection, { description: 'Promotion requests of this version, newest first.' })
  async promotionRequests(
    @Parent() version: ModelVersion,
    @Args('status', { type: () => PromotionStatusEnum, nullable: true }) status: Values<typeof PromotionStatusEnum> | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<PromotionRequestConnection> {
    const reply = await ctx.rpc.query(registryRpc.listPromotionRequests, { filter: { modelVersionId: version.id, ...(status ? { status } : {}) }, ...pageRequest(page) });
    return toPage(reply, toPromotionRequest);
  }

  private primed(ctx: GatewayContext, view: Parameters<typeof toModelVersion>[0]): ModelVersion {
    registryLoaders(ctx).modelVersions.prime(view.modelVersionId, view);
    return toModelVersion(view);
  }
}

@Resolver(() => PromotionRequest)
export class PromotionRequestResolver {
  @Needs('VIEWER', [['model', 'filter.modelId'], ['modelVersion', 'filter.modelVersionId']])
  @Query(() => PromotionRequestConnection, { description: 'Promotion requests matching a filter, newest first.' })
  async promotionRequests(
    @Args('filter', { type: () => PromotionRequestFilter, nullable: true }) filter: PromotionRequestFilter | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<PromotionRequestConnection> {
    const reply = await ctx.rpc.query(registryRpc.listPromotionRequests, { filter: present(filter ?? {}), ...pageRequest(page) } as RpcRequest<typeof registryRpc.listPromotionRequests>);
    for (const item of reply.items) registryLoaders(ctx).promotionRequests.prime(item.requestId, item);
    return toPage(reply, toPromotionRequest);
  }

  @Needs('VIEWER', ['promotionRequest', 'id'])
  @Query(() => PromotionRequest, { nullable: true, description: 'A promotion request by id (NOT_FOUND when there is none).' })
  async promotionRequest(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<PromotionRequest> {
    return toPromotionRequest(await registryLoaders(ctx).promotionRequests.load(parseId(id, 'id')));
  }

  @Needs('CONTRIBUTOR', ['modelVersion', 'input.modelVersionId'])
  @Mutation(() => PromotionRequest, { description: 'Requests that a version take an alias. Every gate is judged now and recorded with the request.' })
  async requestPromotion(@Args('input') input: RequestPromotionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<PromotionRequest> {
    const request = { modelVersionId: input.modelVersionId, alias: input.alias, justification: input.justification };
    return toPromotionRequest(await ctx.rpc.command(registryRpc.requestPromotion, request, ctx.commandIdFor(info)));
  }

  @Needs('APPROVER', ['promotionRequest', 'input.requestId'])
  @Mutation(() => PromotionRequest, {
    description: 'Approves a request as the caller (FORBIDDEN for its requester; CONFLICT when a gate failed, naming it): the alias moves to the version in the same change.',
  })
  async approvePromotion(@Args('input') input: ApprovePromotionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<PromotionRequest> {
    const request = { requestId: input.requestId, ...(input.comment != null ? { comment: input.comment } : {}) };
    return toPromotionRequest(await ctx.rpc.command(registryRpc.approvePromotion, request, ctx.commandIdFor(info)));
  }

  @Needs('APPROVER', ['promotionRequest', 'input.requestId'])
  @Mutation(() => PromotionRequest, { description: 'Rejects a pending request.' })
  async rejectPromotion(@Args('input') input: RejectPromotionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<PromotionRequest> {
    return toPromotionRequest(await ctx.rpc.command(registryRpc.rejectPromotion, { requestId: input.requestId, reason: input.reason }, ctx.commandIdFor(info)));
  }

  @ResolveField(() => Model)
  async model(@Parent() request: PromotionRequest, @Context() ctx: GatewayContext): Promise<Model> {
    return toModel(await registryLoaders(ctx).models.load(request.modelId));
  }

  @ResolveField(() => ModelVersion)
  async modelVersion(@Parent() request: PromotionRequest, @Context() ctx: GatewayContext): Promise<ModelVersion> {
    return toModelVersion(await registryLoaders(ctx).modelVersions.load(request.modelVersionId));
  }
}

@Resolver(() => AliasAssignment)
export class AliasAssignmentResolver {
  @Needs('VIEWER', ['model', 'modelId'])
  @Query(() => [AliasAssignment], { description: 'Every move of an alias of a model, newest first: which version, who requested and approved it, when and why.' })
  async aliasHistory(@Args('modelId', { type: () => ID }) modelId: string, @Args('alias') alias: string, @Context() ctx: GatewayContext): Promise<AliasAssignment[]> {
    return (await ctx.rpc.query(registryRpc.aliasHistory, { modelId: parseId(modelId, 'modelId'), alias })).items.map(toAliasAssignment);
  }

  @ResolveField(() => ModelVersion, { description: 'The version that took the alias.' })
  async modelVersion(@Parent() assignment: AliasAssignment, @Context() ctx: GatewayContext): Promise<ModelVersion> {
    return toModelVersion(await registryLoaders(ctx).modelVersions.load(assignment.modelVersionId));
  }

  @ResolveField(() => ModelVersion, { nullable: true, description: 'The version that held the alias before and lost it in this move.' })
  async previousModelVersion(@Parent() assignment: AliasAssignment, @Context() ctx: GatewayContext): Promise<ModelVersion | null> {
    return assignment.previousModelVersionId ? toModelVersion(await registryLoaders(ctx).modelVersions.load(assignment.previousModelVersionId)) : null;
  }

  @ResolveField(() => PromotionRequest, { description: 'The approved request that moved it.' })
  async promotionRequest(@Parent() assignment: AliasAssignment, @Context() ctx: GatewayContext): Promise<PromotionRequest> {
    return toPromotionRequest(await registryLoaders(ctx).promotionRequests.load(assignment.requestId));
  }

  @ResolveField(() => Model)
  async model(@Parent() assignment: AliasAssignment, @Context() ctx: GatewayContext): Promise<Model> {
    return toModel(await registryLoaders(ctx).models.load(assignment.modelId));
  }
}

@Resolver(() => Run)
export class RunModelVersionsResolver {
  @ResolveField(() => [ModelVersion], { description: 'The model versions made from this run, oldest first.' })
  async modelVersions(@Parent() run: Run, @Context() ctx: GatewayContext): Promise<ModelVersion[]> {
    return (await registryLoaders(ctx).runModelVersions.load(run.id)).map(toModelVersion);
  }
}

@Resolver(() => AliasHolder)
export class AliasHolderResolver {
  @ResolveField(() => ModelVersion)
  async modelVersion(@Parent() holder: AliasHolder, @Context() ctx: GatewayContext): Promise<ModelVersion> {
    return toModelVersion(await registryLoaders(ctx).modelVersions.load(holder.modelVersionId));
  }
}

/** The registry's resolvers, in the order the API lists them. */
export const REGISTRY_RESOLVERS = [ModelResolver, ModelVersionResolver, PromotionRequestResolver, AliasAssignmentResolver, AliasHolderResolver, RunModelVersionsResolver] as const;
