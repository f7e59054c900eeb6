import {
  type AlertView,
  type DeploymentView,
  deploymentStream,
  type DriftMeasurementView,
  monitorIdFor,
  monitorStream,
  type MonitorView,
  NotFoundError,
  type PerformanceMeasurementView,
  type RetrainView,
  UnavailableError,
} from '@modeltrail/contracts';
import { deterministicEventId } from '@modeltrail/decider';
import type { EventStore, RecordedEvent } from '@modeltrail/eventstore';
import { findCaughtUp, type ProjectionRunner } from '@modeltrail/readmodel';
import { alertView, deploymentView, type MonitoringReader, monitorView, retrainView } from './monitoring.reader';
import type { DeploymentRow, MonitorRow, RetrainRow } from './monitoring.tables';

/** How long a reply waits for the read model to show what its command appended. */
const REPLY_WAIT_MS = 10_000;

/**
 * Views as the service answers them: from the read model, once it reflects what the caller
 * just did. A command's reply waits for the position of its append; a lookup by id waits only
 * when an id has a stream but no row yet (created a moment ago), as `findCaughtUp` does.
 */
export class MonitoringViews {
  constructor(
    readonly reader: MonitoringReader,
    private readonly store: EventStore,
    private readonly runners: ReadonlyArray<ProjectionRunner>,
  ) {}

  /**
   * The events a command appended to `stream` (their ids derive from its command id): what a
   * retried command had done, so that its reply says the same as the first one.
   */
  async eventsOfCommand(stream: string, commandId: string): Promise<RecordedEvent[]> {
    const byId = new Map((await this.store.readStream(stream)).map((event) => [event.id, event]));
    const events: RecordedEvent[] = [];
    for (let index = 0; ; index++) {
      const event = byId.get(deterministicEventId(commandId, stream, index));
      if (!event) return events;
      events.push(event);
    }
  }

  /** Resolves once the read model reflects `position` (UNAVAILABLE when it does not in time). */
  async caughtUp(position: number | undefined): Promise<void> {
    if (!position) return;
    try {
      await Promise.all(this.runners.map((runner) => runner.waitFor(position, REPLY_WAIT_MS)));
    } catch {
      throw new UnavailableError(`the change was recorded (position ${position}) but the read model has not caught up yet: read it again shortly`, { position });
    }
  }

  deploymentRows(deploymentIds: ReadonlyArray<string>): Promise<DeploymentRow[]> {
    return findCaughtUp({ ids: deploymentIds, find: () => this.reader.deploymentRows(deploymentIds), idOf: (r) => r.deploymentId, streamOf: deploymentStream, store: this.store, runners: this.runners });
  }

  async deployments(deploymentIds: ReadonlyArray<string>): Promise<DeploymentView[]> {
    return (await this.deploymentRows(deploymentIds)).map(deploymentView);
  }

  /** A deployment with its monitor, or NOT_FOUND naming it. */
  async deploymentWithMonitor(deploymentId: string): Promise<{ deployment: DeploymentRow; monitor: MonitorRow }> {
    const [deployment] = await this.deploymentRows([deploymentId]);
    if (!deployment) throw new NotFoundError(`deployment ${deploymentId} does not exist`, { deploymentId });
    const [monitor] = await this.monitorRows([deploymentId]);
    if (!monitor) throw new NotFoundError(`deployment ${deploymentId} has no monitor yet: deploy it again (with the same Mt-Command-Id) to create it`, { deploymentId });
    return { deployment, monitor };
  }

  monitorRows(deploymentIds: ReadonlyArray<string>): Promise<MonitorRow[]> {
    return findCaughtUp({
      ids: deploymentIds,
      find: () => this.reader.monitorRowsOfDeployments(deploymentIds),
      idOf: (r) => r.deploymentId,
      streamOf: (deploymentId) => monitorStream(monitorIdFor(deploymentId)),
      store: this.store,
      runners: this.runners,
    });
  }

  async monitors(deploymentIds: ReadonlyArray<string>): Promise<MonitorView[]> {
    return (await this.monitorRows(deploymentIds)).map(monitorView);
  }

  async alerts(alertIds: ReadonlyArray<string>): Promise<AlertView[]> {
    return (await this.reader.alertRows(alertIds)).map(alertView);
  }

  retrainRows(retrainIds: ReadonlyArray<string>): Promise<RetrainRow[]> {
    return this.reader.retrainRows(retrainIds);
  }

  async retrains(retrainIds: ReadonlyArray<string>): Promise<RetrainView[]> {
    return (await this.reader.retrainRows(retrainIds)).map(retrainView);
  }

  driftMeasurements(measurementIds: ReadonlyArray<string>): Promise<DriftMeasurementView[]> {
    return this.reader.measurementViews<DriftMeasurementView>('drift_measurements', measurementIds);
  }

  performanceMeasurements(measurementIds: ReadonlyArray<string>): Promise<PerformanceMeasurementView[]> {
    return this.reader.measurementViews<PerformanceMeasurementView>('performance_measurements', measurementIds);
  }

  async deployment(deploymentId: string, position?: number): Promise<DeploymentView> {
    await this.caughtUp(position);
    const [view] = await this.deployments([deploymentId]);
    if (!view) throw new NotFoundError(`deployment ${deploymentId} does not exist`, { deploymentId });
    return view;
  }

  async monitor(deploymentId: string, position?: number): Promise<MonitorView> {
    await this.caughtUp(position);
    const [view] = await this.monitors([deploymentId]);
    if (!view) throw new NotFoundError(`deployment ${deploymentId} has no monitor`, { deploymentId });
    return view;
  }

  async retrain(retrainId: string, position?: number): Promise<RetrainView> {
    await this.caughtUp(position);
    const [view] = await this.retrains([retrainId]);
    if (!view) throw new NotFoundError(`retraining ${retrainId} does not exist`, { retrainId });
    return view;
  }
}
