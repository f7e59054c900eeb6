import 'reflect-metadata';
import { ConfigError, loadConfig, requireSafeListenAddress } from '@modeltrail/config';
import { createGatewayApp } from './gateway.app';
import { GRAPHQL_PATH } from './gateway.module';

/** Boots the GraphQL gateway: HTTP and graphql-ws on PORT at /graphql. */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'gateway' });
  // Before anything connects: a gateway open to the network with the development token is refused.
  const host = requireSafeListenAddress(config);
  const app = await createGatewayApp(config, { logger: config.logLevel === 'debug' ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  await app.listen(config.port, host);
  const shown = host.includes(':') ? `[${host}]` : host;
  console.log(`gateway: GraphQL on http://${shown}:${config.port}${GRAPHQL_PATH} (HTTP and graphql-ws), NATS ${config.natsUrl}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `gateway failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
