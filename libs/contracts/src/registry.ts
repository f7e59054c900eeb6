import type { RpcDefinition } from './rpc';
import { z } from './schema';

/**
 * Contracts of the `registry` context: registered models, their versions, promotion requests
 * with their gates, and aliases.
 */

export const registryEvents = {} as const satisfies Record<string, z.ZodType>;

export const registryRpc: Record<string, RpcDefinition> = {};
