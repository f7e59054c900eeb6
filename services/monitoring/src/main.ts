import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, requireActorSigningKey } from '@modeltrail/config';
import { NatsRpcTransport } from '@modeltrail/messaging';
import { MonitoringModule } from './monitoring.module';

/** Boots the monitoring service as a NestJS app on the NATS transport (any number of replicas). */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'monitoring' });
  const app = await NestFactory.createMicroservice(MonitoringModule.forRoot(config), {
    strategy: new NatsRpcTransport({ nats: { url: config.natsUrl, name: config.serviceName, user: config.natsUser, pass: config.natsPassword }, queue: config.serviceName, namespace: config.natsNamespace, actors: { signingKey: requireActorSigningKey(config) } }),
    logger: config.logLevel === 'debug' ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn', 'log'],
  });
  app.enableShutdownHooks();
  await app.listen();
  console.log(`monitoring: serving mt.cmd.monitoring.* and mt.qry.monitoring.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `monitoring failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
