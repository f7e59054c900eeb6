import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type DynamicModule, type LogLevel, Module } from '@nestjs/common';
import { Plugin } from '@nestjs/apollo';
import type { ApolloServerPlugin } from '@apollo/server';
import type { AppConfig } from '@modeltrail/config';
import { type MessageBus, poolOf } from '@modeltrail/messaging';
import { ensureProcessObservability, flushTracing, graphqlObservabilityPlugin, graphqlRequestScope, handleOpsRequest, PinoNestLogger, processReadiness } from '@modeltrail/observability';
import { GATEWAY_NATS } from './experiments/run-telemetry';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { mountConsole } from './console/console';
import { answerHttpErrors, HTTP_BODY_LIMIT, refusalBody, requireJsonBody } from './errors/http-errors';
import { GatewayModule, GRAPHQL_PATH } from './gateway.module';
import { batchLimit } from './limits/batch-limit';

export interface GatewayAppOptions {
  /** false for no Nest log lines (tests); otherwise Nest logs through the process's pino logger, at LOG_LEVEL (the levels given are not used). */
  logger?: LogLevel[] | false;
}

/** Measures and traces each GraphQL operation (graphqlObservabilityPlugin), found by Nest's Apollo driver as a `@Plugin()` provider. */
@Plugin()
class GraphqlObservability {
  private readonly plugin: ApolloServerPlugin<Record<string, unknown>> = graphqlObservabilityPlugin();
  requestDidStart = this.plugin.requestDidStart!.bind(this.plugin);
}

@Module({})
class ObservedGatewayModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: ObservedGatewayModule, imports: [GatewayModule.forRoot(config)], providers: [GraphqlObservability] };
  }
}

/** How long an idle HTTP keep-alive connection stays open on the gateway's side. */
export const GATEWAY_KEEP_ALIVE_MS = 65_000;

/**
 * The gateway's HTTP application over `GatewayModule`, not listening yet. Before any route:
 * - a body that is not JSON is refused with 415 UNSUPPORTED_MEDIA_TYPE (requireJsonBody);
 * - JSON bodies are read up to HTTP_BODY_LIMIT (Express's default of 100 kB would refuse a batch of
 *   10,000 metric points or rows); one that does not parse is answered 400 BAD_USER_INPUT, one
 *   too large 413 PAYLOAD_TOO_LARGE, right there (answerHttpErrors), never by Express's HTML page;
 * - a batch (a JSON array) longer than GRAPHQL_MAX_BATCH is refused with 400 BATCH_TOO_LARGE.
 * Unknown paths are answered 404 NOT_FOUND as JSON by the module's exception filter, and so is a
 * WebSocket upgrade anywhere but GRAPHQL_PATH (graphql-ws would leave that socket open, unanswered).
 * No `x-powered-by`.
 */
export async function createGatewayApp(config: AppConfig, options: GatewayAppOptions = {}): Promise<NestExpressApplication> {
  ensureProcessObservability(config);
  const app = await NestFactory.create<NestExpressApplication>(ObservedGatewayModule.forRoot(config), { logger: options.logger === false ? false : new PinoNestLogger(), bodyParser: false });
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  // GET /metrics, /health and /ready, before the JSON-only body check (docs/observability.md).
  const metricsToken = config.observability.metricsToken;
  app.use((req: IncomingMessage, res: ServerResponse, next: () => void) => (handleOpsRequest(req, res, { metricsToken }) ? undefined : next()));
  mountConsole(app); // GET /console: the web console (docs/console.md)
  app.use(requireJsonBody());
  app.useBodyParser('json', { limit: HTTP_BODY_LIMIT });
  app.use(answerHttpErrors());
  // After the body is read: the request's x-request-id (its correlation id) and span.
  app.use(GRAPHQL_PATH, graphqlRequestScope(config.serviceName));
  app.use(GRAPHQL_PATH, batchLimit(config));
  app.getHttpServer().on('upgrade', refuseUpgradeOutsideGraphQL);
  // Idle keep-alive connections outlive the clients' and load balancers' (AWS ALB: 60 s), so a
  // pooled connection is closed by the client, never by the server while a request is on its way
  // (which the client sees as "other side closed"). Node's default is 5 s.
  const server = app.getHttpServer();
  server.keepAliveTimeout = GATEWAY_KEEP_ALIVE_MS;
  server.headersTimeout = GATEWAY_KEEP_ALIVE_MS + 1_000;
  watchReadiness(app, config.serviceName);
  return app;
}

/** /ready of the gateway: the bus answers a round trip, the pool a SELECT 1, and the HTTP server listens; checks removed on close. */
function watchReadiness(app: NestExpressApplication, service: string): void {
  const bus = app.get<MessageBus>(GATEWAY_NATS, { strict: false });
  const pool = poolOf(app);
  const removeChecks = [
    processReadiness.add(`${service}:bus`, () => bus.flush()),
    ...(pool ? [processReadiness.add(`${service}:database`, () => pool.query('SELECT 1'))] : []),
    processReadiness.add(`${service}:http`, () => {
      if (!app.getHttpServer().listening) throw new Error('the HTTP server is not listening');
    }),
  ];
  // Nest's app ignores assignments to its methods: the HTTP server's close (app.close, or a shutdown signal) removes the checks.
  app.getHttpServer().once('close', () => {
    removeChecks.forEach((remove) => remove());
    void flushTracing();
  });
}

/** Answers a WebSocket upgrade to any path but GRAPHQL_PATH (which graphql-ws takes) with a JSON 404, and closes the socket. */
function refuseUpgradeOutsideGraphQL(req: IncomingMessage, socket: Duplex): void {
  if (req.url?.startsWith(GRAPHQL_PATH)) return;
  const body = JSON.stringify(refusalBody({ code: 'NOT_FOUND', message: `nothing is served at ${(req.url ?? '/').split('?')[0].slice(0, 100)}: WebSocket (graphql-ws) is served at ${GRAPHQL_PATH}` }));
  socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
