import { type DynamicModule, Module } from '@nestjs/common';
import { ArtifactStore } from '@modeltrail/artifacts';
import { APP_CONFIG, type AppConfig, ConfigModule } from '@modeltrail/config';
import { EventStoreModule } from '@modeltrail/eventstore';
import { PostgresModule } from '@modeltrail/postgres';
import { ReadModelModule } from '@modeltrail/readmodel';
import { ReadableRoots } from '@modeltrail/tabular';
import { CLOCK, type Clock, systemClock } from './clock';
import { DatasetRowSchema } from './dataset/dataset.entity';
import { DatasetHandlers } from './dataset/dataset.handlers';
import { datasetsReadModel } from './datasets.read-model';
import { ARTIFACT_STORE, DatasetPreparation } from './dataset-version/dataset-preparation.service';
import { DatasetSplitRowSchema, DatasetValidationRowSchema, DatasetVersionRowSchema } from './dataset-version/dataset-version.entity';
import { DatasetVersionHandlers } from './dataset-version/dataset-version.handlers';
import { DatasetVersionService, READABLE_ROOTS } from './dataset-version/dataset-version.service';
import { datasetsMigrations } from './datasets.migrations';
import { DatasetsQueries } from './datasets.queries';

/** The datasets bounded context (docs/architecture.md: Bounded contexts): Dataset and DatasetVersion. */
@Module({})
export class DatasetsModule {
  static forRoot(config: AppConfig, clock: Clock = systemClock): DynamicModule {
    return {
      module: DatasetsModule,
      imports: [
        ConfigModule.forRoot(config),
        PostgresModule.forRoot(),
        EventStoreModule.forRoot(),
        ReadModelModule.forRoot({
          component: 'datasets',
          migrations: datasetsMigrations,
          entities: [DatasetRowSchema, DatasetVersionRowSchema, DatasetValidationRowSchema, DatasetSplitRowSchema],
          projections: [datasetsReadModel],
        }),
      ],
      controllers: [DatasetHandlers, DatasetVersionHandlers, DatasetsQueries],
      providers: [
        { provide: CLOCK, useValue: clock },
        { provide: ARTIFACT_STORE, inject: [APP_CONFIG], useFactory: (c: AppConfig) => new ArtifactStore(c.artifactRoot) },
        // Files it reads: DATA_ROOTS, and what it wrote itself into the artifact store.
        { provide: READABLE_ROOTS, inject: [APP_CONFIG, ARTIFACT_STORE], useFactory: (c: AppConfig, a: ArtifactStore) => new ReadableRoots([...c.dataRoots, a.root], 'datasets') },
        DatasetVersionService,
        DatasetPreparation,
      ],
    };
  }
}
