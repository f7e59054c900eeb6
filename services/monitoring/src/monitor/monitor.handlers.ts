import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import {
  type BatchSource,
  commandScopedId,
  type MessageHeaders,
  type MonitorConfig,
  monitoringRpc,
  monitorStream,
  type MonitorView,
  NotFoundError,
  type RetrainView,
  type RpcReply,
  UnavailableError,
  type z,
} from '@modeltrail/contracts';
import { commandContextOf, type HandleResult } from '@modeltrail/decider';
import { type DatasetDrift, measureDrift } from '@modeltrail/drift';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { resolveLocation } from '@modeltrail/tabular';
import { BatchReader, type ExtraColumns, formatOf } from '../batch/batch.reader';
import { ReferenceStore } from '../batch/reference.store';
import { CLOCK, type Clock } from '../clock';
import { PLATFORM_CLIENTS, type PlatformClients } from '../platform.clients';
import { MonitoringViews } from '../read-model/monitoring.views';
import type { DeploymentRow } from '../read-model/monitoring.tables';
import { handleWithNewestDatasets, MONITOR_COMMANDS, type MonitorCommands } from './monitor.commands';
import type { DriftSettings, DriftWindow, MonitorEvent, MonitorState } from './monitor.decider';
import { configuredTemplate, trainingJobTemplate } from './retrain-template';

type Req<K extends keyof typeof monitoringRpc> = z.output<(typeof monitoringRpc)[K]['request']>;
type Reply<K extends keyof typeof monitoringRpc> = RpcReply<(typeof monitoringRpc)[K]>;

/**
 * NATS adapters of the Monitor aggregate: configuration, feature batches (read, measured against
 * the frozen reference, then decided by the monitor) and the approval of proposed retrainings.
 */
@Controller()
export class MonitorHandlers {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(MONITOR_COMMANDS) private readonly monitors: MonitorCommands,
    @Inject(PLATFORM_CLIENTS) private readonly clients: PlatformClients,
    private readonly reader: BatchReader,
    private readonly references: ReferenceStore,
    private readonly views: MonitoringViews,
  ) {}

  /**
   * Changes the settings given. A retraining policy needs a job: the one given, else the one
   * kept, else the scheduler job that trained the deployed version's run (looked up now).
   */
  @RpcPattern(monitoringRpc.configureMonitor)
  async configure(@Payload() req: Req<'configureMonitor'>, @RpcHeaders() headers: MessageHeaders): Promise<MonitorView> {
    const { deployment, monitor } = await this.views.deploymentWithMonitor(req.deploymentId);
    const { deploymentId: _deploymentId, retrainJob, ...settings } = req;
    const changes = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as Partial<MonitorConfig>;
    const policy = changes.retrainPolicy ?? monitor.config.retrainPolicy;
    if (retrainJob !== undefined || (policy !== 'OFF' && monitor.config.retrainJob === null)) {
      const version = await this.clients.modelVersion(deployment.modelVersionId, headers);
      if (!version) throw new NotFoundError(`model version ${deployment.modelVersionId} of deployment ${deployment.deploymentId} is not in the registry`, { modelVersionId: deployment.modelVersionId });
      if (retrainJob) {
        changes.retrainJob = configuredTemplate(retrainJob, { experimentId: deployment.experimentId, params: version.params }, this.config.scheduler.workingDirRoots);
      } else {
        const job = await this.clients.trainingJob(deployment.experimentId, deployment.runId, headers);
        changes.retrainJob = job ? trainingJobTemplate(job, version.params) : null;
      }
    }
    const result = await this.monitors.handle(monitorStream(monitor.monitorId), { type: 'ConfigureMonitor', monitorId: monitor.monitorId, changes, at: this.clock.now() }, commandContextOf(headers));
    return this.views.monitor(deployment.deploymentId, result.position);
  }

  /**
   * Reads the batch (exactly one source), measures its drift against the deployment's frozen
   * reference with the monitor's options, and lets the monitor decide the window and what it
   * leads to (an alert raised or resolved, a retraining), all in one append.
   */
  @RpcPattern(monitoringRpc.ingestFeatureBatch)
  async ingestFeatureBatch(@Payload() req: Req<'ingestFeatureBatch'>, @RpcHeaders() headers: MessageHeaders): Promise<Reply<'ingestFeatureBatch'>> {
    const { deployment, monitor } = await this.views.deploymentWithMonitor(req.deploymentId);
    const reference = deployment.reference;
    if (!reference) throw new UnavailableError(`deployment ${deployment.deploymentId} has no reference yet: try again shortly`, { deploymentId: deployment.deploymentId });
    const features = reference.features.map((f) => ({ name: f.name, kind: f.kind }));
    const extra: ExtraColumns = { kind: 'ONLY', names: new Set(reference.skippedColumns.map((c) => c.name)) };
    let source: BatchSource;
    let columns;
    if (req.rows) {
      source = { kind: 'INLINE', datasetVersionId: null, uri: null, format: null };
      columns = this.reader.readInline(req.rows, features, extra);
    } else if (req.uri !== undefined) {
      const format = req.format ?? formatOf(req.uri);
      const location = resolveLocation(req.uri);
      source = { kind: 'URI', datasetVersionId: null, uri: location.uri, format };
      columns = await this.reader.readFile(req.uri, format, features, extra);
    } else {
      const datasetVersionId = req.datasetVersionId!;
      const version = await this.clients.datasetVersion(datasetVersionId, headers);
      if (!version) throw new NotFoundError(`dataset version ${datasetVersionId} does not exist`, { datasetVersionId });
      source = { kind: 'DATASET_VERSION', datasetVersionId, uri: version.uri, format: version.format };
      columns = await this.reader.readFile(version.uri, version.format, features, extra, version.digest);
    }
    const options = driftSettings(monitor.config);
    const drift = measureDrift(await this.references.load(reference.digest), columns, options);
    const measurementId = headers.commandId ? commandScopedId(headers.commandId, 'drift-measurement') : randomUUID();
    const window = driftWindow(measurementId, source, reference.digest, options, drift);
    const at = this.clock.now();
    const result = await handleWithNewestDatasets(
      this.monitors,
      this.clients,
      monitorStream(monitor.monitorId),
      (newestDatasets) => ({ type: 'RecordDrift', monitorId: monitor.monitorId, window, newestDatasets, at }),
      commandContextOf(headers),
      headers,
    );
    await this.views.caughtUp(result.position);
    const [measurement] = await this.views.driftMeasurements([measurementId]);
    if (!measurement) throw new UnavailableError(`the measurement was recorded but the read model does not show it yet: list the deployment's drift measurements shortly`, { measurementId });
    return { measurement, ...(await consequences(this.views, deployment, result, headers)) };
  }

  /** The approver is the actor; the RetrainRequested it appends names the proposal as its cause. */
  @RpcPattern(monitoringRpc.approveRetrain)
  async approve(@Payload() req: Req<'approveRetrain'>, @RpcHeaders() headers: MessageHeaders): Promise<RetrainView> {
    const retrain = await this.retrainRow(req.retrainId);
    const context = { ...commandContextOf(headers), causationId: retrain.proposalEventId ?? headers.causationId ?? null };
    const at = this.clock.now();
    const result = await handleWithNewestDatasets(
      this.monitors,
      this.clients,
      monitorStream(retrain.monitorId),
      (newestDatasets) => ({ type: 'ApproveRetrain', monitorId: retrain.monitorId, retrainId: req.retrainId, approvedBy: headers.actor, comment: req.comment, newestDatasets, at }),
      context,
      headers,
    );
    return this.views.retrain(req.retrainId, result.position);
  }

  @RpcPattern(monitoringRpc.declineRetrain)
  async decline(@Payload() req: Req<'declineRetrain'>, @RpcHeaders() headers: MessageHeaders): Promise<RetrainView> {
    const retrain = await this.retrainRow(req.retrainId);
    const context = { ...commandContextOf(headers), causationId: retrain.proposalEventId ?? headers.causationId ?? null };
    const result = await this.monitors.handle(
      monitorStream(retrain.monitorId),
      { type: 'DeclineRetrain', monitorId: retrain.monitorId, retrainId: req.retrainId, declinedBy: headers.actor, reason: req.reason, at: this.clock.now() },
      context,
    );
    return this.views.retrain(req.retrainId, result.position);
  }

  private async retrainRow(retrainId: string) {
    const [retrain] = await this.views.retrainRows([retrainId]);
    if (!retrain) throw new NotFoundError(`retraining ${retrainId} does not exist`, { retrainId });
    return retrain;
  }
}

/** The monitor's drift options. */
export function driftSettings(config: MonitorConfig): DriftSettings {
  const { numericMethod, categoricalMethod, ksPValue, chiSquarePValue, wassersteinThreshold, jensenShannonThreshold, psiThreshold, driftShare, bonferroni } = config;
  return { numericMethod, categoricalMethod, ksPValue, chiSquarePValue, wassersteinThreshold, jensenShannonThreshold, psiThreshold, driftShare, bonferroni };
}

/** A measured batch as the monitor records it. */
export function driftWindow(measurementId: string, source: BatchSource, referenceDigest: string, options: DriftSettings, drift: DatasetDrift): DriftWindow {
  return {
    measurementId,
    source,
    rows: drift.rows,
    referenceDigest,
    options,
    features: drift.features.map((f) => ({
      feature: f.feature,
      kind: f.kind,
      method: f.method,
      score: f.score,
      threshold: f.threshold,
      drifted: f.drifted,
      referenceCount: f.referenceCount,
      currentCount: f.currentCount,
      currentMissing: f.currentMissing,
      ks: f.ks,
      wasserstein: f.wasserstein,
      psi: f.psi,
      psiBand: f.psiBand,
      chiSquare: f.chiSquare,
      jensenShannon: f.jensenShannon,
      unseenCategories: f.unseenCategories,
      unseenCategoryCount: f.unseenCategoryCount,
    })),
    driftedFeatures: drift.driftedFeatures,
    driftedShare: drift.driftedShare,
    drifted: drift.drifted,
  };
}

/**
 * What an append led to, as views: the monitor now, the alerts it raised and resolved, the
 * retrainings. A retried command (its events already there) answers with what it did the first time.
 */
export async function consequences(views: MonitoringViews, deployment: DeploymentRow, result: Pick<HandleResult<MonitorState>, 'events'>, headers: MessageHeaders) {
  const stream = monitorStream(deployment.monitorId);
  const recorded = result.events.length === 0 && headers.commandId ? await views.eventsOfCommand(stream, headers.commandId) : result.events;
  const events = recorded as unknown as MonitorEvent[];
  const ids = (type: MonitorEvent['type'], field: 'alertId' | 'retrainId') => events.filter((e) => e.type === type).map((e) => (e.data as Record<string, string>)[field]);
  const [monitor] = await views.monitors([deployment.deploymentId]);
  return {
    monitor: monitorOrFail(monitor, deployment),
    alertsRaised: await views.alerts(ids('monitoring.AlertRaised.v1', 'alertId')),
    alertsResolved: await views.alerts(ids('monitoring.AlertResolved.v1', 'alertId')),
    retrains: await views.retrains([...ids('monitoring.RetrainRequested.v1', 'retrainId'), ...ids('monitoring.RetrainProposed.v1', 'retrainId')]),
  };
}

function monitorOrFail(monitor: MonitorView | undefined, deployment: DeploymentRow): MonitorView {
  if (!monitor) throw new NotFoundError(`deployment ${deployment.deploymentId} has no monitor`, { deploymentId: deployment.deploymentId });
  return monitor;
}
