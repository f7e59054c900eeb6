import type { WindowState } from '@modeltrail/contracts';
import type { Projection, RecordedOf, TableProjection } from '@modeltrail/readmodel';
import {
  type AlertRow,
  alertsTable,
  type DeploymentRow,
  deploymentsTable,
  type DriftMeasurementRow,
  driftMeasurementsTable,
  type MonitorRow,
  monitorsTable,
  type PerformanceMeasurementRow,
  performanceMeasurementsTable,
  type RetrainRow,
  retrainsTable,
} from './monitoring.tables';

const MONITORING_EVENTS = [
  'monitoring.ModelDeployed.v1',
  'monitoring.ReferenceProfileSet.v1',
  'monitoring.MonitorCreated.v1',
  'monitoring.MonitorConfigured.v1',
  'monitoring.DriftMeasured.v1',
  'monitoring.PerformanceMeasured.v1',
  'monitoring.AlertRaised.v1',
  'monitoring.AlertResolved.v1',
  'monitoring.RetrainProposed.v1',
  'monitoring.RetrainRequested.v1',
  'monitoring.RetrainApproved.v1',
  'monitoring.RetrainDeclined.v1',
] as const;

export type MonitoringRecorded = RecordedOf<(typeof MONITORING_EVENTS)[number]>;
type Of<T extends MonitoringRecorded['type']> = Extract<MonitoringRecorded, { type: T }>;

const date = (iso: string) => new Date(iso);
const is =
  <T extends MonitoringRecorded['type']>(...types: T[]) =>
  (event: MonitoringRecorded): event is Of<T> =>
    (types as string[]).includes(event.type);

export const emptyWindowState = (): WindowState => ({ windows: 0, consecutiveBad: 0, consecutiveHealthy: 0, openAlertId: null, lastMeasuredAt: null });

/** A kind of window after one more of it (pure). */
export function nextWindowState(state: WindowState, bad: boolean, measuredAt: string): WindowState {
  return {
    ...state,
    windows: state.windows + 1,
    consecutiveBad: bad ? state.consecutiveBad + 1 : 0,
    consecutiveHealthy: bad ? 0 : state.consecutiveHealthy + 1,
    lastMeasuredAt: measuredAt,
  };
}

const deploymentEvent = is('monitoring.ModelDeployed.v1', 'monitoring.ReferenceProfileSet.v1');
const deployments: TableProjection<MonitoringRecorded, DeploymentRow, 'deploymentId'> = {
  table: deploymentsTable,
  keyOf: (event) => (deploymentEvent(event) ? { deploymentId: event.data.deploymentId } : undefined),
  evolve(row, event) {
    if (event.type === 'monitoring.ModelDeployed.v1') {
      const { deployedAt, ...d } = event.data;
      return { ...d, deployedAt: date(deployedAt), deployedBy: event.metadata.actor, reference: null, revision: event.revision, position: event.position };
    }
    if (!row) throw new Error(`${event.type} at ${event.position}: deployment ${(event.data as { deploymentId: string }).deploymentId} has no row`);
    if (event.type === 'monitoring.ReferenceProfileSet.v1') {
      const { deploymentId: _deploymentId, ...reference } = event.data;
      return { ...row, reference, revision: event.revision, position: event.position };
    }
    return row;
  },
};

const monitorEvent = is(
  'monitoring.MonitorCreated.v1',
  'monitoring.MonitorConfigured.v1',
  'monitoring.DriftMeasured.v1',
  'monitoring.PerformanceMeasured.v1',
  'monitoring.AlertRaised.v1',
  'monitoring.AlertResolved.v1',
);
const monitors: TableProjection<MonitoringRecorded, MonitorRow, 'monitorId'> = {
  table: monitorsTable,
  keyOf: (event) => (monitorEvent(event) ? { monitorId: event.data.monitorId } : undefined),
  evolve(row, event) {
    const moved = { revision: event.revision, position: event.position };
    if (event.type === 'monitoring.MonitorCreated.v1') {
      const d = event.data;
      return {
        monitorId: d.monitorId,
        deploymentId: d.deploymentId,
        modelId: d.modelId,
        modelVersionId: d.modelVersionId,
        projectId: d.projectId,
        taskType: d.taskType,
        config: d.config,
        drift: emptyWindowState(),
        performance: emptyWindowState(),
        createdAt: date(d.createdAt),
        configuredAt: null,
        configuredBy: null,
        ...moved,
      };
    }
    if (!row) throw new Error(`${event.type} at ${event.position}: monitor ${(event.data as { monitorId: string }).monitorId} has no row`);
    switch (event.type) {
      case 'monitoring.MonitorConfigured.v1':
        return { ...row, config: event.data.config, configuredAt: date(event.data.configuredAt), configuredBy: event.metadata.actor, ...moved };
      case 'monitoring.DriftMeasured.v1':
        return { ...row, drift: nextWindowState(row.drift, event.data.drifted, event.data.measuredAt), ...moved };
      case 'monitoring.PerformanceMeasured.v1':
        return { ...row, performance: nextWindowState(row.performance, event.data.degraded, event.data.measuredAt), ...moved };
      case 'monitoring.AlertRaised.v1':
      case 'monitoring.AlertResolved.v1': {
        const openAlertId = event.type === 'monitoring.AlertRaised.v1' ? event.data.alertId : null;
        return event.data.kind === 'DRIFT' ? { ...row, drift: { ...row.drift, openAlertId }, ...moved } : { ...row, performance: { ...row.performance, openAlertId }, ...moved };
      }
      default:
        return row;
    }
  },
};

const driftMeasurements: TableProjection<MonitoringRecorded, DriftMeasurementRow, 'measurementId'> = {
  table: driftMeasurementsTable,
  keyOf: (event) => (event.type === 'monitoring.DriftMeasured.v1' ? { measurementId: event.data.measurementId } : undefined),
  evolve(_row, event) {
    if (event.type !== 'monitoring.DriftMeasured.v1') return _row;
    const d = event.data;
    return { measurementId: d.measurementId, monitorId: d.monitorId, deploymentId: d.deploymentId, window: d.window, bad: d.drifted, measuredAt: date(d.measuredAt), view: { ...d, measuredBy: event.metadata.actor }, position: event.position };
  },
};

const performanceMeasurements: TableProjection<MonitoringRecorded, PerformanceMeasurementRow, 'measurementId'> = {
  table: performanceMeasurementsTable,
  keyOf: (event) => (event.type === 'monitoring.PerformanceMeasured.v1' ? { measurementId: event.data.measurementId } : undefined),
  evolve(_row, event) {
    if (event.type !== 'monitoring.PerformanceMeasured.v1') return _row;
    const d = event.data;
    return { measurementId: d.measurementId, monitorId: d.monitorId, deploymentId: d.deploymentId, window: d.window, bad: d.degraded, measuredAt: date(d.measuredAt), view: { ...d, measuredBy: event.metadata.actor }, position: event.position };
  },
};

const alerts: TableProjection<MonitoringRecorded, AlertRow, 'alertId'> = {
  table: alertsTable,
  keyOf(event) {
    if (event.type === 'monitoring.AlertRaised.v1' || event.type === 'monitoring.AlertResolved.v1') return { alertId: event.data.alertId };
    if (event.type === 'monitoring.RetrainProposed.v1' || event.type === 'monitoring.RetrainRequested.v1') return event.data.alertId ? { alertId: event.data.alertId } : undefined;
    return undefined;
  },
  evolve(row, event) {
    if (event.type === 'monitoring.AlertRaised.v1') {
      const d = event.data;
      return {
        alertId: d.alertId,
        monitorId: d.monitorId,
        deploymentId: d.deploymentId,
        kind: d.kind,
        status: 'OPEN',
        windows: d.windows,
        measurementIds: d.measurementIds,
        summary: d.summary,
        raisedAt: date(d.raisedAt),
        resolvedAt: null,
        resolvedWindows: [],
        retrainId: null,
        position: event.position,
      };
    }
    if (!row) throw new Error(`${event.type} at ${event.position}: the alert has no row`);
    if (event.type === 'monitoring.AlertResolved.v1') return { ...row, status: 'RESOLVED', resolvedAt: date(event.data.resolvedAt), resolvedWindows: event.data.windows };
    if (event.type === 'monitoring.RetrainProposed.v1' || event.type === 'monitoring.RetrainRequested.v1') return row.retrainId === event.data.retrainId ? row : { ...row, retrainId: event.data.retrainId };
    return row;
  },
};

const retrainEvent = is('monitoring.RetrainProposed.v1', 'monitoring.RetrainRequested.v1', 'monitoring.RetrainApproved.v1', 'monitoring.RetrainDeclined.v1');
const retrains: TableProjection<MonitoringRecorded, RetrainRow, 'retrainId'> = {
  table: retrainsTable,
  keyOf: (event) => (retrainEvent(event) ? { retrainId: event.data.retrainId } : undefined),
  evolve(row, event) {
    switch (event.type) {
      case 'monitoring.RetrainProposed.v1': {
        const d = event.data;
        return {
          retrainId: d.retrainId,
          monitorId: d.monitorId,
          deploymentId: d.deploymentId,
          modelId: d.modelId,
          modelVersionId: d.modelVersionId,
          alertId: d.alertId,
          policy: 'APPROVAL',
          status: 'PROPOSED',
          job: d.job,
          datasetChanges: d.datasetChanges,
          proposedAt: date(d.proposedAt),
          requestedAt: null,
          decidedBy: null,
          decidedAt: null,
          decisionNote: null,
          proposalEventId: event.id,
          position: event.position,
        };
      }
      case 'monitoring.RetrainRequested.v1': {
        const d = event.data;
        const requested = { policy: d.policy, status: 'REQUESTED' as const, job: d.job, datasetChanges: d.datasetChanges, requestedAt: date(d.requestedAt) };
        if (row) return { ...row, ...requested };
        const { requestedAt: _requestedAt, policy: _policy, job: _job, datasetChanges: _changes, ...ids } = d;
        return { ...ids, ...requested, proposedAt: null, decidedBy: null, decidedAt: null, decisionNote: null, proposalEventId: null, position: event.position };
      }
      case 'monitoring.RetrainApproved.v1':
        if (!row) throw new Error(`${event.type} at ${event.position}: retraining ${event.data.retrainId} has no row`);
        return { ...row, decidedBy: event.data.approvedBy, decidedAt: date(event.data.approvedAt), decisionNote: event.data.comment };
      case 'monitoring.RetrainDeclined.v1':
        if (!row) throw new Error(`${event.type} at ${event.position}: retraining ${event.data.retrainId} has no row`);
        return { ...row, status: 'DECLINED', decidedBy: event.data.declinedBy, decidedAt: date(event.data.declinedAt), decisionNote: event.data.reason };
      default:
        return row;
    }
  },
};

/**
 * The monitoring service's one projection: deployments, monitors (configuration and where each
 * kind of window stands), drift and performance measurements, alerts and retrainings, each row
 * following its own stream's events.
 */
export const monitoringProjection: Projection<MonitoringRecorded> = {
  name: 'monitoring.read-model.v1',
  handles: new Set<string>(MONITORING_EVENTS),
  tables: [deployments, monitors, driftMeasurements, performanceMeasurements, alerts, retrains],
};
