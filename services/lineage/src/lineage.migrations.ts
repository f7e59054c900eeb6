import type { Migration } from '@modeltrail/postgres';
import { openLineageMigrations } from './openlineage/openlineage.migrations';

/**
 * Tables of the lineage service. The graph tables are a read model (rebuildable from the
 * store); the log tables hold what the service has proven about the store (leaf hashes, the
 * Merkle tree's perfect subtrees, signed checkpoints) and are never emptied by a rebuild.
 * Never edit a migration that shipped; add one.
 */
/** The graph and the log's tables, then the OpenLineage read model and outbox (services/lineage/src/openlineage). */
export const lineageMigrations: Migration[] = [
  {
    id: '0001_lineage_graph',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.lineage_nodes (
          id                 text PRIMARY KEY,
          kind               text NOT NULL,
          name               text,
          project_id         text,
          attributes         jsonb NOT NULL,
          created_position   bigint NOT NULL,
          created_at         timestamptz NOT NULL,
          created_by         text NOT NULL,
          created_event_id   uuid NOT NULL,
          defined_position   bigint,
          ended_position     bigint,
          ended_at           timestamptz,
          end_reason         text
        );
        CREATE INDEX lineage_nodes_kind_idx ON ${s}.lineage_nodes (kind, created_position);

        -- Upstream walks follow to_id -> from_id, downstream ones the primary key's from_id.
        CREATE TABLE ${s}.lineage_edges (
          from_id            text NOT NULL,
          type               text NOT NULL,
          to_id              text NOT NULL,
          attributes         jsonb NOT NULL,
          created_position   bigint NOT NULL,
          created_at         timestamptz NOT NULL,
          created_by         text NOT NULL,
          created_event_id   uuid NOT NULL,
          ended_position     bigint,
          ended_at           timestamptz,
          ended_event_id     uuid,
          intervals          jsonb,
          PRIMARY KEY (from_id, type, to_id)
        );
        CREATE INDEX lineage_edges_to_idx ON ${s}.lineage_edges (to_id, from_id);

        CREATE TABLE ${s}.lineage_events (
          node_id            text NOT NULL,
          position           bigint NOT NULL,
          event_id           uuid NOT NULL,
          type               text NOT NULL,
          stream             text NOT NULL,
          revision           bigint NOT NULL,
          occurred_at        timestamptz NOT NULL,
          actor              text NOT NULL,
          correlation_id     text NOT NULL,
          causation_id       uuid,
          PRIMARY KEY (node_id, position)
        );
        -- asOf a time: the last position at or before it.
        CREATE INDEX lineage_events_time_idx ON ${s}.lineage_events (occurred_at, position);

        -- Whether an edge with several holdings holds at position p.
        CREATE FUNCTION ${s}.lineage_holds_at(intervals jsonb, p bigint) RETURNS boolean
          LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT EXISTS (
              SELECT 1 FROM jsonb_array_elements(intervals) AS i
              WHERE (i->>0)::bigint <= p AND (jsonb_typeof(i->1) = 'null' OR (i->>1)::bigint > p)
            )
          $$;
      `);
    },
  },
  {
    id: '0002_lineage_log',
    up: async (client, s) => {
      await client.query(`
        -- Leaf n of the Merkle tree: the n-th event of the store in position order.
        CREATE TABLE ${s}.log_leaves (
          leaf_index   bigint PRIMARY KEY,
          position     bigint NOT NULL UNIQUE,
          event_id     uuid NOT NULL UNIQUE,
          stream       text NOT NULL,
          revision     bigint NOT NULL,
          occurred_at  timestamptz NOT NULL,
          leaf_hash    bytea NOT NULL CHECK (length(leaf_hash) = 32)
        );
        -- Every perfect aligned subtree above the leaves, written once when its last leaf arrives.
        CREATE TABLE ${s}.log_nodes (
          level  smallint NOT NULL CHECK (level > 0),
          idx    bigint NOT NULL,
          hash   bytea NOT NULL CHECK (length(hash) = 32),
          PRIMARY KEY (level, idx)
        );
        -- How far the log has followed the store; its row lock makes replicas take turns.
        CREATE TABLE ${s}.log_state (
          id        smallint PRIMARY KEY CHECK (id = 1),
          size      bigint NOT NULL,
          position  bigint NOT NULL
        );
        INSERT INTO ${s}.log_state (id, size, position) VALUES (1, 0, 0);
        CREATE TABLE ${s}.log_checkpoints (
          tree_size  bigint PRIMARY KEY,
          root       bytea NOT NULL CHECK (length(root) = 32),
          made_at    timestamptz NOT NULL,
          note       text NOT NULL,
          key_name   text NOT NULL
        );
      `);
    },
  },
  ...openLineageMigrations,
];
