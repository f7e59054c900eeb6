import type {
  AlertKind,
  AlertStatus,
  DeploymentReference,
  DriftMeasurementView,
  MonitorConfig,
  PerformanceMeasurementView,
  RetrainDatasetChange,
  RetrainJob,
  RetrainPolicy,
  RetrainStatus,
  TaskType,
  WindowState,
} from '@modeltrail/contracts';
import type { TableSpec } from '@modeltrail/readmodel';

/** Read-model rows of the monitoring service (tables in its schema; see monitoring.migrations.ts). */

export interface DeploymentRow {
  deploymentId: string;
  monitorId: string;
  modelId: string;
  modelVersionId: string;
  version: number;
  projectId: string;
  experimentId: string;
  runId: string;
  environment: string;
  endpoint: string;
  deployedAt: Date;
  deployedBy: string;
  reference: DeploymentReference | null;
  revision: number;
  position: number;
}

export const deploymentsTable: TableSpec<DeploymentRow, 'deploymentId'> = {
  name: 'deployments',
  key: ['deploymentId'],
  columns: {
    deploymentId: 'uuid',
    monitorId: 'uuid',
    modelId: 'uuid',
    modelVersionId: 'uuid',
    version: 'integer',
    projectId: 'uuid',
    experimentId: 'uuid',
    runId: 'uuid',
    environment: 'text',
    endpoint: 'text',
    deployedAt: 'timestamptz',
    deployedBy: 'text',
    reference: 'jsonb',
    revision: 'bigint',
    position: 'bigint',
  },
};

export interface MonitorRow {
  monitorId: string;
  deploymentId: string;
  modelId: string;
  modelVersionId: string;
  projectId: string;
  taskType: TaskType;
  config: MonitorConfig;
  drift: WindowState;
  performance: WindowState;
  createdAt: Date;
  configuredAt: Date | null;
  configuredBy: string | null;
  revision: number;
  position: number;
}

export const monitorsTable: TableSpec<MonitorRow, 'monitorId'> = {
  name: 'monitors',
  key: ['monitorId'],
  columns: {
    monitorId: 'uuid',
    deploymentId: 'uuid',
    modelId: 'uuid',
    modelVersionId: 'uuid',
    projectId: 'uuid',
    taskType: 'text',
    config: 'jsonb',
    drift: 'jsonb',
    performance: 'jsonb',
    createdAt: 'timestamptz',
    configuredAt: 'timestamptz',
    configuredBy: 'text',
    revision: 'bigint',
    position: 'bigint',
  },
};

/** A measured window: the keys it is listed by, and the whole view. */
export interface MeasurementRow<View> {
  measurementId: string;
  monitorId: string;
  deploymentId: string;
  window: number;
  /** Drifted, or degraded. */
  bad: boolean;
  measuredAt: Date;
  view: View;
  position: number;
}
export type DriftMeasurementRow = MeasurementRow<DriftMeasurementView>;
export type PerformanceMeasurementRow = MeasurementRow<PerformanceMeasurementView>;

const measurementColumns = {
  measurementId: 'uuid',
  monitorId: 'uuid',
  deploymentId: 'uuid',
  window: 'integer',
  bad: 'boolean',
  measuredAt: 'timestamptz',
  view: 'jsonb',
  position: 'bigint',
} as const;

export const driftMeasurementsTable: TableSpec<DriftMeasurementRow, 'measurementId'> = { name: 'drift_measurements', key: ['measurementId'], columns: measurementColumns };
export const performanceMeasurementsTable: TableSpec<PerformanceMeasurementRow, 'measurementId'> = { name: 'performance_measurements', key: ['measurementId'], columns: measurementColumns };

export interface AlertRow {
  alertId: string;
  monitorId: string;
  deploymentId: string;
  kind: AlertKind;
  status: AlertStatus;
  windows: number[];
  measurementIds: string[];
  summary: string;
  raisedAt: Date;
  resolvedAt: Date | null;
  resolvedWindows: number[];
  retrainId: string | null;
  position: number;
}

export const alertsTable: TableSpec<AlertRow, 'alertId'> = {
  name: 'alerts',
  key: ['alertId'],
  columns: {
    alertId: 'uuid',
    monitorId: 'uuid',
    deploymentId: 'uuid',
    kind: 'text',
    status: 'text',
    windows: 'jsonb',
    measurementIds: 'jsonb',
    summary: 'text',
    raisedAt: 'timestamptz',
    resolvedAt: 'timestamptz',
    resolvedWindows: 'jsonb',
    retrainId: 'uuid',
    position: 'bigint',
  },
};

export interface RetrainRow {
  retrainId: string;
  monitorId: string;
  deploymentId: string;
  modelId: string;
  modelVersionId: string;
  alertId: string | null;
  policy: RetrainPolicy;
  status: RetrainStatus;
  job: RetrainJob;
  datasetChanges: RetrainDatasetChange[];
  proposedAt: Date | null;
  requestedAt: Date | null;
  decidedBy: string | null;
  decidedAt: Date | null;
  decisionNote: string | null;
  /** The RetrainProposed event: an approval's RetrainRequested names it as its cause. */
  proposalEventId: string | null;
  /** Where the retraining first appeared in the store (the listing's order). */
  position: number;
}

export const retrainsTable: TableSpec<RetrainRow, 'retrainId'> = {
  name: 'retrains',
  key: ['retrainId'],
  columns: {
    retrainId: 'uuid',
    monitorId: 'uuid',
    deploymentId: 'uuid',
    modelId: 'uuid',
    modelVersionId: 'uuid',
    alertId: 'uuid',
    policy: 'text',
    status: 'text',
    job: 'jsonb',
    datasetChanges: 'jsonb',
    proposedAt: 'timestamptz',
    requestedAt: 'timestamptz',
    decidedBy: 'text',
    decidedAt: 'timestamptz',
    decisionNote: 'text',
    proposalEventId: 'uuid',
    position: 'bigint',
  },
};
