import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { ident } from '@modeltrail/postgres';

/** A new signing secret: `whsec_` and 32 random bytes, base64url. The whole text is the HMAC key. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/**
 * The signing secrets, in the service's own table (`webhook_secrets`), never in an event: the
 * event log is immutable and copied (MT_EVENTS, audit exports), and a secret written there could
 * never be taken back. Events name a secret by its id; the delivery worker reads it from here.
 * A secret is written before the event that names it, and removed again when that append fails,
 * when the webhook's secret is rotated (the old one) or when the webhook is deleted.
 */
export class WebhookSecrets {
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.s = ident(schema);
  }

  async put(secretId: string, webhookId: string, secret: string): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.s}.webhook_secrets (secret_id, webhook_id, secret) VALUES ($1, $2, $3)`, [secretId, webhookId, secret]);
  }

  async get(secretId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ secret: string }>(`SELECT secret FROM ${this.s}.webhook_secrets WHERE secret_id = $1`, [secretId]);
    return rows[0]?.secret ?? null;
  }

  async remove(secretId: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.s}.webhook_secrets WHERE secret_id = $1`, [secretId]);
  }

  /** Every secret of the webhook but `keep` (none: all of them). */
  async removeOthers(webhookId: string, keep: string | null): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.s}.webhook_secrets WHERE webhook_id = $1 AND ($2::uuid IS NULL OR secret_id <> $2::uuid)`, [webhookId, keep]);
  }
}
