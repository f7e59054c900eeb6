import type { DynamicModule, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type AppConfig, requireActorSigningKey } from '@modeltrail/config';
import { agentCredentials } from './agent-credentials';
import { NatsRpcTransport } from './nats-rpc.transport';

export interface ServiceAppOptions {
  /** Whether agents may call some of its definitions with their own AGENT API key (checked with the access service). */
  agentsMayCall?: boolean;
}

/**
 * A service's NestJS app on the messaging port named by `config.natsUrl` (a NATS server, or the
 * in-process bus of the one-process composition): every `@RpcPattern` handler of `module` served
 * under the queue group of the service's name, signed actors required. Call `listen()` to serve.
 * The service's own `main.ts` and the one-process composition both build the app here, so
 * the two ways of running differ only in the bus.
 */
export function createServiceApp(module: DynamicModule, config: AppConfig, options: ServiceAppOptions = {}): Promise<INestMicroservice> {
  const signingKey = requireActorSigningKey(config);
  return NestFactory.createMicroservice(module, {
    strategy: new NatsRpcTransport({
      nats: { url: config.natsUrl, name: config.serviceName, user: config.natsUser, pass: config.natsPassword },
      queue: config.serviceName,
      namespace: config.natsNamespace,
      actors: options.agentsMayCall
        ? { signingKey, credentials: agentCredentials({ signingKey, actor: `service:${config.serviceName}`, namespace: config.natsNamespace, timeoutMs: config.rpcTimeoutMs }) }
        : { signingKey },
    }),
    logger: config.logLevel === 'debug' ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn', 'log'],
  });
}
