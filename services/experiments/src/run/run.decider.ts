import {
  type CodeRef,
  ConflictError,
  type DatasetRole,
  MAX_RUN_PARAMS,
  type MetricSummary,
  NotFoundError,
  type Params,
  type ParamValue,
  type RunDatasetVersion,
  type TypedEvent,
  ValidationError,
} from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The Run aggregate: one execution of training code with its params, the dataset versions it
 * used, the artifacts it produced and, at its end, the summary of its metrics. The metric points
 * themselves are not events (they live in the metrics table); the summary is.
 *
 * Params are given at the start and may be added while the run runs (a training script reports
 * the ones it settles on), but never changed, as in MLflow: a run's params are what it ran with.
 */

export type RunCommand =
  | {
      type: 'StartRun';
      runId: string;
      experimentId: string;
      /** The experiment as its stream has it when the command is handled; null when it does not exist. */
      experiment: { projectId: string } | null;
      params: Params;
      codeRef: CodeRef | null;
      /** `datasetId` is null for a version the datasets context does not know. */
      datasetVersions: Array<{ datasetVersionId: string; role: DatasetRole; datasetId: string | null }>;
      tags: string[];
      at: string;
    }
  | { type: 'LogParams'; runId: string; params: Params; at: string }
  | { type: 'LogArtifact'; runId: string; name: string; uri: string; digest: string; size: number; at: string }
  /** `summary`: computed from the metrics table under the run's metrics lock. */
  | { type: 'CompleteRun'; runId: string; summary: MetricSummary[]; at: string }
  | { type: 'FailRun'; runId: string; reason: string; summary: MetricSummary[]; at: string };

export type RunEvent = TypedEvent<
  | 'experiments.RunStarted.v1'
  | 'experiments.RunParamsLogged.v1'
  | 'experiments.RunArtifactLogged.v1'
  | 'experiments.RunMetricsSummarized.v1'
  | 'experiments.RunCompleted.v1'
  | 'experiments.RunFailed.v1'
>;

export interface ArtifactFacts {
  uri: string;
  digest: string;
  size: number;
  loggedAt: string;
}

export interface RunFacts {
  runId: string;
  experimentId: string;
  projectId: string;
  params: Params;
  codeRef: CodeRef | null;
  datasetVersions: RunDatasetVersion[];
  tags: string[];
  startedAt: string;
  /** By name. */
  artifacts: Record<string, ArtifactFacts>;
  summary: MetricSummary[] | null;
}

export type RunState =
  | { status: 'NotStarted' }
  | ({ status: 'Running' } & RunFacts)
  | ({ status: 'Completed'; endedAt: string } & RunFacts)
  | ({ status: 'Failed'; endedAt: string; reason: string } & RunFacts);

export const runStream = (runId: string) => `run-${runId}`;

export const runDecider: Decider<RunCommand, RunEvent, RunState> = {
  initialState: () => ({ status: 'NotStarted' }),

  decide(command, state) {
    switch (command.type) {
      case 'StartRun': {
        if (state.status !== 'NotStarted') throw new ConflictError(`run ${command.runId} already exists (started ${state.startedAt})`, { runId: command.runId });
        if (!command.experiment) throw new NotFoundError(`experiment ${command.experimentId} does not exist`, { experimentId: command.experimentId });
        const unknown = command.datasetVersions.filter((v) => v.datasetId === null).map((v) => v.datasetVersionId);
        if (unknown.length) {
          throw new NotFoundError(`${unknown.length === 1 ? 'dataset version' : 'dataset versions'} ${unknown.join(', ')} ${unknown.length === 1 ? 'does' : 'do'} not exist`, {
            datasetVersionIds: unknown,
          });
        }
        return [
          {
            type: 'experiments.RunStarted.v1',
            data: {
              runId: command.runId,
              experimentId: command.experimentId,
              projectId: command.experiment.projectId,
              params: command.params,
              codeRef: command.codeRef,
              datasetVersions: command.datasetVersions.map((v) => ({ datasetVersionId: v.datasetVersionId, datasetId: v.datasetId!, role: v.role })),
              tags: command.tags,
              startedAt: command.at,
            },
          },
        ];
      }
      case 'LogParams': {
        const running = requireRunning(state, command.runId, 'params');
        const changed = Object.entries(command.params).filter(([key, value]) => Object.hasOwn(running.params, key) && running.params[key] !== value);
        if (changed.length) {
          const what = changed.map(([key, value]) => `"${key}" from ${shown(running.params[key])} to ${shown(value)}`).join(', ');
          throw new ConflictError(`run ${command.runId} cannot change ${changed.length === 1 ? 'parameter' : 'parameters'} ${what}: params are immutable once logged (log the new value under another name)`, {
            runId: command.runId,
            params: changed.map(([key, value]) => ({ key, logged: running.params[key], given: value })),
          });
        }
        const added = Object.entries(command.params).filter(([key]) => !Object.hasOwn(running.params, key));
        if (added.length === 0) return [];
        const total = Object.keys(running.params).length + added.length;
        if (total > MAX_RUN_PARAMS) {
          throw new ValidationError(
            `run ${command.runId} would hold ${total} parameters (${Object.keys(running.params).length} logged, ${added.length} new): a run holds at most ${MAX_RUN_PARAMS} parameters in all`,
            { runId: command.runId, field: 'params', logged: Object.keys(running.params).length, adding: added.length, limit: MAX_RUN_PARAMS },
          );
        }
        return [{ type: 'experiments.RunParamsLogged.v1', data: { runId: command.runId, params: Object.fromEntries(added), loggedAt: command.at } }];
      }
      case 'LogArtifact': {
        const running = requireRunning(state, command.runId, 'artifacts');
        const existing = running.artifacts[command.name];
        if (existing) {
          if (existing.uri === command.uri && existing.digest === command.digest && existing.size === command.size) return [];
          throw new ConflictError(`run ${command.runId} already has an artifact named "${command.name}" (${existing.uri}, sha256 ${existing.digest}); log the new one under another name`, {
            runId: command.runId,
            name: command.name,
          });
        }
        const { runId, name, uri, digest, size, at } = command;
        return [{ type: 'experiments.RunArtifactLogged.v1', data: { runId, name, uri, digest, size, loggedAt: at } }];
      }
      case 'CompleteRun': {
        if (state.status === 'NotStarted') throw notFound(command.runId);
        if (state.status === 'Completed') return [];
        if (state.status === 'Failed') throw new ConflictError(`run ${command.runId} already failed (${state.reason}): it cannot complete`, { runId: command.runId });
        return [summarized(command.runId, command.summary, command.at), { type: 'experiments.RunCompleted.v1', data: { runId: command.runId, completedAt: command.at } }];
      }
      case 'FailRun': {
        if (state.status === 'NotStarted') throw notFound(command.runId);
        if (state.status === 'Completed') throw new ConflictError(`run ${command.runId} already completed: it cannot fail`, { runId: command.runId });
        if (state.status === 'Failed') {
          if (state.reason === command.reason) return [];
          throw new ConflictError(`run ${command.runId} already failed, for another reason: ${state.reason}`, { runId: command.runId });
        }
        return [summarized(command.runId, command.summary, command.at), { type: 'experiments.RunFailed.v1', data: { runId: command.runId, reason: command.reason, failedAt: command.at } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'experiments.RunStarted.v1': {
        const { runId, experimentId, projectId, params, codeRef, datasetVersions, tags, startedAt } = event.data;
        return { status: 'Running', runId, experimentId, projectId, params, codeRef, datasetVersions, tags, startedAt, artifacts: {}, summary: null };
      }
      case 'experiments.RunParamsLogged.v1':
        return state.status === 'NotStarted' ? state : { ...state, params: { ...state.params, ...event.data.params } };
      case 'experiments.RunArtifactLogged.v1': {
        if (state.status === 'NotStarted') return state;
        const { name, uri, digest, size, loggedAt } = event.data;
        return { ...state, artifacts: { ...state.artifacts, [name]: { uri, digest, size, loggedAt } } };
      }
      case 'experiments.RunMetricsSummarized.v1':
        return state.status === 'NotStarted' ? state : { ...state, summary: event.data.metrics };
      case 'experiments.RunCompleted.v1':
        return state.status === 'NotStarted' ? state : { ...withoutEnd(state), status: 'Completed', endedAt: event.data.completedAt };
      case 'experiments.RunFailed.v1':
        return state.status === 'NotStarted' ? state : { ...withoutEnd(state), status: 'Failed', endedAt: event.data.failedAt, reason: event.data.reason };
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

/**
 * Whether metric points may be added to the run in this state: only while it runs. The metrics
 * writer calls it under the run's metrics lock, the same lock completion takes, so no point
 * lands after the summary.
 */
export function assertAcceptsMetrics(state: RunState, runId: string): asserts state is Extract<RunState, { status: 'Running' }> {
  requireRunning(state, runId, 'metrics');
}

function requireRunning(state: RunState, runId: string, what: string): Extract<RunState, { status: 'Running' }> {
  if (state.status === 'NotStarted') throw notFound(runId);
  if (state.status !== 'Running') throw new ConflictError(`run ${runId} is ${state.status.toLowerCase()}: it takes no more ${what}`, { runId, status: state.status });
  return state;
}

function notFound(runId: string): NotFoundError {
  return new NotFoundError(`run ${runId} does not exist`, { runId });
}

/** A param value as a message shows it: strings quoted, so `0.01` and `"0.01"` read differently. */
function shown(value: ParamValue): string {
  return JSON.stringify(typeof value === 'string' && value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

function summarized(runId: string, metrics: MetricSummary[], at: string): RunEvent {
  return { type: 'experiments.RunMetricsSummarized.v1', data: { runId, metrics: [...metrics].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), summarizedAt: at } };
}

function withoutEnd(state: Exclude<RunState, { status: 'NotStarted' }>): RunFacts {
  const { runId, experimentId, projectId, params, codeRef, datasetVersions, tags, startedAt, artifacts, summary } = state;
  return { runId, experimentId, projectId, params, codeRef, datasetVersions, tags, startedAt, artifacts, summary };
}
