import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { type MessageHeaders, type RpcReply, ValidationError, webhookStream, webhooksRpc, type z } from '@modeltrail/contracts';
import { CommandHandler, commandContextOf } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { type AddressPolicy, urlRefusal } from '../delivery/address-policy';
import { WebhooksReader } from '../read-model/webhooks.reader';
import { type WebhookCommand, webhookDecider, type WebhookEvent, type WebhookState } from './webhook.decider';
import { newWebhookSecret, WebhookSecrets } from './webhook.secrets';

type Req<K extends keyof typeof webhooksRpc> = z.output<(typeof webhooksRpc)[K]['request']>;
type Reply<K extends keyof typeof webhooksRpc> = RpcReply<(typeof webhooksRpc)[K]>;

export const ADDRESS_POLICY = Symbol('WEBHOOK_ADDRESS_POLICY');

/** Messaging adapter of the Webhook aggregate, and the redelivery of a delivery. */
@Controller()
export class WebhookHandlers {
  private readonly commands: CommandHandler<WebhookCommand, WebhookEvent, WebhookState>;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ADDRESS_POLICY) private readonly policy: AddressPolicy,
    private readonly reader: WebhooksReader,
    private readonly secrets: WebhookSecrets,
  ) {
    this.commands = new CommandHandler(store, webhookDecider);
  }

  @RpcPattern(webhooksRpc.createWebhook)
  async create(@Payload() req: Req<'createWebhook'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'createWebhook'>> {
    await this.checkReachable(req.url);
    const secret = newWebhookSecret();
    const secretId = randomUUID();
    // The secret first: the event that names it must never exist without it.
    await this.secrets.put(secretId, req.webhookId, secret);
    const command: WebhookCommand = { type: 'CreateWebhook', webhookId: req.webhookId, projectId: req.projectId, url: req.url, eventTypes: req.eventTypes, description: req.description, secretId, at: this.clock.now() };
    const result = await this.commands.handle(webhookStream(req.webhookId), command, commandContextOf(headers)).catch(async (error: unknown) => {
      await this.secrets.remove(secretId);
      throw error;
    });
    let shown = secret;
    if (result.events.length === 0 && result.state.status !== 'None') {
      // The same webhook created again (a retried command): its secret is the one it was given.
      await this.secrets.remove(secretId);
      shown = (await this.secrets.get(result.state.secretId)) ?? '';
    }
    return { webhook: await this.reader.webhookAfter(req.webhookId, result.position), secret: shown };
  }

  @RpcPattern(webhooksRpc.updateWebhook)
  async update(@Payload() req: Req<'updateWebhook'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'updateWebhook'>> {
    if (req.url !== undefined) await this.checkReachable(req.url);
    const command: WebhookCommand = { type: 'UpdateWebhook', webhookId: req.webhookId, url: req.url, eventTypes: req.eventTypes, description: req.description, at: this.clock.now() };
    const result = await this.commands.handle(webhookStream(req.webhookId), command, commandContextOf(headers));
    return this.reader.webhookAfter(req.webhookId, result.position);
  }

  @RpcPattern(webhooksRpc.rotateWebhookSecret)
  async rotate(@Payload() req: Req<'rotateWebhookSecret'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'rotateWebhookSecret'>> {
    const secret = newWebhookSecret();
    const secretId = randomUUID();
    await this.secrets.put(secretId, req.webhookId, secret);
    const result = await this.commands.handle(webhookStream(req.webhookId), { type: 'RotateWebhookSecret', webhookId: req.webhookId, secretId, at: this.clock.now() }, commandContextOf(headers)).catch(async (error: unknown) => {
      await this.secrets.remove(secretId);
      throw error;
    });
    if (result.state.status === 'None') throw new Error(`webhook ${req.webhookId} has no state after its rotation`);
    const current = result.state.secretId;
    // The old secret signs nothing any more (deliveries are signed when sent, with the current one).
    await this.secrets.removeOthers(req.webhookId, current);
    return { webhook: await this.reader.webhookAfter(req.webhookId, result.position), secret: current === secretId ? secret : ((await this.secrets.get(current)) ?? '') };
  }

  @RpcPattern(webhooksRpc.pauseWebhook)
  async pause(@Payload() req: Req<'pauseWebhook'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'pauseWebhook'>> {
    const result = await this.commands.handle(webhookStream(req.webhookId), { type: 'PauseWebhook', webhookId: req.webhookId, at: this.clock.now() }, commandContextOf(headers));
    return this.reader.webhookAfter(req.webhookId, result.position);
  }

  @RpcPattern(webhooksRpc.resumeWebhook)
  async resume(@Payload() req: Req<'resumeWebhook'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'resumeWebhook'>> {
    const result = await this.commands.handle(webhookStream(req.webhookId), { type: 'ResumeWebhook', webhookId: req.webhookId, at: this.clock.now() }, commandContextOf(headers));
    return this.reader.webhookAfter(req.webhookId, result.position);
  }

  @RpcPattern(webhooksRpc.deleteWebhook)
  async delete(@Payload() req: Req<'deleteWebhook'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'deleteWebhook'>> {
    const result = await this.commands.handle(webhookStream(req.webhookId), { type: 'DeleteWebhook', webhookId: req.webhookId, at: this.clock.now() }, commandContextOf(headers));
    await this.secrets.removeOthers(req.webhookId, null);
    return this.reader.webhookAfter(req.webhookId, result.position);
  }

  @RpcPattern(webhooksRpc.redeliverWebhookDelivery)
  redeliver(@Payload() req: Req<'redeliverWebhookDelivery'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'redeliverWebhookDelivery'>> {
    return this.reader.redeliver(req.deliveryId, headers.actor);
  }

  /** In production, a URL whose host is loopback, private or link-local is refused (unless allowed). */
  private async checkReachable(url: string): Promise<void> {
    const problem = await urlRefusal(this.policy, url);
    if (problem !== null) throw new ValidationError(`url ${problem}`, { issues: [{ field: 'url', message: problem }] });
  }
}
