import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { initProcessObservability, rootLogger } from '@modeltrail/observability';
import { AccessModule } from './access.module';

/**
 * Boots the access service as a NestJS app on the messaging port (any number of replicas). Only
 * signed callers (the gateway, the services checking agent credentials): no definition of
 * accessRpc admits an agent's own credential.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'access' });
  // JSON logs, traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, and metrics (docs/observability.md).
  const { logger } = initProcessObservability(config);
  const app = await createServiceApp(AccessModule.forRoot(config), config);
  app.enableShutdownHooks();
  await app.listen();
  logger.info(`access: serving mt.cmd.access.* and mt.qry.access.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else rootLogger().error({ stack: error instanceof Error ? error.stack : undefined }, `access failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
