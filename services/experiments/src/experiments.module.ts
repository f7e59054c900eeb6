import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig, ConfigModule, requireActorSigningKey } from '@modeltrail/config';
import { EventStoreModule } from '@modeltrail/eventstore';
import { type MessageBus, MessagingModule, NATS_CONNECTION, RpcClient } from '@modeltrail/messaging';
import { createPool, PG_POOL, PostgresModule } from '@modeltrail/postgres';
import { ReadModelModule } from '@modeltrail/readmodel';
import { CLOCK, type Clock, systemClock } from './clock';
import { ExperimentHandlers } from './experiment/experiment.handlers';
import { experimentsMigrations } from './experiments.migrations';
import { ExperimentsQueries } from './experiments.queries';
import { EXPERIMENTS_POOL, MetricStore } from './metrics/metric.store';
import { RunTelemetryPublisher } from './metrics/run-telemetry.publisher';
import { ProjectHandlers } from './project/project.handlers';
import { experimentsEntities } from './read-model/experiments.entities';
import { experimentsProjection } from './read-model/experiments.projection';
import { RunReader } from './read-model/run.reader';
import { AGENT_ASSIGNMENTS, type AgentAssignments, SchedulerAgentAssignments } from './run/agent-assignments';
import { DATASET_VERSION_DIRECTORY, NatsDatasetVersionDirectory } from './run/dataset-version.directory';
import { RunHandlers } from './run/run.handlers';

class ExperimentsPoolShutdown implements OnApplicationShutdown {
  constructor(@Inject(EXPERIMENTS_POOL) private readonly pool: Pool) {}
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/** The experiments bounded context (docs/architecture.md: Bounded contexts): Project, Experiment, Run and the runs' metrics. */
@Module({})
export class ExperimentsModule {
  /**
   * `options.agentAssignments`: which jobs an agent holds (default: asked of the scheduler,
   * SchedulerAgentAssignments); tests without a scheduler give their own.
   */
  static forRoot(config: AppConfig, clock: Clock = systemClock, options: { agentAssignments?: AgentAssignments } = {}): DynamicModule {
    return {
      module: ExperimentsModule,
      imports: [
        ConfigModule.forRoot(config),
        PostgresModule.forRoot(),
        EventStoreModule.forRoot(),
        MessagingModule.forRoot({
          nats: { url: config.natsUrl, name: `${config.serviceName}-client`, user: config.natsUser, pass: config.natsPassword },
          rpc: { timeoutMs: config.rpcTimeoutMs, namespace: config.natsNamespace, signingKey: requireActorSigningKey(config) },
        }),
        ReadModelModule.forRoot({ component: 'experiments', migrations: experimentsMigrations, entities: experimentsEntities, projections: [experimentsProjection] }),
      ],
      controllers: [ProjectHandlers, ExperimentHandlers, RunHandlers, ExperimentsQueries],
      providers: [
        { provide: CLOCK, useValue: clock },
        {
          provide: EXPERIMENTS_POOL,
          // After PG_POOL, whose factory creates the database when it is missing.
          inject: [APP_CONFIG, PG_POOL],
          useFactory: (c: AppConfig) => createPool(c.databaseUrl, { max: c.databasePoolSize, applicationName: `modeltrail-${c.serviceName}-metrics` }),
        },
        ExperimentsPoolShutdown,
        { provide: MetricStore, inject: [EXPERIMENTS_POOL, APP_CONFIG], useFactory: (pool: Pool, c: AppConfig) => new MetricStore(pool, c.readModelSchema) },
        { provide: RunReader, inject: [EXPERIMENTS_POOL, APP_CONFIG, MetricStore], useFactory: (pool: Pool, c: AppConfig, metrics: MetricStore) => new RunReader(pool, c.readModelSchema, metrics) },
        { provide: RunTelemetryPublisher, inject: [NATS_CONNECTION, APP_CONFIG], useFactory: (nc: MessageBus, c: AppConfig) => new RunTelemetryPublisher(nc, c.natsNamespace) },
        { provide: DATASET_VERSION_DIRECTORY, inject: [RpcClient], useFactory: (rpc: RpcClient) => new NatsDatasetVersionDirectory(rpc) },
        {
          provide: AGENT_ASSIGNMENTS,
          inject: [RpcClient],
          useFactory: (rpc: RpcClient): AgentAssignments => options.agentAssignments ?? new SchedulerAgentAssignments(rpc, { actor: `service:${config.serviceName}` }),
        },
      ],
    };
  }
}
