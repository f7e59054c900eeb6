import type { Pool } from 'pg';
import {
  type AlertKind,
  type AlertStatus,
  type AlertView,
  type DeploymentView,
  type MonitorView,
  type RetrainStatus,
  type RetrainView,
} from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';
import { decodeNumberCursor, decodeTimeCursor, encodeNumberCursor, encodeTimeCursor, rowDecoder, type TableSpec } from '@modeltrail/readmodel';
import {
  type AlertRow,
  alertsTable,
  type DeploymentRow,
  deploymentsTable,
  type MeasurementRow,
  driftMeasurementsTable,
  type MonitorRow,
  monitorsTable,
  type RetrainRow,
  retrainsTable,
} from './monitoring.tables';

export interface Page<T> {
  items: T[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

/** Reads the monitoring read model with plain SQL, one statement per query. */
export class MonitoringReader {
  private readonly s: string;
  private readonly deploymentRow = rowDecoder(deploymentsTable);
  private readonly monitorRow = rowDecoder(monitorsTable);
  private readonly measurementRow = rowDecoder(driftMeasurementsTable as TableSpec<MeasurementRow<unknown>, 'measurementId'>);
  private readonly alertRow = rowDecoder(alertsTable);
  private readonly retrainRow = rowDecoder(retrainsTable);

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.s = ident(schema);
  }

  async deploymentRows(deploymentIds: ReadonlyArray<string>): Promise<DeploymentRow[]> {
    if (deploymentIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.deployments WHERE deployment_id = ANY($1::uuid[])`, [deploymentIds]);
    return rows.map(this.deploymentRow);
  }

  /** Newest first (deployment time, then id). */
  async listDeployments(filter: { modelId?: string; modelVersionId?: string; environment?: string }, first: number, after?: string): Promise<Page<DeploymentView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.modelId) add('model_id = ?::uuid', filter.modelId);
    if (filter.modelVersionId) add('model_version_id = ?::uuid', filter.modelVersionId);
    if (filter.environment) add('environment = ?', filter.environment);
    if (after) {
      const { at, id } = decodeTimeCursor(after);
      params.push(at.toISOString(), id);
      where.push(`(deployed_at < $${params.length - 1}::timestamptz OR (deployed_at = $${params.length - 1}::timestamptz AND deployment_id > $${params.length}::uuid))`);
    }
    params.push(first + 1);
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.s}.deployments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY deployed_at DESC, deployment_id LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, first).map(this.deploymentRow);
    const last = page[page.length - 1];
    return { items: page.map(deploymentView), pageInfo: { endCursor: last ? encodeTimeCursor(last.deployedAt, last.deploymentId) : null, hasNextPage: rows.length > first } };
  }

  async monitorRowsOfDeployments(deploymentIds: ReadonlyArray<string>): Promise<MonitorRow[]> {
    if (deploymentIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.monitors WHERE deployment_id = ANY($1::uuid[])`, [deploymentIds]);
    return rows.map(this.monitorRow);
  }

  /** Of one deployment, newest window first. */
  async listMeasurements<View>(table: 'drift_measurements' | 'performance_measurements', deploymentId: string, first: number, after?: string): Promise<Page<View>> {
    const before = after === undefined ? null : decodeNumberCursor(after);
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.s}.${table} WHERE deployment_id = $1 AND ($2::integer IS NULL OR "window" < $2::integer) ORDER BY "window" DESC LIMIT $3`,
      [deploymentId, before, first + 1],
    );
    const page = rows.slice(0, first).map((raw: Record<string, unknown>) => this.measurementRow(raw) as MeasurementRow<View>);
    const last = page[page.length - 1];
    return { items: page.map((row) => row.view), pageInfo: { endCursor: last ? encodeNumberCursor(last.window) : null, hasNextPage: rows.length > first } };
  }

  async measurementViews<View>(table: 'drift_measurements' | 'performance_measurements', measurementIds: ReadonlyArray<string>): Promise<View[]> {
    if (measurementIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.${table} WHERE measurement_id = ANY($1::uuid[]) ORDER BY "window"`, [measurementIds]);
    return rows.map((raw: Record<string, unknown>) => (this.measurementRow(raw) as MeasurementRow<View>).view);
  }

  /** The highest label a performance window of the deployment measured (0: none). */
  async labelsMeasured(deploymentId: string): Promise<number> {
    const { rows } = await this.pool.query<{ last: string | null }>(`SELECT max((view->>'lastLabel')::bigint) AS last FROM ${this.s}.performance_measurements WHERE deployment_id = $1`, [deploymentId]);
    return Number(rows[0]?.last ?? 0);
  }

  async alertRows(alertIds: ReadonlyArray<string>): Promise<AlertRow[]> {
    if (alertIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.alerts WHERE alert_id = ANY($1::uuid[]) ORDER BY position`, [alertIds]);
    return rows.map(this.alertRow);
  }

  /** Newest first. */
  async listAlerts(filter: { deploymentId?: string; status?: AlertStatus; kind?: AlertKind }, first: number, after?: string): Promise<Page<AlertView>> {
    const before = after === undefined ? null : decodeNumberCursor(after);
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.s}.alerts
        WHERE ($1::uuid IS NULL OR deployment_id = $1) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3) AND ($4::bigint IS NULL OR position < $4)
        ORDER BY position DESC, alert_id LIMIT $5`,
      [filter.deploymentId ?? null, filter.status ?? null, filter.kind ?? null, before, first + 1],
    );
    return this.positionPage(rows.map(this.alertRow), first, alertView);
  }

  async retrainRows(retrainIds: ReadonlyArray<string>): Promise<RetrainRow[]> {
    if (retrainIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.retrains WHERE retrain_id = ANY($1::uuid[]) ORDER BY position`, [retrainIds]);
    return rows.map(this.retrainRow);
  }

  /** Newest first. */
  async listRetrains(filter: { deploymentId?: string; status?: RetrainStatus }, first: number, after?: string): Promise<Page<RetrainView>> {
    const before = after === undefined ? null : decodeNumberCursor(after);
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.s}.retrains
        WHERE ($1::uuid IS NULL OR deployment_id = $1) AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR position < $3)
        ORDER BY position DESC, retrain_id LIMIT $4`,
      [filter.deploymentId ?? null, filter.status ?? null, before, first + 1],
    );
    return this.positionPage(rows.map(this.retrainRow), first, retrainView);
  }

  /**
   * A page of rows in descending store position. Rows of one append share no position (each
   * event has its own), and an alert or retraining takes the position of the event that made it.
   */
  private positionPage<Row extends { position: number }, View>(rows: Row[], first: number, view: (row: Row) => View): Page<View> {
    const page = rows.slice(0, first);
    const last = page[page.length - 1];
    return { items: page.map(view), pageInfo: { endCursor: last ? encodeNumberCursor(last.position) : null, hasNextPage: rows.length > first } };
  }
}

export function deploymentView(row: DeploymentRow): DeploymentView {
  return {
    deploymentId: row.deploymentId,
    monitorId: row.monitorId,
    modelId: row.modelId,
    modelVersionId: row.modelVersionId,
    version: row.version,
    projectId: row.projectId,
    experimentId: row.experimentId,
    runId: row.runId,
    environment: row.environment,
    endpoint: row.endpoint,
    deployedAt: row.deployedAt.toISOString(),
    deployedBy: row.deployedBy,
    reference: row.reference,
    revision: row.revision,
  };
}

export function monitorView(row: MonitorRow): MonitorView {
  return {
    monitorId: row.monitorId,
    deploymentId: row.deploymentId,
    modelId: row.modelId,
    modelVersionId: row.modelVersionId,
    projectId: row.projectId,
    taskType: row.taskType,
    config: row.config,
    drift: row.drift,
    performance: row.performance,
    createdAt: row.createdAt.toISOString(),
    configuredAt: row.configuredAt?.toISOString() ?? null,
    configuredBy: row.configuredBy,
    revision: row.revision,
  };
}

export function alertView(row: AlertRow): AlertView {
  return {
    alertId: row.alertId,
    monitorId: row.monitorId,
    deploymentId: row.deploymentId,
    kind: row.kind,
    status: row.status,
    windows: row.windows,
    measurementIds: row.measurementIds,
    summary: row.summary,
    raisedAt: row.raisedAt.toISOString(),
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    resolvedWindows: row.resolvedWindows,
    retrainId: row.retrainId,
  };
}

export function retrainView(row: RetrainRow): RetrainView {
  return {
    retrainId: row.retrainId,
    monitorId: row.monitorId,
    deploymentId: row.deploymentId,
    modelId: row.modelId,
    modelVersionId: row.modelVersionId,
    alertId: row.alertId,
    policy: row.policy,
    status: row.status,
    job: row.job,
    datasetChanges: row.datasetChanges,
    proposedAt: row.proposedAt?.toISOString() ?? null,
    requestedAt: row.requestedAt?.toISOString() ?? null,
    decidedBy: row.decidedBy,
    decidedAt: row.decidedAt?.toISOString() ?? null,
    decisionNote: row.decisionNote,
  };
}

