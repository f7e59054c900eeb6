import type { Migration } from '@modeltrail/postgres';

/**
 * Tables of the registry service, all read models kept by its projection (rebuildable from the
 * store). An alias assignment row holds from its position until the next assignment of the
 * same alias; queries find that end with a window over the rows, so an assignment never
 * needs a second write. Never edit a migration that shipped; add one.
 */
export const registryMigrations: Migration[] = [
  {
    id: '0001_registry_read_models',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.models (
          model_id        uuid PRIMARY KEY,
          project_id      uuid NOT NULL,
          name            text NOT NULL,
          description     text NOT NULL,
          latest_version  integer NOT NULL,
          registered_at   timestamptz NOT NULL,
          registered_by   text NOT NULL,
          revision        bigint NOT NULL,
          position        bigint NOT NULL
        );
        -- Oldest first, as ListModels orders them, overall and per project.
        CREATE INDEX models_listing_idx ON ${s}.models (registered_at, model_id);
        CREATE INDEX models_project_idx ON ${s}.models (project_id, registered_at, model_id);

        CREATE TABLE ${s}.model_versions (
          model_version_id  uuid PRIMARY KEY,
          model_id          uuid NOT NULL,
          project_id        uuid NOT NULL,
          experiment_id     uuid NOT NULL,
          run_id            uuid NOT NULL,
          version           integer NOT NULL,
          status            text NOT NULL CHECK (status IN ('ACTIVE', 'ARCHIVED')),
          artifact          jsonb NOT NULL,
          metrics           jsonb NOT NULL,
          params            jsonb NOT NULL,
          code_ref          jsonb,
          dataset_versions  jsonb NOT NULL,
          signature         jsonb NOT NULL,
          model_card        jsonb NOT NULL,
          created_at        timestamptz NOT NULL,
          created_by        text NOT NULL,
          archived_at       timestamptz,
          archive_reason    text,
          revision          bigint NOT NULL,
          position          bigint NOT NULL,
          UNIQUE (model_id, version)
        );
        CREATE INDEX model_versions_run_idx ON ${s}.model_versions (run_id);

        CREATE TABLE ${s}.promotion_requests (
          request_id        uuid PRIMARY KEY,
          model_id          uuid NOT NULL,
          model_version_id  uuid NOT NULL,
          version           integer NOT NULL,
          alias             text NOT NULL,
          justification     text NOT NULL,
          status            text NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
          gates             jsonb NOT NULL,
          gates_passed      boolean NOT NULL,
          requested_by      text NOT NULL,
          requested_at      timestamptz NOT NULL,
          decided_by        text,
          decided_at        timestamptz,
          decision_note     text,
          position          bigint NOT NULL
        );
        -- Newest first, as ListPromotionRequests orders them.
        CREATE INDEX promotion_requests_listing_idx ON ${s}.promotion_requests (requested_at DESC, request_id);
        CREATE INDEX promotion_requests_model_idx ON ${s}.promotion_requests (model_id, requested_at DESC, request_id);
        CREATE INDEX promotion_requests_version_idx ON ${s}.promotion_requests (model_version_id, requested_at DESC, request_id);

        CREATE TABLE ${s}.alias_assignments (
          model_id                   uuid NOT NULL,
          alias                      text NOT NULL,
          valid_from_position        bigint NOT NULL,
          model_version_id           uuid NOT NULL,
          previous_model_version_id  uuid,
          request_id                 uuid NOT NULL,
          requested_by               text NOT NULL,
          approved_by                text NOT NULL,
          reason                     text NOT NULL,
          valid_from                 timestamptz NOT NULL,
          PRIMARY KEY (model_id, alias, valid_from_position)
        );
        CREATE INDEX alias_assignments_version_idx ON ${s}.alias_assignments (model_version_id);
      `);
    },
  },
];
