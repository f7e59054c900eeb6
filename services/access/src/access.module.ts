import { type DynamicModule, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig, ConfigModule } from '@modeltrail/config';
import { EVENT_STORE, type EventStore, EventStoreModule } from '@modeltrail/eventstore';
import { PG_POOL, PostgresModule } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner, ReadModelModule } from '@modeltrail/readmodel';
import { accessMigrations } from './access.migrations';
import { AccessQueries } from './access.queries';
import { ApiKeyHandlers } from './api-key/api-key.handlers';
import { CLOCK, type Clock, systemClock } from './clock';
import { ScopeGrantsHandlers } from './grants/scope-grants.handlers';
import { accessProjection } from './read-model/access.projection';
import { AccessReader } from './read-model/access.reader';
import { AccessViews } from './read-model/access.views';

/**
 * The access bounded context: API keys (one stream each) and the roles of principals per
 * project and on the platform (one stream per scope), with the gateway's hot-path reads
 * (AuthenticateApiKey, PrincipalAccess). Every replica answers commands and queries; the read
 * model is one projection.
 */
@Module({})
export class AccessModule {
  static forRoot(config: AppConfig, clock: Clock = systemClock): DynamicModule {
    return {
      module: AccessModule,
      imports: [
        ConfigModule.forRoot(config),
        PostgresModule.forRoot(),
        EventStoreModule.forRoot(),
        ReadModelModule.forRoot({ component: 'access', migrations: accessMigrations, entities: [], projections: [accessProjection] }),
      ],
      controllers: [ApiKeyHandlers, ScopeGrantsHandlers, AccessQueries],
      providers: [
        { provide: CLOCK, useValue: clock },
        { provide: AccessReader, inject: [PG_POOL, APP_CONFIG], useFactory: (pool: Pool, c: AppConfig) => new AccessReader(pool, c.readModelSchema) },
        {
          provide: AccessViews,
          inject: [AccessReader, EVENT_STORE, PROJECTION_RUNNERS],
          useFactory: (reader: AccessReader, store: EventStore, runners: ProjectionRunner[]) => new AccessViews(reader, store, runners),
        },
      ],
      exports: [AccessViews, AccessReader],
    };
  }
}
