import 'reflect-metadata';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { createServiceApp } from '@modeltrail/messaging';
import { ExperimentsModule } from './experiments.module';

/**
 * Boots the experiments service as a NestJS app on the messaging port. Signed actors only, but
 * agents may report into the runs of their jobs with their AGENT API key.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'experiments' });
  const app = await createServiceApp(ExperimentsModule.forRoot(config), config, { agentsMayCall: true });
  app.enableShutdownHooks();
  await app.listen();
  console.log(`experiments: serving mt.cmd.experiments.* and mt.qry.experiments.* on ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `experiments failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
