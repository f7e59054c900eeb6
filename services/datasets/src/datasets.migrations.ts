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
];
