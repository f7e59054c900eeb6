import { alertIdFor, DEFAULT_MONITOR_CONFIG, type EventMap, monitorIdFor, retrainIdFor, retrainJobId } from '@modeltrail/contracts';
import { foldTable, type RecordedOf, TableSql } from '@modeltrail/readmodel';
import { type MonitoringRecorded, monitoringProjection } from './monitoring.projection';
import type { AlertRow, MonitorRow, RetrainRow } from './monitoring.tables';

const deploymentId = '5e000000-0000-4000-8000-000000000001';
const monitorId = monitorIdFor(deploymentId);
const modelId = '6f000000-0000-4000-8000-000000000002';
const modelVersionId = '7a000000-0000-4000-8000-000000000003';
const measurementId = 'a0000000-0000-4000-8000-000000000001';
const alertId = alertIdFor(monitorId, 'DRIFT', 1);
const retrainId = retrainIdFor(alertId);
const t0 = '2026-11-22T12:00:00.000Z';

let position = 0;
function recorded<K extends keyof EventMap>(type: K, data: EventMap[K], actor = 'ada@example.com'): MonitoringRecorded {
  position += 1;
  return { id: `e${position}`, stream: 's', revision: position - 1, position, type, data, metadata: { actor, correlationId: 'c', causationId: null, occurredAt: t0, prevHash: '', hash: '' } } as unknown as RecordedOf<K> as MonitoringRecorded;
}

/** The rows of one table after the events, folded as the runner folds a batch (from no stored rows). */
function rows<Row>(name: string, events: MonitoringRecorded[]): Row[] {
  const table = monitoringProjection.tables.find((t) => t.table.name === name)!;
  const sql = new TableSql(table.table, 'monitoring');
  return foldTable(table, events, new Map(), (values) => sql.keyOf(values)).upserts as Row[];
}

const job = {
  jobId: retrainJobId(retrainId),
  experimentId: '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43',
  command: ['python', 'train.py'],
  env: {},
  workingDir: null,
  resources: { gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} },
  priority: 0,
  maxRetries: 2,
  timeoutSeconds: null,
  cancelGraceSeconds: 10,
  params: {},
  datasetVersions: [],
};
const ids = { monitorId, deploymentId, modelId, modelVersionId };

const created = recorded('monitoring.MonitorCreated.v1', {
  ...ids,
  projectId: '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00',
  experimentId: job.experimentId,
  runId: '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11',
  taskType: 'REGRESSION',
  baseline: [],
  datasetVersions: [],
  config: { ...DEFAULT_MONITOR_CONFIG },
  createdAt: t0,
});
const measured = recorded('monitoring.DriftMeasured.v1', {
  measurementId,
  monitorId,
  deploymentId,
  window: 1,
  source: { kind: 'INLINE', datasetVersionId: null, uri: null, format: null },
  rows: 10,
  referenceDigest: 'f'.repeat(64),
  options: { ...DEFAULT_MONITOR_CONFIG },
  features: [],
  driftedFeatures: 0,
  driftedShare: 1,
  drifted: true,
  measuredAt: t0,
});
const raised = recorded('monitoring.AlertRaised.v1', { alertId, monitorId, deploymentId, kind: 'DRIFT', windows: [1], measurementIds: [measurementId], summary: '1 consecutive drifted window', raisedAt: t0 });
const proposed = recorded('monitoring.RetrainProposed.v1', { retrainId, ...ids, alertId, job, datasetChanges: [], proposedAt: t0 });

describe('monitoring projection', () => {
  it('a monitor row counts its windows and knows its open alert', () => {
    const [monitor] = rows<MonitorRow>('monitors', [created, measured, raised]);
    expect(monitor.drift).toEqual({ windows: 1, consecutiveBad: 1, consecutiveHealthy: 0, openAlertId: alertId, lastMeasuredAt: t0 });
    expect(monitor.performance.windows).toBe(0);
    const resolved = recorded('monitoring.AlertResolved.v1', { alertId, monitorId, deploymentId, kind: 'DRIFT', windows: [2], measurementIds: [measurementId], resolvedAt: t0 });
    expect(rows<MonitorRow>('monitors', [created, measured, raised, resolved])[0].drift.openAlertId).toBeNull();
  });

  it('an alert row learns the retraining it led to and its resolution', () => {
    const resolved = recorded('monitoring.AlertResolved.v1', { alertId, monitorId, deploymentId, kind: 'DRIFT', windows: [2, 3], measurementIds: [measurementId, measurementId], resolvedAt: t0 });
    const [alert] = rows<AlertRow>('alerts', [raised, proposed, resolved]);
    expect(alert).toMatchObject({ status: 'RESOLVED', windows: [1], retrainId, resolvedWindows: [2, 3] });
  });

  it('a proposed retraining keeps its proposal event, then its approver; an AUTO one starts REQUESTED', () => {
    const approved = recorded('monitoring.RetrainApproved.v1', { retrainId, monitorId, approvedBy: 'bob@example.com', comment: 'ok', approvedAt: t0 }, 'bob@example.com');
    const requested = recorded('monitoring.RetrainRequested.v1', { retrainId, ...ids, alertId, policy: 'APPROVAL', job, datasetChanges: [], requestedAt: t0 }, 'bob@example.com');
    const [retrain] = rows<RetrainRow>('retrains', [proposed, approved, requested]);
    expect(retrain).toMatchObject({ status: 'REQUESTED', policy: 'APPROVAL', proposalEventId: proposed.id, decidedBy: 'bob@example.com', decisionNote: 'ok', position: proposed.position });
    const auto = recorded('monitoring.RetrainRequested.v1', { retrainId, ...ids, alertId, policy: 'AUTO', job, datasetChanges: [], requestedAt: t0 });
    expect(rows<RetrainRow>('retrains', [auto])[0]).toMatchObject({ status: 'REQUESTED', policy: 'AUTO', proposedAt: null, proposalEventId: null, decidedBy: null });
  });
});
