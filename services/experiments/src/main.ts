import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, requireActorSigningKey } from '@modeltrail/config';
import { agentCredentials, NatsRpcTransport } from '@modeltrail/messaging';
import { ExperimentsModule } from './experiments.module';

/** Boots the experiments service as a NestJS app on the NATS transport. */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'experiments' });
  const signingKey = requireActorSigningKey(config);
  const app = await NestFactory.createMicroservice(ExperimentsModule.forRoot(config), {
    strategy: new NatsRpcTransport({
      nats: { url: config.natsUrl, name: config.serviceName, user: config.natsUser, pass: config.natsPassword },
      queue: config.serviceName,
      namespace: config.natsNamespace,
      // Signed actors only, but agents may call their own reports with their AGENT API key (checked with the access service).
      actors: { signingKey, credentials: agentCredentials({ signingKey, actor: `service:${config.serviceName}`, namespace: config.natsNamespace, timeoutMs: config.rpcTimeoutMs }) },
    }),
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
