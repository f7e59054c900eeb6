import { createHmac, timingSafeEqual } from 'node:crypto';
import { PageInfo, PageRequest } from './datasets';
import { defineRpc } from './rpc';
import { uuid as uuidSchema, z } from './schema';

/**
 * Contracts of the `webhooks` context: HTTP endpoints subscribed to lifecycle events, and the
 * log of their deliveries (docs/webhooks.md).
 *
 * Stream: `webhook-<webhookId>` holds a webhook's creation, changes, secret rotations, pauses
 * and deletion. The signing secret is never in an event: events carry only the id and version of
 * the secret, and the webhooks service keeps the secret itself in its own table, where the
 * delivery worker reads it.
 */

const uuid = uuidSchema();

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

/** Subscribes to every event type. */
export const ALL_EVENT_TYPES = '*';

/** `<context>.<EventName>.v<N>` or `*`; whether the type exists is checked by the webhooks service against the catalog. */
export const WebhookEventType = z
  .string()
  .trim()
  .refine((value) => value === ALL_EVENT_TYPES || /^[a-z][a-z0-9-]*\.[A-Z][A-Za-z0-9]*\.v[1-9][0-9]*$/.test(value), 'must be an event type such as registry.AliasAssigned.v1, or *');

export const WebhookEventTypes = z
  .array(WebhookEventType)
  .min(1, 'must name at least one event type (or *)')
  .max(200, 'must name at most 200 event types')
  .transform((types) => [...new Set(types)].sort());

/** An http(s) URL without credentials; whether its host may be reached is checked by the webhooks service. */
export const WebhookUrl = z
  .string()
  .trim()
  .max(2_048, 'must be at most 2,048 characters')
  .superRefine((value, ctx) => {
    const problem = webhookUrlProblem(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Why a text is not a webhook URL (not http(s), credentials in it, no host), or null. */
export function webhookUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http:// or https:// URL, e.g. https://hooks.example.com/modeltrail';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http:// or https:// URL (not ${url.protocol}//)`;
  if (url.username || url.password) return 'must not carry a user name or password (send credentials in the URL path or verify the signature)';
  if (!url.hostname) return 'must name a host';
  return null;
}

export const WebhookDescription = z.string().trim().max(1_000, 'must be at most 1,000 characters');

export const WEBHOOK_STATUSES = ['ACTIVE', 'PAUSED', 'DELETED'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

/**
 * A delivery's state: PENDING (not tried yet, or put back), RETRYING (failed, another attempt is
 * scheduled), DELIVERED (a 2xx answer), PARKED (gave up after the last attempt), CANCELLED (its
 * webhook was deleted before it was delivered).
 */
export const DELIVERY_STATUSES = ['PENDING', 'RETRYING', 'DELIVERED', 'PARKED', 'CANCELLED'] as const;
export const DeliveryStatus = z.enum(DELIVERY_STATUSES, { message: `must be one of ${DELIVERY_STATUSES.join(', ')}` });
export type DeliveryStatus = z.output<typeof DeliveryStatus>;

export const webhookStream = (webhookId: string) => `webhook-${webhookId}`;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export const WebhookCreatedV1 = z.object({
  webhookId: uuid,
  url: z.string(),
  eventTypes: z.array(z.string()),
  /** The project whose events it gets, or null: every event (platform admins only). */
  projectId: uuid.nullable(),
  description: z.string(),
  /** Which signing secret is in force: the id of the webhooks service's row that holds it (never the secret), and its version (1, 2, ...). */
  secretId: uuid,
  secretVersion: z.number().int().positive(),
  createdAt: z.iso.datetime(),
});
export const WebhookUpdatedV1 = z.object({
  webhookId: uuid,
  projectId: uuid.nullable(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  description: z.string(),
  updatedAt: z.iso.datetime(),
});
export const WebhookSecretRotatedV1 = z.object({ webhookId: uuid, projectId: uuid.nullable(), secretId: uuid, secretVersion: z.number().int().positive(), rotatedAt: z.iso.datetime() });
export const WebhookPausedV1 = z.object({ webhookId: uuid, projectId: uuid.nullable(), pausedAt: z.iso.datetime() });
export const WebhookResumedV1 = z.object({ webhookId: uuid, projectId: uuid.nullable(), resumedAt: z.iso.datetime() });
export const WebhookDeletedV1 = z.object({ webhookId: uuid, projectId: uuid.nullable(), deletedAt: z.iso.datetime() });

export const webhooksEvents = {
  'webhooks.WebhookCreated.v1': WebhookCreatedV1,
  'webhooks.WebhookUpdated.v1': WebhookUpdatedV1,
  'webhooks.WebhookSecretRotated.v1': WebhookSecretRotatedV1,
  'webhooks.WebhookPaused.v1': WebhookPausedV1,
  'webhooks.WebhookResumed.v1': WebhookResumedV1,
  'webhooks.WebhookDeleted.v1': WebhookDeletedV1,
} as const;

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

export const WebhookView = z.object({
  webhookId: uuid,
  projectId: uuid.nullable(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  description: z.string(),
  status: z.enum(WEBHOOK_STATUSES),
  secretVersion: z.number().int(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  revision: z.number().int(),
});
export type WebhookView = z.output<typeof WebhookView>;

/** A webhook with the signing secret it was just given: only in the answer of createWebhook and rotateWebhookSecret. */
export const WebhookWithSecret = z.object({ webhook: WebhookView, secret: z.string() });

export const DeliveryAttemptView = z.object({
  attempt: z.number().int().positive(),
  attemptedAt: z.iso.datetime(),
  /** The HTTP status of the answer, or null when none came (refused, timed out, blocked address). */
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
  /** When the next attempt was scheduled after this one; null when delivered or parked. */
  nextAttemptAt: z.iso.datetime().nullable(),
});
export type DeliveryAttemptView = z.output<typeof DeliveryAttemptView>;

export const WebhookDeliveryView = z.object({
  deliveryId: uuid,
  webhookId: uuid,
  eventId: uuid,
  eventType: z.string(),
  stream: z.string(),
  position: z.string(),
  status: DeliveryStatus,
  attempts: z.number().int(),
  createdAt: z.iso.datetime(),
  nextAttemptAt: z.iso.datetime().nullable(),
  deliveredAt: z.iso.datetime().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  redeliveredBy: z.string().nullable(),
  redeliveredAt: z.iso.datetime().nullable(),
  /** Every attempt, oldest first. */
  log: z.array(DeliveryAttemptView),
});
export type WebhookDeliveryView = z.output<typeof WebhookDeliveryView>;

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

export const CreateWebhookRequest = z.object({
  /** Chosen by the caller (the gateway derives it from the command id, so a retry is the same webhook). */
  webhookId: uuid,
  url: WebhookUrl,
  eventTypes: WebhookEventTypes,
  projectId: uuid.nullable().default(null),
  description: WebhookDescription.default(''),
});
export const UpdateWebhookRequest = z
  .object({ webhookId: uuid, url: WebhookUrl.optional(), eventTypes: WebhookEventTypes.optional(), description: WebhookDescription.optional() })
  .refine((value) => value.url !== undefined || value.eventTypes !== undefined || value.description !== undefined, { message: 'must change at least one of url, eventTypes, description', path: ['url'] });
export const WebhookIdRequest = z.object({ webhookId: uuid });
export const RedeliverRequest = z.object({ deliveryId: uuid });

export const ListWebhooksRequest = PageRequest.extend({
  /** Only webhooks of these projects (and, with `unscoped`, the platform-wide ones). Absent: all. */
  projectIds: z.array(uuid).max(1_000).optional(),
  unscoped: z.boolean().default(false),
  includeDeleted: z.boolean().default(false),
});
export const ListDeliveriesRequest = PageRequest.extend({ webhookId: uuid, status: DeliveryStatus.optional() });

export const webhooksRpc = {
  /** The secret is generated by the service and is in this answer only. */
  createWebhook: defineRpc('mt.cmd.webhooks.CreateWebhook', CreateWebhookRequest, WebhookWithSecret),
  updateWebhook: defineRpc('mt.cmd.webhooks.UpdateWebhook', UpdateWebhookRequest, WebhookView),
  rotateWebhookSecret: defineRpc('mt.cmd.webhooks.RotateWebhookSecret', WebhookIdRequest, WebhookWithSecret),
  pauseWebhook: defineRpc('mt.cmd.webhooks.PauseWebhook', WebhookIdRequest, WebhookView),
  resumeWebhook: defineRpc('mt.cmd.webhooks.ResumeWebhook', WebhookIdRequest, WebhookView),
  deleteWebhook: defineRpc('mt.cmd.webhooks.DeleteWebhook', WebhookIdRequest, WebhookView),
  /** Puts a parked, retrying or delivered delivery back to be sent now (CONFLICT when pending or cancelled). */
  redeliverWebhookDelivery: defineRpc('mt.cmd.webhooks.RedeliverWebhookDelivery', RedeliverRequest, WebhookDeliveryView),

  getWebhooks: defineRpc('mt.qry.webhooks.GetWebhooks', z.object({ webhookIds: z.array(uuid).min(1).max(500) }), z.object({ items: z.array(WebhookView) })),
  /** Newest first. */
  listWebhooks: defineRpc('mt.qry.webhooks.ListWebhooks', ListWebhooksRequest, z.object({ items: z.array(WebhookView), pageInfo: PageInfo })),
  getWebhookDelivery: defineRpc('mt.qry.webhooks.GetWebhookDelivery', RedeliverRequest, WebhookDeliveryView),
  /** Newest first. */
  listWebhookDeliveries: defineRpc('mt.qry.webhooks.ListWebhookDeliveries', ListDeliveriesRequest, z.object({ items: z.array(WebhookDeliveryView), pageInfo: PageInfo })),
} as const;

// ---------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------

/** The header that signs a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'ModelTrail-Signature';
export const WEBHOOK_EVENT_ID_HEADER = 'ModelTrail-Event-Id';
export const WEBHOOK_DELIVERY_ID_HEADER = 'ModelTrail-Delivery-Id';

/** The value of the ModelTrail-Signature header of `body` sent at `unixSeconds`. */
export function signWebhookBody(secret: string, unixSeconds: number, body: string): string {
  const t = Math.trunc(unixSeconds);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * Whether `header` signs `body` with `secret` and was made within `toleranceSeconds` of `nowSeconds`
 * (what a receiver checks; compared in constant time).
 */
export function verifyWebhookSignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = new Map(header.split(',').map((part) => part.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}
