import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { MonitoringModule } from './monitoring.module';

/**
 * Boots the monitoring service as a NestJS app on the messaging port (any number of replicas).
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'monitoring' });
  const app = await createServiceApp(MonitoringModule.forRoot(config), config);
  app.enableShutdownHooks();
  await app.listen();
  console.log(`monitoring: serving mt.cmd.monitoring.* and mt.qry.monitoring.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `monitoring failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
