import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What the log lines of one request carry: its correlation id and, where known, the service handling it. */
export interface RequestScope {
  correlationId: string;
  /** The service handling the request (in the one-process composition, several share the process). */
  service?: string;
}

const scopes = new AsyncLocalStorage<RequestScope>();

/** The HTTP header a caller names its request with, and the gateway answers with. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** A request id the gateway takes from a caller: 1 to 128 letters, digits, `.`, `_`, `:` or `-`. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is short and safe to log and forward, else null. */
export function validRequestId(value: unknown): string | null {
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : null;
}

/** The caller's request id when valid, else a new UUID. */
export function requestIdFrom(value: unknown): string {
  return validRequestId(value) ?? randomUUID();
}

/** Runs `fn` with `scope` as the current request scope (its log lines carry the correlation id). */
export function withRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

export function currentRequestScope(): RequestScope | undefined {
  return scopes.getStore();
}

export function currentCorrelationId(): string | undefined {
  return scopes.getStore()?.correlationId;
}
