import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { initProcessObservability, rootLogger } from '@modeltrail/observability';
import { DatasetsModule } from './datasets.module';

/**
 * Boots the datasets service as a NestJS app on the messaging port.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'datasets' });
  // JSON logs, traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, and metrics (docs/observability.md).
  const { logger } = initProcessObservability(config);
  const app = await createServiceApp(DatasetsModule.forRoot(config), config);
  app.enableShutdownHooks();
  await app.listen();
  logger.info(`datasets: serving mt.cmd.datasets.* and mt.qry.datasets.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else rootLogger().error({ stack: error instanceof Error ? error.stack : undefined }, `datasets failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
