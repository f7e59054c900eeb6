import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { DELIVERY_STATUSES, WEBHOOK_STATUSES, type DeliveryAttemptView, type WebhookDeliveryView, type WebhookView } from '@modeltrail/contracts';
import { enumOf } from '../common/ids';
import { Connection, PageArgs } from '../common/page';
import { DateTimeScalar } from '../common/scalars';

export const WebhookStatusEnum = enumOf(WEBHOOK_STATUSES);
registerEnumType(WebhookStatusEnum, { name: 'WebhookStatus', description: 'ACTIVE gets events; PAUSED gets none (its undelivered deliveries wait); DELETED is gone (its undelivered deliveries are cancelled).' });
export const WebhookDeliveryStatusEnum = enumOf(DELIVERY_STATUSES);
registerEnumType(WebhookDeliveryStatusEnum, {
  name: 'WebhookDeliveryStatus',
  description: 'PENDING: not tried yet (or put back); RETRYING: failed, another attempt scheduled; DELIVERED: a 2xx answer; PARKED: gave up after the last attempt; CANCELLED: the webhook was deleted first.',
});

@ObjectType({ description: 'One attempt to deliver an event.' })
export class WebhookDeliveryAttempt {
  @Field(() => Int)
  attempt!: number;

  @Field(() => DateTimeScalar)
  attemptedAt!: string;

  @Field(() => Int, { nullable: true, description: 'The HTTP status of the answer; null when none came (refused, timed out, blocked address).' })
  statusCode!: number | null;

  @Field(() => String, { nullable: true, description: 'What went wrong, with the start of the answer; null when delivered.' })
  error!: string | null;

  @Field(() => Int)
  durationMs!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the next attempt was scheduled after this one; null when delivered or parked.' })
  nextAttemptAt!: string | null;
}

@ObjectType({ description: 'An event to deliver to a webhook, its state and every attempt so far.' })
export class WebhookDelivery {
  @Field(() => ID, { description: 'Sent as the ModelTrail-Delivery-Id header.' })
  id!: string;

  @Field(() => ID)
  webhookId!: string;

  @Field(() => ID, { description: 'The event id, sent as the ModelTrail-Event-Id header: the same on every attempt, for receivers to deduplicate.' })
  eventId!: string;

  @Field()
  eventType!: string;

  @Field()
  stream!: string;

  @Field({ description: 'Store position of the event.' })
  position!: string;

  @Field(() => WebhookDeliveryStatusEnum)
  status!: string;

  @Field(() => Int)
  attempts!: number;

  @Field(() => DateTimeScalar)
  createdAt!: string;

  @Field(() => DateTimeScalar, { nullable: true })
  nextAttemptAt!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  deliveredAt!: string | null;

  @Field(() => Int, { nullable: true })
  lastStatusCode!: number | null;

  @Field(() => String, { nullable: true })
  lastError!: string | null;

  @Field(() => String, { nullable: true, description: 'Who last put it back with redeliverWebhookDelivery.' })
  redeliveredBy!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  redeliveredAt!: string | null;

  @Field(() => [WebhookDeliveryAttempt], { description: 'Every attempt, oldest first.' })
  log!: WebhookDeliveryAttempt[];
}

@ObjectType()
export class WebhookDeliveryConnection extends Connection(WebhookDelivery) {}

@ObjectType({ description: 'An HTTP endpoint subscribed to lifecycle events (docs/webhooks.md). Its signing secret is shown only when it is created or rotated.' })
export class Webhook {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true, description: 'The project whose events it gets; null: every event (platform admins only).' })
  projectId!: string | null;

  @Field()
  url!: string;

  @Field(() => [String], { description: 'Event types it gets (e.g. registry.AliasAssigned.v1), or ["*"] for all.' })
  eventTypes!: string[];

  @Field()
  description!: string;

  @Field(() => WebhookStatusEnum)
  status!: string;

  @Field(() => Int, { description: 'Version of the signing secret in force: 1, then one more at each rotation.' })
  secretVersion!: number;

  @Field()
  createdBy!: string;

  @Field(() => DateTimeScalar)
  createdAt!: string;

  @Field(() => DateTimeScalar)
  updatedAt!: string;
}

@ObjectType()
export class WebhookConnection extends Connection(Webhook) {}

@ObjectType({ description: 'A webhook and its signing secret: the only time the secret is shown.' })
export class WebhookWithSecret {
  @Field(() => Webhook)
  webhook!: Webhook;

  @Field({ description: 'whsec_…: the HMAC-SHA256 key of the ModelTrail-Signature header. Store it now: it cannot be shown again (rotate it if it is lost).' })
  secret!: string;
}

@InputType()
export class CreateWebhookInput {
  @Field({ description: 'An http:// or https:// URL; in production not a loopback, private or link-local address unless WEBHOOK_ALLOWED_HOSTS lists it.' })
  url!: string;

  @Field(() => [String], { description: 'Event types (e.g. registry.PromotionApproved.v1, monitoring.AlertRaised.v1), or ["*"] for all.' })
  eventTypes!: string[];

  @Field(() => ID, { nullable: true, description: "Only this project's events (needs ADMIN in it); absent: every event (needs a platform admin)." })
  projectId?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@InputType()
export class UpdateWebhookInput {
  @Field(() => ID)
  webhookId!: string;

  @Field(() => String, { nullable: true })
  url?: string | null;

  @Field(() => [String], { nullable: true })
  eventTypes?: string[] | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@ArgsType()
export class DeliveriesArgs extends PageArgs {
  @Field(() => WebhookDeliveryStatusEnum, { nullable: true, description: 'Only deliveries in this state.' })
  status?: string | null;
}

export function toWebhook(view: WebhookView): Webhook {
  const { webhookId, ...rest } = view;
  return { id: webhookId, projectId: rest.projectId, url: rest.url, eventTypes: rest.eventTypes, description: rest.description, status: rest.status, secretVersion: rest.secretVersion, createdBy: rest.createdBy, createdAt: rest.createdAt, updatedAt: rest.updatedAt };
}

function toAttempt(attempt: DeliveryAttemptView): WebhookDeliveryAttempt {
  return { ...attempt };
}

export function toDelivery(view: WebhookDeliveryView): WebhookDelivery {
  const { deliveryId, log, ...rest } = view;
  return { id: deliveryId, ...rest, log: log.map(toAttempt) };
}
