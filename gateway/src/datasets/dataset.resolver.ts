import { Args, Context, ID, Info, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { datasetsRpc, streamId } from '@modeltrail/contracts';
import { parseId } from '../common/ids';
import { present } from '../common/input';
import { PageArgs, pageRequest, toPage } from '../common/page';
import { DateTimeScalar } from '../common/scalars';
import type { GatewayContext } from '../context/gateway-context';
import { Project, toProject } from '../experiments/experiment.types';
import { ArchiveDatasetInput, ChangeDatasetDescriptionInput, DatasetFilter, RegisterDatasetInput } from './dataset.inputs';
import { Dataset, DatasetConnection, DatasetVersionConnection, toDataset, toDatasetVersion } from './dataset.types';
import { Needs, NeedsInProject } from '../access/policy';

@Resolver(() => Dataset)
export class DatasetResolver {
  @Needs('VIEWER', ['dataset', 'id'])
  @Query(() => Dataset, { nullable: true, description: 'A dataset by id (NOT_FOUND when there is none).' })
  async dataset(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Dataset> {
    return toDataset(await ctx.loaders.datasets.load(parseId(id, 'id')));
  }

  @NeedsInProject('VIEWER', 'filter.projectId')
  @Query(() => DatasetConnection, { description: 'Datasets, oldest first.' })
  async datasets(
    @Args('filter', { type: () => DatasetFilter, nullable: true }) filter: DatasetFilter | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<DatasetConnection> {
    const reply = await ctx.rpc.query(datasetsRpc.listDatasets, { ...present(filter ?? {}), ...pageRequest(page) });
    for (const item of reply.items) ctx.loaders.datasets.prime(item.datasetId, item);
    return toPage(reply, toDataset);
  }

  @NeedsInProject('CONTRIBUTOR', 'input.projectId')
  @Mutation(() => Dataset)
  async registerDataset(@Args('input') input: RegisterDatasetInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Dataset> {
    return toDataset(await ctx.rpc.command(datasetsRpc.registerDataset, { ...present(input), name: input.name }, ctx.commandIdFor(info)));
  }

  @Needs('CONTRIBUTOR', ['dataset', 'input.datasetId'])
  @Mutation(() => Dataset)
  async changeDatasetDescription(@Args('input') input: ChangeDatasetDescriptionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Dataset> {
    return toDataset(await ctx.rpc.command(datasetsRpc.changeDatasetDescription, { datasetId: input.datasetId, description: input.description }, ctx.commandIdFor(info)));
  }

  @Needs('CONTRIBUTOR', ['dataset', 'input.datasetId'])
  @Mutation(() => Dataset)
  async archiveDataset(@Args('input') input: ArchiveDatasetInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Dataset> {
    return toDataset(await ctx.rpc.command(datasetsRpc.archiveDataset, { datasetId: input.datasetId, reason: input.reason }, ctx.commandIdFor(info)));
  }

  @ResolveField(() => Project, { nullable: true, description: 'The project the dataset belongs to, if any.' })
  async project(@Parent() dataset: Dataset, @Context() ctx: GatewayContext): Promise<Project | null> {
    return dataset.projectId ? toProject(await ctx.loaders.projects.load(dataset.projectId)) : null;
  }

  @ResolveField(() => DatasetVersionConnection, { description: 'Versions, newest first.' })
  async versions(@Parent() dataset: Dataset, @Args() page: PageArgs, @Context() ctx: GatewayContext): Promise<DatasetVersionConnection> {
    const reply = await ctx.rpc.query(datasetsRpc.listDatasetVersions, { datasetId: dataset.id, ...pageRequest(page) });
    for (const item of reply.items) ctx.loaders.datasetVersions.prime(item.datasetVersionId, item);
    return toPage(reply, toDatasetVersion);
  }

  @ResolveField(() => DateTimeScalar)
  async registeredAt(@Parent() dataset: Dataset, @Context() ctx: GatewayContext): Promise<string> {
    if (dataset.registeredAt !== undefined) return dataset.registeredAt;
    const first = await ctx.loaders.streamOrigins.load(streamId('dataset', dataset.id));
    return (first.data as { registeredAt: string }).registeredAt;
  }

  @ResolveField(() => String, { description: 'Who registered it.' })
  async registeredBy(@Parent() dataset: Dataset, @Context() ctx: GatewayContext): Promise<string> {
    if (dataset.registeredBy !== undefined) return dataset.registeredBy;
    return (await ctx.loaders.streamOrigins.load(streamId('dataset', dataset.id))).metadata.actor;
  }
}
