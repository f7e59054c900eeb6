import DataLoader from 'dataloader';
import { type ModelVersionView, type ModelView, NotFoundError, type PromotionRequestView, registryRpc } from '@modeltrail/contracts';
import type { GatewayContext } from '../context/gateway-context';

/** The services' batch lookups take at most 500 ids. */
const MAX_BATCH = 500;

/** DataLoaders of the registry's entities, one set per GraphQL operation. */
export interface RegistryLoaders {
  models: DataLoader<string, ModelView>;
  modelVersions: DataLoader<string, ModelVersionView>;
  promotionRequests: DataLoader<string, PromotionRequestView>;
  /** Versions made from each run, oldest first. */
  runModelVersions: DataLoader<string, ModelVersionView[]>;
}

/** Keyed by the operation's loaders: a new operation (or a cleared subscription context) gets new ones. */
const made = new WeakMap<object, RegistryLoaders>();

/**
 * The registry's loaders of this operation: the lookups of one tick are one batch request to
 * the registry (no N+1 over NATS), and an entity asked for twice is fetched once.
 */
export function registryLoaders(ctx: GatewayContext): RegistryLoaders {
  let loaders = made.get(ctx.loaders);
  if (!loaders) {
    loaders = {
      models: byId(async (modelIds) => (await ctx.rpc.query(registryRpc.getModels, { modelIds })).items, (m) => m.modelId, (id) => `model ${id} does not exist`),
      modelVersions: byId(
        async (modelVersionIds) => (await ctx.rpc.query(registryRpc.getModelVersions, { modelVersionIds })).items,
        (v) => v.modelVersionId,
        (id) => `model version ${id} does not exist`,
      ),
      promotionRequests: byId(
        async (requestIds) => (await ctx.rpc.query(registryRpc.getPromotionRequests, { requestIds })).items,
        (r) => r.requestId,
        (id) => `promotion request ${id} does not exist`,
      ),
      runModelVersions: grouped(async (runIds) => (await ctx.rpc.query(registryRpc.listRunModelVersions, { runIds })).items, (v) => v.runId),
    };
    made.set(ctx.loaders, loaders);
  }
  return loaders;
}

function grouped<T>(fetch: (ids: string[]) => Promise<T[]>, ownerOf: (item: T) => string): DataLoader<string, T[]> {
  return new DataLoader<string, T[]>(
    async (ids) => {
      const byOwner = new Map<string, T[]>(ids.map((id) => [id, []]));
      for (const item of await fetch([...ids])) byOwner.get(ownerOf(item))?.push(item);
      return ids.map((id) => byOwner.get(id)!);
    },
    { maxBatchSize: MAX_BATCH },
  );
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
