import type { Migration } from '@modeltrail/postgres';

/**
 * Events one transaction can append, at most: a global position is
 * `(transaction id + xid_offset) * POSITIONS_PER_TRANSACTION + index`.
 */
export const POSITIONS_PER_TRANSACTION = 65_536;

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
  {
    // One round trip per append, and gap safety from transaction ids instead of a global lock.
    //
    // A position is (the appending transaction's id + xid_offset) * 65536 + its index within
    // that transaction. Readers only read below (xmin of their snapshot + xid_offset) * 65536:
    // every transaction with a smaller id has ended, so nothing can ever appear below that
    // bound again, and position order is the order readers see events in. Positions from the
    // sequence of 0001 are all smaller than the first new one (migrate() keeps xid_offset so).
    id: '0002_append_function_xid_positions',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.position_clock (
          singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
          xid_offset  bigint NOT NULL
        );
        INSERT INTO ${s}.position_clock (xid_offset) VALUES (0);

        -- The highest position a reader may read below: no transaction that has not ended yet
        -- can hold a position under it.
        CREATE FUNCTION ${s}.readable_below() RETURNS bigint
          LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
            SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint + xid_offset) * 65536
              FROM ${s}.position_clock
          $fn$;

        -- The store's own reads go by position, by stream and revision, and by event id (a
        -- repeated append); lookups by type or correlation belong to read models that follow
        -- the store (lineage). Two indexes less to maintain per event.
        DROP INDEX ${s}.events_type_idx;
        DROP INDEX ${s}.events_correlation_idx;

        -- Appends events that the caller chained after (p_from_revision, p_from_hash).
        --   p_expected: revision >= 0, -1 no_stream, -2 any, -3 stream_exists.
        --   p_from_revision: -1 when chained from the start of the stream.
        --   p_first_in_transaction: the caller's own transaction has appended nothing before.
        -- Returns status 'ok' (revision, hash and position of the last event), 'wrong_expected'
        -- (the stream's actual head breaks the expectation) or 'moved' (the expectation holds,
        -- but the stream's head is not where the caller chained from: chain again from the
        -- returned head). A repeated event id raises unique_violation on events_event_id_key.
        CREATE FUNCTION ${s}.append_events(
          p_stream text, p_expected bigint, p_from_revision bigint, p_from_hash text,
          p_events jsonb, p_first_in_transaction boolean, p_notify_channel text
        ) RETURNS TABLE (status text, revision bigint, hash text, last_position bigint)
          LANGUAGE plpgsql AS $fn$
        DECLARE
          v_revision  bigint;
          v_hash      text;
          v_base      bigint;
          v_first     bigint;
          v_count     bigint := jsonb_array_length(p_events);
          v_last_hash text := p_events -> (jsonb_array_length(p_events) - 1) ->> 'hash';
          v_moved     boolean := false;
        BEGIN
          -- The usual case, one write of the stream row: it is where the caller chained from
          -- (the UPDATE re-checks that after waiting for a concurrent writer's commit).
          IF NOT ((p_expected = -1 AND p_from_revision >= 0) OR (p_expected = -3 AND p_from_revision < 0) OR (p_expected >= 0 AND p_from_revision <> p_expected)) THEN
            IF p_from_revision < 0 THEN
              INSERT INTO ${s}.streams AS s (stream_id, revision, last_hash) VALUES (p_stream, v_count - 1, v_last_hash) ON CONFLICT (stream_id) DO NOTHING;
            ELSE
              UPDATE ${s}.streams s SET revision = p_from_revision + v_count, last_hash = v_last_hash, updated_at = now()
               WHERE s.stream_id = p_stream AND s.revision = p_from_revision AND s.last_hash = p_from_hash;
            END IF;
            v_moved := FOUND;
          END IF;

          IF NOT v_moved THEN
            -- Say why not, from the stream as it is.
            SELECT s.revision, s.last_hash INTO v_revision, v_hash FROM ${s}.streams s WHERE s.stream_id = p_stream;
            IF NOT FOUND THEN
              v_revision := -1;
              v_hash := NULL;
            END IF;
            IF (p_expected = -1 AND v_revision >= 0) OR (p_expected = -3 AND v_revision < 0) OR (p_expected >= 0 AND v_revision <> p_expected) THEN
              RETURN QUERY SELECT 'wrong_expected'::text, v_revision, v_hash, NULL::bigint;
            ELSE
              RETURN QUERY SELECT 'moved'::text, v_revision, v_hash, NULL::bigint;
            END IF;
            RETURN;
          END IF;

          SELECT (pg_current_xact_id()::text::bigint + c.xid_offset) * 65536 INTO v_base FROM ${s}.position_clock c;
          IF v_base > 9007199254675456 THEN
            RAISE EXCEPTION 'global positions exhausted: transaction ids have passed 2^37 (see POSITIONS_PER_TRANSACTION)' USING ERRCODE = 'program_limit_exceeded';
          END IF;
          v_first := v_base;
          IF NOT p_first_in_transaction THEN
            -- Earlier appends of this same transaction hold the lowest indexes.
            SELECT coalesce(max(e.position) + 1, v_base) INTO v_first FROM ${s}.events e WHERE e.position >= v_base AND e.position < v_base + 65536;
          END IF;
          IF v_first - v_base + v_count > 65536 THEN
            RAISE EXCEPTION 'one transaction can append at most 65536 events' USING ERRCODE = 'program_limit_exceeded';
          END IF;

          INSERT INTO ${s}.events (position, event_id, stream_id, revision, type, data, actor, correlation_id, causation_id, occurred_at, prev_hash, hash)
          SELECT v_first + (e.revision - p_from_revision - 1), e.id, p_stream, e.revision, e.type, e.data, e.actor, e."correlationId", e."causationId", e."occurredAt", e."prevHash", e.hash
            FROM jsonb_to_recordset(p_events) AS e(id uuid, revision bigint, type text, data jsonb, actor text, "correlationId" text, "causationId" text, "occurredAt" timestamptz, "prevHash" text, hash text);

          IF p_notify_channel IS NOT NULL THEN
            PERFORM pg_notify(p_notify_channel, (v_first + v_count - 1)::text);
          END IF;
          RETURN QUERY SELECT 'ok'::text, p_from_revision + v_count, v_last_hash, v_first + v_count - 1;
        END
        $fn$;
      `);
    },
  },
];
