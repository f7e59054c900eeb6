import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { AccessModule } from './access.module';

/**
 * Boots the access service as a NestJS app on the messaging port (any number of replicas). Only
 * signed callers (the gateway, the services checking agent credentials): no definition of
 * accessRpc admits an agent's own credential.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'access' });
  const app = await createServiceApp(AccessModule.forRoot(config), config);
  app.enableShutdownHooks();
  await app.listen();
  console.log(`access: serving mt.cmd.access.* and mt.qry.access.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `access failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
