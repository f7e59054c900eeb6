import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, requireActorSigningKey } from '@modeltrail/config';
import { agentCredentials, NatsRpcTransport } from '@modeltrail/messaging';
import { SchedulerModule } from './scheduler.module';

/** Boots the scheduler service as a NestJS app on the NATS transport (any number of replicas; one leads, see SchedulerLeadership). */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'scheduler' });
  const signingKey = requireActorSigningKey(config);
  const app = await NestFactory.createMicroservice(SchedulerModule.forRoot(config), {
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
  console.log(`scheduler: serving mt.cmd.scheduler.* and mt.qry.scheduler.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `scheduler failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
