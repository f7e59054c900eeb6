import type { Migration } from '@modeltrail/postgres';
import { predictionStoreMigration } from './performance';

/**
 * Tables of the monitoring service. `deployments`, `monitors`, `drift_measurements`,
 * `performance_measurements`, `alerts` and `retrains` are read models kept by the projection
 * (rebuildable from the store). `predictions` and `prediction_label_counts` are written
 * directly (predictions and their labels are data, not events; what they measure is recorded as
 * PerformanceMeasured). Never edit a migration that shipped; add one.
 */
export const monitoringMigrations: Migration[] = [
  {
    id: '0001_monitoring_read_models',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.deployments (
          deployment_id     uuid PRIMARY KEY,
          monitor_id        uuid NOT NULL,
          model_id          uuid NOT NULL,
          model_version_id  uuid NOT NULL,
          version           integer NOT NULL,
          project_id        uuid NOT NULL,
          experiment_id     uuid NOT NULL,
          run_id            uuid NOT NULL,
          environment       text NOT NULL,
          endpoint          text NOT NULL,
          deployed_at       timestamptz NOT NULL,
          deployed_by       text NOT NULL,
          reference         jsonb,
          revision          bigint NOT NULL,
          position          bigint NOT NULL
        );
        -- Newest first, as ListDeployments orders them, overall and per filter.
        CREATE INDEX deployments_listing_idx ON ${s}.deployments (deployed_at DESC, deployment_id);
        CREATE INDEX deployments_model_idx ON ${s}.deployments (model_id, deployed_at DESC, deployment_id);
        CREATE INDEX deployments_version_idx ON ${s}.deployments (model_version_id, deployed_at DESC, deployment_id);
        CREATE INDEX deployments_environment_idx ON ${s}.deployments (environment, deployed_at DESC, deployment_id);

        CREATE TABLE ${s}.monitors (
          monitor_id        uuid PRIMARY KEY,
          deployment_id     uuid NOT NULL UNIQUE,
          model_id          uuid NOT NULL,
          model_version_id  uuid NOT NULL,
          project_id        uuid NOT NULL,
          task_type         text NOT NULL,
          config            jsonb NOT NULL,
          drift             jsonb NOT NULL,
          performance       jsonb NOT NULL,
          created_at        timestamptz NOT NULL,
          configured_at     timestamptz,
          configured_by     text,
          revision          bigint NOT NULL,
          position          bigint NOT NULL
        );

        CREATE TABLE ${s}.drift_measurements (
          measurement_id  uuid PRIMARY KEY,
          monitor_id      uuid NOT NULL,
          deployment_id   uuid NOT NULL,
          "window"        integer NOT NULL,
          bad             boolean NOT NULL,
          measured_at     timestamptz NOT NULL,
          view            jsonb NOT NULL,
          position        bigint NOT NULL,
          UNIQUE (deployment_id, "window")
        );
        CREATE TABLE ${s}.performance_measurements (
          measurement_id  uuid PRIMARY KEY,
          monitor_id      uuid NOT NULL,
          deployment_id   uuid NOT NULL,
          "window"        integer NOT NULL,
          bad             boolean NOT NULL,
          measured_at     timestamptz NOT NULL,
          view            jsonb NOT NULL,
          position        bigint NOT NULL,
          UNIQUE (deployment_id, "window")
        );

        CREATE TABLE ${s}.alerts (
          alert_id          uuid PRIMARY KEY,
          monitor_id        uuid NOT NULL,
          deployment_id     uuid NOT NULL,
          kind              text NOT NULL CHECK (kind IN ('DRIFT', 'PERFORMANCE')),
          status            text NOT NULL CHECK (status IN ('OPEN', 'RESOLVED')),
          windows           jsonb NOT NULL,
          measurement_ids   jsonb NOT NULL,
          summary           text NOT NULL,
          raised_at         timestamptz NOT NULL,
          resolved_at       timestamptz,
          resolved_windows  jsonb NOT NULL,
          retrain_id        uuid,
          position          bigint NOT NULL
        );
        CREATE INDEX alerts_listing_idx ON ${s}.alerts (position DESC);
        CREATE INDEX alerts_deployment_idx ON ${s}.alerts (deployment_id, position DESC);

        CREATE TABLE ${s}.retrains (
          retrain_id         uuid PRIMARY KEY,
          monitor_id         uuid NOT NULL,
          deployment_id      uuid NOT NULL,
          model_id           uuid NOT NULL,
          model_version_id   uuid NOT NULL,
          alert_id           uuid,
          policy             text NOT NULL,
          status             text NOT NULL CHECK (status IN ('PROPOSED', 'REQUESTED', 'DECLINED')),
          job                jsonb NOT NULL,
          dataset_changes    jsonb NOT NULL,
          proposed_at        timestamptz,
          requested_at       timestamptz,
          decided_by         text,
          decided_at         timestamptz,
          decision_note      text,
          proposal_event_id  uuid,
          position           bigint NOT NULL
        );
        CREATE INDEX retrains_listing_idx ON ${s}.retrains (position DESC);
        CREATE INDEX retrains_deployment_idx ON ${s}.retrains (deployment_id, position DESC);
      `);
    },
  },
  predictionStoreMigration('0002_predictions'),
];
