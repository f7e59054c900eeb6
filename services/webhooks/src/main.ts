import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { WebhooksModule } from './webhooks.module';

/**
 * Boots the webhooks service as a NestJS app on the messaging port (any number of replicas):
 * mt.cmd.webhooks.* and mt.qry.webhooks.* from the gateway, the matcher following the event
 * store, and the delivery worker POSTing to subscribed endpoints.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'webhooks' });
  const app = await createServiceApp(WebhooksModule.forRoot(config), config);
  app.enableShutdownHooks();
  await app.listen();
  console.log(`webhooks: serving mt.cmd.webhooks.* and mt.qry.webhooks.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `webhooks failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
