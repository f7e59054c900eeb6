import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { createPool, ensureDatabase } from './database';

/** Injection token of the process's PostgreSQL pool. */
export const PG_POOL = Symbol('PG_POOL');

class PoolShutdown implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/** One pool per process, from APP_CONFIG; the database is created if it does not exist yet. */
@Global()
@Module({})
export class PostgresModule {
  static forRoot(): DynamicModule {
    return {
      module: PostgresModule,
      providers: [
        {
          provide: PG_POOL,
          inject: [APP_CONFIG],
          useFactory: async (config: AppConfig) => {
            await ensureDatabase(config.databaseUrl);
            return createPool(config.databaseUrl, { max: config.databasePoolSize, applicationName: `modeltrail-${config.serviceName}` });
          },
        },
        PoolShutdown,
      ],
      exports: [PG_POOL],
    };
  }
}
