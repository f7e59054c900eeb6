import { Args, Context, ID, Info, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { datasetsRpc, type RpcRequest } from '@modeltrail/contracts';
import { parseId } from '../common/ids';
import { present } from '../common/input';
import type { GatewayContext } from '../context/gateway-context';
import type { DatasetVersionReply } from '../context/loaders';
import {
  CleanDatasetVersionInput,
  DeriveDatasetVersionInput,
  RegisterDatasetVersionInput,
  SplitDatasetVersionInput,
  toCleaningSteps,
  toValidationRules,
  ValidateDatasetVersionInput,
} from './dataset.inputs';
import { Dataset, DatasetSplit, DatasetVersion, toDataset, toDatasetVersion, toValidationReport, ValidationReport } from './dataset.types';
import { Needs } from '../access/policy';

@Resolver(() => DatasetVersion)
export class DatasetVersionResolver {
  @Needs('VIEWER', ['datasetVersion', 'id'])
  @Query(() => DatasetVersion, { nullable: true, description: 'A dataset version by id (NOT_FOUND when there is none).' })
  async datasetVersion(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<DatasetVersion> {
    return toDatasetVersion(await ctx.loaders.datasetVersions.load(parseId(id, 'id')));
  }

  @Needs('CONTRIBUTOR', ['dataset', 'input.datasetId'])
  @Mutation(() => DatasetVersion, { description: 'Registers a file as the next version of a dataset; a byte-identical file returns the existing version.' })
  async registerDatasetVersion(@Args('input') input: RegisterDatasetVersionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<DatasetVersion> {
    const reply = await ctx.rpc.command(datasetsRpc.registerDatasetVersion, { ...present(input), datasetId: input.datasetId, uri: input.uri, format: input.format }, ctx.commandIdFor(info));
    return known(ctx, reply);
  }

  @Needs('CONTRIBUTOR', ['dataset', 'input.datasetId'])
  @Mutation(() => DatasetVersion, { description: 'Records a version made outside ModelTrail from parent versions (lineage).' })
  async deriveDatasetVersion(@Args('input') input: DeriveDatasetVersionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<DatasetVersion> {
    const reply = await ctx.rpc.command(
      datasetsRpc.deriveDatasetVersion,
      { ...present(input), parentVersionIds: input.parentVersionIds, uri: input.uri, format: input.format, transform: input.transform },
      ctx.commandIdFor(info),
    );
    return known(ctx, reply);
  }

  @Needs('CONTRIBUTOR', ['datasetVersion', 'input.datasetVersionId'])
  @Mutation(() => ValidationReport, { description: 'Checks a version against rules and records the report.' })
  async validateDatasetVersion(@Args('input') input: ValidateDatasetVersionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<ValidationReport> {
    const rules = toValidationRules(input.rules) as RpcRequest<typeof datasetsRpc.validateDatasetVersion>['rules'];
    const reply = await ctx.rpc.command(datasetsRpc.validateDatasetVersion, { datasetVersionId: input.datasetVersionId, rules }, ctx.commandIdFor(info));
    return toValidationReport(reply);
  }

  @Needs('CONTRIBUTOR', ['datasetVersion', 'input.datasetVersionId'])
  @Mutation(() => DatasetVersion, { description: 'Applies cleaning steps to a version, making a derived version.' })
  async cleanDatasetVersion(@Args('input') input: CleanDatasetVersionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<DatasetVersion> {
    const steps = toCleaningSteps(input.steps) as RpcRequest<typeof datasetsRpc.cleanDatasetVersion>['steps'];
    const reply = await ctx.rpc.command(datasetsRpc.cleanDatasetVersion, { datasetVersionId: input.datasetVersionId, steps }, ctx.commandIdFor(info));
    return known(ctx, reply);
  }

  @Needs('CONTRIBUTOR', ['datasetVersion', 'input.datasetVersionId'])
  @Mutation(() => DatasetSplit, { description: 'Splits a version into train, validation and test versions.' })
  async splitDatasetVersion(@Args('input') input: SplitDatasetVersionInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<DatasetSplit> {
    const reply = await ctx.rpc.command(
      datasetsRpc.splitDatasetVersion,
      { ...present(input), datasetVersionId: input.datasetVersionId, train: input.train, validation: input.validation, test: input.test, seed: input.seed },
      ctx.commandIdFor(info),
    );
    return {
      id: reply.splitId,
      sourceVersionId: reply.datasetVersionId,
      seed: reply.seed,
      fractions: reply.fractions,
      stratifyBy: reply.stratifyBy,
      train: known(ctx, reply.train),
      validation: known(ctx, reply.validation),
      test: known(ctx, reply.test),
    };
  }

  @ResolveField(() => Dataset)
  async dataset(@Parent() version: DatasetVersion, @Context() ctx: GatewayContext): Promise<Dataset> {
    return toDataset(await ctx.loaders.datasets.load(version.datasetId));
  }

  @ResolveField(() => [DatasetVersion], { description: 'The versions this one was derived from (empty for a version registered directly).' })
  async parents(@Parent() version: DatasetVersion, @Context() ctx: GatewayContext): Promise<DatasetVersion[]> {
    const parents = await ctx.loaders.datasetVersions.loadMany(version.parentVersionIds);
    return parents.map((parent) => {
      if (parent instanceof Error) throw parent;
      return toDatasetVersion(parent);
    });
  }

  @ResolveField(() => [ValidationReport], { description: 'Every validation of this version, newest first.' })
  async validations(@Parent() version: DatasetVersion, @Context() ctx: GatewayContext): Promise<ValidationReport[]> {
    return (await ctx.loaders.validations.load(version.id)).map(toValidationReport);
  }
}

@Resolver(() => ValidationReport)
export class ValidationReportResolver {
  @ResolveField(() => DatasetVersion)
  async datasetVersion(@Parent() report: ValidationReport, @Context() ctx: GatewayContext): Promise<DatasetVersion> {
    return toDatasetVersion(await ctx.loaders.datasetVersions.load(report.datasetVersionId));
  }
}

@Resolver(() => DatasetSplit)
export class DatasetSplitResolver {
  @ResolveField(() => DatasetVersion, { description: 'The version that was split.' })
  async source(@Parent() split: DatasetSplit, @Context() ctx: GatewayContext): Promise<DatasetVersion> {
    return toDatasetVersion(await ctx.loaders.datasetVersions.load(split.sourceVersionId));
  }
}

/** A version a command returned: later lookups in this operation need no request. */
function known(ctx: GatewayContext, reply: DatasetVersionReply): DatasetVersion {
  ctx.loaders.datasetVersions.prime(reply.datasetVersionId, reply);
  return toDatasetVersion(reply);
}
