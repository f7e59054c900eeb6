import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Pool } from 'pg';
import {
  commandScopedId,
  type MessageHeaders,
  monitoringRpc,
  monitorStream,
  NotFoundError,
  type PerformanceMetric,
  type PerformanceValues,
  type RpcReply,
  type TaskType,
  ValidationError,
  type z,
} from '@modeltrail/contracts';
import { commandContextOf } from '@modeltrail/decider';
import type { RecordedEvent } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { PG_POOL, withTransaction } from '@modeltrail/postgres';
import { CLOCK, type Clock } from '../clock';
import { baselineKeys, CLASSIFICATION_METRICS, classificationMetrics, comparePerformance, type PredictionWindow, PredictionStore, REGRESSION_METRICS, regressionMetrics } from '../performance';
import { PLATFORM_CLIENTS, type PlatformClients } from '../platform.clients';
import { MonitoringViews } from '../read-model/monitoring.views';
import { consequences } from './monitor.handlers';
import { handleWithNewestDatasets, MONITOR_COMMANDS, type MonitorCommands } from './monitor.commands';
import type { PerformanceWindow } from './monitor.decider';

type Req<K extends keyof typeof monitoringRpc> = z.output<(typeof monitoringRpc)[K]['request']>;
type Reply<K extends keyof typeof monitoringRpc> = RpcReply<(typeof monitoringRpc)[K]>;

/** Windows one ground-truth call measures at most (the rest wait for the next call). */
const MAX_WINDOWS_PER_CALL = 100;

/**
 * Predictions and their ground truth. Both are data, kept in the PredictionStore (not events);
 * each complete window of `windowSize` labels, in arrival order, is measured once and recorded
 * by the monitor as PerformanceMeasured, which feeds the same hysteresis as drift (its own
 * count of windows, its own PERFORMANCE alerts).
 */
@Controller()
export class PredictionHandlers {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(MONITOR_COMMANDS) private readonly monitors: MonitorCommands,
    @Inject(PLATFORM_CLIENTS) private readonly clients: PlatformClients,
    private readonly predictions: PredictionStore,
    private readonly views: MonitoringViews,
  ) {}

  /** Stores predictions; one already stored with the same value is passed over, with another value refused (CONFLICT, nothing stored). */
  @RpcPattern(monitoringRpc.ingestPredictions)
  async ingestPredictions(@Payload() req: Req<'ingestPredictions'>): Promise<Reply<'ingestPredictions'>> {
    const { deployment } = await this.views.deploymentWithMonitor(req.deploymentId);
    const { recorded } = await withTransaction(this.pool, (client) => this.predictions.record(client, deployment.deploymentId, req.predictions));
    return { deploymentId: deployment.deploymentId, accepted: recorded, alreadyStored: req.predictions.length - recorded };
  }

  /**
   * Stores labels (every id must name a stored prediction: unknown ids are refused, naming them,
   * and nothing is stored), then measures each window they complete and lets the monitor decide.
   * Labels are committed before the windows are recorded: should that fail, the next call
   * measures the windows still unmeasured (the monitor passes over windows it measured before).
   */
  @RpcPattern(monitoringRpc.ingestGroundTruth)
  async ingestGroundTruth(@Payload() req: Req<'ingestGroundTruth'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'ingestGroundTruth'>> {
    const { deployment, monitor } = await this.views.deploymentWithMonitor(req.deploymentId);
    const metrics = metricsOf(monitor.taskType);
    const windowSize = monitor.config.windowSize;
    const measuredBefore = await this.views.reader.labelsMeasured(deployment.deploymentId);
    const at = this.clock.now();
    const { labelled, windows, total } = await withTransaction(this.pool, async (client) => {
      const { labelled } = await this.predictions.label(client, deployment.deploymentId, req.labels, at);
      const windows = await this.predictions.takeWindows(client, deployment.deploymentId, windowSize, Math.floor(measuredBefore / windowSize) + 1, { maxWindows: MAX_WINDOWS_PER_CALL });
      return { labelled, windows, total: await this.predictions.labelled(client, deployment.deploymentId) };
    });
    const measuredNow = windows.length ? windows[windows.length - 1].lastLabel : measuredBefore;
    const pending = Math.max(0, total - Math.max(measuredBefore, measuredNow));
    if (windows.length === 0) {
      // A retried call (its command id already recorded windows) answers as the first one did.
      const earlier = headers.commandId ? await this.views.eventsOfCommand(monitorStream(monitor.monitorId), headers.commandId) : [];
      if (earlier.length) {
        const measurements = await this.views.performanceMeasurements(performanceMeasurementIds(earlier));
        return { deploymentId: deployment.deploymentId, accepted: labelled, pending, measurements, ...(await consequences(this.views, deployment, { events: earlier }, headers)) };
      }
      const [view] = await this.views.monitors([deployment.deploymentId]);
      return { deploymentId: deployment.deploymentId, accepted: labelled, pending, measurements: [], monitor: view, alertsRaised: [], alertsResolved: [], retrains: [] };
    }

    const version = await this.clients.modelVersion(deployment.modelVersionId, headers);
    if (!version) throw new NotFoundError(`model version ${deployment.modelVersionId} of deployment ${deployment.deploymentId} is not in the registry`, { modelVersionId: deployment.modelVersionId });
    const measured = windows.map((w) => measureWindow(w, metrics, version.metrics, monitor.config.performanceTolerance, headers.commandId));
    const result = await handleWithNewestDatasets(
      this.monitors,
      this.clients,
      monitorStream(monitor.monitorId),
      (newestDatasets) => ({ type: 'RecordPerformance', monitorId: monitor.monitorId, windows: measured, newestDatasets, at }),
      commandContextOf(headers),
      headers,
    );
    await this.views.caughtUp(result.position);
    const measurements = await this.views.performanceMeasurements(performanceMeasurementIds(result.events));
    return { deploymentId: deployment.deploymentId, accepted: labelled, pending, measurements, ...(await consequences(this.views, deployment, result, headers)) };
  }
}

/** The metrics a task type's windows measure: classification or regression (forecasts are compared as regression). */
export function metricsOf(taskType: TaskType): ReadonlyArray<PerformanceMetric> {
  switch (taskType) {
    case 'BINARY_CLASSIFICATION':
    case 'MULTICLASS_CLASSIFICATION':
      return CLASSIFICATION_METRICS;
    case 'REGRESSION':
    case 'FORECASTING':
      return REGRESSION_METRICS;
    case 'RANKING':
    case 'CLUSTERING':
    case 'OTHER':
      throw new ValidationError(`performance is measured for classification, regression and forecasting models; this model's project is ${taskType}`, { taskType });
    default: {
      const unknown: never = taskType;
      throw new ValidationError(`unknown task type ${String(unknown)}`);
    }
  }
}

/** One complete window measured and compared with the deployed version's metrics snapshot. */
export function measureWindow(
  window: PredictionWindow,
  metrics: ReadonlyArray<PerformanceMetric>,
  baseline: Parameters<typeof comparePerformance>[1],
  tolerance: number,
  commandId: string | undefined,
): PerformanceWindow {
  const classification = metrics === CLASSIFICATION_METRICS;
  const values: PerformanceValues = { accuracy: null, precision: null, recall: null, f1: null, rmse: null, mae: null };
  if (classification) {
    const m = classificationMetrics(window.pairs);
    Object.assign(values, { accuracy: m.accuracy, precision: m.precision, recall: m.recall, f1: m.f1 });
  } else {
    const m = regressionMetrics(window.pairs);
    Object.assign(values, { rmse: m.rmse, mae: m.mae });
  }
  const comparisons = comparePerformance(values, baseline, { metric: metrics, tolerance, baselineKey: baselineKeys(baseline, metrics) }).map((c) => ({
    metric: c.metric,
    value: c.measured,
    baseline: c.baseline,
    relativeChange: c.relativeChange,
    degraded: c.degraded,
  }));
  return {
    measurementId: commandId ? commandScopedId(commandId, `performance-window/${window.window}`) : randomUUID(),
    predictions: window.pairs.length,
    firstLabel: window.firstLabel,
    lastLabel: window.lastLabel,
    firstPredictedAt: window.firstPredictedAt,
    lastPredictedAt: window.lastPredictedAt,
    firstLabelledAt: window.firstLabelledAt,
    lastLabelledAt: window.lastLabelledAt,
    metrics: values,
    comparisons,
    degraded: comparisons.some((c) => c.degraded),
  };
}

/** The measurements among recorded monitor events, in their order. */
function performanceMeasurementIds(events: ReadonlyArray<RecordedEvent>): string[] {
  return events.filter((e) => e.type === 'monitoring.PerformanceMeasured.v1').map((e) => (e.data as { measurementId: string }).measurementId);
}
