import type DataLoader from 'dataloader';
import { type ModelVersionView, type ModelView, type PromotionRequestView, registryRpc } from '@modeltrail/contracts';
import type { GatewayContext } from '../context/gateway-context';
import { byId, grouped } from '../context/loaders';

/** DataLoaders of the registry's entities, one set per GraphQL operation. */
export interface RegistryLoaders {
  models: DataLoader<string, ModelView>;
  modelVersions: DataLoader<string, ModelVersionView>;
  promotionRequests: DataLoader<string, PromotionRequestView>;
  /** Versions made from each run, oldest first. */
  runModelVersions: DataLoader<string, ModelVersionView[]>;
}

/**
 * The registry's loaders of this operation, kept with its other loaders (so a subscription that
 * clears them resolves each event with fresh lookups): the lookups of one tick are one batch
 * request to the registry (no N+1 over NATS), and an entity asked for twice is fetched once.
 */
export function registryLoaders(ctx: Pick<GatewayContext, 'loaders' | 'rpc'>): RegistryLoaders {
  const { loaders, rpc } = ctx;
  return {
    get models() {
      return loaders.loader('registry.models', () =>
        byId(async (modelIds) => (await rpc.query(registryRpc.getModels, { modelIds })).items, (m) => m.modelId, (id) => `model ${id} does not exist`),
      );
    },
    get modelVersions() {
      return loaders.loader('registry.modelVersions', () =>
        byId(
          async (modelVersionIds) => (await rpc.query(registryRpc.getModelVersions, { modelVersionIds })).items,
          (v) => v.modelVersionId,
          (id) => `model version ${id} does not exist`,
        ),
      );
    },
    get promotionRequests() {
      return loaders.loader('registry.promotionRequests', () =>
        byId(
          async (requestIds) => (await rpc.query(registryRpc.getPromotionRequests, { requestIds })).items,
          (r) => r.requestId,
          (id) => `promotion request ${id} does not exist`,
        ),
      );
    },
    get runModelVersions() {
      return loaders.loader('registry.runModelVersions', () => grouped(async (runIds) => (await rpc.query(registryRpc.listRunModelVersions, { runIds })).items, (v) => v.runId));
    },
  };
}
