import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, requireActorSigningKey } from '@modeltrail/config';
import { NatsRpcTransport } from '@modeltrail/messaging';
import { AccessModule } from './access.module';

/**
 * Boots the access service as a NestJS app on the NATS transport (any number of replicas). Only
 * signed callers (the gateway, the services checking agent credentials): no definition of
 * accessRpc admits an agent's own credential.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'access' });
  const app = await NestFactory.createMicroservice(AccessModule.forRoot(config), {
    strategy: new NatsRpcTransport({ nats: { url: config.natsUrl, name: config.serviceName, user: config.natsUser, pass: config.natsPassword }, queue: config.serviceName, namespace: config.natsNamespace, actors: { signingKey: requireActorSigningKey(config) } }),
    logger: config.logLevel === 'debug' ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn', 'log'],
  });
  app.enableShutdownHooks();
  await app.listen();
  console.log(`access: serving mt.cmd.access.* and mt.qry.access.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `access failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
