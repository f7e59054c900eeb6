import type { RpcDefinition } from './rpc';
import { z } from './schema';

/**
 * Contracts of the `monitoring` context: deployments with their frozen reference, monitors,
 * drift and performance measurements, alerts and retraining requests.
 */

export const monitoringEvents = {} as const satisfies Record<string, z.ZodType>;

export const monitoringRpc: Record<string, RpcDefinition> = {};
