import { customFacet, standardFacet } from './facets';
import { dataSourceUri, datasetNameOfUri, experimentJobName, modelVersionDatasetName, schedulerJobName } from './naming';
import { DEFAULT_NAMESPACE, type Facets, type InputDataset, MODELTRAIL_PRODUCER, OPENLINEAGE_SCHEMA_URL, type OutputDataset, type RunEvent, type RunEventType } from './types';
import { isUri } from './validate';

/**
 * From accumulated run / job state to RunEvents. A projection keeps, per OpenLineage run, the
 * `Emission`s it has decided (what each RunEvent says, with ids where names are needed);
 * `buildRunEvent` turns one into the document, with names and dataset versions looked up
 * (`LineageLookup`). Pure: the same emission and lookup give the same document.
 */

export type ParamValue = string | number | boolean;

export interface CodeRef {
  repository: string;
  commit: string;
  path: string | null;
}

export interface MetricSummary {
  key: string;
  last: number;
  min: number;
  max: number;
  count: number;
  lastStep: number;
}

/** A dataset version a run reads (`datasetId` null when the event did not name it: a job's spec). */
export interface DatasetVersionUse {
  datasetVersionId: string;
  datasetId: string | null;
  role: string;
}

export interface ArtifactOutput {
  name: string;
  uri: string;
  digest: string;
  size: number;
}

export interface ModelVersionOutput {
  modelVersionId: string;
  modelId: string;
  version: number;
  artifact: ArtifactOutput;
  createdAt: string;
}

interface EmissionBase {
  /** Identity of the emission (a UUID derived from the store event that caused it). */
  id: string;
  /** Global position of the store event that caused it: the order of a run's RunEvents. */
  position: number;
  eventType: RunEventType;
  /** From the store event (its own time field), never the clock. */
  eventTime: string;
  /** Error message of a FAIL (errorMessage facet), else null. */
  error: string | null;
}

/** A RunEvent of an experiment run (OpenLineage run id = our run id). */
export interface TrainingRunEmission extends EmissionBase {
  subject: 'run';
  runId: string;
  projectId: string;
  experimentId: string;
  /** The scheduler job that started the run (its `job:<jobId>` tag): the `parent` facet. */
  parentJobId: string | null;
  codeRef: CodeRef | null;
  inputs: DatasetVersionUse[];
  artifacts: ArtifactOutput[];
  modelVersions: ModelVersionOutput[];
  /** Params, tags and metrics summary (null on an OTHER event that only adds outputs). */
  training: { params: Record<string, ParamValue>; tags: string[]; metrics: MetricSummary[] | null } | null;
}

export interface JobPlacement {
  agentId: string;
  gpus: Array<{ index: number; uuid: string }>;
  attempt: number;
  fencingToken: number;
}

export interface JobOutcome {
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';
  reason: string | null;
  exitCode: number | null;
  signal: string | null;
  durationMs: number | null;
}

/** A RunEvent of a scheduler job (OpenLineage run id = the job id). */
export interface JobEmission extends EmissionBase {
  subject: 'job';
  jobId: string;
  /** The run the job trains into. */
  runId: string;
  projectId: string;
  experimentId: string;
  /** True: the job started its run (the run's parent is the job). False: it trains into an existing run (the job's parent is the run). */
  startsRun: boolean;
  inputs: DatasetVersionUse[];
  spec: {
    resources: Record<string, unknown>;
    priority: number;
    maxRetries: number;
    timeoutSeconds: number | null;
    sweep: { sweepId: string; trial: number } | null;
  };
  placement: JobPlacement | null;
  outcome: JobOutcome | null;
}

export type Emission = TrainingRunEmission | JobEmission;

export interface ColumnMetrics {
  nullCount?: number;
  distinctCount?: number;
  count?: number;
  min?: number;
  max?: number;
  quantiles?: Record<string, number>;
}

/** What a RunEvent says about a dataset version it reads. */
export interface DatasetVersionInfo {
  datasetVersionId: string;
  datasetId: string;
  uri: string;
  format: string;
  digest: string;
  size: number | null;
  rows: number | null;
  schema: Array<{ name: string; type: string; nullable: boolean }> | null;
  /** From the version's profile, when it was profiled (dataQualityMetrics facet). */
  columnMetrics: Record<string, ColumnMetrics> | null;
}

/** Names and dataset versions the emissions refer to by id. A missing entry falls back to the id. */
export interface LineageLookup {
  projects: ReadonlyMap<string, string>;
  experiments: ReadonlyMap<string, string>;
  datasets: ReadonlyMap<string, string>;
  models: ReadonlyMap<string, string>;
  datasetVersions: ReadonlyMap<string, DatasetVersionInfo>;
}

export const EMPTY_LOOKUP: LineageLookup = { projects: new Map(), experiments: new Map(), datasets: new Map(), models: new Map(), datasetVersions: new Map() };

/** The ids `emissions` need looked up. */
export function referencesOf(emissions: ReadonlyArray<Emission>): { projects: string[]; experiments: string[]; datasets: string[]; models: string[]; datasetVersions: string[] } {
  const projects = new Set<string>();
  const experiments = new Set<string>();
  const datasets = new Set<string>();
  const models = new Set<string>();
  const datasetVersions = new Set<string>();
  for (const e of emissions) {
    projects.add(e.projectId);
    experiments.add(e.experimentId);
    for (const input of e.inputs) {
      datasetVersions.add(input.datasetVersionId);
      if (input.datasetId) datasets.add(input.datasetId);
    }
    if (e.subject === 'run') for (const m of e.modelVersions) models.add(m.modelId);
  }
  return { projects: [...projects], experiments: [...experiments], datasets: [...datasets], models: [...models], datasetVersions: [...datasetVersions] };
}

export interface BuildOptions {
  /** Namespace of our jobs (default `modeltrail`). */
  jobNamespace?: string;
  /** Namespace of model versions as datasets (default `modeltrail`). */
  modelNamespace?: string;
  /** `producer` and `_producer` (default https://github.com/modeltrail/modeltrail). */
  producer?: string;
}

/** Programming language of errorMessage (required by the facet): our failures carry only a reason. */
export const UNKNOWN_LANGUAGE = 'UNKNOWN';

/** The RunEvent of an emission, names and dataset versions taken from `lookup`. */
export function buildRunEvent(emission: Emission, lookup: LineageLookup = EMPTY_LOOKUP, options: BuildOptions = {}): RunEvent {
  const producer = options.producer ?? MODELTRAIL_PRODUCER;
  const namespace = options.jobNamespace ?? DEFAULT_NAMESPACE;
  const experimentJob = { namespace, name: experimentJobName(lookup.projects.get(emission.projectId) ?? emission.projectId, lookup.experiments.get(emission.experimentId) ?? emission.experimentId) };
  const runFacets: Facets = {};
  const jobFacets: Facets = {};
  let job: { namespace: string; name: string };
  let outputs: OutputDataset[] = [];

  if (emission.subject === 'run') {
    job = experimentJob;
    jobFacets.jobType = standardFacet(producer, 'jobType', { processingType: 'BATCH', integration: 'MODELTRAIL', jobType: 'TRAINING' });
    const location = sourceCodeLocation(emission.codeRef);
    if (location) jobFacets.sourceCodeLocation = standardFacet(producer, 'sourceCodeLocation', location);
    if (emission.parentJobId) {
      runFacets.parent = standardFacet(producer, 'parent', { run: { runId: emission.parentJobId }, job: { namespace, name: schedulerJobName(emission.parentJobId) } });
    }
    if (emission.training) {
      const { params, tags, metrics } = emission.training;
      runFacets.modeltrail_training = customFacet(producer, 'modeltrail_training', {
        projectId: emission.projectId,
        experimentId: emission.experimentId,
        params,
        tags,
        ...(metrics ? { metrics } : {}),
      });
    }
    outputs = [...emission.artifacts.map((a) => artifactDataset(producer, a)), ...emission.modelVersions.map((m) => modelVersionDataset(producer, options.modelNamespace ?? DEFAULT_NAMESPACE, m, lookup))];
  } else {
    job = { namespace, name: schedulerJobName(emission.jobId) };
    jobFacets.jobType = standardFacet(producer, 'jobType', { processingType: 'BATCH', integration: 'MODELTRAIL', jobType: 'JOB' });
    if (!emission.startsRun) runFacets.parent = standardFacet(producer, 'parent', { run: { runId: emission.runId }, job: experimentJob });
    runFacets.modeltrail_job = customFacet(producer, 'modeltrail_job', {
      runId: emission.runId,
      projectId: emission.projectId,
      experimentId: emission.experimentId,
      ...emission.spec,
      ...(emission.outcome ? { outcome: emission.outcome } : {}),
    });
    if (emission.placement) runFacets.modeltrail_placement = customFacet(producer, 'modeltrail_placement', { ...emission.placement });
  }
  if (emission.error !== null) runFacets.errorMessage = standardFacet(producer, 'errorMessage', { message: emission.error, programmingLanguage: UNKNOWN_LANGUAGE });

  const event: RunEvent = {
    eventType: emission.eventType,
    eventTime: emission.eventTime,
    producer,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
    run: { runId: emission.subject === 'run' ? emission.runId : emission.jobId, facets: runFacets },
    job: { ...job, facets: jobFacets },
    inputs: emission.inputs.map((use) => inputDataset(producer, namespace, use, lookup)),
    outputs,
  };
  return event;
}

/** sourceCodeLocation when the repository is a URI (`https://...`, `ssh://...`); a `git@host:org/repo` path has no URL. */
function sourceCodeLocation(codeRef: CodeRef | null): Record<string, unknown> | undefined {
  if (!codeRef || !isUri(codeRef.repository)) return undefined;
  return { type: 'git', url: codeRef.repository, repoUrl: codeRef.repository, version: codeRef.commit, ...(codeRef.path ? { path: codeRef.path } : {}) };
}

function inputDataset(producer: string, namespace: string, use: DatasetVersionUse, lookup: LineageLookup): InputDataset {
  const info = lookup.datasetVersions.get(use.datasetVersionId);
  const datasetId = info?.datasetId ?? use.datasetId;
  const datasetName = datasetId ? lookup.datasets.get(datasetId) : undefined;
  const facets: Facets = {};
  const inputFacets: Facets = {};
  let name: { namespace: string; name: string };
  if (info) {
    name = datasetNameOfUri(info.uri);
    if (info.schema) facets.schema = standardFacet(producer, 'schema', { fields: info.schema.map((c) => ({ name: c.name, type: c.type })) });
    facets.dataSource = standardFacet(producer, 'dataSource', { name: name.namespace, uri: dataSourceUri(name.namespace) });
    if (info.columnMetrics) {
      inputFacets.dataQualityMetrics = standardFacet(producer, 'dataQualityMetrics', {
        ...(info.rows !== null ? { rowCount: info.rows } : {}),
        ...(info.size !== null ? { bytes: info.size } : {}),
        columnMetrics: info.columnMetrics,
      });
    }
  } else {
    // The version's registration was not seen: name it by id, so the input is still there.
    name = { namespace, name: `datasets/${datasetId ?? 'unknown'}/versions/${use.datasetVersionId}` };
  }
  facets.version = standardFacet(producer, 'version', { datasetVersion: use.datasetVersionId });
  inputFacets.modeltrail_datasetVersion = customFacet(producer, 'modeltrail_datasetVersion', {
    datasetVersionId: use.datasetVersionId,
    datasetId,
    ...(datasetName !== undefined ? { datasetName } : {}),
    role: use.role,
    ...(info ? { uri: info.uri, format: info.format, digest: info.digest, size: info.size, rows: info.rows } : {}),
  });
  return { ...name, facets, inputFacets };
}

function artifactDataset(producer: string, artifact: ArtifactOutput): OutputDataset {
  const name = datasetNameOfUri(artifact.uri);
  return {
    ...name,
    facets: { dataSource: standardFacet(producer, 'dataSource', { name: name.namespace, uri: dataSourceUri(name.namespace) }) },
    outputFacets: { modeltrail_artifact: customFacet(producer, 'modeltrail_artifact', { name: artifact.name, uri: artifact.uri, digest: artifact.digest, size: artifact.size }) },
  };
}

function modelVersionDataset(producer: string, namespace: string, model: ModelVersionOutput, lookup: LineageLookup): OutputDataset {
  const modelName = lookup.models.get(model.modelId);
  return {
    namespace,
    name: modelVersionDatasetName(model.modelId, model.version),
    facets: {
      version: standardFacet(producer, 'version', { datasetVersion: String(model.version) }),
      modeltrail_modelVersion: customFacet(producer, 'modeltrail_modelVersion', {
        modelVersionId: model.modelVersionId,
        modelId: model.modelId,
        ...(modelName !== undefined ? { modelName } : {}),
        version: model.version,
        artifact: model.artifact,
        createdAt: model.createdAt,
      }),
    },
  };
}
