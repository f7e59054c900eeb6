import { escapeLiteral, type Pool, type PoolClient } from 'pg';
import { ALL_EVENT_TYPES, type EventCatalog, nameBasedUuid } from '@modeltrail/contracts';
import { type EventStore, PositionWatch, type RecordedEvent, StoreFollower } from '@modeltrail/eventstore';
import { ident, withTransaction } from '@modeltrail/postgres';
import { candidateIdsOf, projectOfEvent } from './event-project';

/** UUID namespace of delivery ids (from the webhook and the event). Never change it. */
export const WEBHOOK_DELIVERY_NAMESPACE = '9d3f6b2e-4a71-4c8e-b5d0-2e7f1a9c3b64';

/** The id of the delivery of event `eventId` to webhook `webhookId`: the same however often the event is matched. */
export function deliveryIdOf(webhookId: string, eventId: string): string {
  return nameBasedUuid(WEBHOOK_DELIVERY_NAMESPACE, `${webhookId.toLowerCase()}/${eventId.toLowerCase()}`);
}

/** What a receiver gets: the event as stored (upcast to its current shape), in one JSON object. */
export function deliveryBody(event: RecordedEvent): string {
  return JSON.stringify({ id: event.id, type: event.type, occurredAt: event.metadata.occurredAt, stream: event.stream, position: event.position, data: event.data, actor: event.metadata.actor });
}

/** A webhook as the matcher knows it, as of its checkpoint. */
export interface Subscription {
  webhookId: string;
  projectId: string | null;
  url: string;
  eventTypes: string[];
  status: 'ACTIVE' | 'PAUSED' | 'DELETED';
  secretId: string;
  position: number;
}

/** Whether a webhook in this state takes this event (pure). */
export function subscribes(subscription: Subscription, eventType: string, projectId: string | null): boolean {
  if (subscription.status !== 'ACTIVE') return false;
  if (subscription.projectId !== null && subscription.projectId !== projectId) return false;
  return subscription.eventTypes.includes(ALL_EVENT_TYPES) || subscription.eventTypes.includes(eventType);
}

/** A subscription after one of its webhook's events (pure); other events leave it as it is. */
export function evolveSubscription(subscription: Subscription | undefined, event: RecordedEvent): Subscription | undefined {
  const data = event.data as Record<string, any>;
  switch (event.type) {
    case 'webhooks.WebhookCreated.v1':
      return subscription ?? { webhookId: data.webhookId, projectId: data.projectId, url: data.url, eventTypes: data.eventTypes, status: 'ACTIVE', secretId: data.secretId, position: event.position };
    case 'webhooks.WebhookUpdated.v1':
      return subscription && { ...subscription, url: data.url, eventTypes: data.eventTypes, position: event.position };
    case 'webhooks.WebhookSecretRotated.v1':
      return subscription && { ...subscription, secretId: data.secretId, position: event.position };
    case 'webhooks.WebhookPaused.v1':
      return subscription && { ...subscription, status: 'PAUSED', position: event.position };
    case 'webhooks.WebhookResumed.v1':
      return subscription && { ...subscription, status: 'ACTIVE', position: event.position };
    case 'webhooks.WebhookDeleted.v1':
      return subscription && { ...subscription, status: 'DELETED', position: event.position };
    default:
      return subscription;
  }
}

export interface WebhookMatcherOptions {
  store: EventStore;
  pool: Pool;
  /** The webhooks service's schema. */
  schema: string;
  /** Upcasts events before they are matched, when the store does not already. */
  catalog?: EventCatalog;
  batchSize?: number;
  retryDelayMs?: number;
  /** Called after a batch committed new deliveries (the in-process delivery worker wakes up). */
  onDeliveries?: (count: number) => void;
  onError?: (error: unknown) => void;
}

const CHECKPOINT = 'matcher';

/**
 * Follows the event store from its checkpoint and, for each event a webhook subscribes to,
 * inserts a delivery into the outbox. Each batch is one transaction: the checkpoint row locked
 * (replicas take turns; events at or below the committed checkpoint are skipped), one read of
 * the subscriptions and one of the projects of the batch's streams and ids, the fold in memory in
 * global order (a webhook created, changed, paused or deleted inside the batch takes effect from
 * its own event on), then one multi-row write per table and the new checkpoint. A crash replays
 * the batch: delivery ids are derived from (webhook, event), so nothing is enqueued twice.
 */
export class WebhookMatcher {
  private readonly s: string;
  private readonly follower: StoreFollower;
  private readonly matched = new PositionWatch(() => 'webhook matcher');

  constructor(private readonly options: WebhookMatcherOptions) {
    this.s = ident(options.schema);
    this.follower = new StoreFollower({
      store: options.store,
      from: () => this.matched.current,
      apply: (batch) => this.applyBatch(batch),
      batchSize: options.batchSize ?? 1_000,
      lingerMs: 10,
      retryDelayMs: options.retryDelayMs,
      onError: options.onError,
    });
  }

  get position(): number {
    return this.matched.current;
  }

  async start(): Promise<void> {
    const { rows } = await this.options.pool.query<{ position: string }>(`SELECT position FROM ${this.s}.webhook_match_checkpoint WHERE name = $1`, [CHECKPOINT]);
    this.matched.set(rows.length ? Number(rows[0].position) : 0);
    this.follower.start();
  }

  async stop(): Promise<void> {
    await this.follower.stop();
  }

  /** Resolves once every event up to `position` is matched. */
  waitFor(position: number, timeoutMs = 10_000): Promise<void> {
    return this.matched.reach(position, timeoutMs);
  }

  private async applyBatch(batch: ReadonlyArray<RecordedEvent>): Promise<void> {
    const { catalog } = this.options;
    const result = await withTransaction(this.options.pool, async (client) => {
      const { rows: locked } = await client.query<{ position: string }>(
        `INSERT INTO ${this.s}.webhook_match_checkpoint AS c (name, position) VALUES (${escapeLiteral(CHECKPOINT)}, 0) ON CONFLICT (name) DO UPDATE SET position = c.position RETURNING position`,
      );
      const committed = Number(locked[0].position);
      const fresh = batch.filter((event) => event.position > committed).map((event) => (catalog ? catalog.upcast(event) : event));
      if (fresh.length === 0) return { position: committed, deliveries: 0 };
      const deliveries = await this.match(client, fresh);
      const position = fresh[fresh.length - 1].position;
      await client.query(`UPDATE ${this.s}.webhook_match_checkpoint SET position = $2, updated_at = now() WHERE name = $1`, [CHECKPOINT, position]);
      return { position, deliveries };
    });
    this.matched.set(Math.max(result.position, this.matched.current));
    if (result.deliveries > 0) this.options.onDeliveries?.(result.deliveries);
  }

  /** Matches the batch and writes what it changed; returns the deliveries enqueued. */
  private async match(client: PoolClient, events: ReadonlyArray<RecordedEvent>): Promise<number> {
    const subscriptions = await this.readSubscriptions(client);
    const candidates = [...new Set(events.flatMap((event) => candidateIdsOf(event)))];
    const known = new Map<string, string>();
    if (candidates.length > 0) {
      const { rows } = await client.query<{ entity_id: string; project_id: string }>(`SELECT entity_id, project_id FROM ${this.s}.webhook_entity_projects WHERE entity_id = ANY($1::uuid[])`, [candidates]);
      for (const row of rows) known.set(row.entity_id, row.project_id);
    }
    const learned = new Map<string, string>();
    const changed = new Set<string>();
    const deleted: string[] = [];
    const outbox: Array<{ deliveryId: string; webhookId: string; event: RecordedEvent }> = [];
    for (const event of events) {
      if (event.type.startsWith('webhooks.')) {
        const webhookId = String((event.data as { webhookId?: unknown }).webhookId ?? '').toLowerCase();
        const next = evolveSubscription(subscriptions.get(webhookId), event);
        if (next && next !== subscriptions.get(webhookId)) {
          subscriptions.set(webhookId, next);
          changed.add(webhookId);
          if (next.status === 'DELETED') deleted.push(webhookId);
        }
      }
      const { projectId, learned: taught } = projectOfEvent(event, known);
      for (const [id, project] of taught) {
        known.set(id, project);
        learned.set(id, project);
      }
      for (const subscription of subscriptions.values()) {
        if (subscribes(subscription, event.type, projectId)) outbox.push({ deliveryId: deliveryIdOf(subscription.webhookId, event.id), webhookId: subscription.webhookId, event });
      }
    }
    if (changed.size > 0) {
      const rows = [...changed].map((id) => subscriptions.get(id)!);
      await client.query(
        `INSERT INTO ${this.s}.webhook_subscriptions (webhook_id, project_id, url, event_types, status, secret_id, position)
         SELECT w.id, w.project, w.url, ARRAY(SELECT jsonb_array_elements_text(w.types)), w.status, w.secret, w.position
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[], $5::text[], $6::uuid[], $7::bigint[]) AS w(id, project, url, types, status, secret, position)
         ON CONFLICT (webhook_id) DO UPDATE SET project_id = EXCLUDED.project_id, url = EXCLUDED.url, event_types = EXCLUDED.event_types, status = EXCLUDED.status, secret_id = EXCLUDED.secret_id, position = EXCLUDED.position`,
        [
          rows.map((r) => r.webhookId),
          rows.map((r) => r.projectId),
          rows.map((r) => r.url),
          rows.map((r) => JSON.stringify(r.eventTypes)),
          rows.map((r) => r.status),
          rows.map((r) => r.secretId),
          rows.map((r) => r.position),
        ],
      );
    }
    if (learned.size > 0) {
      await client.query(`INSERT INTO ${this.s}.webhook_entity_projects (entity_id, project_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT (entity_id) DO NOTHING`, [[...learned.keys()], [...learned.values()]]);
    }
    let enqueued = 0;
    if (outbox.length > 0) {
      const result = await client.query(
        `INSERT INTO ${this.s}.webhook_deliveries (delivery_id, webhook_id, event_id, event_type, stream, position, body, status, next_attempt_at)
         SELECT d.*, 'PENDING', clock_timestamp() FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::text[]) AS d
         ON CONFLICT DO NOTHING`,
        [
          outbox.map((o) => o.deliveryId),
          outbox.map((o) => o.webhookId),
          outbox.map((o) => o.event.id),
          outbox.map((o) => o.event.type),
          outbox.map((o) => o.event.stream),
          outbox.map((o) => o.event.position),
          outbox.map((o) => deliveryBody(o.event)),
        ],
      );
      enqueued = result.rowCount ?? 0;
    }
    if (deleted.length > 0) {
      // A deleted webhook's undelivered deliveries are cancelled (its secret is gone with it).
      await client.query(
        `UPDATE ${this.s}.webhook_deliveries SET status = 'CANCELLED', next_attempt_at = NULL WHERE webhook_id = ANY($1::uuid[]) AND status IN ('PENDING', 'RETRYING')`,
        [deleted],
      );
    }
    return enqueued;
  }

  private async readSubscriptions(client: PoolClient): Promise<Map<string, Subscription>> {
    const { rows } = await client.query<{ webhook_id: string; project_id: string | null; url: string; event_types: string[]; status: Subscription['status']; secret_id: string; position: string }>(
      `SELECT webhook_id, project_id, url, event_types, status, secret_id, position FROM ${this.s}.webhook_subscriptions WHERE status <> 'DELETED'`,
    );
    return new Map(
      rows.map((r) => [r.webhook_id, { webhookId: r.webhook_id, projectId: r.project_id, url: r.url, eventTypes: r.event_types, status: r.status, secretId: r.secret_id, position: Number(r.position) }]),
    );
  }
}
