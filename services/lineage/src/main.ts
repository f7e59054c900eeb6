import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { initProcessObservability, rootLogger } from '@modeltrail/observability';
import { LineageModule } from './lineage.module';

/**
 * Boots the lineage service as a NestJS app on the messaging port (any number of replicas).
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'lineage' });
  // JSON logs, traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, and metrics (docs/observability.md).
  const { logger } = initProcessObservability(config);
  const app = await createServiceApp(LineageModule.forRoot(config), config);
  app.enableShutdownHooks();
  await app.listen();
  logger.info(`lineage: serving mt.qry.lineage.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else rootLogger().error({ stack: error instanceof Error ? error.stack : undefined }, `lineage failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
