import type { Migration } from '@modeltrail/postgres';

/** Read-model tables of the datasets service. Never edit a migration that shipped; add one. */
export const datasetsMigrations: Migration[] = [
  {
    id: '0001_datasets',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.datasets (
          dataset_id      uuid PRIMARY KEY,
          name            text NOT NULL,
          description     text NOT NULL,
          project_id      uuid,
          status          text NOT NULL CHECK (status IN ('Active', 'Archived')),
          archive_reason  text,
          registered_at   timestamptz NOT NULL,
          registered_by   text NOT NULL,
          updated_at      timestamptz NOT NULL,
          revision        bigint NOT NULL,
          position        bigint NOT NULL
        );
        CREATE INDEX datasets_listing_idx ON ${s}.datasets (registered_at, dataset_id);
        CREATE INDEX datasets_project_idx ON ${s}.datasets (project_id, registered_at, dataset_id);
      `);
    },
  },
  {
    id: '0002_dataset_versions',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.dataset_versions (
          dataset_version_id  uuid PRIMARY KEY,
          dataset_id          uuid NOT NULL,
          version             integer NOT NULL,
          uri                 text NOT NULL,
          format              text NOT NULL CHECK (format IN ('CSV', 'JSONL', 'PARQUET')),
          digest              text NOT NULL,
          size                bigint,
          rows                bigint,
          schema              jsonb,
          profile             jsonb,
          profiled            boolean NOT NULL,
          parent_version_ids  jsonb NOT NULL DEFAULT '[]',
          transform           jsonb,
          registered_at       timestamptz NOT NULL,
          registered_by       text NOT NULL,
          position            bigint NOT NULL,
          UNIQUE (dataset_id, version),
          UNIQUE (dataset_id, digest)
        );
        CREATE TABLE ${s}.dataset_validations (
          validation_id       uuid PRIMARY KEY,
          dataset_version_id  uuid NOT NULL REFERENCES ${s}.dataset_versions (dataset_version_id),
          rules               jsonb NOT NULL,
          report              jsonb NOT NULL,
          passed              boolean NOT NULL,
          validated_at        timestamptz NOT NULL,
          validated_by        text NOT NULL,
          position            bigint NOT NULL
        );
        CREATE INDEX dataset_validations_version_idx ON ${s}.dataset_validations (dataset_version_id, position DESC);
        CREATE TABLE ${s}.dataset_splits (
          split_id               uuid PRIMARY KEY,
          dataset_version_id     uuid NOT NULL REFERENCES ${s}.dataset_versions (dataset_version_id),
          seed                   integer NOT NULL,
          fractions              jsonb NOT NULL,
          stratify_by            text,
          train_version_id       uuid NOT NULL,
          validation_version_id  uuid NOT NULL,
          test_version_id        uuid NOT NULL,
          created_at             timestamptz NOT NULL,
          created_by             text NOT NULL,
          position               bigint NOT NULL
        );
        CREATE INDEX dataset_splits_version_idx ON ${s}.dataset_splits (dataset_version_id);
      `);
    },
  },
  {
    // One projection keeps the four tables now (datasets.read-model.v2): they are emptied with
    // the checkpoints of the two it replaced, and it builds them again from the store at start.
    id: '0003_one_read_model_projection',
    up: async (client, s) => {
      await client.query(`
        DELETE FROM ${s}.dataset_splits;
        DELETE FROM ${s}.dataset_validations;
        DELETE FROM ${s}.dataset_versions;
        DELETE FROM ${s}.datasets;
        DELETE FROM ${s}.projection_checkpoints WHERE name IN ('datasets.datasets.v1', 'datasets.dataset-versions.v1');
      `);
    },
  },
];
