import type { ApolloServerPlugin } from '@apollo/server';
import { type ArgumentsHost, Catch, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GqlExceptionFilter } from '@nestjs/graphql';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { type ErrorCode, ModelTrailError, UnauthenticatedError } from '@modeltrail/contracts';
import { tokenLimitError } from '../limits/hardening';
import { answerHttpError, HTTP_BODY_LIMIT } from './http-errors';

export { HTTP_BODY_LIMIT };

/** The `extensions.code` values of this API (docs/architecture.md: Gateway). */
export type GatewayErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR'
  | 'RATE_LIMITED';

/** The one mapping from the platform's error codes to the API's. */
export function gatewayCodeOf(code: ErrorCode): GatewayErrorCode {
  switch (code) {
    case 'VALIDATION':
      return 'BAD_USER_INPUT';
    case 'NOT_FOUND':
      return 'NOT_FOUND';
    case 'CONFLICT':
      return 'CONFLICT';
    case 'FORBIDDEN':
      return 'FORBIDDEN';
    case 'UNAUTHENTICATED':
      return 'UNAUTHENTICATED';
    case 'UNAVAILABLE':
      return 'SERVICE_UNAVAILABLE';
    case 'INTERNAL':
      return 'INTERNAL_SERVER_ERROR';
    default: {
      const unknownCode: never = code;
      return unknownCode;
    }
  }
}

/**
 * Codes that graphql-js and Apollo give a request they cannot run (it does not parse, does not
 * validate against the schema, its variables do not coerce...). They reach the client unchanged.
 */
const REQUEST_ERROR_CODES: ReadonlySet<string> = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  // The gateway's own refusals before any resolver runs (rate limit: see limits/rate-limit.ts).
  'RATE_LIMITED',
]);

/** graphql-js's "Did you mean …?" hints (fields, arguments, types, enum values), which reveal the schema. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/** `message` without graphql-js's suggestions. */
export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '').trim();
}

/** What the formatter knows of the operation an error belongs to. */
export interface ErrorScope {
  correlationId: string;
}

/**
 * A refusal decided before any resolver runs (authentication, a malformed header), with the
 * HTTP status Apollo should answer with and any headers (`WWW-Authenticate`, `Retry-After`); the
 * formatter maps it like any other ModelTrailError.
 */
export function requestRefusal(error: ModelTrailError, httpStatus: number, headers: Record<string, string> = {}): GraphQLError {
  return new GraphQLError(error.message, {
    originalError: error,
    extensions: { code: gatewayCodeOf(error.code), http: { status: httpStatus, headers: new Map(Object.entries(headers)) } },
  });
}

export function unauthenticated(message: string): GraphQLError {
  return requestRefusal(new UnauthenticatedError(message), 401, { 'WWW-Authenticate': 'Bearer realm="modeltrail"' });
}

/**
 * Formats every error at the edge, over HTTP and WebSocket alike:
 * - a ModelTrailError (from a service over NATS, or from the gateway itself) keeps its message
 *   and gets its mapped code; its details (which field was invalid) go in `extensions.details`;
 * - GraphQL's own request errors (parse, validation, variables) keep their code, except the
 *   parser's token limit (hardeningParseOptions), answered as the other limits are;
 * - anything else is a bug: it is logged with its stack and reaches the client as
 *   INTERNAL_SERVER_ERROR "internal error (correlation id …)".
 * No stack trace ever reaches a client. When introspection is off (GRAPHQL_INTROSPECTION), no
 * message carries graphql-js's "Did you mean …?" suggestions either, over HTTP and WebSocket.
 */
@Injectable()
export class ErrorFormatter {
  private readonly logger = new Logger('GraphQL');
  private readonly scopes = new WeakMap<object, ErrorScope>();
  private readonly hideSuggestions: boolean;

  /** `config`: the gateway's (injected); without it suggestions are kept, as with introspection on. */
  constructor(@Optional() @Inject(APP_CONFIG) config?: Pick<AppConfig, 'access'>) {
    this.hideSuggestions = config?.access !== undefined && !config.access.graphqlIntrospection;
  }

  /** Apollo plugin recording which operation each error belongs to (formatError alone does not know). */
  plugin(): ApolloServerPlugin<{ correlationId?: string }> {
    const scopes = this.scopes;
    return {
      async requestDidStart() {
        return {
          async didEncounterErrors(requestContext) {
            const correlationId = requestContext.contextValue.correlationId;
            if (!correlationId) return;
            for (const error of requestContext.errors) scopes.set(error, { correlationId });
          },
        };
      },
    };
  }

  /** Apollo's `formatError`. */
  readonly formatError = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => this.format(formatted, error, this.scopeOf(error));

  format(formatted: GraphQLFormattedError, error: unknown, scope: ErrorScope | undefined): GraphQLFormattedError {
    const result = this.map(formatted, error, scope);
    return this.hideSuggestions ? { ...result, message: withoutSuggestions(result.message) } : result;
  }

  private map(formatted: GraphQLFormattedError, error: unknown, scope: ErrorScope | undefined): GraphQLFormattedError {
    const where = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
    const cause = rootCause(error);
    if (cause instanceof ModelTrailError) {
      if (cause.code === 'INTERNAL') return this.internal(where, cause, scope, formatted);
      return { message: cause.message, ...where, extensions: { code: gatewayCodeOf(cause.code), ...(cause.details ? { details: cause.details } : {}) } };
    }
    const code = formatted.extensions?.code;
    const tokens = code === 'GRAPHQL_PARSE_FAILED' ? tokenLimitError(formatted.message) : null;
    if (tokens) return { message: tokens.message, extensions: { code: tokens.extensions.code, details: tokens.extensions.details } };
    if (cause instanceof GraphQLError && typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
      const details = cause.extensions.details;
      return { message: formatted.message, ...where, extensions: { code, ...(details ? { details } : {}) } };
    }
    return this.internal(where, cause, scope, formatted);
  }

  private internal(where: Pick<GraphQLFormattedError, 'locations' | 'path'>, cause: unknown, scope: ErrorScope | undefined, formatted: GraphQLFormattedError): GraphQLFormattedError {
    const correlationId = scope?.correlationId ?? 'unknown';
    const path = formatted.path ? ` at ${formatted.path.join('.')}` : '';
    const message = cause instanceof Error ? cause.message : formatted.message;
    this.logger.error(`internal error (correlation id ${correlationId})${path}: ${message}`, cause instanceof Error ? cause.stack : undefined);
    return { message: `internal error (correlation id ${correlationId})`, ...where, extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId } };
  }

  private scopeOf(error: unknown): ErrorScope | undefined {
    return typeof error === 'object' && error !== null ? this.scopes.get(error) : undefined;
  }
}

/** The error a GraphQLError wraps (a resolver's throw), or the GraphQLError itself. */
export function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/**
 * Lets resolver errors through Nest's exception layer untouched: they are formatted once, at
 * the edge, by ErrorFormatter (Nest's default would log every NOT_FOUND as a crash).
 *
 * An HTTP request refused before GraphQL sees it (an unknown path, a body that is not JSON or
 * larger than the gateway takes, which gateway.app.ts answers itself first) is answered here, in
 * the shape of a GraphQL error with its code (httpRefusalOf), instead of by Express's default page
 * (HTML, with a stack trace outside production).
 */
@Catch()
export class PassErrorsToGraphQL implements GqlExceptionFilter {
  catch(exception: unknown, host?: ArgumentsHost): void {
    if (host?.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    answerHttpError(exception, http.getRequest<IncomingMessage>(), http.getResponse<ServerResponse>());
  }
}
