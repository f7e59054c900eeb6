import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { LineageModule } from './lineage.module';

/**
 * Boots the lineage service as a NestJS app on the messaging port (any number of replicas).
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'lineage' });
  const app = await createServiceApp(LineageModule.forRoot(config), config);
  app.enableShutdownHooks();
  await app.listen();
  console.log(`lineage: serving mt.qry.lineage.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `lineage failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
