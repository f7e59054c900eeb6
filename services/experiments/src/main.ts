import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { NatsRpcTransport } from '@modeltrail/messaging';
import { ExperimentsModule } from './experiments.module';

/** Boots the experiments service as a NestJS app on the NATS transport. */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'experiments' });
  const app = await NestFactory.createMicroservice(ExperimentsModule.forRoot(config), {
    strategy: new NatsRpcTransport({ nats: { url: config.natsUrl, name: config.serviceName, user: config.natsUser, pass: config.natsPassword }, queue: config.serviceName, namespace: config.natsNamespace }),
    logger: config.logLevel === 'debug' ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn', 'log'],
  });
  app.enableShutdownHooks();
  await app.listen();
  console.log(`experiments: serving mt.cmd.experiments.* and mt.qry.experiments.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `experiments failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
