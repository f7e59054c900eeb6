import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { metricsRegistry } from './metrics';

/** A dependency /ready asks: resolves when it answers, throws (or rejects) saying why not. */
export type ReadinessCheck = () => Promise<unknown> | unknown;

/** How long /ready waits for one check before it counts as not ready. */
export const READINESS_TIMEOUT_MS = 2_000;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: true } | { ok: false; reason: string }>;
}

/**
 * The process's readiness checks (bus connected, database answers, app listening), added by each
 * part as it starts and removed as it stops. One per process: the one-process composition's
 * parts all add theirs here, and its one /ready answers for them all.
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  /** Adds (or replaces) a check; the returned function removes it. */
  add(name: string, check: ReadinessCheck): () => void {
    this.checks.set(name, check);
    return () => {
      if (this.checks.get(name) === check) this.checks.delete(name);
    };
  }

  async report(timeoutMs = READINESS_TIMEOUT_MS): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            Promise.resolve().then(check),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          return [name, { ok: true }] as const;
        } catch (error) {
          return [name, { ok: false, reason: error instanceof Error ? error.message : String(error) }] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const checks = Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b))) as ReadinessReport['checks'];
    return { ready: entries.length > 0 && entries.every(([, r]) => r.ok), checks };
  }
}

export const processReadiness = new Readiness();

export interface OpsHandlerOptions {
  readiness?: Readiness;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  metricsToken?: string;
}

export const OPS_PATHS = ['/metrics', '/health', '/ready'] as const;

/**
 * Answers GET (or HEAD) /metrics, /health and /ready; returns false for anything else (the
 * caller answers it). /health: 200 while the process runs. /ready: 200 when every check
 * answers, else 503 naming those that did not. /metrics: the registry in Prometheus's text format.
 */
export function handleOpsRequest(req: IncomingMessage, res: ServerResponse, options: OpsHandlerOptions = {}): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = (req.url ?? '/').split('?')[0];
  if (!(OPS_PATHS as readonly string[]).includes(path)) return false;
  void answer(path, req, res, options).catch((error: unknown) => {
    if (!res.headersSent) sendJson(res, 500, { status: 'error', message: error instanceof Error ? error.message : String(error) });
    else res.end();
  });
  return true;
}

async function answer(path: string, req: IncomingMessage, res: ServerResponse, options: OpsHandlerOptions): Promise<void> {
  res.setHeader('Cache-Control', 'no-store');
  if (path === '/health') return sendJson(res, 200, { status: 'ok' });
  if (path === '/ready') {
    const report = await (options.readiness ?? processReadiness).report();
    const notReady = Object.entries(report.checks)
      .filter(([, r]) => !r.ok)
      .map(([name, r]) => ({ name, reason: (r as { reason: string }).reason }));
    if (report.ready) return sendJson(res, 200, { status: 'ready', checks: report.checks });
    return sendJson(res, 503, { status: 'not ready', notReady: notReady.length ? notReady : [{ name: 'startup', reason: 'nothing has started yet' }], checks: report.checks });
  }
  if (options.metricsToken && !bearerMatches(req.headers.authorization, options.metricsToken)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
    return sendJson(res, 401, { status: 'unauthorized', message: '/metrics needs Authorization: Bearer <METRICS_TOKEN>' });
  }
  const body = await metricsRegistry.metrics();
  res.statusCode = 200;
  res.setHeader('Content-Type', metricsRegistry.contentType);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** A running ops server. */
export interface OpsServer {
  readonly port: number;
  readonly host: string;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

/** A small HTTP server answering only /metrics, /health and /ready (404 JSON otherwise). */
export async function startOpsServer(options: OpsHandlerOptions & { port: number; host: string }): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    if (!handleOpsRequest(req, res, options)) sendJson(res, 404, { status: 'not found', message: `the ops server answers GET ${OPS_PATHS.join(', ')}` });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    host: options.host,
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

let shared: { server: Promise<OpsServer>; users: number } | null = null;

/**
 * The process's ops server on OPS_PORT/OPS_HOST, shared by every part that asks (the
 * one-process composition's services ask once each; the first starts it, the last release()
 * closes it). Null when no port is configured.
 */
export async function acquireOpsServer(options: OpsHandlerOptions & { port: number | undefined; host: string }): Promise<{ server: OpsServer; release(): Promise<void> } | null> {
  if (options.port === undefined) return null;
  if (!shared) {
    const starting = { server: startOpsServer({ ...options, port: options.port }), users: 0 };
    shared = starting;
    starting.server.catch(() => {
      if (shared === starting) shared = null;
    });
  }
  const current = shared;
  current.users += 1;
  let server: OpsServer;
  try {
    server = await current.server;
  } catch (error) {
    current.users -= 1;
    throw error;
  }
  let released = false;
  return {
    server,
    release: async () => {
      if (released) return;
      released = true;
      current.users -= 1;
      if (current.users === 0) {
        if (shared === current) shared = null;
        await server.close();
      }
    },
  };
}
