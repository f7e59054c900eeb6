import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { initProcessObservability, rootLogger } from '@modeltrail/observability';
import { WebhooksModule } from './webhooks.module';

/**
 * Boots the webhooks service as a NestJS app on the messaging port (any number of replicas):
 * mt.cmd.webhooks.* and mt.qry.webhooks.* from the gateway, the matcher following the event
 * store, and the delivery worker POSTing to subscribed endpoints.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'webhooks' });
  // JSON logs, traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, and metrics (docs/observability.md).
  const { logger } = initProcessObservability(config);
  const app = await createServiceApp(WebhooksModule.forRoot(config), config);
  app.enableShutdownHooks();
  await app.listen();
  logger.info(`webhooks: serving mt.cmd.webhooks.* and mt.qry.webhooks.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else rootLogger().error({ stack: error instanceof Error ? error.stack : undefined }, `webhooks failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
