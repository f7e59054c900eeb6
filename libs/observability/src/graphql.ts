import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { currentRequestScope } from './correlation';
import { boundedOperationName, graphqlOperationDuration } from './metrics';
import { context, trace, tracer } from './tracing';

/**
 * Measures and traces every GraphQL operation the gateway answers over HTTP: the histogram
 * modeltrail_graphql_operation_duration_seconds{operation,type,outcome}, and the operation's
 * span. A single operation takes over the HTTP request's span (graphqlRequestSpan), renamed
 * `query getModel` and so on, so the requests it sends to services are its children; each
 * operation of a batch gets a child span of its own.
 */
export function graphqlObservabilityPlugin(): ApolloServerPlugin<Record<string, unknown>> {
  return {
    async requestDidStart(start: GraphQLRequestContext<Record<string, unknown>>) {
      const started = process.hrtime.bigint();
      const request = currentHttpSpan();
      const span: Span = request && !request.batch ? request.span : tracer().startSpan('graphql.operation', { kind: SpanKind.INTERNAL }, context.active());
      const owned = span !== request?.span;
      let type = 'unknown';
      let operation = boundedOperationName(start.request.operationName);
      return {
        async didResolveOperation(ctx) {
          type = ctx.operation?.operation ?? 'unknown';
          operation = boundedOperationName(ctx.operationName ?? start.request.operationName);
          span.updateName(`${type} ${ctx.operationName ?? 'anonymous'}`);
          span.setAttributes({ 'graphql.operation.type': type, 'graphql.operation.name': ctx.operationName ?? '' });
        },
        async willSendResponse(ctx) {
          const errors = ctx.errors ?? (ctx.response.body.kind === 'single' ? ctx.response.body.singleResult.errors : undefined) ?? [];
          const code = errors.length ? String((errors[0] as { extensions?: { code?: unknown } }).extensions?.code ?? 'error') : 'ok';
          const outcome = /^[A-Za-z_]{1,40}$/.test(code) ? code : 'error';
          graphqlOperationDuration.observe({ operation, type, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
          if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
          const correlationId = currentRequestScope()?.correlationId;
          if (correlationId) span.setAttribute('modeltrail.correlation_id', correlationId);
          if (owned) span.end();
        },
      };
    },
  };
}

/** The span of a GraphQL HTTP request, and whether its body is a batch. */
export interface GraphqlRequestSpan {
  span: Span;
  batch: boolean;
}

const REQUEST_SPAN = Symbol('modeltrail.graphqlRequestSpan');

/** Marks `span` as the HTTP request span of the active context (see graphqlObservabilityPlugin). */
export function withGraphqlRequestSpan<T>(request: GraphqlRequestSpan, fn: () => T): T {
  const ctx = trace.setSpan(context.active(), request.span).setValue(REQUEST_SPAN, request);
  return context.with(ctx, fn);
}

function currentHttpSpan(): GraphqlRequestSpan | undefined {
  return context.active().getValue(REQUEST_SPAN) as GraphqlRequestSpan | undefined;
}
