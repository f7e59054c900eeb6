import { contextLogger } from '@modeltrail/observability';

/** What the messaging pieces log through; Nest's `Logger` fits, and so does a test recorder. */
export interface MessagingLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, stack?: string): void;
}

/** The process's JSON log (pino, see @modeltrail/observability), its lines tagged with `context`. */
export function defaultLogger(context: string): MessagingLogger {
  return contextLogger(context);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errorStack(error: unknown): string | undefined {
  return error instanceof Error ? error.stack : undefined;
}
