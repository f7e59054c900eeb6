import {
  type AlertKind,
  alertIdFor,
  type BatchSource,
  ConflictError,
  DEFAULT_MONITOR_CONFIG,
  type FeatureDriftRecord,
  type MetricSummary,
  type MonitorConfig,
  NotFoundError,
  type PerformanceComparison,
  type PerformanceValues,
  type RetrainDatasetChange,
  type RetrainJob,
  retrainIdFor,
  retrainJobId,
  type RetrainStatus,
  type RunDatasetVersion,
  type TaskType,
  type TypedEvent,
  ValidationError,
} from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The Monitor aggregate (stream `monitor-<monitorId>`, one per deployment): its configuration,
 * every measured window, the alerts and the retrainings they lead to.
 *
 * The service measures (reads the batch, computes drift or performance: I/O and CPU) and hands
 * the result to the monitor as command data; the monitor decides, in one append, the window's
 * measurement and what it leads to:
 *
 * - Hysteresis, per kind of window (DRIFT, PERFORMANCE): an alert is raised after `raiseAfter`
 *   consecutive drifted (degraded) windows while none of that kind is open, and resolved after
 *   `resolveAfter` consecutive healthy windows. A healthy window breaks a drifted run and the
 *   reverse. At most one alert of a kind is open.
 * - Retraining, when an alert is raised: AUTO requests it (RetrainRequested) in the same append;
 *   APPROVAL proposes it (RetrainProposed), and a person's approval requests it later; OFF does
 *   nothing. The job is the configured retraining template with each of the deployed version's
 *   dataset versions replaced by the newest version of its dataset that plays the same part (the
 *   newest train split for a train split; see NewestDatasets). Which version that is, is I/O: the
 *   command carries it, and a command that needs it and lacks it is refused with
 *   `NewestDatasetsNeeded`, so the service asks only when a retraining is due and decides again.
 *
 * Alert ids come from the monitor, the kind and the raising window, retraining ids from the
 * alert, job ids from the retraining: deciding the same thing twice names the same things.
 */

/**
 * For each dataset version the deployed model trained on (by its id), the newest version of the
 * same dataset in the same part: a split's train (validation, test) part is replaced by the
 * newest train (validation, test) part of that dataset, any other version by the newest version
 * that is not a split part. The datasets service answers it (PlatformClients).
 */
export type NewestDatasets = Readonly<Record<string, string>>;

export interface DriftWindow {
  measurementId: string;
  source: BatchSource;
  rows: number;
  referenceDigest: string;
  options: DriftSettings;
  features: FeatureDriftRecord[];
  driftedFeatures: number;
  driftedShare: number;
  drifted: boolean;
}

export interface PerformanceWindow {
  measurementId: string;
  predictions: number;
  /** The deployment's labels the window holds, in arrival order (1-based, inclusive). */
  firstLabel: number;
  lastLabel: number;
  firstPredictedAt: string;
  lastPredictedAt: string;
  firstLabelledAt: string;
  lastLabelledAt: string;
  metrics: PerformanceValues;
  comparisons: PerformanceComparison[];
  degraded: boolean;
}

export type DriftSettings = Pick<
  MonitorConfig,
  'numericMethod' | 'categoricalMethod' | 'ksPValue' | 'chiSquarePValue' | 'wassersteinThreshold' | 'jensenShannonThreshold' | 'psiThreshold' | 'driftShare' | 'bonferroni'
>;

export type MonitorCommand =
  | {
      type: 'CreateMonitor';
      monitorId: string;
      deploymentId: string;
      modelId: string;
      modelVersionId: string;
      projectId: string;
      experimentId: string;
      runId: string;
      taskType: TaskType;
      baseline: MetricSummary[];
      datasetVersions: RunDatasetVersion[];
      at: string;
    }
  | { type: 'ConfigureMonitor'; monitorId: string; changes: Partial<MonitorConfig>; at: string }
  | { type: 'RecordDrift'; monitorId: string; window: DriftWindow; newestDatasets: NewestDatasets | null; at: string }
  | { type: 'RecordPerformance'; monitorId: string; windows: PerformanceWindow[]; newestDatasets: NewestDatasets | null; at: string }
  | { type: 'ApproveRetrain'; monitorId: string; retrainId: string; approvedBy: string; comment: string; newestDatasets: NewestDatasets | null; at: string }
  | { type: 'DeclineRetrain'; monitorId: string; retrainId: string; declinedBy: string; reason: string; at: string };

/**
 * `causedBy` (see DomainEvent) chains the events of one decision: the window measured → the
 * alert it raised or resolved → the retraining that alert requested or proposed.
 */
export type MonitorEvent = TypedEvent<
  | 'monitoring.MonitorCreated.v1'
  | 'monitoring.MonitorConfigured.v1'
  | 'monitoring.DriftMeasured.v1'
  | 'monitoring.PerformanceMeasured.v1'
  | 'monitoring.AlertRaised.v1'
  | 'monitoring.AlertResolved.v1'
  | 'monitoring.RetrainProposed.v1'
  | 'monitoring.RetrainRequested.v1'
  | 'monitoring.RetrainApproved.v1'
  | 'monitoring.RetrainDeclined.v1'
> & { causedBy?: number };

/** A window in a run of equal verdicts. */
export interface WindowRef {
  window: number;
  measurementId: string;
}

/** Where one kind of window stands. */
export interface WindowTrack {
  windows: number;
  /** The current run of drifted (degraded) windows, oldest first (the last RUN_KEPT of it). */
  badRun: WindowRef[];
  badCount: number;
  /** The current run of healthy windows, oldest first (the last RUN_KEPT of it). */
  healthyRun: WindowRef[];
  healthyCount: number;
  openAlertId: string | null;
}

export interface RetrainFacts {
  retrainId: string;
  alertId: string | null;
  status: RetrainStatus;
}

export interface MonitorFacts {
  monitorId: string;
  deploymentId: string;
  modelId: string;
  modelVersionId: string;
  projectId: string;
  experimentId: string;
  runId: string;
  taskType: TaskType;
  baseline: MetricSummary[];
  datasetVersions: RunDatasetVersion[];
  config: MonitorConfig;
  drift: WindowTrack;
  performance: WindowTrack;
  /** The highest label measured in a performance window (0: none yet). */
  labelsMeasured: number;
  retrains: Readonly<Record<string, RetrainFacts>>;
}

export type MonitorState = { status: 'None' } | ({ status: 'Active' } & MonitorFacts);
type Active = Extract<MonitorState, { status: 'Active' }>;

/** Windows of a run kept in the state (and listed in an alert): the hysteresis settings go up to this. */
export const RUN_KEPT = 100;

/**
 * A retraining is due and the command does not say which dataset versions are the newest: the
 * service looks them up (datasets) and sends the command again with them. Nothing is appended.
 */
export class NewestDatasetsNeeded extends Error {
  constructor(readonly datasetVersionIds: string[]) {
    super(`the newest counterparts of dataset versions ${datasetVersionIds.join(', ')} are needed to decide the retraining`);
    this.name = 'NewestDatasetsNeeded';
  }
}

const emptyTrack = (): WindowTrack => ({ windows: 0, badRun: [], badCount: 0, healthyRun: [], healthyCount: 0, openAlertId: null });
const kept = (run: WindowRef[], next: WindowRef): WindowRef[] => [...run, next].slice(-RUN_KEPT);

export const monitorDecider: Decider<MonitorCommand, MonitorEvent, MonitorState> = {
  initialState: () => ({ status: 'None' }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateMonitor': {
        if (state.status !== 'None') {
          if (state.deploymentId === command.deploymentId) return [];
          throw new ConflictError(`monitor ${command.monitorId} already watches deployment ${state.deploymentId}`, { monitorId: command.monitorId });
        }
        const { type: _type, at, ...facts } = command;
        return [{ type: 'monitoring.MonitorCreated.v1', data: { ...facts, config: { ...DEFAULT_MONITOR_CONFIG }, createdAt: at } }];
      }
      case 'ConfigureMonitor': {
        const monitor = requireMonitor(state, command.monitorId);
        const config: MonitorConfig = { ...monitor.config, ...command.changes };
        if (config.retrainPolicy !== 'OFF' && config.retrainJob === null) {
          throw new ValidationError(`retrainPolicy ${config.retrainPolicy} needs a retraining job: give retrainJob (no training job of the deployed version's run was found to copy)`, {
            field: 'retrainPolicy',
          });
        }
        const changed = (Object.keys(command.changes) as Array<keyof MonitorConfig>).filter((key) => JSON.stringify(monitor.config[key]) !== JSON.stringify(config[key]));
        if (changed.length === 0) return [];
        return [{ type: 'monitoring.MonitorConfigured.v1', data: { monitorId: monitor.monitorId, deploymentId: monitor.deploymentId, config, changed, configuredAt: command.at } }];
      }
      case 'RecordDrift': {
        const monitor = requireMonitor(state, command.monitorId);
        const w = command.window;
        const measured: MonitorEvent = {
          type: 'monitoring.DriftMeasured.v1',
          data: {
            measurementId: w.measurementId,
            monitorId: monitor.monitorId,
            deploymentId: monitor.deploymentId,
            window: monitor.drift.windows + 1,
            source: w.source,
            rows: w.rows,
            referenceDigest: w.referenceDigest,
            options: w.options,
            features: w.features,
            driftedFeatures: w.driftedFeatures,
            driftedShare: w.driftedShare,
            drifted: w.drifted,
            measuredAt: command.at,
          },
        };
        return decideWindows(monitor, [measured], command.newestDatasets, command.at);
      }
      case 'RecordPerformance': {
        const monitor = requireMonitor(state, command.monitorId);
        // Windows measured before (a retry, or a caller that read a lagging read model) are passed over.
        const fresh = command.windows.filter((w) => w.lastLabel > monitor.labelsMeasured);
        if (fresh.length === 0) return [];
        const measured = fresh.map(
          (w, i): MonitorEvent => ({
            type: 'monitoring.PerformanceMeasured.v1',
            data: {
              measurementId: w.measurementId,
              monitorId: monitor.monitorId,
              deploymentId: monitor.deploymentId,
              window: monitor.performance.windows + 1 + i,
              taskType: monitor.taskType,
              predictions: w.predictions,
              firstLabel: w.firstLabel,
              lastLabel: w.lastLabel,
              firstPredictedAt: w.firstPredictedAt,
              lastPredictedAt: w.lastPredictedAt,
              firstLabelledAt: w.firstLabelledAt,
              lastLabelledAt: w.lastLabelledAt,
              metrics: w.metrics,
              comparisons: w.comparisons,
              tolerance: monitor.config.performanceTolerance,
              degraded: w.degraded,
              measuredAt: command.at,
            },
          }),
        );
        return decideWindows(monitor, measured, command.newestDatasets, command.at);
      }
      case 'ApproveRetrain': {
        const monitor = requireMonitor(state, command.monitorId);
        const retrain = requireRetrain(monitor, command.retrainId);
        if (retrain.status === 'REQUESTED') return [];
        if (retrain.status === 'DECLINED') throw new ConflictError(`retraining ${retrain.retrainId} was declined: it cannot be approved`, { retrainId: retrain.retrainId });
        const plan = retrainPlan(monitor, retrain.retrainId, command.newestDatasets);
        return [
          { type: 'monitoring.RetrainApproved.v1', data: { retrainId: retrain.retrainId, monitorId: monitor.monitorId, approvedBy: command.approvedBy, comment: command.comment, approvedAt: command.at } },
          {
            type: 'monitoring.RetrainRequested.v1',
            data: { ...retrainOf(monitor), retrainId: retrain.retrainId, alertId: retrain.alertId, policy: 'APPROVAL', ...plan, requestedAt: command.at },
            // The approval requested it (the approval's own cause is the proposal: the command's causation).
            causedBy: 0,
          },
        ];
      }
      case 'DeclineRetrain': {
        const monitor = requireMonitor(state, command.monitorId);
        const retrain = requireRetrain(monitor, command.retrainId);
        if (retrain.status === 'DECLINED') return [];
        if (retrain.status === 'REQUESTED') throw new ConflictError(`retraining ${retrain.retrainId} was already requested: it cannot be declined`, { retrainId: retrain.retrainId });
        return [{ type: 'monitoring.RetrainDeclined.v1', data: { retrainId: retrain.retrainId, monitorId: monitor.monitorId, declinedBy: command.declinedBy, reason: command.reason, declinedAt: command.at } }];
      }
      default: {
        const unknown: never = command;
        throw new ValidationError(`unknown monitor command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    if (event.type === 'monitoring.MonitorCreated.v1') {
      const { config, createdAt: _createdAt, ...facts } = event.data;
      return { status: 'Active', ...facts, config, drift: emptyTrack(), performance: emptyTrack(), labelsMeasured: 0, retrains: {} };
    }
    if (state.status !== 'Active') return state;
    switch (event.type) {
      case 'monitoring.MonitorConfigured.v1':
        return { ...state, config: event.data.config };
      case 'monitoring.DriftMeasured.v1':
        return { ...state, drift: measuredWindow(state.drift, { window: event.data.window, measurementId: event.data.measurementId }, event.data.drifted) };
      case 'monitoring.PerformanceMeasured.v1':
        return {
          ...state,
          performance: measuredWindow(state.performance, { window: event.data.window, measurementId: event.data.measurementId }, event.data.degraded),
          labelsMeasured: Math.max(state.labelsMeasured, event.data.lastLabel),
        };
      case 'monitoring.AlertRaised.v1':
        return withTrack(state, event.data.kind, (track) => ({ ...track, openAlertId: event.data.alertId }));
      case 'monitoring.AlertResolved.v1':
        return withTrack(state, event.data.kind, (track) => ({ ...track, openAlertId: null }));
      case 'monitoring.RetrainProposed.v1':
        return withRetrain(state, { retrainId: event.data.retrainId, alertId: event.data.alertId, status: 'PROPOSED' });
      case 'monitoring.RetrainRequested.v1':
        return withRetrain(state, { retrainId: event.data.retrainId, alertId: event.data.alertId, status: 'REQUESTED' });
      case 'monitoring.RetrainDeclined.v1': {
        const retrain = state.retrains[event.data.retrainId];
        return retrain ? withRetrain(state, { ...retrain, status: 'DECLINED' }) : state;
      }
      case 'monitoring.RetrainApproved.v1':
        return state;
      default: {
        const unknown: never = event;
        throw new Error(`unknown monitor event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

function requireMonitor(state: MonitorState, monitorId: string): Active {
  if (state.status === 'None') throw new NotFoundError(`monitor ${monitorId} does not exist`, { monitorId });
  return state;
}

function requireRetrain(monitor: Active, retrainId: string): RetrainFacts {
  const retrain = monitor.retrains[retrainId];
  if (!retrain) throw new NotFoundError(`retraining ${retrainId} was not proposed by the monitor of deployment ${monitor.deploymentId}`, { retrainId });
  return retrain;
}

function measuredWindow(track: WindowTrack, ref: WindowRef, bad: boolean): WindowTrack {
  return bad
    ? { ...track, windows: ref.window, badRun: kept(track.badRun, ref), badCount: track.badCount + 1, healthyRun: [], healthyCount: 0 }
    : { ...track, windows: ref.window, healthyRun: kept(track.healthyRun, ref), healthyCount: track.healthyCount + 1, badRun: [], badCount: 0 };
}

function withTrack(state: Active, kind: AlertKind, change: (track: WindowTrack) => WindowTrack): Active {
  return kind === 'DRIFT' ? { ...state, drift: change(state.drift) } : { ...state, performance: change(state.performance) };
}

function withRetrain(state: Active, retrain: RetrainFacts): Active {
  return { ...state, retrains: { ...state.retrains, [retrain.retrainId]: retrain } };
}

/**
 * The measured windows, each followed by what it leads to: an alert raised or resolved, and the
 * retraining a raised alert leads to. Each window is decided on the state the ones before it left.
 */
function decideWindows(monitor: Active, measured: MonitorEvent[], newest: NewestDatasets | null, at: string): MonitorEvent[] {
  const events: MonitorEvent[] = [];
  let state: Active = monitor;
  /** Appends an event to the decision and returns its index there (what `causedBy` names). */
  const push = (event: MonitorEvent): number => {
    events.push(event);
    state = monitorDecider.evolve(state, event) as Active;
    return events.length - 1;
  };
  for (const event of measured) {
    const window = push(event);
    const kind: AlertKind = event.type === 'monitoring.DriftMeasured.v1' ? 'DRIFT' : 'PERFORMANCE';
    const track = kind === 'DRIFT' ? state.drift : state.performance;
    const { raiseAfter, resolveAfter } = state.config;
    if (track.openAlertId === null && track.badCount >= raiseAfter) {
      const last = track.badRun[track.badRun.length - 1];
      const alertId = alertIdFor(state.monitorId, kind, last.window);
      const raised = push({
        type: 'monitoring.AlertRaised.v1',
        data: {
          alertId,
          monitorId: state.monitorId,
          deploymentId: state.deploymentId,
          kind,
          windows: track.badRun.map((w) => w.window),
          measurementIds: track.badRun.map((w) => w.measurementId),
          summary: alertSummary(kind, event, track.badCount),
          raisedAt: at,
        },
        causedBy: window,
      });
      const retrain = retrainFor(state, alertId, newest, at);
      if (retrain) push({ ...retrain, causedBy: raised });
    } else if (track.openAlertId !== null && track.healthyCount >= resolveAfter) {
      push({
        type: 'monitoring.AlertResolved.v1',
        data: {
          alertId: track.openAlertId,
          monitorId: state.monitorId,
          deploymentId: state.deploymentId,
          kind,
          windows: track.healthyRun.map((w) => w.window),
          measurementIds: track.healthyRun.map((w) => w.measurementId),
          resolvedAt: at,
        },
        causedBy: window,
      });
    }
  }
  return events;
}

function alertSummary(kind: AlertKind, event: MonitorEvent, run: number): string {
  const windows = `${run} consecutive ${kind === 'DRIFT' ? 'drifted' : 'degraded'} window${run === 1 ? '' : 's'}`;
  if (event.type === 'monitoring.DriftMeasured.v1') {
    const drifted = event.data.features.filter((f) => f.drifted).map((f) => f.feature);
    return `${windows}; in the last, ${event.data.driftedFeatures} of ${event.data.features.length} features drifted (${drifted.slice(0, 10).join(', ')}${drifted.length > 10 ? ', ...' : ''})`;
  }
  if (event.type === 'monitoring.PerformanceMeasured.v1') {
    const worse = event.data.comparisons.filter((c) => c.degraded).map((c) => `${c.metric} ${round(c.value)} vs ${c.baseline === null ? '-' : round(c.baseline)}`);
    return `${windows}; in the last, ${worse.join(', ')}`;
  }
  return windows;
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

/** What the monitor's policy makes of a raised alert: a request (AUTO), a proposal (APPROVAL), or nothing (OFF). */
function retrainFor(monitor: Active, alertId: string, newest: NewestDatasets | null, at: string): MonitorEvent | null {
  const policy = monitor.config.retrainPolicy;
  // A policy is refused at configuration without a job; a stored one without it retrains nothing.
  if (policy === 'OFF' || monitor.config.retrainJob === null) return null;
  const retrainId = retrainIdFor(alertId);
  const plan = retrainPlan(monitor, retrainId, newest);
  if (policy === 'AUTO') return { type: 'monitoring.RetrainRequested.v1', data: { ...retrainOf(monitor), retrainId, alertId, policy, ...plan, requestedAt: at } };
  return { type: 'monitoring.RetrainProposed.v1', data: { ...retrainOf(monitor), retrainId, alertId, ...plan, proposedAt: at } };
}

function retrainOf(monitor: Active) {
  return { monitorId: monitor.monitorId, deploymentId: monitor.deploymentId, modelId: monitor.modelId, modelVersionId: monitor.modelVersionId };
}

/**
 * The job of a retraining: the template, with each dataset version of the deployed version
 * replaced by the newest version of its dataset. Two of them becoming the same version (a train
 * and a test split of one dataset, say) are queued once, in the role that comes first
 * (TRAIN, VALIDATION, TEST): a job names a dataset version once.
 */
export function retrainPlan(monitor: MonitorFacts, retrainId: string, newest: NewestDatasets | null): { job: RetrainJob; datasetChanges: RetrainDatasetChange[] } {
  const template = monitor.config.retrainJob;
  if (template === null) throw new ValidationError(`the monitor of deployment ${monitor.deploymentId} has no retraining job`, { field: 'retrainJob' });
  const versionIds = [...new Set(monitor.datasetVersions.map((v) => v.datasetVersionId))];
  if (versionIds.length > 0 && newest === null) throw new NewestDatasetsNeeded(versionIds);
  const missing = monitor.datasetVersions.filter((v) => newest?.[v.datasetVersionId] === undefined);
  if (missing.length) {
    throw new NotFoundError(`no version of datasets ${[...new Set(missing.map((v) => v.datasetId))].join(', ')} was found to retrain on`, { datasetIds: missing.map((v) => v.datasetId) });
  }
  const order = { TRAIN: 0, VALIDATION: 1, TEST: 2 } as const;
  const byRole = [...monitor.datasetVersions].sort((a, b) => order[a.role] - order[b.role]);
  const datasetVersions: RetrainJob['datasetVersions'] = [];
  for (const v of byRole) {
    const to = newest![v.datasetVersionId];
    if (!datasetVersions.some((d) => d.datasetVersionId === to)) datasetVersions.push({ datasetVersionId: to, role: v.role });
  }
  const datasetChanges = monitor.datasetVersions.map((v) => ({ datasetId: v.datasetId, fromDatasetVersionId: v.datasetVersionId, toDatasetVersionId: newest![v.datasetVersionId] }));
  const { source: _source, sourceJobId: _sourceJobId, ...spec } = template;
  return { job: { ...spec, jobId: retrainJobId(retrainId), datasetVersions }, datasetChanges };
}
