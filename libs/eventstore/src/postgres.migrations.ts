import type { Migration } from '@modeltrail/postgres';

/** Schema of the PostgreSQL event store. Never edit a migration that shipped; add one. */
export const eventStoreMigrations: Migration[] = [
  {
    id: '0001_event_store',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.streams (
          stream_id   text PRIMARY KEY,
          revision    bigint NOT NULL,
          last_hash   text NOT NULL,
          created_at  timestamptz NOT NULL DEFAULT now(),
          updated_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE SEQUENCE ${s}.events_position_seq AS bigint;
        CREATE TABLE ${s}.events (
          position        bigint PRIMARY KEY,
          event_id        uuid NOT NULL UNIQUE,
          stream_id       text NOT NULL,
          revision        bigint NOT NULL,
          type            text NOT NULL,
          data            jsonb NOT NULL,
          actor           text NOT NULL,
          correlation_id  text NOT NULL,
          causation_id    text,
          occurred_at     timestamptz NOT NULL,
          prev_hash       text NOT NULL,
          hash            text NOT NULL,
          recorded_at     timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT events_stream_revision UNIQUE (stream_id, revision)
        );
        CREATE INDEX events_type_idx ON ${s}.events (type, position);
        CREATE INDEX events_correlation_idx ON ${s}.events (correlation_id);
      `);
    },
  },
];
