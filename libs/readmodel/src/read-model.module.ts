import { type BeforeApplicationShutdown, type DynamicModule, Global, Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { EntitySchema, MikroORM } from '@mikro-orm/postgresql';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { type Migration, PG_POOL } from '@modeltrail/postgres';
import { openReadModelOrm } from './orm';
import { migrateReadModel, ProjectionRunner } from './projection';
import type { Projection } from './set-projection';

/** Injection token of the service's read-model MikroORM. */
export const READ_MODEL_ORM = Symbol('READ_MODEL_ORM');
/** Injection token of the service's projection runners (tests await them with `waitFor`). */
export const PROJECTION_RUNNERS = Symbol('PROJECTION_RUNNERS');

export interface ReadModelModuleOptions {
  /** Names the service's migrations in schema_migrations. */
  component: string;
  migrations: ReadonlyArray<Migration>;
  entities: ReadonlyArray<EntitySchema<any>>;
  projections: ReadonlyArray<Projection<any>>;
}

class ReadModelLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('ReadModel');

  constructor(
    @Inject(PROJECTION_RUNNERS) private readonly runners: ProjectionRunner[],
    @Inject(READ_MODEL_ORM) private readonly orm: MikroORM,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const runner of this.runners) await runner.start();
    this.logger.log(`projections following the event store: ${this.runners.map((r) => `${r.name}@${r.position}`).join(', ')}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.orm.close();
  }
}

/**
 * A service's read models: its schema migrated at start-up (plain SQL, never synchronised),
 * MikroORM over it for the service's queries, and one ProjectionRunner per set-based projection
 * (writing through the service's pool), started on bootstrap and stopped before shutdown.
 */
@Global()
@Module({})
export class ReadModelModule {
  static forRoot(options: ReadModelModuleOptions): DynamicModule {
    return {
      module: ReadModelModule,
      providers: [
        {
          provide: READ_MODEL_ORM,
          inject: [APP_CONFIG, PG_POOL],
          useFactory: async (config: AppConfig, pool: Pool) => {
            await migrateReadModel(pool, config.readModelSchema, options.component, options.migrations);
            return openReadModelOrm({ databaseUrl: config.databaseUrl, schema: config.readModelSchema, entities: options.entities, poolSize: config.databasePoolSize, debug: config.logLevel === 'debug' });
          },
        },
        {
          provide: PROJECTION_RUNNERS,
          // READ_MODEL_ORM first: its factory migrates the tables the runners write.
          inject: [APP_CONFIG, EVENT_STORE, PG_POOL, READ_MODEL_ORM],
          useFactory: (config: AppConfig, store: EventStore, pool: Pool) => {
            const logger = new Logger('Projection');
            return options.projections.map(
              (projection) =>
                new ProjectionRunner({
                  store,
                  pool,
                  schema: config.readModelSchema,
                  projection,
                  onError: (error) => logger.error(`${projection.name} failed, retrying: ${error instanceof Error ? error.message : String(error)}`),
                }),
            );
          },
        },
        ReadModelLifecycle,
      ],
      exports: [READ_MODEL_ORM, PROJECTION_RUNNERS],
    };
  }
}
