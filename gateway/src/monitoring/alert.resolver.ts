import { Inject } from '@nestjs/common';
import { Args, Context, ID, Info, Mutation, Parent, Query, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { monitoringRpc, NotFoundError, type RpcRequest } from '@modeltrail/contracts';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { parseId } from '../common/ids';
import { present } from '../common/input';
import { PageArgs, pageRequest, toPage } from '../common/page';
import type { GatewayContext } from '../context/gateway-context';
import { Job, toJob } from '../scheduler/scheduler.types';
import { AlertFeed } from './alert-feed';
import { monitoringLoaders } from './monitoring.loaders';
import { AlertFilter, ApproveRetrainInput, DeclineRetrainInput, RetrainRequestFilter } from './monitoring.inputs';
import { Alert, AlertConnection, AlertEvent, Deployment, RetrainJobRefusal, RetrainRequest, RetrainRequestConnection, toAlert, toDeployment, toRetrainRequest } from './monitoring.types';
import { Needs } from '../access/policy';

@Resolver(() => Alert)
export class AlertResolver {
  private readonly feed: AlertFeed;

  constructor(@Inject(EVENT_STORE) store: EventStore) {
    this.feed = new AlertFeed(store);
  }

  /** Alert subscribers of this gateway now. */
  get subscribers(): number {
    return this.feed.size;
  }

  @Needs('VIEWER', ['alert', 'id'])
  @Query(() => Alert, { nullable: true, description: 'An alert by id (NOT_FOUND when there is none).' })
  async alert(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Alert> {
    return toAlert(await monitoringLoaders(ctx).alerts.load(parseId(id, 'id')));
  }

  @Needs('VIEWER', ['deployment', 'filter.deploymentId'])
  @Query(() => AlertConnection, { description: 'Alerts of every deployment (or those the filter names), newest first.' })
  async alerts(@Args('filter', { type: () => AlertFilter, nullable: true }) filter: AlertFilter | null, @Args() page: PageArgs, @Context() ctx: GatewayContext): Promise<AlertConnection> {
    const reply = await ctx.rpc.query(monitoringRpc.listAlerts, { filter: present(filter ?? {}), ...pageRequest(page) } as RpcRequest<typeof monitoringRpc.listAlerts>);
    const loaders = monitoringLoaders(ctx);
    for (const item of reply.items) loaders.alerts.prime(item.alertId, item);
    return toPage(reply, toAlert);
  }

  @Needs('VIEWER', ['deployment', 'deploymentId'])
  @Subscription(() => AlertEvent, {
    name: 'alerts',
    description: 'Alerts raised and resolved from now on, as the monitors record them: of one deployment (NOT_FOUND for an unknown one), or of every deployment.',
    resolve: (event: AlertEvent, _args: unknown, ctx: GatewayContext) => {
      // The subscription's context outlives every event: each is resolved with fresh lookups.
      ctx.loaders.clearAll();
      return event;
    },
  })
  async alertEvents(@Args('deploymentId', { type: () => ID, nullable: true }) deploymentId: string | null, @Context() ctx: GatewayContext): Promise<AsyncIterableIterator<AlertEvent>> {
    const id = deploymentId ? parseId(deploymentId, 'deploymentId') : null;
    // Follow first, so that nothing recorded between the check and the feed is lost.
    const events = await this.feed.follow(id);
    if (id !== null) {
      try {
        await monitoringLoaders(ctx).deployments.load(id);
      } catch (error) {
        await events.return?.();
        throw error;
      }
    }
    return events;
  }

  @ResolveField(() => Deployment)
  async deployment(@Parent() alert: Alert, @Context() ctx: GatewayContext): Promise<Deployment> {
    return toDeployment(await monitoringLoaders(ctx).deployments.load(alert.deploymentId));
  }

  @ResolveField(() => RetrainRequest, { nullable: true, description: 'The retraining the alert led to, if any.' })
  async retrainRequest(@Parent() alert: Alert, @Context() ctx: GatewayContext): Promise<RetrainRequest | null> {
    return alert.retrainId ? toRetrainRequest(await monitoringLoaders(ctx).retrains.load(alert.retrainId)) : null;
  }
}

@Resolver(() => AlertEvent)
export class AlertEventResolver {
  @ResolveField(() => Alert, { nullable: true, description: "The alert now; null with NOT_FOUND while the monitoring service's read model has not caught up." })
  async alert(@Parent() event: AlertEvent, @Context() ctx: GatewayContext): Promise<Alert> {
    return toAlert(await monitoringLoaders(ctx).alerts.load(event.alertId));
  }
}

@Resolver(() => RetrainRequest)
export class RetrainRequestResolver {
  @Needs('VIEWER', ['retrainRequest', 'id'])
  @Query(() => RetrainRequest, { nullable: true, description: 'A retraining by id (NOT_FOUND when there is none).' })
  async retrainRequest(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<RetrainRequest> {
    return toRetrainRequest(await monitoringLoaders(ctx).retrains.load(parseId(id, 'id')));
  }

  @Needs('VIEWER', ['deployment', 'filter.deploymentId'])
  @Query(() => RetrainRequestConnection, { description: 'Retrainings of every deployment (or those the filter names), newest first.' })
  async retrainRequests(
    @Args('filter', { type: () => RetrainRequestFilter, nullable: true }) filter: RetrainRequestFilter | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<RetrainRequestConnection> {
    const reply = await ctx.rpc.query(monitoringRpc.listRetrains, { filter: present(filter ?? {}), ...pageRequest(page) } as RpcRequest<typeof monitoringRpc.listRetrains>);
    const loaders = monitoringLoaders(ctx);
    for (const item of reply.items) loaders.retrains.prime(item.retrainId, item);
    return toPage(reply, toRetrainRequest);
  }

  @Needs('APPROVER', ['retrainRequest', 'input.retrainId'])
  @Mutation(() => RetrainRequest, { description: 'Approves a proposed retraining (the approver is the caller): it is requested on the newest dataset versions, and the scheduler queues its job.' })
  async approveRetrain(@Args('input') input: ApproveRetrainInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<RetrainRequest> {
    const view = await ctx.rpc.command(monitoringRpc.approveRetrain, present(input) as RpcRequest<typeof monitoringRpc.approveRetrain>, ctx.commandIdFor(info));
    monitoringLoaders(ctx).retrains.prime(view.retrainId, view);
    return toRetrainRequest(view);
  }

  @Needs('APPROVER', ['retrainRequest', 'input.retrainId'])
  @Mutation(() => RetrainRequest, { description: 'Declines a proposed retraining, saying why.' })
  async declineRetrain(@Args('input') input: DeclineRetrainInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<RetrainRequest> {
    const view = await ctx.rpc.command(monitoringRpc.declineRetrain, { retrainId: input.retrainId, reason: input.reason }, ctx.commandIdFor(info));
    monitoringLoaders(ctx).retrains.prime(view.retrainId, view);
    return toRetrainRequest(view);
  }

  @ResolveField(() => Deployment)
  async deployment(@Parent() retrain: RetrainRequest, @Context() ctx: GatewayContext): Promise<Deployment> {
    return toDeployment(await monitoringLoaders(ctx).deployments.load(retrain.deploymentId));
  }

  @ResolveField(() => Alert, { nullable: true })
  async alert(@Parent() retrain: RetrainRequest, @Context() ctx: GatewayContext): Promise<Alert | null> {
    return retrain.alertId ? toAlert(await monitoringLoaders(ctx).alerts.load(retrain.alertId)) : null;
  }

  @ResolveField(() => Job, { nullable: true, description: "The scheduler's job of a requested retraining; null until the scheduler has queued it (or when it refused it: see queueRefusal)." })
  async queuedJob(@Parent() retrain: RetrainRequest, @Context() ctx: GatewayContext): Promise<Job | null> {
    if (retrain.status !== 'REQUESTED') return null;
    try {
      return toJob(await ctx.loaders.jobs.load(retrain.job.jobId));
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }

  @ResolveField(() => RetrainJobRefusal, { nullable: true, description: "Why the scheduler could not queue the retraining's job, if it could not." })
  async queueRefusal(@Parent() retrain: RetrainRequest, @Context() ctx: GatewayContext): Promise<RetrainJobRefusal | null> {
    if (retrain.status !== 'REQUESTED') return null;
    const refused = await monitoringLoaders(ctx).jobRefusals.load(retrain.job.jobId);
    return refused ? { code: refused.code, reason: refused.reason, refusedAt: refused.refusedAt } : null;
  }
}
