import type { Pool } from 'pg';
import { ConflictError, type DeliveryStatus, NotFoundError, UnavailableError, type WebhookDeliveryView, type WebhookView } from '@modeltrail/contracts';
import type { EventStore } from '@modeltrail/eventstore';
import { decodeNumberCursor, decodeTimeCursor, encodeNumberCursor, encodeTimeCursor, findCaughtUp, type ProjectionRunner, rowDecoder } from '@modeltrail/readmodel';
import { ident } from '@modeltrail/postgres';
import { webhookStream } from '@modeltrail/contracts';
import { type WebhookRow, webhooksTable } from './webhooks.projection';

const REPLY_WAIT_MS = 10_000;
const LOOKUP_WAIT_MS = 5_000;

export function webhookView(row: WebhookRow): WebhookView {
  return {
    webhookId: row.webhookId,
    projectId: row.projectId,
    url: row.url,
    eventTypes: row.eventTypes,
    description: row.description,
    status: row.status,
    secretVersion: row.secretVersion,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    revision: row.revision,
  };
}

interface DeliveryRecord {
  delivery_id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  stream: string;
  position: string;
  status: DeliveryStatus;
  attempts: number;
  created_at: Date;
  next_attempt_at: Date | null;
  delivered_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  redelivered_by: string | null;
  redelivered_at: Date | null;
}

interface AttemptRecord {
  delivery_id: string;
  attempt: number;
  attempted_at: Date;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  next_attempt_at: Date | null;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());
const DELIVERY_COLUMNS = 'delivery_id, webhook_id, event_id, event_type, stream, position, status, attempts, created_at, next_attempt_at, delivered_at, last_status_code, last_error, redelivered_by, redelivered_at';

/**
 * Reads of the webhooks service: webhooks from the read model (once it reflects a command's
 * append), deliveries and their attempts from the outbox, and the one write on the outbox that
 * is a command (redelivery).
 */
export class WebhooksReader {
  private readonly s: string;
  private readonly decode = rowDecoder(webhooksTable);

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly store: EventStore,
    private readonly runners: ReadonlyArray<ProjectionRunner>,
  ) {
    this.s = ident(schema);
  }

  /** A webhook after a command on it (appended at `position`, or nothing appended): NOT_FOUND when there is none. */
  async webhookAfter(webhookId: string, position: number | undefined): Promise<WebhookView> {
    if (position) {
      try {
        await Promise.all(this.runners.map((runner) => runner.waitFor(position, REPLY_WAIT_MS)));
      } catch {
        throw new UnavailableError(`the change was recorded (position ${position}) but the read model has not caught up yet: read it again shortly`, { position });
      }
    }
    const [row] = await this.rows([webhookId]);
    if (!row) throw new NotFoundError(`webhook ${webhookId} does not exist`, { webhookId });
    return webhookView(row);
  }

  /** Webhooks by id (those that exist), once the read model shows one created a moment ago. */
  async webhooks(webhookIds: ReadonlyArray<string>): Promise<WebhookView[]> {
    const rows = await findCaughtUp({ ids: webhookIds, find: () => this.rows(webhookIds), idOf: (r) => r.webhookId, streamOf: webhookStream, store: this.store, runners: this.runners, timeoutMs: LOOKUP_WAIT_MS });
    return rows.map(webhookView);
  }

  private async rows(webhookIds: ReadonlyArray<string>): Promise<WebhookRow[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.webhooks WHERE webhook_id = ANY($1::uuid[])`, [webhookIds]);
    return rows.map(this.decode);
  }

  /** Newest first; `projectIds` (and `unscoped` for those without a project) narrow it. */
  async list(options: { projectIds?: string[]; unscoped: boolean; includeDeleted: boolean; first: number; after?: string }): Promise<{ items: WebhookView[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.projectIds !== undefined) {
      params.push(options.projectIds);
      where.push(options.unscoped ? `(project_id = ANY($${params.length}::uuid[]) OR project_id IS NULL)` : `project_id = ANY($${params.length}::uuid[])`);
    } else if (options.unscoped) {
      where.push('project_id IS NULL');
    }
    if (!options.includeDeleted) where.push(`status <> 'DELETED'`);
    if (options.after) {
      const { at, id } = decodeTimeCursor(options.after);
      params.push(at, id);
      where.push(`(created_at, webhook_id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(options.first + 1);
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.s}.webhooks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, webhook_id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, options.first).map(this.decode);
    const last = page[page.length - 1];
    return { items: page.map(webhookView), pageInfo: { endCursor: last ? encodeTimeCursor(last.createdAt, last.webhookId) : null, hasNextPage: rows.length > options.first } };
  }

  async delivery(deliveryId: string): Promise<WebhookDeliveryView> {
    const { rows } = await this.pool.query<DeliveryRecord>(`SELECT ${DELIVERY_COLUMNS} FROM ${this.s}.webhook_deliveries WHERE delivery_id = $1`, [deliveryId]);
    if (rows.length === 0) throw new NotFoundError(`webhook delivery ${deliveryId} does not exist`, { deliveryId });
    return (await this.withLogs(rows))[0];
  }

  /** A webhook's deliveries, newest event first, optionally of one status. */
  async deliveries(options: { webhookId: string; status?: DeliveryStatus; first: number; after?: string }): Promise<{ items: WebhookDeliveryView[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } }> {
    const params: unknown[] = [options.webhookId];
    const where = ['webhook_id = $1'];
    if (options.status) {
      params.push(options.status);
      where.push(`status = $${params.length}`);
    }
    if (options.after) {
      params.push(decodeNumberCursor(options.after));
      where.push(`position < $${params.length}`);
    }
    params.push(options.first + 1);
    const { rows } = await this.pool.query<DeliveryRecord>(
      `SELECT ${DELIVERY_COLUMNS} FROM ${this.s}.webhook_deliveries WHERE ${where.join(' AND ')} ORDER BY position DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, options.first);
    const last = page[page.length - 1];
    return { items: await this.withLogs(page), pageInfo: { endCursor: last ? encodeNumberCursor(Number(last.position)) : null, hasNextPage: rows.length > options.first } };
  }

  /**
   * Puts a delivery back to be sent now with a fresh budget of tries: a parked or retrying one,
   * or a delivered one sent again. CONFLICT when it is already pending or was cancelled.
   */
  async redeliver(deliveryId: string, actor: string): Promise<WebhookDeliveryView> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.s}.webhook_deliveries
          SET status = 'PENDING', tries = 0, next_attempt_at = clock_timestamp(), claim_token = NULL, claimed_until = NULL, redelivered_by = $2, redelivered_at = clock_timestamp()
        WHERE delivery_id = $1 AND status IN ('PARKED', 'RETRYING', 'DELIVERED')`,
      [deliveryId, actor],
    );
    const view = await this.delivery(deliveryId);
    if (rowCount === 0) throw new ConflictError(`webhook delivery ${deliveryId} is ${view.status}: only PARKED, RETRYING or DELIVERED deliveries can be sent again`, { deliveryId, status: view.status });
    return view;
  }

  private async withLogs(records: ReadonlyArray<DeliveryRecord>): Promise<WebhookDeliveryView[]> {
    if (records.length === 0) return [];
    const { rows } = await this.pool.query<AttemptRecord>(
      `SELECT delivery_id, attempt, attempted_at, status_code, error, duration_ms, next_attempt_at FROM ${this.s}.webhook_delivery_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, attempt`,
      [records.map((r) => r.delivery_id)],
    );
    const logs = new Map<string, AttemptRecord[]>();
    for (const row of rows) logs.set(row.delivery_id, [...(logs.get(row.delivery_id) ?? []), row]);
    return records.map((r) => ({
      deliveryId: r.delivery_id,
      webhookId: r.webhook_id,
      eventId: r.event_id,
      eventType: r.event_type,
      stream: r.stream,
      position: String(r.position),
      status: r.status,
      attempts: r.attempts,
      createdAt: r.created_at.toISOString(),
      nextAttemptAt: iso(r.next_attempt_at),
      deliveredAt: iso(r.delivered_at),
      lastStatusCode: r.last_status_code,
      lastError: r.last_error,
      redeliveredBy: r.redelivered_by,
      redeliveredAt: iso(r.redelivered_at),
      log: (logs.get(r.delivery_id) ?? []).map((a) => ({ attempt: a.attempt, attemptedAt: a.attempted_at.toISOString(), statusCode: a.status_code, error: a.error, durationMs: a.duration_ms, nextAttemptAt: iso(a.next_attempt_at) })),
    }));
  }
}
