import { Args, Context, ID, Info, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { commandScopedId, type DeliveryStatus, NotFoundError, type WebhookView, webhooksRpc } from '@modeltrail/contracts';
import { CheckedInResolver } from '../access/policy';
import { parseId } from '../common/ids';
import { present } from '../common/input';
import { PageArgs, pageRequest, toPage } from '../common/page';
import type { GatewayContext } from '../context/gateway-context';
import {
  CreateWebhookInput,
  DeliveriesArgs,
  toDelivery,
  toWebhook,
  UpdateWebhookInput,
  Webhook,
  WebhookConnection,
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookWithSecret,
} from './webhooks.types';

const RULE = "ADMIN in the webhook's project; a webhook without a project needs a platform admin (reading too: a URL often carries the receiver's token)";

/** FORBIDDEN unless the caller may manage webhooks of this project (null: every project's events). */
function requireManager(ctx: GatewayContext, projectId: string | null, what: string): void {
  if (projectId === null) ctx.access.requirePlatformAdmin(`${what} of a webhook without a project`);
  else ctx.access.require('ADMIN', projectId, what);
}

/**
 * Webhooks (docs/webhooks.md): HTTP endpoints subscribed to lifecycle events, managed by the
 * project's admins (platform admins for webhooks of every project), with their delivery log.
 */
@Resolver(() => Webhook)
export class WebhookResolver {
  @CheckedInResolver(RULE)
  @Query(() => WebhookConnection, { description: 'Webhooks, newest first: of a project (ADMIN in it), or every one you manage.' })
  async webhooks(
    @Args('projectId', { type: () => ID, nullable: true }) projectId: string | null,
    @Args('includeDeleted', { defaultValue: false }) includeDeleted: boolean,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<WebhookConnection> {
    projectId ??= null; // an absent argument comes as undefined
    let filter: { projectIds?: string[]; unscoped: boolean };
    if (projectId !== null) {
      const id = parseId(projectId, 'projectId');
      requireManager(ctx, id, 'webhooks');
      filter = { projectIds: [id], unscoped: false };
    } else if (ctx.access.platformAdmin) {
      filter = { unscoped: false };
    } else {
      const managed = [...ctx.access.projectRoles].filter(([, role]) => role === 'ADMIN').map(([id]) => id);
      if (managed.length === 0) return { nodes: [], pageInfo: { endCursor: null, hasNextPage: false } };
      filter = { projectIds: managed, unscoped: false };
    }
    return toPage(await ctx.rpc.query(webhooksRpc.listWebhooks, { ...filter, includeDeleted, ...pageRequest(page) }), toWebhook);
  }

  @CheckedInResolver(RULE)
  @Query(() => Webhook, { description: 'One webhook, with its deliveries.' })
  async webhook(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Webhook> {
    return toWebhook(await this.managed(ctx, parseId(id, 'id'), 'webhook'));
  }

  @ResolveField(() => WebhookDeliveryConnection, { description: 'Its deliveries, newest event first; `status` keeps those in one state.' })
  async deliveries(@Parent() webhook: Webhook, @Args() args: DeliveriesArgs, @Context() ctx: GatewayContext): Promise<WebhookDeliveryConnection> {
    const reply = await ctx.rpc.query(webhooksRpc.listWebhookDeliveries, { webhookId: webhook.id, ...(args.status ? { status: args.status as DeliveryStatus } : {}), ...pageRequest(args) });
    return toPage(reply, toDelivery);
  }

  @CheckedInResolver(RULE)
  @Mutation(() => WebhookWithSecret, { description: 'Subscribes an HTTP endpoint to lifecycle events. The signing secret is in this answer only.' })
  async createWebhook(@Args('input') input: CreateWebhookInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<WebhookWithSecret> {
    const projectId = input.projectId == null ? null : parseId(input.projectId, 'projectId');
    requireManager(ctx, projectId, 'createWebhook');
    if (projectId !== null) await ctx.loaders.projects.load(projectId); // NOT_FOUND for a project that does not exist
    const commandId = ctx.commandIdFor(info);
    const reply = await ctx.rpc.command(
      webhooksRpc.createWebhook,
      { webhookId: commandScopedId(commandId, 'webhook'), url: input.url, eventTypes: input.eventTypes, projectId, description: input.description ?? '' },
      commandId,
    );
    return { webhook: toWebhook(reply.webhook), secret: reply.secret };
  }

  @CheckedInResolver(RULE)
  @Mutation(() => Webhook, { description: 'Changes the URL, the event types or the description of a webhook.' })
  async updateWebhook(@Args('input') input: UpdateWebhookInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Webhook> {
    const webhookId = parseId(input.webhookId, 'webhookId');
    await this.managed(ctx, webhookId, 'updateWebhook');
    const { url, eventTypes, description } = present(input);
    return toWebhook(await ctx.rpc.command(webhooksRpc.updateWebhook, { webhookId, url, eventTypes, description }, ctx.commandIdFor(info)));
  }

  @CheckedInResolver(RULE)
  @Mutation(() => WebhookWithSecret, { description: 'Gives a webhook a new signing secret, in this answer only; deliveries are signed with it from now on.' })
  async rotateWebhookSecret(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<WebhookWithSecret> {
    const webhookId = parseId(id, 'id');
    await this.managed(ctx, webhookId, 'rotateWebhookSecret');
    const reply = await ctx.rpc.command(webhooksRpc.rotateWebhookSecret, { webhookId }, ctx.commandIdFor(info));
    return { webhook: toWebhook(reply.webhook), secret: reply.secret };
  }

  @CheckedInResolver(RULE)
  @Mutation(() => Webhook, { description: 'Stops matching events for a webhook; its undelivered deliveries wait until it is resumed.' })
  async pauseWebhook(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Webhook> {
    const webhookId = parseId(id, 'id');
    await this.managed(ctx, webhookId, 'pauseWebhook');
    return toWebhook(await ctx.rpc.command(webhooksRpc.pauseWebhook, { webhookId }, ctx.commandIdFor(info)));
  }

  @CheckedInResolver(RULE)
  @Mutation(() => Webhook, { description: 'Matches events for a paused webhook again (from now on) and sends what waited.' })
  async resumeWebhook(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Webhook> {
    const webhookId = parseId(id, 'id');
    await this.managed(ctx, webhookId, 'resumeWebhook');
    return toWebhook(await ctx.rpc.command(webhooksRpc.resumeWebhook, { webhookId }, ctx.commandIdFor(info)));
  }

  @CheckedInResolver(RULE)
  @Mutation(() => Webhook, { description: 'Deletes a webhook and its secret; its undelivered deliveries are cancelled, its log stays.' })
  async deleteWebhook(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Webhook> {
    const webhookId = parseId(id, 'id');
    await this.managed(ctx, webhookId, 'deleteWebhook');
    return toWebhook(await ctx.rpc.command(webhooksRpc.deleteWebhook, { webhookId }, ctx.commandIdFor(info)));
  }

  @CheckedInResolver(RULE)
  @Mutation(() => WebhookDelivery, { description: 'Sends a parked, retrying or delivered delivery again now, with a fresh budget of attempts (CONFLICT when it is pending or cancelled).' })
  async redeliverWebhookDelivery(@Args('deliveryId', { type: () => ID }) deliveryId: string, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<WebhookDelivery> {
    const id = parseId(deliveryId, 'deliveryId');
    const delivery = await ctx.rpc.query(webhooksRpc.getWebhookDelivery, { deliveryId: id });
    await this.managed(ctx, delivery.webhookId, 'redeliverWebhookDelivery');
    return toDelivery(await ctx.rpc.command(webhooksRpc.redeliverWebhookDelivery, { deliveryId: id }, ctx.commandIdFor(info)));
  }

  /** The webhook, once the caller is known to manage it (NOT_FOUND for none, FORBIDDEN for another project's). */
  private async managed(ctx: GatewayContext, webhookId: string, what: string): Promise<WebhookView> {
    const [webhook] = (await ctx.rpc.query(webhooksRpc.getWebhooks, { webhookIds: [webhookId] })).items;
    if (!webhook) throw new NotFoundError(`webhook ${webhookId} does not exist`, { webhookId });
    requireManager(ctx, webhook.projectId, what);
    return webhook;
  }
}

export const WEBHOOK_RESOLVERS = [WebhookResolver] as const;
