import DataLoader from 'dataloader';
import { type AlertView, type DeploymentView, jobRefusalStream, type MonitorView, monitoringRpc, type RetrainJobRefusedV1, type RetrainView } from '@modeltrail/contracts';
import type { GatewayContext } from '../context/gateway-context';
import { byId } from '../context/loaders';

/**
 * The monitoring service's batch lookups, one DataLoader per kind made for each GraphQL
 * operation (kept beside the operation's other loaders): the lookups of one tick go as one
 * request, and an entity asked for twice is fetched once. Keys are canonical UUIDs.
 */
export class MonitoringLoaders {
  constructor(private readonly ctx: Pick<GatewayContext, 'loaders' | 'rpc' | 'store'>) {}

  get deployments(): DataLoader<string, DeploymentView> {
    return this.once('deployments', () =>
      byId(
        async (deploymentIds) => (await this.ctx.rpc.query(monitoringRpc.getDeployments, { deploymentIds })).items,
        (item) => item.deploymentId,
        (id) => `deployment ${id} does not exist`,
      ),
    );
  }

  /** A deployment's monitor, by the deployment's id. */
  get monitors(): DataLoader<string, MonitorView> {
    return this.once('monitors', () =>
      byId(
        async (deploymentIds) => (await this.ctx.rpc.query(monitoringRpc.getMonitors, { deploymentIds })).items,
        (item) => item.deploymentId,
        (id) => `deployment ${id} has no monitor`,
      ),
    );
  }

  get alerts(): DataLoader<string, AlertView> {
    return this.once('alerts', () =>
      byId(
        async (alertIds) => (await this.ctx.rpc.query(monitoringRpc.getAlerts, { alertIds })).items,
        (item) => item.alertId,
        (id) => `alert ${id} does not exist`,
      ),
    );
  }

  get retrains(): DataLoader<string, RetrainView> {
    return this.once('retrains', () =>
      byId(
        async (retrainIds) => (await this.ctx.rpc.query(monitoringRpc.getRetrains, { retrainIds })).items,
        (item) => item.retrainId,
        (id) => `retraining ${id} does not exist`,
      ),
    );
  }

  /** Why the scheduler refused a retraining's job (its RetrainJobRefused event), null when it did not. */
  get jobRefusals(): DataLoader<string, RetrainJobRefusedV1 | null> {
    return this.once(
      'jobRefusals',
      () =>
        new DataLoader<string, RetrainJobRefusedV1 | null>((jobIds) =>
          Promise.all(
            jobIds.map(async (jobId) => {
              const [refused] = await this.ctx.store.readStream(jobRefusalStream(jobId), { maxCount: 1 });
              return refused ? (refused.data as RetrainJobRefusedV1) : null;
            }),
          ),
        ),
    );
  }

  /** Kept with the operation's other loaders: a subscription that clears them resolves each event with fresh lookups. */
  private once<V>(name: string, make: () => DataLoader<string, V>): DataLoader<string, V> {
    return this.ctx.loaders.loader(`monitoring.${name}`, make);
  }
}

/** The monitoring loaders of the operation `ctx` belongs to. */
export function monitoringLoaders(ctx: GatewayContext): MonitoringLoaders {
  return new MonitoringLoaders(ctx);
}
