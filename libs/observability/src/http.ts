import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import { REQUEST_ID_HEADER, validRequestId, withRequestScope } from './correlation';
import { withGraphqlRequestSpan } from './graphql';
import { extractTraceContext, tracer } from './tracing';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

type Next = (error?: unknown) => void;

/**
 * Express middleware of the gateway's GraphQL path, after the body is read: the request's
 * correlation id is its valid `x-request-id` (1 to 128 of A-Z a-z 0-9 . _ : -), else its
 * `x-correlation-id` when that is a UUID, else a new UUID;
 * it is answered in the `x-request-id` header and is the request's scope for its log lines and
 * the `Mt-Correlation-Id` of the requests it sends. A server span (child of a `traceparent` the
 * caller sent) covers the request.
 */
export function graphqlRequestScope(service: string) {
  return (req: IncomingMessage & { body?: unknown }, res: ServerResponse, next: Next): void => {
    const legacy = headerValue(req.headers['x-correlation-id']);
    const correlationId = validRequestId(req.headers[REQUEST_ID_HEADER]) ?? (legacy && UUID.test(legacy) ? legacy.toLowerCase() : randomUUID());
    res.setHeader('X-Request-Id', correlationId);
    const parent = extractTraceContext({ get: (key) => headerValue(req.headers[key]), set: () => undefined, keys: () => Object.keys(req.headers) });
    const span = tracer().startSpan(`${req.method ?? 'GET'} graphql`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? '', 'modeltrail.correlation_id': correlationId } }, parent);
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    withRequestScope({ correlationId, service }, () => withGraphqlRequestSpan({ span, batch: Array.isArray(req.body) }, () => next()));
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
