import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { DatasetsModule } from './datasets.module';

/**
 * Boots the datasets service as a NestJS app on the messaging port.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'datasets' });
  const app = await createServiceApp(DatasetsModule.forRoot(config), config);
  app.enableShutdownHooks();
  await app.listen();
  console.log(`datasets: serving mt.cmd.datasets.* and mt.qry.datasets.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `datasets failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
