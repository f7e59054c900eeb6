import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';

/** The largest HTTP body the gateway reads: a little over the 8 MB NATS message of infra/nats (a command must also fit the server's max_payload, which RpcClient checks). */
export const HTTP_BODY_LIMIT = '9mb';

/** `extensions.code` of the refusals answered before GraphQL sees a request. */
export type HttpRefusalCode =
  | 'BAD_USER_INPUT'
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BATCH_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'INTERNAL_SERVER_ERROR';

/** A request refused at the HTTP layer, answered as `{ errors: [{ message, extensions: { code, details? } }] }`. */
export interface HttpRefusal {
  status: number;
  code: HttpRefusalCode;
  message: string;
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** The JSON body of a refusal: the shape of a GraphQL error, so clients read every error one way. */
export function refusalBody(refusal: Pick<HttpRefusal, 'code' | 'message' | 'details'>): { errors: Array<{ message: string; extensions: Record<string, unknown> }> } {
  return { errors: [{ message: refusal.message, extensions: { code: refusal.code, ...(refusal.details ? { details: refusal.details } : {}) } }] };
}

/** Answers `refusal` as JSON (never HTML, never a stack); does nothing once headers are sent. */
export function sendRefusal(res: ServerResponse, refusal: HttpRefusal): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const body = JSON.stringify(refusalBody(refusal));
  res.statusCode = refusal.status;
  for (const [name, value] of Object.entries(refusal.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

type Next = (error?: unknown) => void;

/** What `exception` (body-parser's errors, Nest's HttpExceptions, Express's own) means for the client, in words that name no file and carry no stack. */
export function httpRefusalOf(exception: unknown, request?: Pick<IncomingMessage, 'method' | 'url'>): HttpRefusal {
  const status = statusOf(exception);
  const type = (exception as { type?: unknown } | null)?.type;
  if (status === 413) {
    return {
      status,
      code: 'PAYLOAD_TOO_LARGE',
      message: `the request body is larger than the ${HTTP_BODY_LIMIT} the gateway accepts: send fewer items per call, or large data as a file (a uri or a dataset version)`,
    };
  }
  if (status === 415) {
    return { status, code: 'UNSUPPORTED_MEDIA_TYPE', message: `the request body cannot be read: ${safeMessage(exception, 'unsupported encoding')}; send JSON (content-type: application/json) in UTF-8` };
  }
  if (status === 404) {
    const where = request ? `${request.method ?? 'GET'} ${pathOf(request.url)}` : 'this path';
    return { status, code: 'NOT_FOUND', message: `nothing is served at ${where}: the API is POST /graphql (or GET /graphql for queries)` };
  }
  if (status === 405) return { status, code: 'METHOD_NOT_ALLOWED', message: safeMessage(exception, 'method not allowed') };
  if (status >= 500) return { status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'internal error' };
  if (type === 'entity.parse.failed' || (exception instanceof SyntaxError && status === 400)) {
    return { status: 400, code: 'BAD_USER_INPUT', message: `the request body is not valid JSON: ${safeMessage(exception, 'unreadable')}` };
  }
  return { status, code: 'BAD_REQUEST', message: `the request cannot be read: ${safeMessage(exception, 'bad request')}` };
}

/** An HTTP status carried by `exception` (Nest's HttpException, body-parser's `status`), 500 otherwise. */
function statusOf(exception: unknown): number {
  const object = exception as { getStatus?: () => unknown; status?: unknown; statusCode?: unknown } | null;
  const candidates = [typeof object?.getStatus === 'function' ? object.getStatus() : undefined, object?.status, object?.statusCode];
  for (const candidate of candidates) if (typeof candidate === 'number' && candidate >= 400 && candidate < 600) return candidate;
  return 500;
}

/** The first line of an error's message, without anything that looks like a file path, and short. */
function safeMessage(exception: unknown, fallback: string): string {
  const raw = exception instanceof Error ? exception.message : typeof exception === 'string' ? exception : '';
  const line = raw.split('\n')[0].replace(/(?:[A-Za-z]:)?(?:[\\/][\w.@-]+){2,}(?::\d+)*/g, '…').trim();
  return line ? (line.length > 200 ? `${line.slice(0, 200)}…` : line) : fallback;
}

function pathOf(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0];
  return path.length > 100 ? `${path.slice(0, 100)}…` : path;
}

/** Whether a request carries a body (RFC 9112: Transfer-Encoding, or a Content-Length over 0). */
export function hasBody(req: Pick<IncomingMessage, 'headers'>): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

/** `application/json`, or a `+json` type (`application/graphql-response+json`). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
}

/**
 * Middleware: a request with a body that is not JSON is refused with 415 UNSUPPORTED_MEDIA_TYPE
 * before anything reads it (form posts and `text/plain`, the content types a cross-site form can
 * send, never reach GraphQL).
 */
export function requireJsonBody(): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return (req, res, next) => {
    if (!hasBody(req) || isJsonMediaType(req.headers['content-type'])) return next();
    req.resume(); // drop the body: the connection stays usable
    const given = req.headers['content-type'] ? `"${String(req.headers['content-type']).split(';')[0].trim().slice(0, 100)}"` : 'none';
    sendRefusal(res, {
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: `the request body must be JSON (content-type: application/json); the content type given is ${given}`,
      details: { contentType: req.headers['content-type'] ?? null },
      headers: { 'accept-post': 'application/json' },
    });
  };
}

/**
 * Express error middleware (four arguments): answers whatever an earlier middleware failed with
 * (the body parser: not JSON, too large, an unknown charset or encoding) as a JSON refusal, so it
 * never reaches Express's default handler and its HTML page with a stack trace.
 */
export function answerHttpErrors(): (error: unknown, req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return (error, req, res, _next) => {
    answerHttpError(error, req, res);
  };
}

const logger = new Logger('HTTP');

/** Answers `error` as its JSON refusal; a 500 (a bug, not the client's doing) is logged with its stack, which the client never sees. */
export function answerHttpError(error: unknown, req: IncomingMessage, res: ServerResponse): void {
  const refusal = httpRefusalOf(error, req);
  if (refusal.status >= 500) logger.error(`${req.method ?? '?'} ${pathOf(req.url)}: ${error instanceof Error ? error.message : String(error)}`, error instanceof Error ? error.stack : undefined);
  sendRefusal(res, refusal);
}
