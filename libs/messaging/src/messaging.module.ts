import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { actorSigningKeyFromEnvironment } from './actor-auth';
import { connectBus, type ManagedBus, type MessageBus } from './bus';
import type { ConnectNatsOptions } from './nats.connection';
import { ModelTrailRpcExceptionFilter } from './rpc-exception.filter';
import { RpcClient, type RpcClientOptions } from './rpc.client';

/** Injection token of the app's MessageBus (a NATS connection, or the in-process bus). */
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
const MANAGED_NATS = Symbol('MANAGED_NATS');

class NatsShutdown implements OnApplicationShutdown {
  constructor(@Inject(MANAGED_NATS) private readonly managed: ManagedBus) {}

  async onApplicationShutdown(): Promise<void> {
    await this.managed.close();
  }
}

export interface MessagingModuleOptions {
  nats: ConnectNatsOptions;
  /**
   * The RpcClient's options. Its requests are signed with `rpc.signingKey`
   * (requireActorSigningKey(config)); absent, with the environment's key
   * (actorSigningKeyFromEnvironment: ACTOR_SIGNING_KEY, or the development key outside production).
   */
  rpc?: RpcClientOptions;
}

/**
 * `MessagingModule.forRoot({ nats })`: one NATS connection for the app (drained on shutdown),
 * an injectable RpcClient, and ModelTrailRpcExceptionFilter as a global filter so that every
 * `@MessagePattern` handler's ModelTrailError reaches the caller with its code.
 */
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        { provide: MANAGED_NATS, useFactory: () => connectBus(options.nats) },
        { provide: NATS_CONNECTION, useFactory: (managed: ManagedBus): MessageBus => managed.nc, inject: [MANAGED_NATS] },
        { provide: RpcClient, useFactory: (nc: MessageBus) => new RpcClient(nc, rpcClientOptions(options.rpc)), inject: [NATS_CONNECTION] },
        { provide: APP_FILTER, useValue: new ModelTrailRpcExceptionFilter() },
        NatsShutdown,
      ],
      exports: [NATS_CONNECTION, RpcClient],
    };
  }
}

/** Every platform process signs: a client given neither a key nor a credential signs with the environment's key. */
function rpcClientOptions(options: RpcClientOptions = {}): RpcClientOptions {
  return options.signingKey || options.credential ? options : { ...options, signingKey: actorSigningKeyFromEnvironment() };
}
