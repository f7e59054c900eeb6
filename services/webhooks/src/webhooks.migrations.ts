import type { Migration } from '@modeltrail/postgres';

/**
 * Tables of the webhooks service (schema `READ_MODEL_SCHEMA`, default `webhooks`).
 *
 * Read model (kept by `webhooksProjection`, emptied and refilled by a rebuild):
 * - `webhooks`: one row per webhook, for queries.
 *
 * Matching (kept by `WebhookMatcher`, in the same transaction as its checkpoint):
 * - `webhook_match_checkpoint`: the store position up to which events were matched;
 * - `webhook_subscriptions`: what the matcher and the delivery worker know of each webhook
 *   (url, event types, project, status, current secret), as of that position;
 * - `webhook_entity_projects`: the project of each entity (stream or id) seen so far, for events
 *   that do not name their project themselves.
 *
 * Delivery (never emptied):
 * - `webhook_deliveries`: the outbox, one row per (webhook, event), with its state;
 * - `webhook_delivery_attempts`: every attempt (status code, error, duration, next attempt);
 * - `webhook_secrets`: the signing secrets, written by the command handlers; never in an event.
 *
 * Never edit a migration that shipped; add one.
 */
export const webhooksMigrations: Migration[] = [
  {
    id: '0001_webhooks',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.webhooks (
          webhook_id      uuid PRIMARY KEY,
          project_id      uuid,
          url             text NOT NULL,
          event_types     jsonb NOT NULL,
          description     text NOT NULL,
          status          text NOT NULL,
          secret_version  integer NOT NULL,
          created_by      text NOT NULL,
          created_at      timestamptz NOT NULL,
          updated_at      timestamptz NOT NULL,
          revision        integer NOT NULL
        );
        CREATE INDEX webhooks_project_idx ON ${s}.webhooks (project_id, created_at DESC, webhook_id DESC);
        CREATE INDEX webhooks_created_idx ON ${s}.webhooks (created_at DESC, webhook_id DESC);

        CREATE TABLE ${s}.webhook_secrets (
          secret_id   uuid PRIMARY KEY,
          webhook_id  uuid NOT NULL,
          secret      text NOT NULL,
          created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX webhook_secrets_webhook_idx ON ${s}.webhook_secrets (webhook_id);

        CREATE TABLE ${s}.webhook_match_checkpoint (
          name        text PRIMARY KEY,
          position    bigint NOT NULL,
          updated_at  timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE ${s}.webhook_subscriptions (
          webhook_id   uuid PRIMARY KEY,
          project_id   uuid,
          url          text NOT NULL,
          event_types  text[] NOT NULL,
          status       text NOT NULL,
          secret_id    uuid NOT NULL,
          position     bigint NOT NULL
        );

        CREATE TABLE ${s}.webhook_entity_projects (
          entity_id   uuid PRIMARY KEY,
          project_id  uuid NOT NULL
        );

        CREATE TABLE ${s}.webhook_deliveries (
          delivery_id       uuid PRIMARY KEY,
          webhook_id        uuid NOT NULL,
          event_id          uuid NOT NULL,
          event_type        text NOT NULL,
          stream            text NOT NULL,
          position          bigint NOT NULL,
          -- The JSON body, byte for byte as every attempt sends (and signs) it.
          body              text NOT NULL,
          status            text NOT NULL DEFAULT 'PENDING',
          -- Attempts in all; tries since the delivery was created or put back (parks at the maximum).
          attempts          integer NOT NULL DEFAULT 0,
          tries             integer NOT NULL DEFAULT 0,
          created_at        timestamptz NOT NULL DEFAULT now(),
          next_attempt_at   timestamptz,
          -- A worker's claim: it sends the delivery before claimed_until (the timeout and a margin).
          claim_token       uuid,
          claimed_until     timestamptz,
          delivered_at      timestamptz,
          last_attempt_at   timestamptz,
          last_status_code  integer,
          last_error        text,
          redelivered_by    text,
          redelivered_at    timestamptz,
          UNIQUE (webhook_id, event_id)
        );
        CREATE INDEX webhook_deliveries_due_idx ON ${s}.webhook_deliveries (next_attempt_at, position) WHERE status IN ('PENDING', 'RETRYING');
        CREATE INDEX webhook_deliveries_webhook_idx ON ${s}.webhook_deliveries (webhook_id, created_at DESC, delivery_id DESC);

        CREATE TABLE ${s}.webhook_delivery_attempts (
          delivery_id      uuid NOT NULL REFERENCES ${s}.webhook_deliveries (delivery_id),
          attempt          integer NOT NULL,
          attempted_at     timestamptz NOT NULL,
          status_code      integer,
          error            text,
          duration_ms      integer NOT NULL,
          next_attempt_at  timestamptz,
          PRIMARY KEY (delivery_id, attempt)
        );
      `);
    },
  },
];
