import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { type RpcReply, webhooksRpc, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
import { WebhooksReader } from './read-model/webhooks.reader';

type Req<K extends keyof typeof webhooksRpc> = z.output<(typeof webhooksRpc)[K]['request']>;
type Reply<K extends keyof typeof webhooksRpc> = RpcReply<(typeof webhooksRpc)[K]>;

/** mt.qry.webhooks.*: webhooks from the read model, deliveries and their attempts from the outbox. */
@Controller()
export class WebhooksQueries {
  constructor(private readonly reader: WebhooksReader) {}

  @RpcPattern(webhooksRpc.getWebhooks)
  async getWebhooks(@Payload() req: Req<'getWebhooks'>): Promise<Reply<'getWebhooks'>> {
    return { items: await this.reader.webhooks(req.webhookIds) };
  }

  @RpcPattern(webhooksRpc.listWebhooks)
  listWebhooks(@Payload() req: Req<'listWebhooks'>): Promise<Reply<'listWebhooks'>> {
    return this.reader.list(req);
  }

  @RpcPattern(webhooksRpc.getWebhookDelivery)
  getWebhookDelivery(@Payload() req: Req<'getWebhookDelivery'>): Promise<Reply<'getWebhookDelivery'>> {
    return this.reader.delivery(req.deliveryId);
  }

  @RpcPattern(webhooksRpc.listWebhookDeliveries)
  listWebhookDeliveries(@Payload() req: Req<'listWebhookDeliveries'>): Promise<Reply<'listWebhookDeliveries'>> {
    return this.reader.deliveries(req);
  }
}
