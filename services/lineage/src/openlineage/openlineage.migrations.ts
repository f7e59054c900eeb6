import type { Migration } from '@modeltrail/postgres';

/**
 * Tables of the OpenLineage export, in the lineage service's schema.
 *
 * Read model (kept by `openLineageProjection`, emptied and refilled by a rebuild):
 * - `openlineage_names`: names of projects, experiments, datasets and models by id;
 * - `openlineage_dataset_versions`: what an input needs of a dataset version (uri, digest, schema ...);
 * - `openlineage_runs`: per OpenLineage run (an experiment run, or a scheduler job) its state and
 *   the RunEvents it has emitted so far, in order (`emissions`).
 *
 * Delivery (never emptied by a rebuild, so what was delivered is not delivered again):
 * - `openlineage_outbox`: one row per RunEvent to send, with its attempts, next attempt, last error,
 *   and delivery time;
 * - `openlineage_outbox_cursor`: up to which store position emissions were copied into the outbox.
 *
 * Never edit a migration that shipped; add one.
 */
export const openLineageMigrations: Migration[] = [
  {
    id: '0101_openlineage_read_model',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.openlineage_names (
          kind        text NOT NULL,
          id          uuid NOT NULL,
          name        text NOT NULL,
          position    bigint NOT NULL,
          PRIMARY KEY (kind, id)
        );
        CREATE INDEX openlineage_names_id_idx ON ${s}.openlineage_names (id);

        CREATE TABLE ${s}.openlineage_dataset_versions (
          dataset_version_id  uuid PRIMARY KEY,
          dataset_id          uuid NOT NULL,
          uri                 text NOT NULL,
          format              text NOT NULL,
          digest              text NOT NULL,
          size                bigint,
          rows                bigint,
          schema              jsonb,
          column_metrics      jsonb,
          position            bigint NOT NULL
        );

        CREATE TABLE ${s}.openlineage_runs (
          run_id      uuid PRIMARY KEY,
          subject     text NOT NULL,
          state       jsonb NOT NULL,
          emissions   jsonb NOT NULL,
          position    bigint NOT NULL
        );
        -- The outbox copies emissions of the rows changed after its cursor.
        CREATE INDEX openlineage_runs_position_idx ON ${s}.openlineage_runs (position);
      `);
    },
  },
  {
    id: '0102_openlineage_outbox',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.openlineage_outbox (
          emission_id      uuid PRIMARY KEY,
          run_id           uuid NOT NULL,
          -- The emission's index among its run's RunEvents: the order they are sent in.
          seq              integer NOT NULL,
          position         bigint NOT NULL,
          event_type       text NOT NULL,
          document         jsonb NOT NULL,
          enqueued_at      timestamptz NOT NULL DEFAULT now(),
          attempts         integer NOT NULL DEFAULT 0,
          next_attempt_at  timestamptz NOT NULL DEFAULT now(),
          last_error       text,
          last_attempt_at  timestamptz,
          delivered_at     timestamptz,
          parked_at        timestamptz
        );
        -- Pending events: the head of each run (lowest seq not delivered), due ones first.
        CREATE UNIQUE INDEX openlineage_outbox_run_seq_idx ON ${s}.openlineage_outbox (run_id, seq);
        CREATE INDEX openlineage_outbox_pending_run_idx ON ${s}.openlineage_outbox (run_id, seq) WHERE delivered_at IS NULL;
        CREATE INDEX openlineage_outbox_due_idx ON ${s}.openlineage_outbox (next_attempt_at, position) WHERE delivered_at IS NULL AND parked_at IS NULL;

        CREATE TABLE ${s}.openlineage_outbox_cursor (
          name        text PRIMARY KEY,
          position    bigint NOT NULL,
          updated_at  timestamptz NOT NULL DEFAULT now()
        );
      `);
    },
  },
];
