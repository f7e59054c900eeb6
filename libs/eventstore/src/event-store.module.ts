import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { platformEventCatalog } from '@modeltrail/contracts';
import { PG_POOL } from '@modeltrail/postgres';
import { openEventStore } from './factory';
import type { EventStore } from './types';

/** Injection token of the process's EventStore. */
export const EVENT_STORE = Symbol('EVENT_STORE');

class EventStoreShutdown implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** The configured event store (PostgreSQL, or EventStoreDB when EVENTSTORE_URL is set) with the platform's event catalog. */
@Global()
@Module({})
export class EventStoreModule {
  static forRoot(): DynamicModule {
    return {
      module: EventStoreModule,
      providers: [
        { provide: EVENT_STORE, inject: [APP_CONFIG, PG_POOL], useFactory: (config: AppConfig, pool: Pool) => openEventStore(config, pool, platformEventCatalog()) },
        EventStoreShutdown,
      ],
      exports: [EVENT_STORE],
    };
  }
}
