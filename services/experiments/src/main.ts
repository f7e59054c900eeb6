import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { initProcessObservability, rootLogger } from '@modeltrail/observability';
import { ExperimentsModule } from './experiments.module';

/**
 * Boots the experiments service as a NestJS app on the messaging port. Signed actors only, but
 * agents may report into the runs of their jobs with their AGENT API key.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'experiments' });
  // JSON logs, traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, and metrics (docs/observability.md).
  const { logger } = initProcessObservability(config);
  const app = await createServiceApp(ExperimentsModule.forRoot(config), config, { agentsMayCall: true });
  app.enableShutdownHooks();
  await app.listen();
  logger.info(`experiments: serving mt.cmd.experiments.* and mt.qry.experiments.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else rootLogger().error({ stack: error instanceof Error ? error.stack : undefined }, `experiments failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
