import { type DynamicModule, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { ArtifactStore } from '@modeltrail/artifacts';
import { APP_CONFIG, type AppConfig, ConfigModule } from '@modeltrail/config';
import { CommandHandler } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore, EventStoreModule } from '@modeltrail/eventstore';
import { MessagingModule, RpcClient } from '@modeltrail/messaging';
import { PG_POOL, PostgresModule } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner, ReadModelModule } from '@modeltrail/readmodel';
import { ReadableRoots } from '@modeltrail/tabular';
import { BatchReader } from './batch/batch.reader';
import { ReferenceStore } from './batch/reference.store';
import { CLOCK, type Clock, systemClock } from './clock';
import { deploymentDecider } from './deployment/deployment.decider';
import { DEPLOYMENT_COMMANDS, type DeploymentCommands, DeploymentHandlers } from './deployment/deployment.handlers';
import { MONITOR_COMMANDS, type MonitorCommands } from './monitor/monitor.commands';
import { monitorDecider } from './monitor/monitor.decider';
import { MonitorHandlers } from './monitor/monitor.handlers';
import { PredictionHandlers } from './monitor/prediction.handlers';
import { monitoringMigrations } from './monitoring.migrations';
import { MonitoringQueries } from './monitoring.queries';
import { PredictionStore } from './performance';
import { NatsPlatformClients, PLATFORM_CLIENTS, type PlatformClients } from './platform.clients';
import { monitoringProjection } from './read-model/monitoring.projection';
import { MonitoringReader } from './read-model/monitoring.reader';
import { MonitoringViews } from './read-model/monitoring.views';

/** Injection token of the artifact store the frozen references live in. */
export const ARTIFACT_STORE = Symbol('ARTIFACT_STORE');

/**
 * The monitoring bounded context (docs/architecture.md: Bounded contexts): deployments with their frozen reference, and
 * one monitor each (drift and performance windows, alerts, retraining). Every replica answers
 * every command and query; monitors decide on their own streams, so replicas need no leader.
 *
 * It reads files under DATA_ROOTS and the artifact root (batches, training data), stores
 * references in the artifact store, and asks the registry, experiments, datasets and scheduler
 * contexts over NATS (PlatformClients); the scheduler queues the jobs of RetrainRequested.
 */
@Module({})
export class MonitoringModule {
  static forRoot(config: AppConfig, clock: Clock = systemClock): DynamicModule {
    return {
      module: MonitoringModule,
      imports: [
        ConfigModule.forRoot(config),
        PostgresModule.forRoot(),
        EventStoreModule.forRoot(),
        MessagingModule.forRoot({
          nats: { url: config.natsUrl, name: `${config.serviceName}-client`, user: config.natsUser, pass: config.natsPassword },
          rpc: { timeoutMs: config.rpcTimeoutMs, namespace: config.natsNamespace },
        }),
        ReadModelModule.forRoot({ component: 'monitoring', migrations: monitoringMigrations, entities: [], projections: [monitoringProjection] }),
      ],
      controllers: [DeploymentHandlers, MonitorHandlers, PredictionHandlers, MonitoringQueries],
      providers: [
        { provide: CLOCK, useValue: clock },
        { provide: ARTIFACT_STORE, inject: [APP_CONFIG], useFactory: (c: AppConfig) => new ArtifactStore(c.artifactRoot) },
        // Files it reads: DATA_ROOTS, and the artifact store (where the datasets service writes cleaned and split data).
        { provide: BatchReader, inject: [APP_CONFIG, ARTIFACT_STORE], useFactory: (c: AppConfig, a: ArtifactStore) => new BatchReader(new ReadableRoots([...c.dataRoots, a.root], 'monitoring')) },
        { provide: ReferenceStore, inject: [ARTIFACT_STORE], useFactory: (a: ArtifactStore) => new ReferenceStore(a) },
        { provide: PredictionStore, inject: [APP_CONFIG], useFactory: (c: AppConfig) => new PredictionStore(c.readModelSchema) },
        { provide: PLATFORM_CLIENTS, inject: [RpcClient], useFactory: (rpc: RpcClient): PlatformClients => new NatsPlatformClients(rpc) },
        { provide: DEPLOYMENT_COMMANDS, inject: [EVENT_STORE], useFactory: (store: EventStore): DeploymentCommands => new CommandHandler(store, deploymentDecider) },
        // Inside a monitor's append, the alert names its window and the retraining its alert as their cause (the decider's causedBy).
        { provide: MONITOR_COMMANDS, inject: [EVENT_STORE], useFactory: (store: EventStore): MonitorCommands => new CommandHandler(store, monitorDecider) },
        { provide: MonitoringReader, inject: [PG_POOL, APP_CONFIG], useFactory: (pool: Pool, c: AppConfig) => new MonitoringReader(pool, c.readModelSchema) },
        {
          provide: MonitoringViews,
          inject: [MonitoringReader, EVENT_STORE, PROJECTION_RUNNERS],
          useFactory: (reader: MonitoringReader, store: EventStore, runners: ProjectionRunner[]) => new MonitoringViews(reader, store, runners),
        },
      ],
      exports: [MonitoringViews, ReferenceStore],
    };
  }
}
