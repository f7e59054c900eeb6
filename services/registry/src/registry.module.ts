import { type DynamicModule, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig, ConfigModule } from '@modeltrail/config';
import { CommandHandler } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore, EventStoreModule } from '@modeltrail/eventstore';
import { MessagingModule, RpcClient } from '@modeltrail/messaging';
import { PG_POOL, PostgresModule } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner, ReadModelModule } from '@modeltrail/readmodel';
import { CLOCK, type Clock, systemClock } from './clock';
import { modelVersionDecider } from './model-version/model-version.decider';
import { ModelVersionHandlers } from './model-version/model-version.handlers';
import { modelDecider } from './model/model.decider';
import { ModelHandlers } from './model/model.handlers';
import { registryEntities } from './read-model/registry.entities';
import { registryReadModel } from './read-model/registry.read-model';
import { RegistryReader } from './read-model/registry.reader';
import { RegistryViews } from './read-model/registry.views';
import { MODEL_COMMANDS, MODEL_VERSION_COMMANDS, type ModelCommands, type ModelVersionCommands } from './registry.commands';
import { registryMigrations } from './registry.migrations';
import { RegistryQueries } from './registry.queries';
import { NatsSourcesClient, SOURCES_CLIENT, type SourcesClient } from './sources.client';

/**
 * The registry bounded context (docs/architecture.md: Bounded contexts): registered models, their versions made from
 * completed runs, promotion requests with their gates, and aliases with their full history.
 * Every replica answers commands and queries; the read model is one combined projection.
 *
 * Providers other code may use: RegistryViews, RegistryReader, and the tokens CLOCK,
 * MODEL_COMMANDS, MODEL_VERSION_COMMANDS, SOURCES_CLIENT.
 */
@Module({})
export class RegistryModule {
  static forRoot(config: AppConfig, clock: Clock = systemClock): DynamicModule {
    return {
      module: RegistryModule,
      imports: [
        ConfigModule.forRoot(config),
        PostgresModule.forRoot(),
        EventStoreModule.forRoot(),
        MessagingModule.forRoot({
          nats: { url: config.natsUrl, name: `${config.serviceName}-client`, user: config.natsUser, pass: config.natsPassword },
          rpc: { timeoutMs: config.rpcTimeoutMs, namespace: config.natsNamespace },
        }),
        ReadModelModule.forRoot({ component: 'registry', migrations: registryMigrations, entities: registryEntities, projections: [registryReadModel] }),
      ],
      controllers: [ModelHandlers, ModelVersionHandlers, RegistryQueries],
      providers: [
        { provide: CLOCK, useValue: clock },
        { provide: RegistryReader, inject: [PG_POOL, APP_CONFIG], useFactory: (pool: Pool, c: AppConfig) => new RegistryReader(pool, c.readModelSchema) },
        {
          provide: RegistryViews,
          inject: [RegistryReader, EVENT_STORE, PROJECTION_RUNNERS],
          useFactory: (reader: RegistryReader, store: EventStore, runners: ProjectionRunner[]) => new RegistryViews(reader, store, runners),
        },
        { provide: MODEL_COMMANDS, inject: [EVENT_STORE], useFactory: (store: EventStore): ModelCommands => new CommandHandler(store, modelDecider) },
        { provide: MODEL_VERSION_COMMANDS, inject: [EVENT_STORE], useFactory: (store: EventStore): ModelVersionCommands => new CommandHandler(store, modelVersionDecider) },
        { provide: SOURCES_CLIENT, inject: [RpcClient], useFactory: (rpc: RpcClient): SourcesClient => new NatsSourcesClient(rpc) },
      ],
      exports: [RegistryViews, RegistryReader],
    };
  }
}
