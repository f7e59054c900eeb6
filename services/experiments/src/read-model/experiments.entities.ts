import { BigIntType, EntitySchema } from '@mikro-orm/postgresql';
import type { TableSpec } from '@modeltrail/readmodel';
import type { CodeRef, MetricSummary, Params, RunDatasetVersion, RunStatus, SuccessCriterion, TaskType } from '@modeltrail/contracts';

/** Read-model rows of the experiments service (tables in its schema; see experiments.migrations.ts). */

export interface ProjectRow {
  projectId: string;
  name: string;
  problem: string;
  taskType: TaskType;
  target: string | null;
  successCriteria: SuccessCriterion[];
  definedAt: Date;
  definedBy: string;
  revision: number;
  position: number;
}

export const ProjectRowSchema = new EntitySchema<ProjectRow>({
  name: 'ProjectRow',
  tableName: 'projects',
  properties: {
    projectId: { type: 'uuid', primary: true },
    name: { type: 'text' },
    problem: { type: 'text' },
    taskType: { type: 'text' },
    target: { type: 'text', nullable: true },
    successCriteria: { type: 'json' },
    definedAt: { type: 'Date' },
    definedBy: { type: 'text' },
    revision: { type: new BigIntType('number') },
    position: { type: new BigIntType('number') },
  },
});

export interface ExperimentRow {
  experimentId: string;
  projectId: string;
  name: string;
  description: string;
  createdAt: Date;
  createdBy: string;
  revision: number;
  position: number;
}

export const ExperimentRowSchema = new EntitySchema<ExperimentRow>({
  name: 'ExperimentRow',
  tableName: 'experiments',
  properties: {
    experimentId: { type: 'uuid', primary: true },
    projectId: { type: 'uuid' },
    name: { type: 'text' },
    description: { type: 'text' },
    createdAt: { type: 'Date' },
    createdBy: { type: 'text' },
    revision: { type: new BigIntType('number') },
    position: { type: new BigIntType('number') },
  },
});

export interface RunRow {
  runId: string;
  experimentId: string;
  projectId: string;
  status: RunStatus;
  params: Params;
  codeRef: CodeRef | null;
  datasetVersions: RunDatasetVersion[];
  tags: string[];
  startedAt: Date;
  startedBy: string;
  endedAt: Date | null;
  failureReason: string | null;
  summary: MetricSummary[] | null;
  revision: number;
  position: number;
}

export const RunRowSchema = new EntitySchema<RunRow>({
  name: 'RunRow',
  tableName: 'runs',
  properties: {
    runId: { type: 'uuid', primary: true },
    experimentId: { type: 'uuid' },
    projectId: { type: 'uuid' },
    status: { type: 'text' },
    params: { type: 'json' },
    codeRef: { type: 'json', nullable: true },
    datasetVersions: { type: 'json' },
    tags: { type: 'json' },
    startedAt: { type: 'Date' },
    startedBy: { type: 'text' },
    endedAt: { type: 'Date', nullable: true },
    failureReason: { type: 'text', nullable: true },
    summary: { type: 'json', nullable: true },
    revision: { type: new BigIntType('number') },
    position: { type: new BigIntType('number') },
  },
});

export interface RunArtifactRow {
  runId: string;
  name: string;
  uri: string;
  digest: string;
  size: number;
  loggedAt: Date;
  loggedBy: string;
  position: number;
}

export const RunArtifactRowSchema = new EntitySchema<RunArtifactRow>({
  name: 'RunArtifactRow',
  tableName: 'run_artifacts',
  properties: {
    runId: { type: 'uuid', primary: true },
    name: { type: 'text', primary: true },
    uri: { type: 'text' },
    digest: { type: 'text' },
    size: { type: new BigIntType('number') },
    loggedAt: { type: 'Date' },
    loggedBy: { type: 'text' },
    position: { type: new BigIntType('number') },
  },
});

export const experimentsEntities = [ProjectRowSchema, ExperimentRowSchema, RunRowSchema, RunArtifactRowSchema];

/** The tables as the projection writes them. */
export const projectsTable: TableSpec<ProjectRow, 'projectId'> = {
  name: 'projects',
  key: ['projectId'],
  columns: {
    projectId: 'uuid',
    name: 'text',
    problem: 'text',
    taskType: 'text',
    target: 'text',
    successCriteria: 'jsonb',
    definedAt: 'timestamptz',
    definedBy: 'text',
    revision: 'bigint',
    position: 'bigint',
  },
};

export const experimentsTable: TableSpec<ExperimentRow, 'experimentId'> = {
  name: 'experiments',
  key: ['experimentId'],
  columns: {
    experimentId: 'uuid',
    projectId: 'uuid',
    name: 'text',
    description: 'text',
    createdAt: 'timestamptz',
    createdBy: 'text',
    revision: 'bigint',
    position: 'bigint',
  },
};

export const runsTable: TableSpec<RunRow, 'runId'> = {
  name: 'runs',
  key: ['runId'],
  columns: {
    runId: 'uuid',
    experimentId: 'uuid',
    projectId: 'uuid',
    status: 'text',
    params: 'jsonb',
    codeRef: 'jsonb',
    datasetVersions: 'jsonb',
    tags: 'jsonb',
    startedAt: 'timestamptz',
    startedBy: 'text',
    endedAt: 'timestamptz',
    failureReason: 'text',
    summary: 'jsonb',
    revision: 'bigint',
    position: 'bigint',
  },
};

export const runArtifactsTable: TableSpec<RunArtifactRow, 'runId' | 'name'> = {
  name: 'run_artifacts',
  key: ['runId', 'name'],
  columns: {
    runId: 'uuid',
    name: 'text',
    uri: 'text',
    digest: 'text',
    size: 'bigint',
    loggedAt: 'timestamptz',
    loggedBy: 'text',
    position: 'bigint',
  },
};
