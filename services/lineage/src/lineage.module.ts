import { type DynamicModule, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig, ConfigModule } from '@modeltrail/config';
import { EVENT_STORE, type EventStore, EventStoreModule } from '@modeltrail/eventstore';
import { PG_POOL, PostgresModule } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner, ReadModelModule } from '@modeltrail/readmodel';
import { LineageReader } from './graph/lineage.reader';
import { LineageViews } from './graph/lineage.views';
import { lineageMigrations } from './lineage.migrations';
import { LineageQueries } from './lineage.queries';
import { lineageReadModel } from './lineage.read-model';

/**
 * The lineage context (DESIGN §6), read side only: it follows the whole event store and keeps
 * the lineage graph with valid-from/valid-to positions, answers walks as of any moment,
 * timelines and causal explanations. Every replica answers queries; the graph is one
 * combined projection.
 */
@Module({})
export class LineageModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: LineageModule,
      imports: [
        ConfigModule.forRoot(config),
        PostgresModule.forRoot(),
        EventStoreModule.forRoot(),
        ReadModelModule.forRoot({ component: 'lineage', migrations: lineageMigrations, entities: [], projections: [lineageReadModel] }),
      ],
      controllers: [LineageQueries],
      providers: [
        { provide: LineageReader, inject: [PG_POOL, APP_CONFIG], useFactory: (pool: Pool, c: AppConfig) => new LineageReader(pool, c.readModelSchema) },
        {
          provide: LineageViews,
          inject: [LineageReader, EVENT_STORE, PROJECTION_RUNNERS],
          useFactory: (reader: LineageReader, store: EventStore, runners: ProjectionRunner[]) => new LineageViews(reader, store, runners[0]),
        },
      ],
      exports: [LineageViews, LineageReader],
    };
  }
}
