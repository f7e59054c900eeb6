import 'reflect-metadata';
import { ConfigError, loadConfig, requireSafeListenAddress } from '@modeltrail/config';
import { initProcessObservability, rootLogger } from '@modeltrail/observability';
import { createGatewayApp } from './gateway.app';
import { GRAPHQL_PATH } from './gateway.module';

/** Boots the GraphQL gateway: HTTP and graphql-ws on PORT at /graphql, with /metrics, /health and /ready on the same port. */
async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'gateway' });
  // Before anything connects: a gateway open to the network with the development token is refused.
  const host = requireSafeListenAddress(config);
  // JSON logs, traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, and metrics (docs/observability.md).
  const { logger } = initProcessObservability(config);
  const app = await createGatewayApp(config);
  app.enableShutdownHooks();
  await app.listen(config.port, host);
  const shown = host.includes(':') ? `[${host}]` : host;
  logger.info(`gateway: GraphQL on http://${shown}:${config.port}${GRAPHQL_PATH} (HTTP and graphql-ws), NATS ${config.natsUrl}; metrics at http://${shown}:${config.port}/metrics`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else rootLogger().error({ stack: error instanceof Error ? error.stack : undefined }, `gateway failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
