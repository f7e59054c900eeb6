import { Logger } from '@nestjs/common';

/** What the messaging pieces log through; Nest's `Logger` fits, and so does a test recorder. */
export interface MessagingLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, stack?: string): void;
}

export function defaultLogger(context: string): MessagingLogger {
  const logger = new Logger(context);
  return {
    log: (message) => logger.log(message),
    warn: (message) => logger.warn(message),
    error: (message, stack) => (stack ? logger.error(message, stack) : logger.error(message)),
  };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errorStack(error: unknown): string | undefined {
  return error instanceof Error ? error.stack : undefined;
}
