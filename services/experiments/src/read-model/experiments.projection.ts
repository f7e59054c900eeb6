import type { Projection, RecordedOf, TableProjection } from '@modeltrail/readmodel';
import {
  type ExperimentRow,
  experimentsTable,
  type ProjectRow,
  projectsTable,
  type RunArtifactRow,
  runArtifactsTable,
  type RunRow,
  runsTable,
} from './experiments.entities';

const HANDLED = [
  'experiments.ProjectDefined.v1',
  'experiments.ExperimentCreated.v1',
  'experiments.RunStarted.v1',
  'experiments.RunParamsLogged.v1',
  'experiments.RunArtifactLogged.v1',
  'experiments.RunMetricsSummarized.v1',
  'experiments.RunCompleted.v1',
  'experiments.RunFailed.v1',
] as const;

export type ExperimentsEvent = RecordedOf<(typeof HANDLED)[number]>;
type RunEvent = Exclude<ExperimentsEvent, RecordedOf<'experiments.ProjectDefined.v1' | 'experiments.ExperimentCreated.v1'>>;

export function projectOf(row: ProjectRow | undefined, event: RecordedOf<'experiments.ProjectDefined.v1'>): ProjectRow {
  if (row) throw new Error(`project ${row.projectId} is already defined`);
  const { projectId, name, problem, taskType, target, successCriteria, definedAt } = event.data;
  return { projectId, name, problem, taskType, target, successCriteria, definedAt: new Date(definedAt), definedBy: event.metadata.actor, revision: event.revision, position: event.position };
}

export function experimentOf(row: ExperimentRow | undefined, event: RecordedOf<'experiments.ExperimentCreated.v1'>): ExperimentRow {
  if (row) throw new Error(`experiment ${row.experimentId} is already created`);
  const { experimentId, projectId, name, description, createdAt } = event.data;
  return { experimentId, projectId, name, description, createdAt: new Date(createdAt), createdBy: event.metadata.actor, revision: event.revision, position: event.position };
}

/** A run's row after one of its events (pure). */
export function evolveRun(row: RunRow | undefined, event: RunEvent): RunRow {
  const moved = { revision: event.revision, position: event.position };
  if (event.type === 'experiments.RunStarted.v1') {
    if (row) throw new Error(`run ${row.runId} is already started`);
    const { runId, experimentId, projectId, params, codeRef, datasetVersions, tags, startedAt } = event.data;
    return {
      runId,
      experimentId,
      projectId,
      status: 'Running',
      params,
      codeRef,
      datasetVersions,
      tags,
      startedAt: new Date(startedAt),
      startedBy: event.metadata.actor,
      endedAt: null,
      failureReason: null,
      summary: null,
      ...moved,
    };
  }
  if (!row) throw new Error(`${event.type} at ${event.position}: run ${event.data.runId} has no row`);
  switch (event.type) {
    case 'experiments.RunParamsLogged.v1':
      // Only new keys are logged (the decider refuses a changed value), so this adds to the start's params.
      return { ...row, params: { ...row.params, ...event.data.params }, ...moved };
    case 'experiments.RunArtifactLogged.v1':
      return { ...row, ...moved };
    case 'experiments.RunMetricsSummarized.v1':
      return { ...row, summary: event.data.metrics, ...moved };
    case 'experiments.RunCompleted.v1':
      return { ...row, status: 'Completed', endedAt: new Date(event.data.completedAt), ...moved };
    case 'experiments.RunFailed.v1':
      return { ...row, status: 'Failed', endedAt: new Date(event.data.failedAt), failureReason: event.data.reason, ...moved };
    default: {
      const unknown: never = event;
      throw new Error(`experiments projection cannot apply ${(unknown as RunEvent).type} to a run`);
    }
  }
}

export function artifactOf(row: RunArtifactRow | undefined, event: RecordedOf<'experiments.RunArtifactLogged.v1'>): RunArtifactRow {
  const { runId, name, uri, digest, size, loggedAt } = event.data;
  if (row) throw new Error(`run ${runId} already has an artifact named "${name}"`);
  return { runId, name, uri, digest, size, loggedAt: new Date(loggedAt), loggedBy: event.metadata.actor, position: event.position };
}

const projects: TableProjection<ExperimentsEvent, ProjectRow, 'projectId'> = {
  table: projectsTable,
  keyOf: (event) => (event.type === 'experiments.ProjectDefined.v1' ? { projectId: event.data.projectId } : undefined),
  evolve: (row, event) => (event.type === 'experiments.ProjectDefined.v1' ? projectOf(row, event) : row),
};

const experiments: TableProjection<ExperimentsEvent, ExperimentRow, 'experimentId'> = {
  table: experimentsTable,
  keyOf: (event) => (event.type === 'experiments.ExperimentCreated.v1' ? { experimentId: event.data.experimentId } : undefined),
  evolve: (row, event) => (event.type === 'experiments.ExperimentCreated.v1' ? experimentOf(row, event) : row),
};

const runs: TableProjection<ExperimentsEvent, RunRow, 'runId'> = {
  table: runsTable,
  keyOf: (event) => (isRunEvent(event) ? { runId: event.data.runId } : undefined),
  evolve: (row, event) => (isRunEvent(event) ? evolveRun(row, event) : row),
};

const artifacts: TableProjection<ExperimentsEvent, RunArtifactRow, 'runId' | 'name'> = {
  table: runArtifactsTable,
  keyOf: (event) => (event.type === 'experiments.RunArtifactLogged.v1' ? { runId: event.data.runId, name: event.data.name } : undefined),
  evolve: (row, event) => (event.type === 'experiments.RunArtifactLogged.v1' ? artifactOf(row, event) : row),
};

function isRunEvent(event: ExperimentsEvent): event is RunEvent {
  return event.type !== 'experiments.ProjectDefined.v1' && event.type !== 'experiments.ExperimentCreated.v1';
}

/**
 * Keeps `projects`, `experiments`, `runs` and `run_artifacts` in step with the experiments
 * context's streams. The metric tables are not its: LogMetrics writes them directly.
 */
export const experimentsProjection: Projection<ExperimentsEvent> = {
  name: 'experiments.read-model.v1',
  handles: new Set<string>(HANDLED),
  tables: [projects, experiments, runs, artifacts],
};
