import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import { currentRequestScope } from './correlation';
import { activeTraceIds } from './tracing';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';

export interface LoggingOptions {
  /** The process's service name (`service` of every line not inside a request of another service). */
  service: string;
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go (default: standard output). */
  destination?: DestinationStream;
}

/**
 * A pino logger writing one JSON object a line: `level` (a name), `time` (ISO 8601), `service`,
 * `msg`, `context` where given, and inside a request its `correlationId`, inside a span its
 * `traceId` and `spanId`. LOG_FORMAT=pretty writes the same as one readable line each.
 */
export function createLogger(options: LoggingOptions): Logger {
  const service = options.service;
  const destination = options.format === 'pretty' ? prettyDestination(options.destination ?? process.stdout) : options.destination;
  const settings: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => {
      const scope = currentRequestScope();
      const ids = activeTraceIds();
      return { service: scope?.service ?? service, ...(scope ? { correlationId: scope.correlationId } : {}), ...(ids ?? {}) };
    },
  };
  return destination ? pino(settings, destination) : pino(settings);
}

let root: Logger | null = null;

/**
 * Sets the process's logger (once at start-up, before the Nest apps are made); later calls
 * replace it. Without a call, lines go to standard output as JSON with service `modeltrail`.
 */
export function configureLogging(options: LoggingOptions): Logger {
  root = createLogger(options);
  return root;
}

/** Whether configureLogging was called in this process. */
export function loggingConfigured(): boolean {
  return root !== null;
}

export function rootLogger(): Logger {
  return (root ??= createLogger({ service: 'modeltrail' }));
}

/** What the messaging pieces and plain scripts log through (see MessagingLogger). */
export interface LineLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, stack?: string): void;
}

/** A LineLogger on the process's logger, its lines tagged with `context`. */
export function contextLogger(context: string): LineLogger {
  const logger = () => rootLogger();
  return {
    log: (message) => logger().info({ context }, message),
    warn: (message) => logger().warn({ context }, message),
    error: (message, stack) => (stack ? logger().error({ context, stack }, message) : logger().error({ context }, message)),
  };
}

/**
 * Nest's start-up lines (modules initialised, every route and handler mapped): debug, not info,
 * so a start says what it serves in a few lines, not hundreds.
 */
const START_UP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication', 'NestMicroservice', 'GraphQLModule']);

/**
 * Nest's LoggerService on pino (the process's logger unless one is given): pass it as `logger`
 * to NestFactory.create / createMicroservice, so Nest's own lines and every `new Logger(ctx)`
 * of the app are JSON lines of the same stream.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger?: Logger) {}

  private get pino(): Logger {
    return this.logger ?? rootLogger();
  }

  log(message: unknown, ...params: unknown[]): void {
    const context = contextOf(params);
    this.write(context && START_UP_CONTEXTS.has(context) ? 'debug' : 'info', message, context);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, contextOf(params));
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, contextOf(params));
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, contextOf(params));
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, contextOf(params));
  }

  /** Nest calls `error(message, stack?, context?)`; a lone string argument is the context, as in Nest's ConsoleLogger, unless it is a stack. */
  error(message: unknown, ...params: unknown[]): void {
    let stack: string | undefined;
    let context: string | undefined;
    const strings = params.filter((p): p is string => typeof p === 'string');
    if (strings.length >= 2) [stack, context] = strings.slice(-2);
    else if (strings.length === 1) {
      if (/\n\s+at /.test(strings[0])) stack = strings[0];
      else context = strings[0];
    }
    if (message instanceof Error) stack ??= message.stack;
    this.write('error', message, context, stack);
  }

  private write(level: pino.Level, message: unknown, context: string | undefined, stack?: string): void {
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    const text = message instanceof Error ? message.message : typeof message === 'string' ? message : JSON.stringify(message);
    this.pino[level](fields, text);
  }
}

function contextOf(params: unknown[]): string | undefined {
  const last = params[params.length - 1];
  return typeof last === 'string' ? last : undefined;
}

const LEVEL_COLUMN: Record<string, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR', fatal: 'FATAL' };

/** LOG_FORMAT=pretty: each JSON line as `time LEVEL service [context] msg key=value…` (no colours, no extra dependency). */
export function prettyLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, service, context, msg, stack, ...rest } = record;
  const extra = Object.entries(rest).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const head = [String(time ?? ''), LEVEL_COLUMN[String(level)] ?? String(level), String(service ?? ''), context ? `[${String(context)}]` : '', String(msg ?? '')].filter(Boolean).join(' ');
  return `${[head, ...extra].join(' ')}${stack ? `\n${String(stack)}` : ''}`;
}

function prettyDestination(out: { write(chunk: string): unknown }): DestinationStream {
  return { write: (chunk: string) => void out.write(`${chunk.split('\n').filter(Boolean).map(prettyLine).join('\n')}\n`) };
}

export type { Logger };
