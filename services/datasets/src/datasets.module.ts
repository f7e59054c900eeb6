import { type DynamicModule, Module } from '@nestjs/common';
import { type AppConfig, ConfigModule } from '@modeltrail/config';
import { EventStoreModule } from '@modeltrail/eventstore';
import { PostgresModule } from '@modeltrail/postgres';
import { CLOCK, type Clock, systemClock } from './clock';
import { DatasetHandlers } from './dataset/dataset.handlers';

/** The datasets bounded context (DESIGN §1): Dataset and DatasetVersion. */
@Module({})
export class DatasetsModule {
  static forRoot(config: AppConfig, clock: Clock = systemClock): DynamicModule {
    return {
      module: DatasetsModule,
      imports: [ConfigModule.forRoot(config), PostgresModule.forRoot(), EventStoreModule.forRoot()],
      controllers: [DatasetHandlers],
      providers: [{ provide: CLOCK, useValue: clock }],
    };
  }
}
