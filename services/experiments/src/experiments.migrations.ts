import type { Migration } from '@modeltrail/postgres';

/**
 * Tables of the experiments service. `projects`, `experiments`, `runs` and `run_artifacts` are
 * read models kept by the projection (rebuildable from the store); `run_metrics`,
 * `run_metric_latest` and `metric_batches` are the metric time series, written directly by
 * LogMetrics (points are not events). Never edit a migration that shipped; add one.
 */
export const experimentsMigrations: Migration[] = [
  {
    id: '0001_experiments_read_models',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.projects (
          project_id        uuid PRIMARY KEY,
          name              text NOT NULL,
          problem           text NOT NULL,
          task_type         text NOT NULL,
          target            text,
          success_criteria  jsonb NOT NULL,
          defined_at        timestamptz NOT NULL,
          defined_by        text NOT NULL,
          revision          bigint NOT NULL,
          position          bigint NOT NULL
        );
        CREATE INDEX projects_listing_idx ON ${s}.projects (defined_at, project_id);

        CREATE TABLE ${s}.experiments (
          experiment_id  uuid PRIMARY KEY,
          project_id     uuid NOT NULL,
          name           text NOT NULL,
          description    text NOT NULL,
          created_at     timestamptz NOT NULL,
          created_by     text NOT NULL,
          revision       bigint NOT NULL,
          position       bigint NOT NULL
        );
        CREATE INDEX experiments_listing_idx ON ${s}.experiments (created_at, experiment_id);
        CREATE INDEX experiments_project_idx ON ${s}.experiments (project_id, created_at, experiment_id);

        CREATE TABLE ${s}.runs (
          run_id            uuid PRIMARY KEY,
          experiment_id     uuid NOT NULL,
          project_id        uuid NOT NULL,
          status            text NOT NULL CHECK (status IN ('Running', 'Completed', 'Failed')),
          params            jsonb NOT NULL,
          code_ref          jsonb,
          dataset_versions  jsonb NOT NULL,
          tags              jsonb NOT NULL,
          started_at        timestamptz NOT NULL,
          started_by        text NOT NULL,
          ended_at          timestamptz,
          failure_reason    text,
          summary           jsonb,
          revision          bigint NOT NULL,
          position          bigint NOT NULL
        );
        CREATE INDEX runs_started_idx ON ${s}.runs (started_at, run_id);
        CREATE INDEX runs_ended_idx ON ${s}.runs (ended_at, run_id);
        CREATE INDEX runs_experiment_idx ON ${s}.runs (experiment_id, started_at, run_id);
        CREATE INDEX runs_project_idx ON ${s}.runs (project_id, started_at, run_id);
        CREATE INDEX runs_tags_idx ON ${s}.runs USING gin (tags jsonb_path_ops);

        CREATE TABLE ${s}.run_artifacts (
          run_id     uuid NOT NULL,
          name       text NOT NULL,
          uri        text NOT NULL,
          digest     text NOT NULL,
          size       bigint NOT NULL,
          logged_at  timestamptz NOT NULL,
          logged_by  text NOT NULL,
          position   bigint NOT NULL,
          PRIMARY KEY (run_id, name)
        );
      `);
    },
  },
  {
    id: '0002_run_metrics',
    up: async (client, s) => {
      await client.query(`
        -- Every logged point. seq orders points logged with the same step and timestamp and
        -- makes a stable cursor for paging a series.
        CREATE TABLE ${s}.run_metrics (
          run_id  uuid NOT NULL,
          key     text NOT NULL,
          step    bigint NOT NULL,
          ts      timestamptz NOT NULL,
          value   double precision NOT NULL,
          seq     bigint GENERATED ALWAYS AS IDENTITY
        );
        CREATE INDEX run_metrics_series_idx ON ${s}.run_metrics (run_id, key, step, ts, seq);

        -- Per run and key: the latest point (highest step, then latest timestamp) and running
        -- min / max / count, for run filters, ordering and summaries.
        CREATE TABLE ${s}.run_metric_latest (
          run_id  uuid NOT NULL,
          key     text NOT NULL,
          value   double precision NOT NULL,
          step    bigint NOT NULL,
          ts      timestamptz NOT NULL,
          min     double precision NOT NULL,
          max     double precision NOT NULL,
          count   bigint NOT NULL,
          PRIMARY KEY (run_id, key)
        );
        CREATE INDEX run_metric_latest_key_idx ON ${s}.run_metric_latest (key, value, run_id);

        -- Mt-Command-Id of every LogMetrics call that stored points: a retried call stores nothing.
        CREATE TABLE ${s}.metric_batches (
          command_id   text PRIMARY KEY,
          run_id       uuid NOT NULL,
          points       integer NOT NULL,
          recorded_at  timestamptz NOT NULL DEFAULT now()
        );
      `);
    },
  },
  {
    id: '0003_run_search_indexes',
    up: async (client, s) => {
      await client.query(`
        -- A parameter as run filters compare it, hashed: numbers, and strings that read as
        -- numbers (the reader's NUMERIC rule), by their value ("0.010", 1e-2 and 0.01 alike);
        -- any other value by its text (true and "true" alike). Not STRICT, so that it is inlined.
        -- hashtextextended is the hash that hash partitioning relies on staying the same.
        CREATE FUNCTION ${s}.run_param_term(key text, value jsonb) RETURNS bigint
          LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT hashtextextended(key || chr(31) || CASE
                WHEN jsonb_typeof(value) = 'number' THEN 'n' || trim_scale(value::numeric)::text
                WHEN jsonb_typeof(value) = 'string' AND (value #>> '{}') ~ '^\\s*[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]{1,3})?\\s*$'
                  THEN 'n' || trim_scale((value #>> '{}')::numeric)::text
                ELSE 's' || (value #>> '{}') END, 0)
          $$;
        CREATE FUNCTION ${s}.run_param_terms(params jsonb) RETURNS bigint[]
          LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(array_agg(${s}.run_param_term(p.key, p.value)), '{}') FROM jsonb_each(params) p
          $$;

        -- Parameter equality (lr = 0.01) finds its candidates here (&& on the terms of the value);
        -- the reader keeps the exact comparison as a filter on the rows found. Array element
        -- statistics tell the planner how common a value is: an index scan then a sort for a rare
        -- one, the newest-first index filtered for a common one. The larger sample keeps the
        -- frequencies of values held by one run in a thousand.
        CREATE INDEX runs_params_idx ON ${s}.runs USING gin (${s}.run_param_terms(params));
        ALTER INDEX ${s}.runs_params_idx ALTER COLUMN 1 SET STATISTICS 500;

        -- Newest first with ties by ascending run id, as the listing orders them (the indexes of
        -- 0001 serve oldest first), for all runs, an experiment's and a project's.
        CREATE INDEX runs_started_desc_idx ON ${s}.runs (started_at DESC, run_id);
        CREATE INDEX runs_experiment_started_desc_idx ON ${s}.runs (experiment_id, started_at DESC, run_id);
        CREATE INDEX runs_project_started_desc_idx ON ${s}.runs (project_id, started_at DESC, run_id);
        CREATE INDEX runs_ended_desc_idx ON ${s}.runs (ended_at DESC NULLS LAST, run_id);

        -- Runs by a metric, highest first, ties by ascending run id (run_metric_latest_key_idx
        -- serves lowest first).
        CREATE INDEX run_metric_latest_key_desc_idx ON ${s}.run_metric_latest (key, value DESC, run_id);
      `);
    },
  },
];
