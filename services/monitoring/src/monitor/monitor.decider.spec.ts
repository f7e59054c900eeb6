import {
  alertIdFor,
  ConflictError,
  DEFAULT_MONITOR_CONFIG,
  type MonitorConfig,
  monitorIdFor,
  NotFoundError,
  platformEventCatalog,
  type RetrainTemplate,
  retrainIdFor,
  retrainJobId,
  ValidationError,
} from '@modeltrail/contracts';
import { DEFAULT_DRIFT_OPTIONS } from '@modeltrail/drift';
import { deciderSpec } from '@modeltrail/testing';
import { type DriftWindow, type MonitorCommand, monitorDecider, type MonitorEvent, NewestDatasetsNeeded, type PerformanceWindow } from './monitor.decider';

const deploymentId = '5e000000-0000-4000-8000-000000000001';
const monitorId = monitorIdFor(deploymentId);
const modelId = '6f000000-0000-4000-8000-000000000002';
const modelVersionId = '7a000000-0000-4000-8000-000000000003';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const experimentId = '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43';
const runId = '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const trainingDataset = '1d000000-0000-4000-8000-000000000010';
const trainV1 = '1e000000-0000-4000-8000-000000000011';
const testV1 = '1e000000-0000-4000-8000-000000000012';
const trainV3 = '1e000000-0000-4000-8000-000000000013';
const t0 = '2026-11-22T10:00:00.000Z';
const at = (hour: number) => `2026-11-22T${String(10 + hour).padStart(2, '0')}:00:00.000Z`;
const measurement = (n: number) => `a0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const template: RetrainTemplate = {
  source: 'TRAINING_JOB',
  sourceJobId: '2f000000-0000-4000-8000-000000000020',
  experimentId,
  command: ['python', 'train.py'],
  env: { SEED: '7' },
  workingDir: null,
  resources: { gpus: 1, gpuMemoryMb: 0, cpus: 4, memoryMb: 8_192, labels: {} },
  priority: 5,
  maxRetries: 2,
  timeoutSeconds: 3_600,
  cancelGraceSeconds: 10,
  params: { lr: 0.01 },
};

const baseline = [{ key: 'accuracy', last: 0.9, min: 0.5, max: 0.9, count: 10, lastStep: 9 }];
const datasetVersions = [
  { datasetVersionId: trainV1, datasetId: trainingDataset, role: 'TRAIN' as const },
  { datasetVersionId: testV1, datasetId: trainingDataset, role: 'TEST' as const },
];
const created: MonitorEvent = {
  type: 'monitoring.MonitorCreated.v1',
  data: {
    monitorId,
    deploymentId,
    modelId,
    modelVersionId,
    projectId,
    experimentId,
    runId,
    taskType: 'BINARY_CLASSIFICATION',
    baseline,
    datasetVersions,
    config: { ...DEFAULT_MONITOR_CONFIG },
    createdAt: t0,
  },
};
const configured = (changes: Partial<MonitorConfig>, changed = Object.keys(changes)): MonitorEvent => ({
  type: 'monitoring.MonitorConfigured.v1',
  data: { monitorId, deploymentId, config: { ...DEFAULT_MONITOR_CONFIG, ...changes }, changed, configuredAt: t0 },
});

const driftWindow = (n: number, drifted: boolean): DriftWindow => ({
  measurementId: measurement(n),
  source: { kind: 'INLINE', datasetVersionId: null, uri: null, format: null },
  rows: 100,
  referenceDigest: 'f'.repeat(64),
  options: {
    numericMethod: 'AUTO',
    categoricalMethod: 'AUTO',
    ksPValue: 0.05,
    chiSquarePValue: 0.05,
    wassersteinThreshold: 0.1,
    jensenShannonThreshold: 0.1,
    psiThreshold: 0.1,
    driftShare: 0.5,
    bonferroni: false,
  },
  features: [
    {
      feature: 'age',
      kind: 'NUMERIC',
      method: 'KS',
      score: drifted ? 0.001 : 0.6,
      threshold: 0.05,
      drifted,
      referenceCount: 100,
      currentCount: 100,
      currentMissing: 0,
      ks: { statistic: drifted ? 0.5 : 0.05, pValue: drifted ? 0.001 : 0.6 },
      wasserstein: 0.2,
      psi: 0.3,
      psiBand: 'MAJOR',
      chiSquare: null,
      jensenShannon: null,
      unseenCategories: [],
      unseenCategoryCount: 0,
    },
  ],
  driftedFeatures: drifted ? 1 : 0,
  driftedShare: drifted ? 1 : 0,
  drifted,
});
const record = (n: number, drifted: boolean, newestDatasets: Record<string, string> | null = null): MonitorCommand => ({
  type: 'RecordDrift',
  monitorId,
  window: driftWindow(n, drifted),
  newestDatasets,
  at: at(n),
});
const measured = (n: number, drifted: boolean): MonitorEvent => {
  const { measurementId, ...w } = driftWindow(n, drifted);
  return { type: 'monitoring.DriftMeasured.v1', data: { measurementId, monitorId, deploymentId, window: n, ...w, measuredAt: at(n) } };
};
const raised = (windows: number[], summary: RegExp | string = expect.any(String) as unknown as string): MonitorEvent => ({
  type: 'monitoring.AlertRaised.v1',
  data: {
    alertId: alertIdFor(monitorId, 'DRIFT', windows[windows.length - 1]),
    monitorId,
    deploymentId,
    kind: 'DRIFT',
    windows,
    measurementIds: windows.map(measurement),
    summary: summary as string,
    raisedAt: at(windows[windows.length - 1]),
  },
  // Decided with the window that tipped it, which comes first in the decision.
  causedBy: 0,
});
const resolved = (alertWindow: number, windows: number[]): MonitorEvent => ({
  type: 'monitoring.AlertResolved.v1',
  data: { alertId: alertIdFor(monitorId, 'DRIFT', alertWindow), monitorId, deploymentId, kind: 'DRIFT', windows, measurementIds: windows.map(measurement), resolvedAt: at(windows[windows.length - 1]) },
  causedBy: 0,
});

const spec = deciderSpec(monitorDecider);
const twoWindows = configured({ raiseAfter: 2, resolveAfter: 2 });

describe('Monitor decider: alert hysteresis', () => {
  it('a drifted window alone raises nothing while raiseAfter asks for more', () => {
    spec.given([created, twoWindows]).when(record(1, true)).then([measured(1, true)]);
  });

  it('raises an alert after raiseAfter consecutive drifted windows, naming them', () => {
    spec
      .given([created, twoWindows, measured(1, true)])
      .when(record(2, true))
      .then([measured(2, true), raised([1, 2], expect.stringMatching(/^2 consecutive drifted windows; in the last, 1 of 1 features drifted \(age\)/) as unknown as string)]);
  });

  it('a healthy window breaks the run: the count starts again', () => {
    spec.given([created, twoWindows, measured(1, true), measured(2, false)]).when(record(3, true)).then([measured(3, true)]);
    spec.given([created, twoWindows, measured(1, true), measured(2, false), measured(3, true)]).when(record(4, true)).then([measured(4, true), raised([3, 4])]);
  });

  it('keeps one alert open: more drifted windows raise nothing more', () => {
    spec.given([created, twoWindows, measured(1, true), measured(2, true), raised([1, 2])]).when(record(3, true)).then([measured(3, true)]);
  });

  it('resolves the open alert after resolveAfter consecutive healthy windows, and not before', () => {
    const open = [created, twoWindows, measured(1, true), measured(2, true), raised([1, 2])];
    spec.given(open).when(record(3, false)).then([measured(3, false)]);
    spec.given([...open, measured(3, false)]).when(record(4, false)).then([measured(4, false), resolved(2, [3, 4])]);
    // A drifted window between healthy ones starts the healthy count again.
    spec.given([...open, measured(3, false), measured(4, true)]).when(record(5, false)).then([measured(5, false)]);
  });

  it('raises a new alert after a resolved one only on a new run of drifted windows', () => {
    const history = [created, twoWindows, measured(1, true), measured(2, true), raised([1, 2]), measured(3, false), measured(4, false), resolved(2, [3, 4])];
    spec.given(history).when(record(5, true)).then([measured(5, true)]);
    spec.given([...history, measured(5, true)]).when(record(6, true)).then([measured(6, true), raised([5, 6])]);
  });

  it('with raiseAfter 1, one drifted window raises the alert', () => {
    spec.given([created, configured({ raiseAfter: 1 })]).when(record(1, true)).then([measured(1, true), raised([1])]);
  });

  it('counts performance windows apart from drift windows: a degraded window neither resolves nor raises a drift alert', () => {
    const perf = (n: number, degraded: boolean): PerformanceWindow => ({
      measurementId: measurement(100 + n),
      predictions: 10,
      firstLabel: 10 * n - 9,
      lastLabel: 10 * n,
      firstPredictedAt: t0,
      lastPredictedAt: t0,
      firstLabelledAt: t0,
      lastLabelledAt: t0,
      metrics: { accuracy: degraded ? 0.6 : 0.9, precision: 0.9, recall: 0.9, f1: 0.9, rmse: null, mae: null },
      comparisons: [{ metric: 'accuracy', value: degraded ? 0.6 : 0.9, baseline: 0.9, relativeChange: degraded ? 0.3333 : 0, degraded }],
      degraded,
    });
    const state = [created, configured({ raiseAfter: 1, resolveAfter: 1 }), measured(1, true), raised([1])];
    const events = monitorDecider.decide({ type: 'RecordPerformance', monitorId, windows: [perf(1, true), perf(2, false)], newestDatasets: null, at: at(5) }, state.reduce(monitorDecider.evolve, monitorDecider.initialState()));
    expect(events.map((e) => e.type)).toEqual(['monitoring.PerformanceMeasured.v1', 'monitoring.AlertRaised.v1', 'monitoring.PerformanceMeasured.v1', 'monitoring.AlertResolved.v1']);
    // Each alert names the window of the same decision that raised or resolved it.
    expect(events.map((e) => e.causedBy)).toEqual([undefined, 0, undefined, 2]);
    expect(events[1].data).toMatchObject({ kind: 'PERFORMANCE', windows: [1], measurementIds: [measurement(101)], summary: expect.stringMatching(/degraded window; in the last, accuracy 0.6 vs 0.9/) });
    expect(events[3].data).toMatchObject({ kind: 'PERFORMANCE', alertId: alertIdFor(monitorId, 'PERFORMANCE', 1), windows: [2] });
    for (const event of events) expect(() => platformEventCatalog().validate(event.type, event.data)).not.toThrow();
    // The same windows again (a retry, or windows taken from a lagging read model) are passed over.
    const after = events.reduce(monitorDecider.evolve, state.reduce(monitorDecider.evolve, monitorDecider.initialState()));
    expect(monitorDecider.decide({ type: 'RecordPerformance', monitorId, windows: [perf(2, false), perf(3, false)], newestDatasets: null, at: at(6) }, after).map((e) => e.data)).toEqual([
      expect.objectContaining({ window: 3, firstLabel: 21, lastLabel: 30 }),
    ]);
  });
});

describe('Monitor decider: retraining', () => {
  // Both parts the model used map to one newer version here (whatever the datasets service answers is taken as given).
  const newest = { [trainV1]: trainV3, [testV1]: trainV3 };
  const alertId = alertIdFor(monitorId, 'DRIFT', 1);
  const retrainId = retrainIdFor(alertId);
  const job = {
    jobId: retrainJobId(retrainId),
    experimentId,
    command: ['python', 'train.py'],
    env: { SEED: '7' },
    workingDir: null,
    resources: template.resources,
    priority: 5,
    maxRetries: 2,
    timeoutSeconds: 3_600,
    cancelGraceSeconds: 10,
    params: { lr: 0.01 },
    // The train and test versions of one dataset both become its newest version: queued once, as TRAIN.
    datasetVersions: [{ datasetVersionId: trainV3, role: 'TRAIN' as const }],
  };
  const datasetChanges = [
    { datasetId: trainingDataset, fromDatasetVersionId: trainV1, toDatasetVersionId: trainV3 },
    { datasetId: trainingDataset, fromDatasetVersionId: testV1, toDatasetVersionId: trainV3 },
  ];
  const withPolicy = (retrainPolicy: MonitorConfig['retrainPolicy']) => configured({ raiseAfter: 1, retrainPolicy, retrainJob: template });
  const requested = (policy: 'AUTO' | 'APPROVAL', requestedAt: string): MonitorEvent => ({
    type: 'monitoring.RetrainRequested.v1',
    data: { retrainId, monitorId, deploymentId, modelId, modelVersionId, alertId, policy, job, datasetChanges, requestedAt },
    // AUTO: caused by the alert (after its window); APPROVAL: by the approval, first in its decision.
    causedBy: policy === 'AUTO' ? 1 : 0,
  });
  const proposed: MonitorEvent = {
    type: 'monitoring.RetrainProposed.v1',
    data: { retrainId, monitorId, deploymentId, modelId, modelVersionId, alertId, job, datasetChanges, proposedAt: at(1) },
    causedBy: 1,
  };

  it('OFF: an alert leads to no retraining', () => {
    spec.given([created, configured({ raiseAfter: 1 })]).when(record(1, true, newest)).then([measured(1, true), raised([1])]);
  });

  it('AUTO: the alert requests the retraining in the same append, on the newest dataset versions', () => {
    spec.given([created, withPolicy('AUTO')]).when(record(1, true, newest)).then([measured(1, true), raised([1]), requested('AUTO', at(1))]);
  });

  it('AUTO: without the newest dataset versions the command asks for them, and decides nothing', () => {
    spec.given([created, withPolicy('AUTO')]).when(record(1, true, null)).thenThrows(NewestDatasetsNeeded, new RegExp(`${trainV1}, ${testV1}`));
    // A window that raises nothing needs no datasets.
    spec.given([created, configured({ raiseAfter: 2, retrainPolicy: 'AUTO', retrainJob: template })]).when(record(1, true, null)).then([measured(1, true)]);
  });

  it('APPROVAL: the alert proposes the retraining; an approval requests it, with the approver and the newest versions then', () => {
    spec.given([created, withPolicy('APPROVAL')]).when(record(1, true, newest)).then([measured(1, true), raised([1]), proposed]);
    spec
      .given([created, withPolicy('APPROVAL'), measured(1, true), raised([1]), proposed])
      .when({ type: 'ApproveRetrain', monitorId, retrainId, approvedBy: 'grace@example.com', comment: 'go', newestDatasets: newest, at: at(3) })
      .then([
        { type: 'monitoring.RetrainApproved.v1', data: { retrainId, monitorId, approvedBy: 'grace@example.com', comment: 'go', approvedAt: at(3) } },
        requested('APPROVAL', at(3)),
      ]);
  });

  it('an approval of a requested retraining is nothing new; of a declined one, a conflict; of an unknown one, not found', () => {
    const approve: MonitorCommand = { type: 'ApproveRetrain', monitorId, retrainId, approvedBy: 'grace@example.com', comment: '', newestDatasets: newest, at: at(3) };
    const history = [created, withPolicy('APPROVAL'), measured(1, true), raised([1]), proposed];
    spec.given([...history, requested('APPROVAL', at(2))]).when(approve).thenNothingHappens();
    const declined: MonitorEvent = { type: 'monitoring.RetrainDeclined.v1', data: { retrainId, monitorId, declinedBy: 'grace@example.com', reason: 'not now', declinedAt: at(2) } };
    spec.given([...history, declined]).when(approve).thenThrows(ConflictError, /was declined/);
    spec.given(history).when({ ...approve, retrainId: retrainIdFor(alertIdFor(monitorId, 'DRIFT', 9)) }).thenThrows(NotFoundError, /was not proposed/);
  });

  it('a decline closes a proposal; a requested retraining cannot be declined', () => {
    const decline: MonitorCommand = { type: 'DeclineRetrain', monitorId, retrainId, declinedBy: 'grace@example.com', reason: 'not now', at: at(2) };
    const history = [created, withPolicy('APPROVAL'), measured(1, true), raised([1]), proposed];
    spec.given(history).when(decline).then([{ type: 'monitoring.RetrainDeclined.v1', data: { retrainId, monitorId, declinedBy: 'grace@example.com', reason: 'not now', declinedAt: at(2) } }]);
    spec.given([...history, requested('APPROVAL', at(2))]).when(decline).thenThrows(ConflictError, /already requested/);
  });

  it('refuses a retraining policy without a retraining job', () => {
    spec.given([created]).when({ type: 'ConfigureMonitor', monitorId, changes: { retrainPolicy: 'AUTO' }, at: t0 }).thenThrows(ValidationError, /retrainPolicy AUTO needs a retraining job/);
  });
});

describe('Monitor decider: creation and configuration', () => {
  const create: MonitorCommand = {
    type: 'CreateMonitor',
    monitorId,
    deploymentId,
    modelId,
    modelVersionId,
    projectId,
    experimentId,
    runId,
    taskType: 'BINARY_CLASSIFICATION',
    baseline,
    datasetVersions,
    at: t0,
  };

  it('creates the monitor with the default configuration, once', () => {
    spec.given([]).when(create).then([created]);
    spec.given([created]).when(create).thenNothingHappens();
  });

  it('records the whole configuration after a change and the settings it changed; the same settings again are nothing new', () => {
    spec.given([created]).when({ type: 'ConfigureMonitor', monitorId, changes: { raiseAfter: 2, resolveAfter: 3 }, at: t0 }).then([configured({ raiseAfter: 2 }, ['raiseAfter'])]);
    spec.given([created, twoWindows]).when({ type: 'ConfigureMonitor', monitorId, changes: { raiseAfter: 2 }, at: t0 }).thenNothingHappens();
  });

  it('a monitor that does not exist is not found', () => {
    spec.given([]).when(record(1, true)).thenThrows(NotFoundError, /does not exist/);
  });
});

describe('Monitor defaults', () => {
  it('a new monitor decides drift with the drift library defaults (the contracts cannot import the library, so this keeps them one)', () => {
    expect(DEFAULT_MONITOR_CONFIG).toEqual(expect.objectContaining({ ...DEFAULT_DRIFT_OPTIONS }));
  });
});
