import { nameBasedUuid } from '@modeltrail/contracts';
import type {
  ArtifactOutput,
  CodeRef,
  ColumnMetrics,
  DatasetVersionInfo,
  DatasetVersionUse,
  Emission,
  JobEmission,
  JobOutcome,
  JobPlacement,
  MetricSummary,
  ModelVersionOutput,
  ParamValue,
  RunEventType,
  TrainingRunEmission,
} from '@modeltrail/openlineage';
import type { Projection, RecordedOf, TableProjection, TableSpec } from '@modeltrail/readmodel';

/**
 * The OpenLineage read model: per OpenLineage run (an experiment run, run id = our run id; or
 * a scheduler job, run id = the job id) its state and the RunEvents it has emitted, in order,
 * as `Emission`s (libs/openlineage builders.ts); and the names and dataset versions those
 * refer to by id.
 *
 * Why emissions and not finished documents: `evolve` reads only its own row and the event,
 * and a run's RunEvent needs what other streams said (the project's and experiment's names for
 * the job name, a dataset version's uri, digest and schema for an input). So a row keeps ids, and
 * names are looked up when a RunEvent is built (the outbox copy, `OpenLineageReader`) from
 * `openlineage_names` and `openlineage_dataset_versions`, kept by this same projection. Names
 * and dataset versions never change once registered and come before the runs that use them
 * in the store, so the lookup at build time gives what it would have given at the event.
 *
 * Lifecycle -> RunEvents (eventTime from the event's own time, never the clock):
 * - run: RunStarted -> START; RunCompleted -> COMPLETE; RunFailed -> FAIL (errorMessage);
 *   params, artifacts and the metrics summary accumulate into the end event; a model version
 *   created from the run after its end -> OTHER with the version as output (before: in the end event).
 * - job: JobStarted -> START (a later start, after a lost attempt -> RUNNING); JobSucceeded ->
 *   COMPLETE; JobFailed, JobTimedOut -> FAIL (errorMessage); JobCancelled -> ABORT. A job that
 *   ends without having started (cancelled while queued) gets a START at its end first, so each
 *   run has its START. JobAssigned records the placement; JobLost and JobRequeued emit nothing.
 */

export const OPENLINEAGE_PROJECTION_NAME = 'lineage.openlineage.v1';

/** UUID namespace of emission ids (from the store event's id and the RunEvent's type). Never change it. */
export const OPENLINEAGE_EMISSION_NAMESPACE = '2f6d3e8a-9c41-4b7e-a5d2-8e1f0c3b7a69';

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

export type NameKind = 'project' | 'experiment' | 'dataset' | 'model';

export interface OpenLineageNameRow {
  kind: NameKind;
  id: string;
  name: string;
  position: number;
}

export const openLineageNamesTable: TableSpec<OpenLineageNameRow, 'kind' | 'id'> = {
  name: 'openlineage_names',
  key: ['kind', 'id'],
  columns: { kind: 'text', id: 'uuid', name: 'text', position: 'bigint' },
};

/** What a RunEvent says of a dataset version it reads, and the position that last wrote it. */
export interface OpenLineageDatasetVersionRow extends DatasetVersionInfo {
  position: number;
}

export const openLineageDatasetVersionsTable: TableSpec<OpenLineageDatasetVersionRow, 'datasetVersionId'> = {
  name: 'openlineage_dataset_versions',
  key: ['datasetVersionId'],
  columns: {
    datasetVersionId: 'uuid',
    datasetId: 'uuid',
    uri: 'text',
    format: 'text',
    digest: 'text',
    size: 'bigint',
    rows: 'bigint',
    schema: 'jsonb',
    columnMetrics: 'jsonb',
    position: 'bigint',
  },
};

/** What a training run has accumulated. */
export interface TrainingRunState {
  subject: 'run';
  runId: string;
  projectId: string;
  experimentId: string;
  parentJobId: string | null;
  codeRef: CodeRef | null;
  inputs: DatasetVersionUse[];
  params: Record<string, ParamValue>;
  tags: string[];
  artifacts: ArtifactOutput[];
  metrics: MetricSummary[] | null;
  modelVersions: ModelVersionOutput[];
  ended: boolean;
}

/** What a scheduler job has accumulated. */
export interface JobState {
  subject: 'job';
  jobId: string;
  runId: string;
  projectId: string;
  experimentId: string;
  startsRun: boolean;
  inputs: DatasetVersionUse[];
  spec: JobEmission['spec'];
  placement: JobPlacement | null;
  started: boolean;
  ended: boolean;
}

export interface OpenLineageRunRow {
  /** The OpenLineage run id: a run id or a job id. */
  runId: string;
  subject: 'run' | 'job';
  state: TrainingRunState | JobState;
  /** The RunEvents emitted so far, in order. */
  emissions: Emission[];
  position: number;
}

export const openLineageRunsTable: TableSpec<OpenLineageRunRow, 'runId'> = {
  name: 'openlineage_runs',
  key: ['runId'],
  columns: { runId: 'uuid', subject: 'text', state: 'jsonb', emissions: 'jsonb', position: 'bigint' },
};

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

const NAME_EVENTS = ['experiments.ProjectDefined.v1', 'experiments.ExperimentCreated.v1', 'datasets.DatasetRegistered.v1', 'registry.ModelRegistered.v1'] as const;
const RUN_EVENTS = [
  'experiments.RunStarted.v1',
  'experiments.RunParamsLogged.v1',
  'experiments.RunArtifactLogged.v1',
  'experiments.RunMetricsSummarized.v1',
  'experiments.RunCompleted.v1',
  'experiments.RunFailed.v1',
  'registry.ModelVersionCreated.v1',
] as const;
const JOB_EVENTS = [
  'scheduler.JobQueued.v1',
  'scheduler.JobAssigned.v1',
  'scheduler.JobStarted.v1',
  'scheduler.JobSucceeded.v1',
  'scheduler.JobFailed.v1',
  'scheduler.JobCancelled.v1',
  'scheduler.JobTimedOut.v1',
] as const;
const HANDLED = [...NAME_EVENTS, 'datasets.DatasetVersionRegistered.v1', ...RUN_EVENTS, ...JOB_EVENTS] as const;

export type OpenLineageEvent = RecordedOf<(typeof HANDLED)[number]>;
type NameEvent = RecordedOf<(typeof NAME_EVENTS)[number]>;
type RunLifecycleEvent = RecordedOf<(typeof RUN_EVENTS)[number]>;
type JobEvent = RecordedOf<(typeof JOB_EVENTS)[number]>;
type DatasetVersionEvent = RecordedOf<'datasets.DatasetVersionRegistered.v1'>;

const isNameEvent = (e: OpenLineageEvent): e is NameEvent => (NAME_EVENTS as ReadonlyArray<string>).includes(e.type);
const isRunEvent = (e: OpenLineageEvent): e is RunLifecycleEvent => (RUN_EVENTS as ReadonlyArray<string>).includes(e.type);
const isJobEvent = (e: OpenLineageEvent): e is JobEvent => (JOB_EVENTS as ReadonlyArray<string>).includes(e.type);

/** The emission id of the RunEvent `eventType` caused by store event `eventId`: the same on every rebuild. */
export function emissionId(eventId: string, eventType: RunEventType): string {
  return nameBasedUuid(OPENLINEAGE_EMISSION_NAMESPACE, `${eventId.toLowerCase()}/${eventType}`);
}

// ---------------------------------------------------------------------------------------------
// Names and dataset versions
// ---------------------------------------------------------------------------------------------

export function nameKeyOf(event: NameEvent): Pick<OpenLineageNameRow, 'kind' | 'id'> {
  switch (event.type) {
    case 'experiments.ProjectDefined.v1':
      return { kind: 'project', id: event.data.projectId };
    case 'experiments.ExperimentCreated.v1':
      return { kind: 'experiment', id: event.data.experimentId };
    case 'datasets.DatasetRegistered.v1':
      return { kind: 'dataset', id: event.data.datasetId };
    case 'registry.ModelRegistered.v1':
      return { kind: 'model', id: event.data.modelId };
  }
}

/** Names never change once given: the first one stays (a replayed duplicate changes nothing). */
export function evolveName(row: OpenLineageNameRow | undefined, event: NameEvent): OpenLineageNameRow {
  if (row) return row;
  return { ...nameKeyOf(event), name: event.data.name, position: event.position };
}

/** Column metrics of the dataQualityMetrics facet from a version's profile. */
export function columnMetricsOf(profile: DatasetVersionEvent['data']['profile']): Record<string, ColumnMetrics> | null {
  if (!profile) return null;
  const metrics: Record<string, ColumnMetrics> = {};
  for (const column of profile.columns) {
    const m: ColumnMetrics = { nullCount: column.missing, count: column.count };
    if (column.distinctExact) m.distinctCount = column.distinct;
    if (column.numeric) {
      m.min = column.numeric.min;
      m.max = column.numeric.max;
      m.quantiles = Object.fromEntries(column.numeric.quantiles.map((q) => [String(q.q), q.value]));
    }
    metrics[column.name] = m;
  }
  return metrics;
}

export function evolveDatasetVersion(row: OpenLineageDatasetVersionRow | undefined, event: DatasetVersionEvent): OpenLineageDatasetVersionRow {
  if (row) return row;
  const { datasetVersionId, datasetId, uri, format, digest, size, rows, schema, profile } = event.data;
  return { datasetVersionId, datasetId, uri, format, digest, size, rows, schema, columnMetrics: columnMetricsOf(profile), position: event.position };
}

// ---------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------

const JOB_TAG = /^job:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

function runEmission(state: TrainingRunState, event: RunLifecycleEvent, eventType: RunEventType, eventTime: string, error: string | null): TrainingRunEmission {
  const { runId, projectId, experimentId, parentJobId, codeRef, inputs, artifacts, modelVersions, params, tags, metrics } = state;
  return { subject: 'run', id: emissionId(event.id, eventType), position: event.position, eventType, eventTime, error, runId, projectId, experimentId, parentJobId, codeRef, inputs, artifacts, modelVersions, training: { params, tags, metrics } };
}

/** An experiment run's row after one of its events (pure). */
export function evolveTrainingRun(row: OpenLineageRunRow | undefined, event: RunLifecycleEvent): OpenLineageRunRow | undefined {
  if (event.type === 'experiments.RunStarted.v1') {
    if (row) throw new Error(`openlineage: run ${row.runId} is already started`);
    const { runId, experimentId, projectId, params, codeRef, datasetVersions, tags, startedAt } = event.data;
    const parentJobId = tags.map((tag) => JOB_TAG.exec(tag)?.[1]?.toLowerCase()).find((id) => id !== undefined) ?? null;
    const state: TrainingRunState = {
      subject: 'run',
      runId,
      projectId,
      experimentId,
      parentJobId,
      codeRef,
      inputs: datasetVersions.map(({ datasetVersionId, datasetId, role }) => ({ datasetVersionId, datasetId, role })),
      params,
      tags,
      artifacts: [],
      metrics: null,
      modelVersions: [],
      ended: false,
    };
    return { runId, subject: 'run', state, emissions: [runEmission(state, event, 'START', startedAt, null)], position: event.position };
  }
  if (!row) {
    // A model version of a run this store never started (another store's run): nothing to say.
    if (event.type === 'registry.ModelVersionCreated.v1') return undefined;
    throw new Error(`openlineage: ${event.type} at ${event.position}: run ${event.data.runId} has no row`);
  }
  if (row.state.subject !== 'run') throw new Error(`openlineage: ${event.type} at ${event.position}: ${row.runId} is a job, not a run`);
  const state = row.state;
  const changed = (next: TrainingRunState, ...emitted: Emission[]): OpenLineageRunRow => ({ ...row, state: next, emissions: [...row.emissions, ...emitted], position: event.position });
  switch (event.type) {
    case 'experiments.RunParamsLogged.v1':
      return changed({ ...state, params: { ...state.params, ...event.data.params } });
    case 'experiments.RunArtifactLogged.v1': {
      const { name, uri, digest, size } = event.data;
      return changed({ ...state, artifacts: [...state.artifacts.filter((a) => a.name !== name), { name, uri, digest, size }] });
    }
    case 'experiments.RunMetricsSummarized.v1':
      return changed({ ...state, metrics: event.data.metrics });
    case 'experiments.RunCompleted.v1': {
      const next = { ...state, ended: true };
      return changed(next, runEmission(next, event, 'COMPLETE', event.data.completedAt, null));
    }
    case 'experiments.RunFailed.v1': {
      const next = { ...state, ended: true };
      return changed(next, runEmission(next, event, 'FAIL', event.data.failedAt, event.data.reason));
    }
    case 'registry.ModelVersionCreated.v1': {
      const { modelVersionId, modelId, version, artifact, createdAt } = event.data;
      if (state.modelVersions.some((m) => m.modelVersionId === modelVersionId)) return row;
      const model: ModelVersionOutput = { modelVersionId, modelId, version, artifact: { name: artifact.name, uri: artifact.uri, digest: artifact.digest, size: artifact.size }, createdAt };
      const next = { ...state, modelVersions: [...state.modelVersions, model] };
      if (!state.ended) return changed(next);
      // After the run's end: an OTHER event adds the version to the run's outputs.
      const other: TrainingRunEmission = { ...runEmission(next, event, 'OTHER', createdAt, null), inputs: [], artifacts: [], modelVersions: [model], training: null };
      return changed(next, other);
    }
    default: {
      const unknown: never = event;
      throw new Error(`openlineage projection cannot apply ${(unknown as RunLifecycleEvent).type} to a run`);
    }
  }
}

function jobEmission(state: JobState, event: JobEvent, eventType: RunEventType, eventTime: string, error: string | null, outcome: JobOutcome | null): JobEmission {
  const { jobId, runId, projectId, experimentId, startsRun, inputs, spec, placement } = state;
  return { subject: 'job', id: emissionId(event.id, eventType), position: event.position, eventType, eventTime, error, jobId, runId, projectId, experimentId, startsRun, inputs, spec, placement, outcome };
}

/** A scheduler job's row after one of its events (pure). */
export function evolveJob(row: OpenLineageRunRow | undefined, event: JobEvent): OpenLineageRunRow {
  if (event.type === 'scheduler.JobQueued.v1') {
    if (row) throw new Error(`openlineage: job ${row.runId} is already queued`);
    const { jobId, runId, projectId, experimentId, newRun, resources, priority, maxRetries, timeoutSeconds, sweep } = event.data;
    const state: JobState = {
      subject: 'job',
      jobId,
      runId,
      projectId,
      experimentId,
      startsRun: newRun !== null,
      inputs: (newRun?.datasetVersions ?? []).map(({ datasetVersionId, role }) => ({ datasetVersionId, datasetId: null, role })),
      spec: { resources: { ...resources }, priority, maxRetries, timeoutSeconds, sweep },
      placement: null,
      started: false,
      ended: false,
    };
    return { runId: jobId, subject: 'job', state, emissions: [], position: event.position };
  }
  if (!row) throw new Error(`openlineage: ${event.type} at ${event.position}: job ${event.data.jobId} has no row`);
  if (row.state.subject !== 'job') throw new Error(`openlineage: ${event.type} at ${event.position}: ${row.runId} is a run, not a job`);
  const state = row.state;
  const changed = (next: JobState, ...emitted: Emission[]): OpenLineageRunRow => ({ ...row, state: next, emissions: [...row.emissions, ...emitted], position: event.position });
  switch (event.type) {
    case 'scheduler.JobAssigned.v1': {
      const { agentId, gpus, attempt, fencingToken } = event.data;
      return changed({ ...state, placement: { agentId, gpus: gpus.map(({ index, uuid }) => ({ index, uuid })), attempt, fencingToken } });
    }
    case 'scheduler.JobStarted.v1': {
      const next = { ...state, started: true };
      return changed(next, jobEmission(next, event, state.started ? 'RUNNING' : 'START', event.data.startedAt, null, null));
    }
    case 'scheduler.JobSucceeded.v1':
    case 'scheduler.JobFailed.v1':
    case 'scheduler.JobCancelled.v1':
    case 'scheduler.JobTimedOut.v1': {
      if (state.ended) return row;
      const { exitCode, signal, durationMs, endedAt } = event.data;
      const reason = 'reason' in event.data ? event.data.reason : null;
      const [status, eventType, error] = {
        'scheduler.JobSucceeded.v1': ['SUCCEEDED', 'COMPLETE', null],
        'scheduler.JobFailed.v1': ['FAILED', 'FAIL', reason],
        'scheduler.JobCancelled.v1': ['CANCELLED', 'ABORT', null],
        'scheduler.JobTimedOut.v1': ['TIMED_OUT', 'FAIL', reason],
      }[event.type] as [JobOutcome['status'], RunEventType, string | null];
      const next = { ...state, started: true, ended: true };
      const outcome: JobOutcome = { status, reason, exitCode, signal, durationMs };
      const emitted = state.started ? [] : [jobEmission(next, event, 'START', endedAt, null, null)];
      return changed(next, ...emitted, jobEmission(next, event, eventType, endedAt, error, outcome));
    }
    default: {
      const unknown: never = event;
      throw new Error(`openlineage projection cannot apply ${(unknown as JobEvent).type} to a job`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Projection
// ---------------------------------------------------------------------------------------------

const names: TableProjection<OpenLineageEvent, OpenLineageNameRow, 'kind' | 'id'> = {
  table: openLineageNamesTable,
  keyOf: (event) => (isNameEvent(event) ? nameKeyOf(event) : undefined),
  evolve: (row, event) => (isNameEvent(event) ? evolveName(row, event) : row),
};

const datasetVersions: TableProjection<OpenLineageEvent, OpenLineageDatasetVersionRow, 'datasetVersionId'> = {
  table: openLineageDatasetVersionsTable,
  keyOf: (event) => (event.type === 'datasets.DatasetVersionRegistered.v1' ? { datasetVersionId: event.data.datasetVersionId } : undefined),
  evolve: (row, event) => (event.type === 'datasets.DatasetVersionRegistered.v1' ? evolveDatasetVersion(row, event) : row),
};

const runs: TableProjection<OpenLineageEvent, OpenLineageRunRow, 'runId'> = {
  table: openLineageRunsTable,
  keyOf: (event) => {
    if (isRunEvent(event)) return { runId: event.data.runId };
    if (isJobEvent(event)) return { runId: event.data.jobId };
    return undefined;
  },
  evolve: (row, event) => {
    if (isRunEvent(event)) return evolveTrainingRun(row, event);
    if (isJobEvent(event)) return evolveJob(row, event);
    return row;
  },
};

/**
 * Keeps `openlineage_names`, `openlineage_dataset_versions` and `openlineage_runs`. Register it
 * combined with the service's other projections (`combineProjections`).
 */
export const openLineageProjection: Projection<OpenLineageEvent> = {
  name: OPENLINEAGE_PROJECTION_NAME,
  handles: new Set<string>(HANDLED),
  tables: [names, datasetVersions, runs],
};
