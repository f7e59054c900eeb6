import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { LogLevel } from '@nestjs/common';
import type { AppConfig } from '@modeltrail/config';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { mountConsole } from './console/console';
import { answerHttpErrors, HTTP_BODY_LIMIT, refusalBody, requireJsonBody } from './errors/http-errors';
import { GatewayModule, GRAPHQL_PATH } from './gateway.module';
import { batchLimit } from './limits/batch-limit';

export interface GatewayAppOptions {
  /** Nest's log levels; false for none (tests). */
  logger?: LogLevel[] | false;
}

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
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config), { logger: options.logger ?? ['error', 'warn', 'log'], bodyParser: false });
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  mountConsole(app); // GET /console: the web console (docs/console.md)
  app.use(requireJsonBody());
  app.useBodyParser('json', { limit: HTTP_BODY_LIMIT });
  app.use(answerHttpErrors());
  app.use(GRAPHQL_PATH, batchLimit(config));
  app.getHttpServer().on('upgrade', refuseUpgradeOutsideGraphQL);
  return app;
}

/** Answers a WebSocket upgrade to any path but GRAPHQL_PATH (which graphql-ws takes) with a JSON 404, and closes the socket. */
function refuseUpgradeOutsideGraphQL(req: IncomingMessage, socket: Duplex): void {
  if (req.url?.startsWith(GRAPHQL_PATH)) return;
  const body = JSON.stringify(refusalBody({ code: 'NOT_FOUND', message: `nothing is served at ${(req.url ?? '/').split('?')[0].slice(0, 100)}: WebSocket (graphql-ws) is served at ${GRAPHQL_PATH}` }));
  socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
