import { Needs } from '../access/policy';
import { Args, Context, ID, Info, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { type AlertView, monitoringRpc, type MonitorView, type RetrainView, type RpcRequest } from '@modeltrail/contracts';
import { parseId } from '../common/ids';
import { present } from '../common/input';
import { PageArgs, pageRequest, toPage } from '../common/page';
import type { GatewayContext } from '../context/gateway-context';
import { Experiment, Project, Run, toExperiment, toProject, toRun } from '../experiments/experiment.types';
import { registryLoaders } from '../registry/registry.loaders';
import { Model, ModelVersion, toModel, toModelVersion } from '../registry/registry.types';
import { type MonitoringLoaders, monitoringLoaders } from './monitoring.loaders';
import {
  ConfigureMonitorInput,
  DeployModelInput,
  DeploymentFilter,
  IngestFeatureBatchInput,
  IngestGroundTruthInput,
  IngestPredictionsInput,
  toConfigureMonitor,
  toFeatureBatch,
} from './monitoring.inputs';
import {
  AlertConnection,
  AlertKindEnum,
  AlertStatusEnum,
  Deployment,
  DeploymentConnection,
  DriftMeasurementConnection,
  IngestFeatureBatchResult,
  IngestGroundTruthResult,
  IngestPredictionsResult,
  Monitor,
  PerformanceMeasurementConnection,
  RetrainRequestConnection,
  RetrainStatusEnum,
  toAlert,
  toDeployment,
  toDriftMeasurement,
  toMonitor,
  toPerformanceMeasurement,
  toRetrainRequest,
} from './monitoring.types';

type Values<E> = E[keyof E];

/**
 * Deployments and their monitors: queries answered by the monitoring service's read model,
 * mutations sent as its commands (validated there by the contracts' request schemas).
 */
@Resolver(() => Deployment)
export class DeploymentResolver {
  @Needs('VIEWER', ['deployment', 'id'])
  @Query(() => Deployment, { nullable: true, description: 'A deployment by id (NOT_FOUND when there is none).' })
  async deployment(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Deployment> {
    return toDeployment(await monitoringLoaders(ctx).deployments.load(parseId(id, 'id')));
  }

  @Needs('VIEWER', [['model', 'filter.modelId'], ['modelVersion', 'filter.modelVersionId']])
  @Query(() => DeploymentConnection, { description: 'Deployments matching a filter, newest first.' })
  async deployments(@Args('filter', { type: () => DeploymentFilter, nullable: true }) filter: DeploymentFilter | null, @Args() page: PageArgs, @Context() ctx: GatewayContext): Promise<DeploymentConnection> {
    const reply = await ctx.rpc.query(monitoringRpc.listDeployments, { ...present(filter ?? {}), ...pageRequest(page) } as RpcRequest<typeof monitoringRpc.listDeployments>);
    const loaders = monitoringLoaders(ctx);
    for (const item of reply.items) loaders.deployments.prime(item.deploymentId, item);
    return toPage(reply, toDeployment);
  }

  @Needs('CONTRIBUTOR', ['modelVersion', 'input.modelVersionId'], ['datasetVersion', 'input.referenceDatasetVersionId'])
  @Mutation(() => Deployment, { description: "Deploys a model version: its training data is profiled into the frozen reference (drift is measured against it), and the deployment's monitor is created with the default settings." })
  async deployModel(@Args('input') input: DeployModelInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Deployment> {
    const view = await ctx.rpc.command(monitoringRpc.deployModel, present(input) as RpcRequest<typeof monitoringRpc.deployModel>, ctx.commandIdFor(info));
    monitoringLoaders(ctx).deployments.prime(view.deploymentId, view);
    return toDeployment(view);
  }

  @Needs('CONTRIBUTOR', ['deployment', 'input.deploymentId'], ['experiment', 'input.retrainJob.experimentId'])
  @Mutation(() => Monitor, { description: "Changes a deployment's monitor: drift methods and thresholds, hysteresis, performance tolerance and window, retraining policy and job." })
  async configureMonitor(@Args('input') input: ConfigureMonitorInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Monitor> {
    const view = await ctx.rpc.command(monitoringRpc.configureMonitor, toConfigureMonitor(input) as RpcRequest<typeof monitoringRpc.configureMonitor>, ctx.commandIdFor(info));
    return primedMonitor(monitoringLoaders(ctx), view);
  }

  @Needs('CONTRIBUTOR', ['deployment', 'input.deploymentId'], ['datasetVersion', 'input.datasetVersionId'])
  @Mutation(() => IngestFeatureBatchResult, {
    description: "Measures a batch of production features against the deployment's reference (one drift window); raises or resolves alerts and requests or proposes a retraining as the monitor's settings say.",
  })
  async ingestFeatureBatch(@Args('input') input: IngestFeatureBatchInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<IngestFeatureBatchResult> {
    const reply = await ctx.rpc.command(monitoringRpc.ingestFeatureBatch, toFeatureBatch(input) as RpcRequest<typeof monitoringRpc.ingestFeatureBatch>, ctx.commandIdFor(info));
    return { measurement: toDriftMeasurement(reply.measurement), ...consequences(monitoringLoaders(ctx), reply) };
  }

  @Needs('CONTRIBUTOR', ['deployment', 'input.deploymentId'])
  @Mutation(() => IngestPredictionsResult, { description: 'Stores predictions of the deployed model (idempotent per prediction id and value); their ground truth may come later.' })
  async ingestPredictions(@Args('input') input: IngestPredictionsInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<IngestPredictionsResult> {
    const request = { deploymentId: input.deploymentId, predictions: input.predictions.map((p) => present(p)) } as RpcRequest<typeof monitoringRpc.ingestPredictions>;
    return ctx.rpc.command(monitoringRpc.ingestPredictions, request, ctx.commandIdFor(info));
  }

  @Needs('CONTRIBUTOR', ['deployment', 'input.deploymentId'])
  @Mutation(() => IngestGroundTruthResult, { description: 'Stores the true outcomes of stored predictions; each window of windowSize labels completed (in arrival order) is measured and compared with the deployed version.' })
  async ingestGroundTruth(@Args('input') input: IngestGroundTruthInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<IngestGroundTruthResult> {
    const request = { deploymentId: input.deploymentId, labels: input.labels.map((l) => ({ predictionId: l.predictionId, actual: l.actual })) } as RpcRequest<typeof monitoringRpc.ingestGroundTruth>;
    const reply = await ctx.rpc.command(monitoringRpc.ingestGroundTruth, request, ctx.commandIdFor(info));
    return { deploymentId: reply.deploymentId, accepted: reply.accepted, pending: reply.pending, measurements: reply.measurements.map(toPerformanceMeasurement), ...consequences(monitoringLoaders(ctx), reply) };
  }

  @ResolveField(() => Monitor, { description: "The deployment's monitor." })
  async monitor(@Parent() deployment: Deployment, @Context() ctx: GatewayContext): Promise<Monitor> {
    return toMonitor(await monitoringLoaders(ctx).monitors.load(deployment.id));
  }

  @ResolveField(() => DriftMeasurementConnection, { description: 'Drift windows, newest first.' })
  async driftMeasurements(@Parent() deployment: Deployment, @Args() page: PageArgs, @Context() ctx: GatewayContext): Promise<DriftMeasurementConnection> {
    return toPage(await ctx.rpc.query(monitoringRpc.listDriftMeasurements, { deploymentId: deployment.id, ...pageRequest(page) }), toDriftMeasurement);
  }

  @ResolveField(() => PerformanceMeasurementConnection, { description: 'Performance windows, newest first.' })
  async performance(@Parent() deployment: Deployment, @Args() page: PageArgs, @Context() ctx: GatewayContext): Promise<PerformanceMeasurementConnection> {
    return toPage(await ctx.rpc.query(monitoringRpc.listPerformanceMeasurements, { deploymentId: deployment.id, ...pageRequest(page) }), toPerformanceMeasurement);
  }

  @ResolveField(() => AlertConnection, { description: "The deployment's alerts, newest first." })
  async alerts(
    @Parent() deployment: Deployment,
    @Args('status', { type: () => AlertStatusEnum, nullable: true }) status: Values<typeof AlertStatusEnum> | null,
    @Args('kind', { type: () => AlertKindEnum, nullable: true }) kind: Values<typeof AlertKindEnum> | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<AlertConnection> {
    const reply = await ctx.rpc.query(monitoringRpc.listAlerts, { filter: { deploymentId: deployment.id, ...present({ status, kind }) }, ...pageRequest(page) } as RpcRequest<typeof monitoringRpc.listAlerts>);
    const loaders = monitoringLoaders(ctx);
    for (const item of reply.items) loaders.alerts.prime(item.alertId, item);
    return toPage(reply, toAlert);
  }

  @ResolveField(() => RetrainRequestConnection, { description: "The deployment's retrainings (proposed, requested or declined), newest first." })
  async retrainRequests(
    @Parent() deployment: Deployment,
    @Args('status', { type: () => RetrainStatusEnum, nullable: true }) status: Values<typeof RetrainStatusEnum> | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<RetrainRequestConnection> {
    const reply = await ctx.rpc.query(monitoringRpc.listRetrains, { filter: { deploymentId: deployment.id, ...present({ status }) }, ...pageRequest(page) } as RpcRequest<typeof monitoringRpc.listRetrains>);
    const loaders = monitoringLoaders(ctx);
    for (const item of reply.items) loaders.retrains.prime(item.retrainId, item);
    return toPage(reply, toRetrainRequest);
  }

  @ResolveField(() => ModelVersion, { description: 'The deployed model version.' })
  async modelVersion(@Parent() deployment: Deployment, @Context() ctx: GatewayContext): Promise<ModelVersion> {
    return toModelVersion(await registryLoaders(ctx).modelVersions.load(deployment.modelVersionId));
  }

  @ResolveField(() => Model, { description: 'The registered model of the deployed version.' })
  async model(@Parent() deployment: Deployment, @Context() ctx: GatewayContext): Promise<Model> {
    return toModel(await registryLoaders(ctx).models.load(deployment.modelId));
  }

  @ResolveField(() => Run, { description: 'The run that trained the deployed version.' })
  async run(@Parent() deployment: Deployment, @Context() ctx: GatewayContext): Promise<Run> {
    return toRun(await ctx.loaders.runs.load(deployment.runId));
  }

  @ResolveField(() => Experiment)
  async experiment(@Parent() deployment: Deployment, @Context() ctx: GatewayContext): Promise<Experiment> {
    return toExperiment(await ctx.loaders.experiments.load(deployment.experimentId));
  }

  @ResolveField(() => Project)
  async project(@Parent() deployment: Deployment, @Context() ctx: GatewayContext): Promise<Project> {
    return toProject(await ctx.loaders.projects.load(deployment.projectId));
  }
}

@Resolver(() => Monitor)
export class MonitorResolver {
  @ResolveField(() => Deployment)
  async deployment(@Parent() monitor: Monitor, @Context() ctx: GatewayContext): Promise<Deployment> {
    return toDeployment(await monitoringLoaders(ctx).deployments.load(monitor.deploymentId));
  }
}

function primedMonitor(loaders: MonitoringLoaders, view: MonitorView): Monitor {
  loaders.monitors.prime(view.deploymentId, view);
  return toMonitor(view);
}

/** What a measurement led to, its views primed for the fields a client asks of them. */
function consequences(loaders: MonitoringLoaders, reply: { monitor: MonitorView; alertsRaised: AlertView[]; alertsResolved: AlertView[]; retrains: RetrainView[] }) {
  for (const alert of [...reply.alertsRaised, ...reply.alertsResolved]) loaders.alerts.prime(alert.alertId, alert);
  for (const retrain of reply.retrains) loaders.retrains.prime(retrain.retrainId, retrain);
  return {
    monitor: primedMonitor(loaders, reply.monitor),
    alertsRaised: reply.alertsRaised.map(toAlert),
    alertsResolved: reply.alertsResolved.map(toAlert),
    retrainRequests: reply.retrains.map(toRetrainRequest),
  };
}
