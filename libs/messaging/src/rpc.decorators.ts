import { applyDecorators, UseFilters } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import type { RpcDefinition } from '@modeltrail/contracts';
import { ModelTrailRpcExceptionFilter } from './rpc-exception.filter';

/** Extras key under which `@RpcPattern` hands the definition to NatsRpcTransport. */
export const RPC_DEFINITION_EXTRA = 'modeltrailRpc';

export interface RpcPatternOptions {
  /** Queue group for this handler (default: the transport's). */
  queue?: string;
}

/**
 * `@MessagePattern(def.subject)` plus what makes it a ModelTrail RPC: the transport validates
 * the request with `def.request` before the handler runs, and typed errors keep their code.
 */
export function RpcPattern(def: RpcDefinition, options: RpcPatternOptions = {}): MethodDecorator {
  const extras: Record<string, unknown> = { [RPC_DEFINITION_EXTRA]: def };
  if (options.queue) extras.queue = options.queue;
  return applyDecorators(MessagePattern(def.subject, extras), UseFilters(new ModelTrailRpcExceptionFilter()));
}
