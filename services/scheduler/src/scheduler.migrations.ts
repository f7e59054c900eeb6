import type { Migration } from '@modeltrail/postgres';

/**
 * Tables of the scheduler service. `jobs`, `agents`, `sweeps` and `sweep_trials` are read models
 * kept by the projection (rebuildable from the store). The others are written directly and are
 * not events: `agent_heartbeats` (the last heartbeat of each agent: heartbeats renew leases but
 * are never stored as events), `job_logs` with `job_log_totals` (log lines of each attempt,
 * bounded in bytes), and `reactor_checkpoints` (how far the reactor that closes runs and drives
 * sweeps has followed the store). Never edit a migration that shipped; add one.
 */
export const schedulerMigrations: Migration[] = [
  {
    id: '0001_scheduler_read_models',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.jobs (
          job_id                 uuid PRIMARY KEY,
          status                 text NOT NULL CHECK (status IN ('QUEUED', 'ASSIGNED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'LOST')),
          project_id             uuid NOT NULL,
          experiment_id          uuid NOT NULL,
          run_id                 uuid NOT NULL,
          starts_run             boolean NOT NULL,
          sweep_id               uuid,
          trial                  integer,
          command                jsonb NOT NULL,
          env                    jsonb NOT NULL,
          working_dir            text,
          resources              jsonb NOT NULL,
          priority               integer NOT NULL,
          max_retries            integer NOT NULL,
          timeout_seconds        integer,
          cancel_grace_seconds   integer NOT NULL,
          attempt                integer NOT NULL,
          lost_count             integer NOT NULL,
          fencing_token          integer,
          agent_id               uuid,
          gpus                   jsonb NOT NULL,
          lease_expires_at       timestamptz,
          pid                    integer,
          exit_code              integer,
          signal                 text,
          reason                 text,
          cancel_requested_at    timestamptz,
          cancel_reason          text,
          queued_at              timestamptz NOT NULL,
          not_before             timestamptz,
          assigned_at            timestamptz,
          started_at             timestamptz,
          ended_at               timestamptz,
          duration_ms            bigint,
          stale_reports_refused  integer NOT NULL,
          submitted_by           text NOT NULL,
          revision               bigint NOT NULL,
          position               bigint NOT NULL
        );
        -- Newest first, as ListJobs orders them, overall and per filter.
        CREATE INDEX jobs_listing_idx ON ${s}.jobs (queued_at DESC, job_id);
        CREATE INDEX jobs_status_idx ON ${s}.jobs (status, queued_at DESC, job_id);
        CREATE INDEX jobs_project_idx ON ${s}.jobs (project_id, queued_at DESC, job_id);
        CREATE INDEX jobs_experiment_idx ON ${s}.jobs (experiment_id, queued_at DESC, job_id);
        CREATE INDEX jobs_sweep_idx ON ${s}.jobs (sweep_id, queued_at DESC, job_id) WHERE sweep_id IS NOT NULL;
        CREATE INDEX jobs_agent_idx ON ${s}.jobs (agent_id, queued_at DESC, job_id) WHERE agent_id IS NOT NULL;
        -- What placement and the liveness monitor read on every pass.
        CREATE INDEX jobs_pending_idx ON ${s}.jobs (job_id) WHERE status = 'QUEUED';
        CREATE INDEX jobs_held_idx ON ${s}.jobs (agent_id) WHERE status IN ('ASSIGNED', 'RUNNING');

        CREATE TABLE ${s}.agents (
          agent_id       uuid PRIMARY KEY,
          session_id     uuid NOT NULL,
          status         text NOT NULL CHECK (status IN ('ACTIVE', 'DRAINING', 'LOST', 'STOPPED')),
          hostname       text NOT NULL,
          labels         jsonb NOT NULL,
          gpus           jsonb NOT NULL,
          cpus           double precision NOT NULL,
          memory_mb      bigint NOT NULL,
          gpu_probe      jsonb NOT NULL,
          agent_version  text NOT NULL,
          draining       boolean NOT NULL,
          drain_reason   text,
          lost_reason    text,
          registered_at  timestamptz NOT NULL,
          revision       bigint NOT NULL,
          position       bigint NOT NULL
        );
        CREATE INDEX agents_listing_idx ON ${s}.agents (hostname, agent_id);

        CREATE TABLE ${s}.sweeps (
          sweep_id         uuid PRIMARY KEY,
          experiment_id    uuid NOT NULL,
          project_id       uuid NOT NULL,
          status           text NOT NULL CHECK (status IN ('RUNNING', 'COMPLETED', 'CANCELLED')),
          strategy         text NOT NULL,
          space            jsonb NOT NULL,
          max_trials       integer NOT NULL,
          max_concurrent   integer NOT NULL,
          seed             bigint NOT NULL,
          objective        jsonb NOT NULL,
          job_template     jsonb NOT NULL,
          trials_finished  integer NOT NULL,
          best             jsonb,
          cancel_reason    text,
          submitted_at     timestamptz NOT NULL,
          ended_at         timestamptz,
          submitted_by     text NOT NULL,
          revision         bigint NOT NULL,
          position         bigint NOT NULL
        );

        CREATE TABLE ${s}.sweep_trials (
          sweep_id         uuid NOT NULL REFERENCES ${s}.sweeps (sweep_id),
          trial            integer NOT NULL,
          job_id           uuid NOT NULL,
          run_id           uuid NOT NULL,
          params           jsonb NOT NULL,
          outcome          text,
          objective_value  double precision,
          queued_at        timestamptz NOT NULL,
          finished_at      timestamptz,
          position         bigint NOT NULL,
          PRIMARY KEY (sweep_id, trial)
        );

        -- The last heartbeat of each agent (any replica writes it): the liveness monitor of the
        -- leader reads it, so that heartbeats answered by other replicas count too.
        CREATE TABLE ${s}.agent_heartbeats (
          agent_id      uuid PRIMARY KEY,
          session_id    uuid NOT NULL,
          last_seen_at  timestamptz NOT NULL,
          -- [{ jobId, fencingToken }] the agent said it holds in that heartbeat.
          running       jsonb NOT NULL,
          -- [{ uuid, status }] GPU status changes since registration.
          gpu_status    jsonb NOT NULL,
          accepting     boolean NOT NULL
        );

        CREATE TABLE ${s}.job_logs (
          job_id   uuid NOT NULL,
          attempt  integer NOT NULL,
          seq      bigint NOT NULL,
          stream   text NOT NULL,
          time     timestamptz NOT NULL,
          line     text NOT NULL,
          bytes    integer NOT NULL,
          PRIMARY KEY (job_id, attempt, seq)
        );
        -- Per job attempt: bytes kept, the highest seq stored, and the seq below which lines were
        -- dropped to stay within the bound (a resent old line is not stored again).
        CREATE TABLE ${s}.job_log_totals (
          job_id         uuid NOT NULL,
          attempt        integer NOT NULL,
          bytes          bigint NOT NULL,
          last_seq       bigint,
          trimmed_below  bigint NOT NULL,
          PRIMARY KEY (job_id, attempt)
        );

        CREATE TABLE ${s}.reactor_checkpoints (
          name        text PRIMARY KEY,
          position    bigint NOT NULL,
          updated_at  timestamptz NOT NULL DEFAULT now()
        );
      `);
    },
  },
  {
    // ListJobs by run (the job that trained a run), newest first as the listing orders them.
    id: '0002_jobs_run_idx',
    up: async (client, s) => {
      await client.query(`CREATE INDEX jobs_run_idx ON ${s}.jobs (run_id, queued_at DESC, job_id)`);
    },
  },
];
