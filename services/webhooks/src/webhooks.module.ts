import { type BeforeApplicationShutdown, type DynamicModule, Inject, Injectable, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import type { Pool } from 'pg';
import { APP_CONFIG, type AppConfig, ConfigModule } from '@modeltrail/config';
import { EVENT_STORE, type EventStore, EventStoreModule } from '@modeltrail/eventstore';
import { PG_POOL, PostgresModule } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner, READ_MODEL_ORM, ReadModelModule } from '@modeltrail/readmodel';
import { CLOCK, type Clock, systemClock } from './clock';
import type { AddressPolicy } from './delivery/address-policy';
import { WebhookDelivery } from './delivery/webhook.delivery';
import { WebhookMatcher } from './matching/webhook.matcher';
import { webhooksProjection } from './read-model/webhooks.projection';
import { WebhooksReader } from './read-model/webhooks.reader';
import { ADDRESS_POLICY, WebhookHandlers } from './webhook/webhook.handlers';
import { WebhookSecrets } from './webhook/webhook.secrets';
import { webhooksMigrations } from './webhooks.migrations';
import { WebhooksQueries } from './webhooks.queries';

/** The address policy of the configuration: non-public addresses refused in production, but for WEBHOOK_ALLOWED_HOSTS. */
export function addressPolicyOf(config: Pick<AppConfig, 'env' | 'webhooks'>): AddressPolicy {
  return { blockPrivate: config.env === 'production', allowedHosts: new Set(config.webhooks.allowedHosts.map((h) => h.toLowerCase())) };
}

/** Starts the matcher and the delivery worker with the app, and stops them before it closes. */
@Injectable()
class WebhooksLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly matcher: WebhookMatcher,
    private readonly delivery: WebhookDelivery,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.matcher.start();
    this.delivery.start();
    this.logger.log(`matching events from position ${this.matcher.position}; delivering from the outbox`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.matcher.stop();
    await this.delivery.stop();
  }
}

/**
 * The webhooks bounded context: Webhook aggregates (one stream each), the `webhooks` read model,
 * the matcher that follows the store and fills the outbox, and the delivery worker that sends it.
 * Every replica answers commands and queries, matches (taking turns on the checkpoint row) and
 * delivers (claims with SKIP LOCKED).
 */
@Module({})
export class WebhooksModule {
  static forRoot(config: AppConfig, clock: Clock = systemClock): DynamicModule {
    return {
      module: WebhooksModule,
      imports: [
        ConfigModule.forRoot(config),
        PostgresModule.forRoot(),
        EventStoreModule.forRoot(),
        ReadModelModule.forRoot({ component: 'webhooks', migrations: webhooksMigrations, entities: [], projections: [webhooksProjection] }),
      ],
      controllers: [WebhookHandlers, WebhooksQueries],
      providers: [
        { provide: CLOCK, useValue: clock },
        { provide: ADDRESS_POLICY, useValue: addressPolicyOf(config) },
        {
          provide: WebhooksReader,
          inject: [PG_POOL, APP_CONFIG, EVENT_STORE, PROJECTION_RUNNERS],
          useFactory: (pool: Pool, c: AppConfig, store: EventStore, runners: ProjectionRunner[]) => new WebhooksReader(pool, c.readModelSchema, store, runners),
        },
        // READ_MODEL_ORM first: its factory migrates the tables.
        { provide: WebhookSecrets, inject: [PG_POOL, APP_CONFIG, READ_MODEL_ORM], useFactory: (pool: Pool, c: AppConfig) => new WebhookSecrets(pool, c.readModelSchema) },
        {
          provide: WebhookDelivery,
          inject: [PG_POOL, APP_CONFIG, READ_MODEL_ORM],
          useFactory: (pool: Pool, c: AppConfig) =>
            new WebhookDelivery({
              pool,
              schema: c.readModelSchema,
              policy: addressPolicyOf(c),
              timeoutMs: c.webhooks.timeoutMs,
              maxAttempts: c.webhooks.maxAttempts,
              baseDelayMs: c.webhooks.baseDelayMs,
              maxDelayMs: c.webhooks.maxDelayMs,
              maxResponseBytes: c.webhooks.maxResponseBytes,
              concurrency: c.webhooks.concurrency,
              logger: new Logger('WebhookDelivery'),
            }),
        },
        {
          provide: WebhookMatcher,
          inject: [EVENT_STORE, PG_POOL, APP_CONFIG, WebhookDelivery, READ_MODEL_ORM],
          useFactory: (store: EventStore, pool: Pool, c: AppConfig, delivery: WebhookDelivery) => {
            const logger = new Logger('WebhookMatcher');
            return new WebhookMatcher({
              store,
              pool,
              schema: c.readModelSchema,
              onDeliveries: () => delivery.wake(),
              onError: (error) => logger.error(`matching failed, retrying: ${error instanceof Error ? error.message : String(error)}`),
            });
          },
        },
        WebhooksLifecycle,
      ],
    };
  }
}
