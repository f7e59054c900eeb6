import { type DynamicModule, Module } from '@nestjs/common';
import { type AppConfig, ConfigModule } from '@modeltrail/config';
import { EventStoreModule } from '@modeltrail/eventstore';
import { PostgresModule } from '@modeltrail/postgres';
import { ReadModelModule } from '@modeltrail/readmodel';
import { CLOCK, type Clock, systemClock } from './clock';
import { DatasetRowSchema } from './dataset/dataset.entity';
import { DatasetHandlers } from './dataset/dataset.handlers';
import { datasetProjection } from './dataset/dataset.projection';
import { datasetsMigrations } from './datasets.migrations';
import { DatasetsQueries } from './datasets.queries';

/** The datasets bounded context (DESIGN §1): Dataset and DatasetVersion. */
@Module({})
export class DatasetsModule {
  static forRoot(config: AppConfig, clock: Clock = systemClock): DynamicModule {
    return {
      module: DatasetsModule,
      imports: [
        ConfigModule.forRoot(config),
        PostgresModule.forRoot(),
        EventStoreModule.forRoot(),
        ReadModelModule.forRoot({ component: 'datasets', migrations: datasetsMigrations, entities: [DatasetRowSchema], projections: [datasetProjection] }),
      ],
      controllers: [DatasetHandlers, DatasetsQueries],
      providers: [{ provide: CLOCK, useValue: clock }],
    };
  }
}
