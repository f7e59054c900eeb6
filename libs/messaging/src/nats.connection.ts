import { connect, type ConnectionOptions, type NatsConnection, type Status } from 'nats';
import { UnavailableError } from '@modeltrail/contracts';
import { defaultLogger, errorMessage, type MessagingLogger } from './logger';

export interface ConnectNatsOptions {
  /** `nats://host:4222`, or several servers of one cluster. */
  url: string | ReadonlyArray<string>;
  /** Client name shown by the server (`nats server report connections`): the service's name. */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** Wait between reconnect attempts (default 1000 ms). */
  reconnectTimeWaitMs?: number;
  /** -1 (the default): keep reconnecting for ever; the process is meant to outlive NATS outages. */
  maxReconnectAttempts?: number;
  /** Timeout of the first connect (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Called for every status change (disconnect, reconnect, error, ...); the default logs them. */
  onStatus?: (status: Status) => void;
  logger?: MessagingLogger;
}

/** A connection plus the shutdown that does not lose in-flight messages. */
export interface ManagedNatsConnection {
  readonly nc: NatsConnection;
  /** Drains every subscription, flushes what is pending and waits until the connection is closed. */
  close(): Promise<void>;
}

/**
 * Connects to NATS with the platform's defaults: reconnect for ever, but fail at once — naming
 * the URL — when the first connect does not succeed (a wrong URL must not hang a boot).
 */
export async function connectNats(options: ConnectNatsOptions): Promise<ManagedNatsConnection> {
  const servers = typeof options.url === 'string' ? [options.url] : [...options.url];
  const logger = options.logger ?? defaultLogger(`Nats(${options.name})`);
  const config: ConnectionOptions = {
    servers,
    name: options.name,
    user: options.user,
    pass: options.pass,
    token: options.token,
    reconnect: true,
    maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
    reconnectTimeWait: options.reconnectTimeWaitMs ?? 1000,
    timeout: options.connectTimeoutMs ?? 5000,
    waitOnFirstConnect: false,
    // nats.js otherwise captures a stack trace (new Error()) for every request and every
    // timeout timer it arms, in case the request fails: tens of microseconds per request,
    // for a trace our own errors (UnavailableError naming the subject) never show.
    noAsyncTraces: true,
  };
  let nc: NatsConnection;
  try {
    nc = await connect(config);
  } catch (error) {
    const where = servers.map(redactNatsUrl).join(', ');
    throw new UnavailableError(`cannot connect to NATS at ${where}: ${errorMessage(error)}`, { url: where });
  }
  const onStatus = options.onStatus ?? ((status: Status) => logStatus(logger, status));
  void (async () => {
    for await (const status of nc.status()) onStatus(status);
  })().catch(() => undefined);
  return { nc, close: () => drainAndClose(nc) };
}

/** Drain, then wait for the close to finish; a second call, or a call on a closed connection, is a no-op. */
export async function drainAndClose(nc: Pick<NatsConnection, 'isClosed' | 'isDraining' | 'drain' | 'close' | 'closed'>): Promise<void> {
  if (!nc.isClosed() && !nc.isDraining()) {
    await nc.drain().catch(async () => {
      // Draining fails when the connection is not connected (e.g. reconnecting): just close.
      if (!nc.isClosed()) await nc.close();
    });
  }
  await nc.closed();
}

function logStatus(logger: MessagingLogger, status: Status): void {
  const data = typeof status.data === 'object' ? JSON.stringify(status.data) : String(status.data);
  switch (status.type) {
    case 'disconnect':
    case 'error':
      logger.warn(`NATS ${status.type}: ${data}`);
      break;
    case 'reconnect':
    case 'ldm':
    case 'update':
      logger.log(`NATS ${status.type}: ${data}`);
      break;
    default:
      // reconnecting, pingTimer, staleConnection: too chatty to log.
      break;
  }
}

/** `nats://user:***@host:4222` — credentials never reach a log or an error message. */
export function redactNatsUrl(url: string): string {
  try {
    const parsed = new URL(url.includes('://') ? url : `nats://${url}`);
    if (parsed.password) parsed.password = '***';
    return url.includes('://') ? parsed.toString().replace(/\/$/, '') : parsed.host;
  } catch {
    return url;
  }
}
