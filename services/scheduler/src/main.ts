import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { initProcessObservability, rootLogger } from '@modeltrail/observability';
import { SchedulerModule } from './scheduler.module';

/**
 * Boots the scheduler service as a NestJS app on the messaging port (any number of replicas; one
 * leads, see SchedulerLeadership). Signed actors only, but agents call their own reports with
 * their AGENT API key.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'scheduler' });
  // JSON logs, traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, and metrics (docs/observability.md).
  const { logger } = initProcessObservability(config);
  const app = await createServiceApp(SchedulerModule.forRoot(config), config, { agentsMayCall: true });
  app.enableShutdownHooks();
  await app.listen();
  logger.info(`scheduler: serving mt.cmd.scheduler.* and mt.qry.scheduler.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else rootLogger().error({ stack: error instanceof Error ? error.stack : undefined }, `scheduler failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
