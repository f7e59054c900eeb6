import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { RegistryModule } from './registry.module';

/**
 * Boots the registry service as a NestJS app on the messaging port (any number of replicas).
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'registry' });
  const app = await createServiceApp(RegistryModule.forRoot(config), config);
  app.enableShutdownHooks();
  await app.listen();
  console.log(`registry: serving mt.cmd.registry.* and mt.qry.registry.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `registry failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
