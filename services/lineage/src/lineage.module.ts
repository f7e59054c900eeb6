import { type DynamicModule, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, ConfigModule, requireLogSigningKey } from '@modeltrail/config';
import { checkpointSigner } from '@modeltrail/merkle';
import { EVENT_STORE, type EventStore, EventStoreModule } from '@modeltrail/eventstore';
import { PG_POOL, PostgresModule } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner, READ_MODEL_ORM, ReadModelModule } from '@modeltrail/readmodel';
import { AuditReports } from './audit/audit.report';
import { LineageReader } from './graph/lineage.reader';
import { LineageViews } from './graph/lineage.views';
import { lineageMigrations } from './lineage.migrations';
import { OpenLineageDelivery, OpenLineageReader } from './openlineage';
import { OpenLineageLifecycle } from './openlineage.lifecycle';
import { LineageQueries } from './lineage.queries';
import { lineageReadModel } from './lineage.read-model';
import { MerkleLogBuilder } from './log/log.builder';
import { MerkleLogLifecycle } from './log/log.lifecycle';
import { LogQueries } from './log/log.queries';
import { MerkleLogTables } from './log/log.store';
import { MerkleLogViews } from './log/log.views';

/**
 * The lineage context (docs/architecture.md: Lineage), read side only: it follows the whole event store and keeps
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
      controllers: [LineageQueries, LogQueries],
      providers: [
        { provide: LineageReader, inject: [PG_POOL, APP_CONFIG], useFactory: (pool: Pool, c: AppConfig) => new LineageReader(pool, c.readModelSchema) },
        {
          provide: LineageViews,
          inject: [LineageReader, EVENT_STORE, PROJECTION_RUNNERS],
          useFactory: (reader: LineageReader, store: EventStore, runners: ProjectionRunner[]) => new LineageViews(reader, store, runners[0]),
        },
        { provide: MerkleLogTables, inject: [PG_POOL, APP_CONFIG], useFactory: (pool: Pool, c: AppConfig) => new MerkleLogTables(pool, c.readModelSchema) },
        {
          provide: MerkleLogBuilder,
          // READ_MODEL_ORM first: its factory migrates the log's tables.
          inject: [EVENT_STORE, MerkleLogTables, READ_MODEL_ORM],
          useFactory: (store: EventStore, tables: MerkleLogTables) => {
            const logger = new Logger('MerkleLog');
            return new MerkleLogBuilder({ store, tables, onError: (error) => logger.error(`appending to the log failed, retrying: ${error instanceof Error ? error.message : String(error)}`) });
          },
        },
        {
          provide: MerkleLogViews,
          inject: [MerkleLogTables, MerkleLogBuilder, EVENT_STORE, APP_CONFIG],
          useFactory: (tables: MerkleLogTables, builder: MerkleLogBuilder, store: EventStore, c: AppConfig) =>
            new MerkleLogViews(tables, builder, store, checkpointSigner(c.lineage.logOrigin, requireLogSigningKey(c)), c.lineage.logOrigin),
        },
        MerkleLogLifecycle,
        {
          provide: AuditReports,
          inject: [LineageViews, EVENT_STORE, MerkleLogViews, MerkleLogTables],
          useFactory: (views: LineageViews, store: EventStore, log: MerkleLogViews, tables: MerkleLogTables) => new AuditReports(views, store, log, tables),
        },
        {
          provide: OpenLineageReader,
          inject: [PG_POOL, APP_CONFIG],
          useFactory: (pool: Pool, c: AppConfig) => new OpenLineageReader(pool, c.readModelSchema, { jobNamespace: c.lineage.openLineageNamespace }),
        },
        {
          provide: OpenLineageDelivery,
          // READ_MODEL_ORM first: its factory migrates the outbox.
          inject: [PG_POOL, APP_CONFIG, READ_MODEL_ORM],
          useFactory: (pool: Pool, c: AppConfig) => {
            const { openLineageUrl, openLineageFile, openLineageNamespace } = c.lineage;
            if (!openLineageUrl && !openLineageFile) return null;
            const sink = openLineageUrl ? { kind: 'http' as const, url: openLineageUrl } : { kind: 'file' as const, path: openLineageFile! };
            return new OpenLineageDelivery({ pool, schema: c.readModelSchema, sink, naming: { jobNamespace: openLineageNamespace }, logger: new Logger('OpenLineage') });
          },
        },
        OpenLineageLifecycle,
      ],
      exports: [LineageViews, LineageReader, MerkleLogViews],
    };
  }
}
