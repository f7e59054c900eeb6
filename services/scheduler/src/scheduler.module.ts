import { type BeforeApplicationShutdown, type DynamicModule, Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig, ConfigModule, requireActorSigningKey } from '@modeltrail/config';
import { CommandHandler } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore, EventStoreModule } from '@modeltrail/eventstore';
import { type MessageBus, MessagingModule, NATS_CONNECTION, RpcClient } from '@modeltrail/messaging';
import { PG_POOL, PostgresModule } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner, ReadModelModule } from '@modeltrail/readmodel';
import { agentDecider } from './agent/agent.decider';
import { AGENT_COMMANDS, type AgentCommands, AgentHandlers, SERVICE_STARTED_AT } from './agent/agent.handlers';
import { LivenessTable } from './agent/liveness';
import { LivenessMonitor } from './agent/liveness.monitor';
import { CLOCK, type Clock, systemClock } from './clock';
import { EXPERIMENTS_CLIENT, type ExperimentsClient, NatsExperimentsClient } from './experiments.client';
import { JobLogStore } from './job/job-log.store';
import { JobCommands } from './job/job.commands';
import { JobHandlers } from './job/job.handlers';
import { SchedulerLeadership } from './leadership/scheduler.leadership';
import { PlacementLoop } from './placement/placement.loop';
import { SchedulerReactor } from './reactor/scheduler.reactor';
import { schedulerEntities } from './read-model/scheduler.entities';
import { schedulerProjection } from './read-model/scheduler.projection';
import { SchedulerReader } from './read-model/scheduler.reader';
import { SchedulerViews } from './read-model/scheduler.views';
import { schedulerMigrations } from './scheduler.migrations';
import { SCHEDULER_OPTIONS, type SchedulerOptions, schedulerOptions } from './scheduler.options';
import { SchedulerQueries } from './scheduler.queries';
import { SchedulerSignals } from './signals';
import { SWEEP_COMMANDS, type SweepCommands, SweepHandlers } from './sweep/sweep.handlers';
import { sweepDecider } from './sweep/sweep.decider';
import { JobStatusPublisher } from './telemetry/job-status.publisher';
import { QueueDepthGauge } from './telemetry/queue-depth.gauge';

class SchedulerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(SchedulerLeadership) private readonly leadership: SchedulerLeadership,
    @Inject(JobStatusPublisher) private readonly status: JobStatusPublisher,
  ) {}

  onApplicationBootstrap(): void {
    this.leadership.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.leadership.stop();
    await this.status.flush();
  }
}

/**
 * The scheduler bounded context (docs/architecture.md: Bounded contexts, Training jobs and agents): training jobs, the agents that run them and
 * hyper-parameter sweeps. Every replica answers commands and queries; the replica holding the
 * leadership lock also places jobs, judges agents' leases and reacts to job ends (see
 * SchedulerLeadership).
 *
 * Providers other code may use: SchedulerLeadership (isLeader, whenLeader), PlacementLoop
 * (trigger, settle, stats), SchedulerReactor (waitFor), LivenessMonitor (check), JobCommands
 * (the job command loop), SchedulerViews, SchedulerReader, LivenessTable, JobLogStore, and the
 * tokens CLOCK, SCHEDULER_OPTIONS, AGENT_COMMANDS, SWEEP_COMMANDS, EXPERIMENTS_CLIENT.
 */
@Module({})
export class SchedulerModule {
  static forRoot(config: AppConfig, clock: Clock = systemClock, options: Partial<SchedulerOptions> = {}): DynamicModule {
    const timings = schedulerOptions(config.scheduler.leaseMs, options);
    return {
      module: SchedulerModule,
      imports: [
        ConfigModule.forRoot(config),
        PostgresModule.forRoot(),
        EventStoreModule.forRoot(),
        MessagingModule.forRoot({
          nats: { url: config.natsUrl, name: `${config.serviceName}-client`, user: config.natsUser, pass: config.natsPassword },
          rpc: { timeoutMs: config.rpcTimeoutMs, namespace: config.natsNamespace, signingKey: requireActorSigningKey(config) },
        }),
        ReadModelModule.forRoot({ component: 'scheduler', migrations: schedulerMigrations, entities: schedulerEntities, projections: [schedulerProjection] }),
      ],
      controllers: [JobHandlers, AgentHandlers, SweepHandlers, SchedulerQueries],
      providers: [
        { provide: CLOCK, useValue: clock },
        { provide: SCHEDULER_OPTIONS, useValue: timings },
        { provide: SERVICE_STARTED_AT, useFactory: () => clock.now() },
        QueueDepthGauge,
        { provide: SchedulerReader, inject: [PG_POOL, APP_CONFIG], useFactory: (pool: Pool, c: AppConfig) => new SchedulerReader(pool, c.readModelSchema) },
        { provide: LivenessTable, inject: [PG_POOL, APP_CONFIG], useFactory: (pool: Pool, c: AppConfig) => new LivenessTable(pool, c.readModelSchema, c.scheduler.heartbeatMs / 2) },
        { provide: JobLogStore, inject: [PG_POOL, APP_CONFIG], useFactory: (pool: Pool, c: AppConfig) => new JobLogStore(pool, c.readModelSchema) },
        { provide: JobStatusPublisher, inject: [NATS_CONNECTION, APP_CONFIG], useFactory: (nc: MessageBus, c: AppConfig) => JobStatusPublisher.create(nc, c.telemetryStream, c.natsNamespace, c.jetstreamReplicas) },
        { provide: SchedulerSignals, inject: [NATS_CONNECTION, APP_CONFIG], useFactory: (nc: MessageBus, c: AppConfig) => new SchedulerSignals(nc, c.natsNamespace) },
        {
          provide: JobCommands,
          inject: [EVENT_STORE, JobStatusPublisher, SchedulerSignals],
          useFactory: (store: EventStore, status: JobStatusPublisher, signals: SchedulerSignals) => new JobCommands(store, status, signals),
        },
        { provide: AGENT_COMMANDS, inject: [EVENT_STORE], useFactory: (store: EventStore): AgentCommands => new CommandHandler(store, agentDecider) },
        { provide: SWEEP_COMMANDS, inject: [EVENT_STORE], useFactory: (store: EventStore): SweepCommands => new CommandHandler(store, sweepDecider) },
        { provide: EXPERIMENTS_CLIENT, inject: [RpcClient], useFactory: (rpc: RpcClient): ExperimentsClient => new NatsExperimentsClient(rpc) },
        {
          provide: SchedulerViews,
          inject: [SchedulerReader, EVENT_STORE, PROJECTION_RUNNERS, LivenessTable],
          useFactory: (reader: SchedulerReader, store: EventStore, runners: ProjectionRunner[], liveness: LivenessTable) => new SchedulerViews(reader, store, runners, liveness),
        },
        {
          provide: PlacementLoop,
          inject: [EVENT_STORE, PROJECTION_RUNNERS, SchedulerReader, JobCommands, SchedulerSignals, CLOCK, APP_CONFIG],
          useFactory: (store: EventStore, runners: ProjectionRunner[], reader: SchedulerReader, jobs: JobCommands, signals: SchedulerSignals, c: Clock, app: AppConfig) =>
            new PlacementLoop(store, runners, reader, jobs, signals, c, timings, app.scheduler.leaseMs),
        },
        {
          provide: LivenessMonitor,
          inject: [SchedulerReader, LivenessTable, AGENT_COMMANDS, JobCommands, CLOCK, APP_CONFIG],
          useFactory: (reader: SchedulerReader, liveness: LivenessTable, agents: AgentCommands, jobs: JobCommands, c: Clock, app: AppConfig) =>
            new LivenessMonitor(reader, liveness, agents, jobs, c, app.scheduler.leaseMs, timings.livenessCheckMs),
        },
        {
          provide: SchedulerReactor,
          inject: [EVENT_STORE, PG_POOL, APP_CONFIG, JobCommands, SWEEP_COMMANDS, EXPERIMENTS_CLIENT, CLOCK, PROJECTION_RUNNERS],
          // After PROJECTION_RUNNERS, whose module migrates the tables the reactor writes.
          useFactory: (store: EventStore, pool: Pool, app: AppConfig, jobs: JobCommands, sweeps: SweepCommands, experiments: ExperimentsClient, c: Clock) =>
            new SchedulerReactor(store, pool, app.readModelSchema, jobs, sweeps, experiments, c, timings.reactorRetryMs, app.scheduler.workingDirRoots),
        },
        {
          provide: SchedulerLeadership,
          inject: [APP_CONFIG, PlacementLoop, LivenessMonitor, SchedulerReactor, CLOCK],
          useFactory: (app: AppConfig, placement: PlacementLoop, monitor: LivenessMonitor, reactor: SchedulerReactor, c: Clock) =>
            new SchedulerLeadership(app.databaseUrl, leaderLockName(app), [placement, monitor, reactor], c, timings.leadershipRetryMs),
        },
        SchedulerLifecycle,
      ],
      exports: [SchedulerLeadership, PlacementLoop, SchedulerReactor, LivenessMonitor, JobCommands, SchedulerViews, SchedulerReader, LivenessTable, JobLogStore],
    };
  }
}

/** One leader per event store and read model: installations sharing a database do not share a leader. */
export function leaderLockName(config: Pick<AppConfig, 'eventStoreSchema' | 'readModelSchema' | 'eventStoreUrl'>): string {
  return `scheduler:${config.eventStoreUrl ? 'esdb' : config.eventStoreSchema}:${config.readModelSchema}`;
}
