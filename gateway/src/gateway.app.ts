import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { LogLevel } from '@nestjs/common';
import type { AppConfig } from '@modeltrail/config';
import { HTTP_BODY_LIMIT } from './errors/error-formatter';
import { GatewayModule } from './gateway.module';

export interface GatewayAppOptions {
  /** Nest's log levels; false for none (tests). */
  logger?: LogLevel[] | false;
}

/**
 * The gateway's HTTP application over `GatewayModule`: JSON bodies only, up to HTTP_BODY_LIMIT
 * (Express's default of 100 kB would refuse a batch of 10,000 metric points or rows), and no
 * `x-powered-by`. A body refused before GraphQL (too large, not JSON) is answered as a GraphQL
 * error by the module's exception filter. Not listening yet.
 */
export async function createGatewayApp(config: AppConfig, options: GatewayAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config), { logger: options.logger ?? ['error', 'warn', 'log'], bodyParser: false });
  app.useBodyParser('json', { limit: HTTP_BODY_LIMIT });
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  return app;
}
