import DataLoader from 'dataloader';
import { type AlertView, type DeploymentView, jobRefusalStream, type MonitorView, monitoringRpc, NotFoundError, type RetrainJobRefusedV1, type RetrainView } from '@modeltrail/contracts';
import type { GatewayContext } from '../context/gateway-context';

/** The services' batch lookups take at most 500 ids. */
const MAX_BATCH = 500;

/**
 * The monitoring service's batch lookups, one DataLoader per kind made for each GraphQL
 * operation (kept beside the operation's other loaders): the lookups of one tick go as one
 * request, and an entity asked for twice is fetched once. Keys are canonical UUIDs.
 */
export class MonitoringLoaders {
  private made: Partial<Record<'deployments' | 'monitors' | 'alerts' | 'retrains' | 'jobRefusals', DataLoader<string, unknown>>> = {};

  constructor(private readonly ctx: Pick<GatewayContext, 'rpc' | 'store'>) {}

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

  /** Drops what was cached (a subscription resolves each event with fresh lookups). */
  clearAll(): void {
    this.made = {};
  }

  private once<V>(name: keyof MonitoringLoaders['made'], make: () => DataLoader<string, V>): DataLoader<string, V> {
    return (this.made[name] ??= make() as DataLoader<string, unknown>) as DataLoader<string, V>;
  }
}

const ofContext = new WeakMap<object, MonitoringLoaders>();

/** The monitoring loaders of the operation `ctx` belongs to (made on first use). */
export function monitoringLoaders(ctx: GatewayContext): MonitoringLoaders {
  let loaders = ofContext.get(ctx.loaders);
  if (!loaders) ofContext.set(ctx.loaders, (loaders = new MonitoringLoaders(ctx)));
  return loaders;
}

function byId<T>(fetch: (ids: string[]) => Promise<T[]>, idOf: (item: T) => string, missing: (id: string) => string): DataLoader<string, T> {
  return new DataLoader<string, T>(
    async (ids) => {
      const found = new Map((await fetch([...ids])).map((item) => [idOf(item), item]));
      return ids.map((id) => found.get(id) ?? new NotFoundError(missing(id), { id }));
    },
    { maxBatchSize: MAX_BATCH },
  );
}
