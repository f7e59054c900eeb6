import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { signWebhookBody, WEBHOOK_DELIVERY_ID_HEADER, WEBHOOK_EVENT_ID_HEADER, WEBHOOK_SIGNATURE_HEADER } from '@modeltrail/contracts';
import { ident, withTransaction } from '@modeltrail/postgres';
import type { AddressPolicy } from './address-policy';
import { postWebhook, type PostOutcome } from './http-post';
import { webhookDeliveryAttempts, webhookDeliveryDuration } from './webhook.metrics';

export interface WebhookDeliveryLogger {
  warn(message: string): void;
  error(message: string, stack?: string): void;
}

export interface WebhookDeliveryOptions {
  pool: Pool;
  /** The webhooks service's schema. */
  schema: string;
  policy: AddressPolicy;
  /** One POST at most (WEBHOOK_TIMEOUT_MS, default 10 s). */
  timeoutMs?: number;
  /** Failed tries after which a delivery is parked (WEBHOOK_MAX_ATTEMPTS, default 10). */
  maxAttempts?: number;
  /** Delay before the 2nd try (WEBHOOK_BASE_DELAY_MS, default 10 s), doubled for each later one... */
  baseDelayMs?: number;
  /** ...up to this (WEBHOOK_MAX_DELAY_MS, default 1 h). */
  maxDelayMs?: number;
  /** Bytes of an answer's body kept in the log (WEBHOOK_MAX_RESPONSE_BYTES, default 2,048). */
  maxResponseBytes?: number;
  /** POSTs in flight at once (WEBHOOK_CONCURRENCY, default 8). */
  concurrency?: number;
  /** Deliveries claimed per pass (default 50). */
  batchSize?: number;
  /** Pause after a pass with nothing to send (default 1000 ms). */
  pollIntervalMs?: number;
  /** A number in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
  logger?: WebhookDeliveryLogger;
}

interface Claimed {
  delivery_id: string;
  webhook_id: string;
  event_id: string;
  body: string;
  tries: number;
  attempts: number;
  url: string;
  secret: string | null;
}

/**
 * The delay before the next try after `tries` failed ones (pure): `baseDelayMs * 2^(tries-1)`,
 * capped at `maxDelayMs`, plus up to a quarter more of jitter (still within the cap), so that
 * receivers coming back from an outage are not hit by every retry at once. Each delay is longer
 * than the one before until the cap.
 */
export function backoffDelayMs(tries: number, baseDelayMs: number, maxDelayMs: number, random: number): number {
  const exponential = Math.min(baseDelayMs * 2 ** Math.max(0, tries - 1), maxDelayMs);
  return Math.round(Math.min(exponential * (1 + 0.25 * random), maxDelayMs));
}

const silent: WebhookDeliveryLogger = { warn: () => undefined, error: () => undefined };

/**
 * Sends the outbox's deliveries (docs/webhooks.md):
 *
 * 1. **Claim** (one short transaction): due deliveries (PENDING or RETRYING, next attempt come,
 *    webhook ACTIVE) are locked `FOR UPDATE SKIP LOCKED` and given this pass's claim token and a
 *    claim that outlasts the timeout, so another worker (another replica) neither waits for them
 *    nor takes them while they are being sent. No transaction stays open during the POSTs (an
 *    open transaction would hold back the event store's readers).
 * 2. **Send**: each delivery's body, byte for byte as enqueued, signed with the webhook's current
 *    secret; at most `concurrency` at once.
 * 3. **Record** (one transaction): one row per attempt in `webhook_delivery_attempts`, and per
 *    delivery its new state: DELIVERED on a 2xx; else RETRYING with the next attempt after
 *    `backoffDelayMs`, or PARKED after `maxAttempts` tries. Only rows still holding this pass's
 *    claim token are updated.
 *
 * At least once: a worker that dies after sending and before recording leaves its claim to
 * expire, and the delivery is sent again; receivers deduplicate by ModelTrail-Event-Id.
 * Order: due deliveries are claimed in store order, but concurrent sends and retries can
 * reorder them, also for one webhook.
 */
export class WebhookDelivery {
  private readonly s: string;
  private readonly logger: WebhookDeliveryLogger;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private woken = false;

  constructor(private readonly options: WebhookDeliveryOptions) {
    this.s = ident(options.schema);
    this.logger = options.logger ?? silent;
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running;
    this.running = undefined;
  }

  /** Looks for due deliveries now (the matcher enqueued some). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** One pass: claim the due deliveries, send them, record the outcomes. */
  async deliverOnce(): Promise<{ delivered: number; failed: number }> {
    const token = randomUUID();
    const claimed = await this.claim(token);
    if (claimed.length === 0) return { delivered: 0, failed: 0 };
    const outcomes = await this.sendAll(claimed);
    await this.record(token, claimed, outcomes);
    const failed = outcomes.filter((o) => o.error !== null).length;
    return { delivered: claimed.length - failed, failed };
  }

  private async claim(token: string): Promise<Claimed[]> {
    const leaseMs = (this.options.timeoutMs ?? 10_000) * 2 + 30_000;
    return withTransaction(this.options.pool, async (client) => {
      const { rows } = await client.query<Claimed>(
        `WITH due AS (
           SELECT d.delivery_id
             FROM ${this.s}.webhook_deliveries d
             JOIN ${this.s}.webhook_subscriptions w ON w.webhook_id = d.webhook_id AND w.status = 'ACTIVE'
            WHERE d.status IN ('PENDING', 'RETRYING') AND d.next_attempt_at <= clock_timestamp()
              AND (d.claimed_until IS NULL OR d.claimed_until < clock_timestamp())
            ORDER BY d.next_attempt_at, d.position
            LIMIT $1
            FOR UPDATE OF d SKIP LOCKED
         )
         UPDATE ${this.s}.webhook_deliveries d
            SET claim_token = $2, claimed_until = clock_timestamp() + make_interval(secs => $3::float8 / 1000.0)
           FROM due, ${this.s}.webhook_subscriptions w
           LEFT JOIN ${this.s}.webhook_secrets k ON k.secret_id = w.secret_id
          WHERE d.delivery_id = due.delivery_id AND w.webhook_id = d.webhook_id
        RETURNING d.delivery_id, d.webhook_id, d.event_id, d.body, d.tries, d.attempts, w.url, k.secret`,
        [this.options.batchSize ?? 50, token, leaseMs],
      );
      return rows;
    });
  }

  private async sendAll(claimed: ReadonlyArray<Claimed>): Promise<PostOutcome[]> {
    const outcomes: PostOutcome[] = new Array(claimed.length);
    let next = 0;
    const worker = async () => {
      while (next < claimed.length) {
        const i = next++;
        outcomes[i] = await this.send(claimed[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency ?? 8, claimed.length) }, worker));
    return outcomes;
  }

  private send(delivery: Claimed): Promise<PostOutcome> {
    if (delivery.secret === null) return Promise.resolve({ statusCode: null, error: 'the webhook has no signing secret on this installation: rotate its secret', durationMs: 0 });
    const signature = signWebhookBody(delivery.secret, Math.floor(Date.now() / 1000), delivery.body);
    return postWebhook({
      url: delivery.url,
      body: delivery.body,
      headers: {
        'content-type': 'application/json',
        [WEBHOOK_EVENT_ID_HEADER]: delivery.event_id,
        [WEBHOOK_DELIVERY_ID_HEADER]: delivery.delivery_id,
        [WEBHOOK_SIGNATURE_HEADER]: signature,
      },
      timeoutMs: this.options.timeoutMs ?? 10_000,
      maxResponseBytes: this.options.maxResponseBytes ?? 2_048,
      policy: this.options.policy,
    });
  }

  private async record(token: string, claimed: ReadonlyArray<Claimed>, outcomes: ReadonlyArray<PostOutcome>): Promise<void> {
    const base = this.options.baseDelayMs ?? 10_000;
    const max = this.options.maxDelayMs ?? 3_600_000;
    const maxAttempts = this.options.maxAttempts ?? 10;
    const random = this.options.random ?? Math.random;
    const rows = claimed.map((delivery, i) => {
      const outcome = outcomes[i];
      const tries = delivery.tries + 1;
      const status = outcome.error === null ? 'DELIVERED' : tries >= maxAttempts ? 'PARKED' : 'RETRYING';
      const delayMs = status === 'RETRYING' ? backoffDelayMs(tries, base, max, random()) : null;
      return { delivery, outcome, status, attempt: delivery.attempts + 1, delayMs };
    });
    await withTransaction(this.options.pool, async (client) => {
      const { rows: updated } = await client.query<{ delivery_id: string }>(
        `UPDATE ${this.s}.webhook_deliveries d
            SET status = u.status,
                attempts = u.attempt,
                tries = d.tries + 1,
                last_attempt_at = clock_timestamp(),
                last_status_code = u.code,
                last_error = u.error,
                delivered_at = CASE WHEN u.status = 'DELIVERED' THEN clock_timestamp() ELSE d.delivered_at END,
                next_attempt_at = CASE WHEN u.delay_ms IS NULL THEN NULL ELSE clock_timestamp() + make_interval(secs => u.delay_ms / 1000.0) END,
                claim_token = NULL,
                claimed_until = NULL
           FROM unnest($1::uuid[], $2::text[], $3::integer[], $4::integer[], $5::text[], $6::float8[]) AS u(id, status, attempt, code, error, delay_ms)
          WHERE d.delivery_id = u.id AND d.claim_token = $7
        RETURNING d.delivery_id`,
        [
          rows.map((r) => r.delivery.delivery_id),
          rows.map((r) => r.status),
          rows.map((r) => r.attempt),
          rows.map((r) => r.outcome.statusCode),
          rows.map((r) => r.outcome.error),
          rows.map((r) => r.delayMs),
          token,
        ],
      );
      const mine = new Set(updated.map((r) => r.delivery_id));
      const logged = rows.filter((r) => mine.has(r.delivery.delivery_id));
      if (logged.length > 0) {
        await client.query(
          `INSERT INTO ${this.s}.webhook_delivery_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms, next_attempt_at)
           SELECT a.id, a.attempt, d.last_attempt_at, a.code, a.error, a.duration, d.next_attempt_at
             FROM unnest($1::uuid[], $2::integer[], $3::integer[], $4::text[], $5::integer[]) AS a(id, attempt, code, error, duration)
             JOIN ${this.s}.webhook_deliveries d ON d.delivery_id = a.id
           ON CONFLICT DO NOTHING`,
          [
            logged.map((r) => r.delivery.delivery_id),
            logged.map((r) => r.attempt),
            logged.map((r) => r.outcome.statusCode),
            logged.map((r) => r.outcome.error),
            logged.map((r) => r.outcome.durationMs),
          ],
        );
      }
    });
    for (const r of rows) {
      webhookDeliveryAttempts.inc({ outcome: r.status });
      webhookDeliveryDuration.observe({ outcome: r.status }, r.outcome.durationMs / 1000);
      if (r.status === 'RETRYING') this.logger.warn(`webhook ${r.delivery.webhook_id}: delivery ${r.delivery.delivery_id} failed (${r.outcome.error}); retrying in ${r.delayMs} ms`);
      if (r.status === 'PARKED') this.logger.error(`webhook ${r.delivery.webhook_id}: delivery ${r.delivery.delivery_id} parked after ${r.delivery.tries + 1} failed tries (${r.outcome.error}); redeliverWebhookDelivery puts it back`);
    }
  }

  private async loop(): Promise<void> {
    const poll = this.options.pollIntervalMs ?? 1_000;
    while (!this.stopping) {
      this.woken = false;
      let idle = true;
      try {
        const { delivered, failed } = await this.deliverOnce();
        idle = delivered === 0 && failed === 0;
      } catch (error) {
        this.logger.error(`webhook delivery failed: ${error instanceof Error ? error.message : String(error)}`, error instanceof Error ? error.stack : undefined);
      }
      if (this.stopping) break;
      if (!idle || this.woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, poll);
        const self = this;
        function done() {
          clearTimeout(timer);
          self.wakeUp = undefined;
          resolve();
        }
        this.wakeUp = done;
      });
    }
  }
}
